-- The Members page lists pending invitations first (they are the ones to resend or cancel),
-- newest first, a page's worth read in index order however many an organization has sent.
ALTER TABLE invitations ADD COLUMN pending BOOLEAN GENERATED ALWAYS AS (status = 'pending') STORED;
DROP INDEX invitations_org_created;
CREATE INDEX invitations_org_pending_first ON invitations (org_id, pending DESC, created_at DESC, id DESC);
