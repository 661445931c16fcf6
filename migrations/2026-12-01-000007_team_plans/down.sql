DROP INDEX teams_org_name_key;
CREATE INDEX teams_org_name_key ON teams (org_id, name_key, id);
ALTER TABLE team_members ALTER COLUMN team_id RESET (n_distinct);
