DROP TRIGGER token_assignments_policy ON token_assignments;
DROP TRIGGER team_members_policy ON team_members;
DROP TRIGGER teams_policy ON teams;
ALTER TABLE usage_records DROP COLUMN team_id;
ALTER TABLE teams DROP COLUMN embedding_used, DROP COLUMN inference_used;
