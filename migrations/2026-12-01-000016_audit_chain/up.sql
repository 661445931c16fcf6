-- The audit log pages: the request an entry came from, indexes for every filter in time
-- order, and a hash chain that makes any change to the history visible.

ALTER TABLE audit_log ADD COLUMN request_id TEXT;

-- Pages read newest first, (at, id) descending, narrowed by organization, action, actor or
-- target and a date range: each filter has an index in that order, so a page is a short
-- index range scan however long the history.
DROP INDEX audit_log_org_at;
CREATE INDEX audit_log_org_at ON audit_log (org_id, at DESC, id DESC);
CREATE INDEX audit_log_org_action ON audit_log (org_id, action, at DESC, id DESC);
CREATE INDEX audit_log_org_actor ON audit_log (org_id, actor_email, at DESC, id DESC);
CREATE INDEX audit_log_org_target ON audit_log (org_id, lower(target), at DESC, id DESC);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_email, at DESC, id DESC);
CREATE INDEX audit_log_target ON audit_log (lower(target), at DESC, id DESC);

-- What an entry's hash covers: every column, as canonical JSON (jsonb orders keys and
-- formats numbers one way; the time is written in UTC whatever the session's zone).
CREATE FUNCTION audit_entry_content(e audit_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT convert_to(jsonb_build_array(
        e.id,
        to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        e.actor_user_id, e.actor_email, e.actor_role, e.action, e.org_id, e.target,
        e.before, e.after, e.ip, e.request_id
    )::text, 'UTF8')
$$;

-- One chain per organization (chain 0: entries about no organization). Each link holds the
-- previous link's hash and the hash of both: altering, removing or slipping in an entry
-- breaks every later link. No foreign key: a removed entry must leave its link behind.
CREATE TABLE audit_chain (
    entry_id    BIGINT PRIMARY KEY,
    chain       BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    UNIQUE (chain, position)
);

CREATE TRIGGER audit_chain_no_update BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Appends an entry to the end of its chain.
CREATE FUNCTION audit_link_entry(e audit_log) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    chain_id BIGINT := coalesce(e.org_id, 0);
    last_position BIGINT;
    last_hash BYTEA;
BEGIN
    SELECT position, hash INTO last_position, last_hash
      FROM audit_chain WHERE chain = chain_id ORDER BY position DESC LIMIT 1;
    last_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    INSERT INTO audit_chain (entry_id, chain, position, prev_hash, hash)
    VALUES (e.id, chain_id, coalesce(last_position, 0) + 1, last_hash,
            sha256(last_hash || audit_entry_content(e)));
END $$;

-- Links an entry at commit. One committing writer at a time (the advisory lock), so a chain
-- never forks; taken at commit, after every other lock the transaction holds, so it cannot
-- close a deadlock cycle, and held only for the commit itself.
CREATE FUNCTION audit_log_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7454980672443217252);
    PERFORM audit_link_entry(NEW);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER audit_log_linked AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_log_link();

-- The history written so far joins its chains in the order it was written.
DO $$
DECLARE
    e audit_log;
BEGIN
    FOR e IN SELECT * FROM audit_log ORDER BY id LOOP
        PERFORM audit_link_entry(e);
    END LOOP;
END $$;
