-- Service accounts (seed 001): non-human members an organization owns, so an integration
-- outlives whoever set it up. A service account is a user that can never sign in (no
-- password, an address under the reserved `.invalid` domain, which no mail reaches) and a
-- member of its own organization only, as an admin or a member, never holding a seat. It
-- counts in usage (its keys' calls are its own), not in seats.
ALTER TABLE users
    ADD COLUMN service_of BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    ADD CONSTRAINT service_accounts_never_sign_in
        CHECK (service_of IS NULL OR (password_hash IS NULL AND platform_role = 'user'));
CREATE INDEX users_service_of ON users (service_of, id) WHERE service_of IS NOT NULL;

CREATE FUNCTION keep_service_accounts_in_their_organization() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner_org BIGINT;
BEGIN
    SELECT service_of INTO owner_org FROM users WHERE id = NEW.user_id;
    IF owner_org IS NOT NULL AND (owner_org <> NEW.org_id OR NEW.role = 'owner'
                                  OR NEW.subscriber OR NEW.subscriber_admin) THEN
        RAISE EXCEPTION 'a service account is a member of its own organization only, never its owner, and holds no seat'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER memberships_service_accounts BEFORE INSERT OR UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION keep_service_accounts_in_their_organization();

-- A service account removed from its organization is disabled for good (its keys were revoked
-- with the membership), however it was removed.
CREATE FUNCTION disable_removed_service_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET status = 'disabled'
    WHERE id = OLD.user_id AND service_of = OLD.org_id AND status <> 'disabled';
    RETURN NULL;
END $$;
CREATE TRIGGER memberships_disable_service_accounts AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION disable_removed_service_account();
