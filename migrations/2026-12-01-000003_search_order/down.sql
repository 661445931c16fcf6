DROP INDEX users_by_full_name_key;
DROP INDEX users_by_last_name_key;
CREATE INDEX users_by_full_name_key ON users (first_name_key, last_name_key) INCLUDE (id);
CREATE INDEX users_by_last_name_key ON users (last_name_key) INCLUDE (id);

DROP INDEX memberships_full_name_key;
DROP INDEX memberships_last_name_key;
CREATE INDEX memberships_full_name_key ON memberships (org_id, first_name_key, last_name_key) INCLUDE (user_id);
CREATE INDEX memberships_last_name_key ON memberships (org_id, last_name_key) INCLUDE (user_id);
