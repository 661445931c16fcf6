-- Teams range from a handful of members to thousands. A prepared statement's generic plan is
-- made for an average team, and for a 2,000-member team it then walks every member where it
-- should probe the primary key for a few. Planning as if every team were large keeps probes.
ALTER TABLE team_members ALTER COLUMN team_id SET (n_distinct = 20);
ANALYZE team_members;

-- Team lists by name (the cards, the invite form's choices) read from the index alone.
DROP INDEX teams_org_name_key;
CREATE INDEX teams_org_name_key ON teams (org_id, name_key, id) INCLUDE (name, status);
