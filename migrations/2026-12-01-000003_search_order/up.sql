-- Name searches walk these indexes in (key, id) order and stop after a page's worth of rows, so
-- the id is part of the key (it was only included): ties on a name come out in id order, and
-- a result's position is the same on every page.
DROP INDEX users_by_full_name_key;
DROP INDEX users_by_last_name_key;
CREATE INDEX users_by_full_name_key ON users (first_name_key, last_name_key, id);
CREATE INDEX users_by_last_name_key ON users (last_name_key, id);

DROP INDEX memberships_full_name_key;
DROP INDEX memberships_last_name_key;
CREATE INDEX memberships_full_name_key ON memberships (org_id, first_name_key, last_name_key, user_id);
CREATE INDEX memberships_last_name_key ON memberships (org_id, last_name_key, user_id);
