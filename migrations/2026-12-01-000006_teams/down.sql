DROP INDEX token_assignments_team;
DELETE FROM token_assignments WHERE team_id IS NOT NULL;
ALTER TABLE token_assignments DROP CONSTRAINT token_assignments_one_holder, DROP COLUMN team_id,
    ALTER COLUMN user_id SET NOT NULL;
DROP TRIGGER team_has_owner_on_team ON teams;
DROP TRIGGER team_has_owner_on_member ON team_members;
DROP FUNCTION check_team_has_owner();
DROP INDEX team_members_one_owner;
DROP TRIGGER team_members_counts_insert ON team_members;
DROP TRIGGER team_members_counts_delete ON team_members;
DROP FUNCTION apply_team_member_counts();
DROP TRIGGER memberships_keys_to_team_members ON memberships;
DROP FUNCTION copy_membership_keys_to_team_members();
DROP TRIGGER team_members_keys ON team_members;
DROP FUNCTION fill_team_member_keys();
ALTER TABLE team_members DROP COLUMN role_rank, DROP COLUMN email_key, DROP COLUMN first_name_key,
    DROP COLUMN last_name_key;
ALTER TABLE teams DROP COLUMN description, DROP COLUMN colour, DROP COLUMN member_count,
    DROP COLUMN deactivated_at, DROP COLUMN name_key;
