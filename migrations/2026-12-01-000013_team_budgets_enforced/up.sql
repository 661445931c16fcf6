-- Team budgets are enforced: a call made for a team (the gateway names it) counts against the
-- team's assigned tokens as well as the organization's. Each team keeps its tokens used,
-- updated in the same statement as the usage, so `authorize` reads them cheaply.
ALTER TABLE teams
    ADD COLUMN inference_used BIGINT NOT NULL DEFAULT 0 CHECK (inference_used >= 0),
    ADD COLUMN embedding_used BIGINT NOT NULL DEFAULT 0 CHECK (embedding_used >= 0);
ALTER TABLE usage_records ADD COLUMN team_id BIGINT;

-- The policy cache forgets an organization's facts when its teams, their members or their
-- budgets change (migration 000011).
CREATE TRIGGER teams_policy
    AFTER UPDATE OF name, status, inference_used, embedding_used OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('org_id');
CREATE TRIGGER team_members_policy AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('org_id');
CREATE TRIGGER token_assignments_policy AFTER INSERT OR UPDATE OR DELETE ON token_assignments
    FOR EACH ROW EXECUTE FUNCTION notify_policy_of_org('org_id');
