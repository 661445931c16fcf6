DROP TRIGGER memberships_disable_service_accounts ON memberships;
DROP FUNCTION disable_removed_service_account();
DROP TRIGGER memberships_service_accounts ON memberships;
DROP FUNCTION keep_service_accounts_in_their_organization();
DROP INDEX users_service_of;
ALTER TABLE users DROP CONSTRAINT service_accounts_never_sign_in, DROP COLUMN service_of;
