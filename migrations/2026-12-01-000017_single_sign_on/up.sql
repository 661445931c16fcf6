-- Single sign-on: an organization with an OpenID Connect client may require its members to sign
-- in through it (password sign-in then tells them to use SSO). Kept with the client settings:
-- without a client there is nothing to require.
ALTER TABLE org_oauth_settings ADD COLUMN sso_required BOOLEAN NOT NULL DEFAULT false;

-- An identity provider on this machine may speak plain http (a development or test provider on
-- loopback); any other must be https.
ALTER TABLE org_oauth_settings DROP CONSTRAINT org_oauth_settings_issuer_url_check;
ALTER TABLE org_oauth_settings ADD CONSTRAINT org_oauth_settings_issuer_url_check
    CHECK (issuer_url ~ '^(https://|http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?(/|$))');
