ALTER TABLE org_oauth_settings DROP CONSTRAINT org_oauth_settings_issuer_url_check;
ALTER TABLE org_oauth_settings ADD CONSTRAINT org_oauth_settings_issuer_url_check
    CHECK (issuer_url ~ '^https://');
ALTER TABLE org_oauth_settings DROP COLUMN sso_required;
