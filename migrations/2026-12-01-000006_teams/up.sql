-- Teams as their pages show them: a description, an avatar colour, a kept member count, when
-- they were deactivated, and a token budget (assignments that name a team).
ALTER TABLE teams
    ADD COLUMN description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- One of the palette's eight colours, from the id, so successive teams differ.
    ADD COLUMN colour SMALLINT GENERATED ALWAYS AS ((id % 8)::smallint) STORED,
    ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    ADD COLUMN deactivated_at TIMESTAMPTZ,
    -- Case-insensitive name for ordering and "contains" search, in the "C" collation so the
    -- index order is the query's.
    ADD COLUMN name_key TEXT COLLATE "C" GENERATED ALWAYS AS (lower(name)) STORED;
CREATE INDEX teams_org_name_key ON teams (org_id, name_key, id);

-- Team roles ranked for ordering (owner first), and the member's name keys copied from their
-- membership, so a 2,000-member team is listed and searched within itself, by index.
ALTER TABLE team_members
    ADD COLUMN role_rank SMALLINT GENERATED ALWAYS AS (
        CASE role WHEN 'owner' THEN 5 WHEN 'admin' THEN 4 WHEN 'moderator' THEN 3
                  WHEN 'member' THEN 2 ELSE 1 END) STORED,
    ADD COLUMN email_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN first_name_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN last_name_key TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE FUNCTION fill_team_member_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT m.email_key, m.first_name_key, m.last_name_key
      INTO NEW.email_key, NEW.first_name_key, NEW.last_name_key
      FROM memberships m WHERE m.org_id = NEW.org_id AND m.user_id = NEW.user_id;
    RETURN NEW;
END $$;
CREATE TRIGGER team_members_keys BEFORE INSERT OR UPDATE OF user_id ON team_members
    FOR EACH ROW EXECUTE FUNCTION fill_team_member_keys();
CREATE FUNCTION copy_membership_keys_to_team_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE team_members SET email_key = NEW.email_key, first_name_key = NEW.first_name_key,
                            last_name_key = NEW.last_name_key
     WHERE org_id = NEW.org_id AND user_id = NEW.user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER memberships_keys_to_team_members
    AFTER UPDATE OF email_key, first_name_key, last_name_key ON memberships
    FOR EACH ROW EXECUTE FUNCTION copy_membership_keys_to_team_members();
UPDATE team_members t SET email_key = m.email_key, first_name_key = m.first_name_key,
                          last_name_key = m.last_name_key
  FROM memberships m WHERE m.org_id = t.org_id AND m.user_id = t.user_id;

CREATE INDEX team_members_listed ON team_members (team_id, role_rank DESC, first_name_key, last_name_key, user_id);
CREATE INDEX team_members_email_key ON team_members (team_id, email_key, user_id);
CREATE INDEX team_members_full_name_key ON team_members (team_id, first_name_key, last_name_key, user_id);
CREATE INDEX team_members_last_name_key ON team_members (team_id, last_name_key, user_id);

-- The member count on the team row, kept per statement (a removal from the organization takes
-- a member out of many teams in one statement).
CREATE FUNCTION apply_team_member_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE teams t SET member_count = t.member_count - d.n
          FROM (SELECT team_id, count(*) AS n FROM old_rows GROUP BY team_id) d WHERE t.id = d.team_id;
    ELSE
        UPDATE teams t SET member_count = t.member_count + d.n
          FROM (SELECT team_id, count(*) AS n FROM new_rows GROUP BY team_id) d WHERE t.id = d.team_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER team_members_counts_insert AFTER INSERT ON team_members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_team_member_counts();
CREATE TRIGGER team_members_counts_delete AFTER DELETE ON team_members
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_team_member_counts();
UPDATE teams t SET member_count = (SELECT count(*) FROM team_members m WHERE m.team_id = t.id);

-- Teams made before they had owners are owned by their organization's owner.
INSERT INTO team_members (team_id, org_id, user_id, role)
SELECT t.id, t.org_id, m.user_id, 'owner'
  FROM teams t JOIN memberships m ON m.org_id = t.org_id AND m.role = 'owner'
 WHERE NOT EXISTS (SELECT 1 FROM team_members o WHERE o.team_id = t.id AND o.role = 'owner')
ON CONFLICT (team_id, user_id) DO UPDATE SET role = 'owner';

-- Exactly one owner per team: at most one by this index...
CREATE UNIQUE INDEX team_members_one_owner ON team_members (team_id) WHERE role = 'owner';
-- ...and at least one, checked at commit so a transfer (demote, then promote) fits in one
-- transaction. A team deleted with its organization needs none.
CREATE FUNCTION check_team_has_owner() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    checked_team BIGINT;
BEGIN
    IF TG_TABLE_NAME = 'teams' THEN
        checked_team := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        checked_team := OLD.team_id;
    ELSE
        checked_team := NEW.team_id;
    END IF;
    IF EXISTS (SELECT 1 FROM teams t WHERE t.id = checked_team)
       AND NOT EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = checked_team AND m.role = 'owner') THEN
        RAISE EXCEPTION 'team % has no owner', checked_team
            USING ERRCODE = 'check_violation', CONSTRAINT = 'team_has_one_owner';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER team_has_owner_on_member
    AFTER INSERT OR UPDATE OR DELETE ON team_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_team_has_owner();
CREATE CONSTRAINT TRIGGER team_has_owner_on_team
    AFTER INSERT ON teams
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_team_has_owner();

-- A team's budget: assignments name a member or a team, never both; the organization's totals
-- (and their check, assigned never above purchased) count both.
ALTER TABLE token_assignments
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN team_id BIGINT,
    ADD FOREIGN KEY (team_id, org_id) REFERENCES teams (id, org_id) ON DELETE CASCADE,
    ADD CONSTRAINT token_assignments_one_holder CHECK ((user_id IS NULL) <> (team_id IS NULL));
CREATE INDEX token_assignments_team ON token_assignments (team_id, created_at DESC) WHERE team_id IS NOT NULL;
