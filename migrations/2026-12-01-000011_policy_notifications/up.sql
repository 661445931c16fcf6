-- Serving instances keep the facts of recent `authorize` decisions in memory
-- (services::policy_cache). Every change that can alter a decision tells them, through
-- NOTIFY on the `guildhall_policy` channel, from the database itself: no code path can
-- forget to. The payload `org:<id>` drops one organization's facts, `all` drops everything.
-- NOTIFY is delivered at commit, and PostgreSQL folds repeats within a transaction.

-- Row triggers: TG_ARGV[0] names the column holding the organization's id.
CREATE FUNCTION notify_policy_of_org() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before_id TEXT;
    after_id TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        before_id := to_jsonb(OLD) ->> TG_ARGV[0];
        PERFORM pg_notify('guildhall_policy', coalesce('org:' || before_id, 'all'));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        after_id := to_jsonb(NEW) ->> TG_ARGV[0];
        IF TG_OP = 'INSERT' OR after_id IS DISTINCT FROM before_id THEN
            PERFORM pg_notify('guildhall_policy', coalesce('org:' || after_id, 'all'));
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- Statement triggers, for catalogues and rows not tied to one organization.
CREATE FUNCTION notify_policy_of_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('guildhall_policy', 'all');
    RETURN NULL;
END $$;

-- Only what a decision reads: the counters pages show change often and decide nothing.
CREATE TRIGGER organizations_policy
    AFTER UPDATE OF name, status, cancelled_at, inference_purchased, embedding_purchased,
                    inference_used, embedding_used OR DELETE
    ON organizations FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('id');
CREATE TRIGGER memberships_policy AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('org_id');
CREATE TRIGGER org_models_policy AFTER INSERT OR UPDATE OR DELETE ON org_models
    FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('org_id');
CREATE TRIGGER ip_allow_entries_policy AFTER INSERT OR UPDATE OR DELETE ON ip_allow_entries
    FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('org_id');
CREATE TRIGGER endpoint_restrictions_policy AFTER INSERT OR UPDATE OR DELETE ON endpoint_restrictions
    FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('org_id');
-- A key's last use is written often and decides nothing: only these columns count.
CREATE TRIGGER api_keys_policy
    AFTER UPDATE OF name, prefix, secret_hash, org_id, user_id, revoked_at, expires_at OR DELETE
    ON api_keys FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('org_id');

CREATE TRIGGER endpoint_restriction_allows_policy
    AFTER INSERT OR UPDATE OR DELETE ON endpoint_restriction_allows
    FOR EACH STATEMENT EXECUTE FUNCTION notify_policy_of_all();
CREATE TRIGGER users_policy AFTER UPDATE OF status OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_policy_of_all();
CREATE TRIGGER api_endpoints_policy AFTER INSERT OR UPDATE OR DELETE ON api_endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION notify_policy_of_all();
CREATE TRIGGER models_policy AFTER INSERT OR UPDATE OR DELETE ON models
    FOR EACH STATEMENT EXECUTE FUNCTION notify_policy_of_all();
