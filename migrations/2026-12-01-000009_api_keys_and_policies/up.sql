-- The endpoints the platform's gateway asks about, kept in one place: restrictions name them,
-- the policy API refuses any other.
CREATE TABLE api_endpoints (
    name        TEXT PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    label       TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    position    INTEGER NOT NULL
);
INSERT INTO api_endpoints (name, label, position) VALUES
    ('chat_completions', 'Chat completions', 1),
    ('embeddings', 'Embeddings', 2),
    ('images', 'Images', 3),
    ('audio', 'Audio', 4),
    ('files', 'Files', 5),
    ('fine_tuning', 'Fine-tuning', 6),
    ('batch', 'Batch', 7);

-- API keys: an organization's (org_id set, used by one of its members) or a personal one
-- (org_id NULL, which never reaches an organization). Only a SHA-256 of the 256-bit secret is
-- kept; the prefix is what people see and what a call is looked up by.
CREATE TABLE api_keys (
    id                  BIGSERIAL PRIMARY KEY,
    org_id              BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    user_id             BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix              TEXT NOT NULL UNIQUE CHECK (prefix ~ '^[0-9a-f]{12}$'),
    secret_hash         BYTEA NOT NULL CHECK (length(secret_hash) = 32),
    created_by          BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    expires_at          TIMESTAMPTZ,
    revoked_at          TIMESTAMPTZ,
    revoked_reason      TEXT,
    -- The key this one replaced (rotation keeps the old one valid for a while).
    rotated_from        BIGINT REFERENCES api_keys (id) ON DELETE SET NULL,
    expiry_warned_at    TIMESTAMPTZ,
    -- The last call, to show and to tell which keys a new rule would start denying.
    last_used_at        TIMESTAMPTZ,
    last_ip             TEXT,
    last_endpoint       TEXT,
    last_model          TEXT
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at DESC, id DESC) WHERE org_id IS NOT NULL;
CREATE INDEX api_keys_user ON api_keys (user_id, created_at DESC, id DESC);
CREATE INDEX api_keys_expiring ON api_keys (expires_at)
    WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND expiry_warned_at IS NULL;

-- SPEC §3: removing a member revokes their organization keys, at once, however they left.
CREATE FUNCTION revoke_keys_of_removed_member() RETURNS trigger AS $$
BEGIN
    UPDATE api_keys SET revoked_at = now(), revoked_reason = 'member removed'
    WHERE org_id = OLD.org_id AND user_id = OLD.user_id AND revoked_at IS NULL;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER memberships_revoke_keys AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION revoke_keys_of_removed_member();

-- A disabled account's keys, personal and organizational, stop at once and for good.
CREATE FUNCTION revoke_keys_of_disabled_user() RETURNS trigger AS $$
BEGIN
    UPDATE api_keys SET revoked_at = now(), revoked_reason = 'account disabled'
    WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER users_revoke_keys AFTER UPDATE OF status ON users
    FOR EACH ROW WHEN (NEW.status = 'disabled' AND OLD.status <> 'disabled')
    EXECUTE FUNCTION revoke_keys_of_disabled_user();

-- IP allowlist entries (a CIDR in canonical form, parsed by the application), optionally for
-- one endpoint only. A report-only entry is counted, not enforced.
CREATE TABLE ip_allow_entries (
    id          BIGSERIAL PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    network     TEXT NOT NULL CHECK (length(network) <= 64),
    label       TEXT NOT NULL CHECK (length(label) <= 100),
    endpoint    TEXT REFERENCES api_endpoints (name) ON UPDATE CASCADE ON DELETE CASCADE,
    report_only BOOLEAN NOT NULL DEFAULT false,
    created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX ip_allow_entries_unique ON ip_allow_entries (org_id, network, coalesce(endpoint, ''));

-- Endpoint restrictions: an allowlist for the whole organization (user_id NULL: admins and
-- members, not the owner) or for one member.
CREATE TABLE endpoint_restrictions (
    id          BIGSERIAL PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     BIGINT,
    report_only BOOLEAN NOT NULL DEFAULT false,
    created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX endpoint_restrictions_org_wide ON endpoint_restrictions (org_id) WHERE user_id IS NULL;
CREATE UNIQUE INDEX endpoint_restrictions_member ON endpoint_restrictions (org_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE endpoint_restriction_allows (
    restriction_id  BIGINT NOT NULL REFERENCES endpoint_restrictions (id) ON DELETE CASCADE,
    endpoint        TEXT NOT NULL REFERENCES api_endpoints (name) ON UPDATE CASCADE ON DELETE CASCADE,
    PRIMARY KEY (restriction_id, endpoint)
);

-- What report-only rules would have denied, per key.
CREATE TABLE policy_reports (
    key_id      BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    rule        TEXT NOT NULL CHECK (rule IN ('ip', 'endpoint')),
    would_deny  BIGINT NOT NULL,
    last_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key_id, rule)
);

-- A key's recent denials, each with the trace of every check.
CREATE TABLE key_denials (
    id          BIGSERIAL PRIMARY KEY,
    key_id      BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    reason      TEXT NOT NULL,
    trace       JSONB NOT NULL
);
CREATE INDEX key_denials_key ON key_denials (key_id, at DESC, id DESC);

-- Tokens used against what was purchased, per kind.
ALTER TABLE organizations
    ADD COLUMN inference_used BIGINT NOT NULL DEFAULT 0 CHECK (inference_used >= 0),
    ADD COLUMN embedding_used BIGINT NOT NULL DEFAULT 0 CHECK (embedding_used >= 0);

-- Every reported call, once: a retried report carries the same idempotency key.
CREATE TABLE usage_records (
    id              BIGSERIAL PRIMARY KEY,
    key_id          BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    org_id          BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL,
    endpoint        TEXT NOT NULL,
    model           TEXT NOT NULL,
    input_tokens    BIGINT NOT NULL CHECK (input_tokens >= 0),
    output_tokens   BIGINT NOT NULL CHECK (output_tokens >= 0),
    at              TIMESTAMPTZ NOT NULL,
    UNIQUE (key_id, idempotency_key)
);

-- The same, summed per key, day, endpoint and model as it is recorded: the pages read these,
-- never the raw rows.
CREATE TABLE usage_daily (
    key_id          BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day             DATE NOT NULL,
    endpoint        TEXT NOT NULL,
    model           TEXT NOT NULL,
    org_id          BIGINT,
    user_id         BIGINT NOT NULL,
    requests        BIGINT NOT NULL,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    PRIMARY KEY (key_id, day, endpoint, model)
);
CREATE INDEX usage_daily_org ON usage_daily (org_id, day)
    INCLUDE (user_id, endpoint, model, requests, input_tokens, output_tokens) WHERE org_id IS NOT NULL;
CREATE INDEX usage_daily_user ON usage_daily (user_id, day)
    INCLUDE (org_id, endpoint, model, requests, input_tokens, output_tokens);
