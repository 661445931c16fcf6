DROP INDEX invitations_org_pending_first;
ALTER TABLE invitations DROP COLUMN pending;
CREATE INDEX invitations_org_created ON invitations (org_id, created_at DESC, id DESC);
