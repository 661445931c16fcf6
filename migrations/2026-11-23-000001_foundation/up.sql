-- Users, organizations and memberships with the invariants of SPEC §2 that belong to them,
-- sessions (so they can be revoked), login throttling and the append-only audit log.

CREATE TABLE users (
    id                  BIGSERIAL PRIMARY KEY,
    -- Stored lower-case, so a plain unique index is case-insensitive uniqueness.
    email               TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    first_name          TEXT NOT NULL DEFAULT '' CHECK (length(first_name) <= 100),
    last_name           TEXT NOT NULL DEFAULT '' CHECK (length(last_name) <= 100),
    -- Absent until the user sets a password (an invitation is accepted).
    password_hash       TEXT,
    platform_role       TEXT NOT NULL DEFAULT 'user' CHECK (platform_role IN ('user', 'super_admin')),
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at       TIMESTAMPTZ
);

CREATE TABLE organizations (
    id                  BIGSERIAL PRIMARY KEY,
    name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    contact_name        TEXT NOT NULL CHECK (length(contact_name) BETWEEN 1 AND 200),
    address             TEXT NOT NULL DEFAULT '',
    zip                 TEXT NOT NULL DEFAULT '',
    city                TEXT NOT NULL DEFAULT '',
    country             TEXT NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone               TEXT NOT NULL DEFAULT '',
    email               TEXT NOT NULL CHECK (email = lower(email)),
    domain              TEXT CHECK (domain = lower(domain) AND domain <> ''),
    restrict_to_domain  BOOLEAN NOT NULL DEFAULT false,
    allow_subdomains    BOOLEAN NOT NULL DEFAULT false,
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    -- Kept by the membership triggers below in the same transaction, so pages read counts
    -- without aggregating over every membership.
    member_count        INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    admin_count         INTEGER NOT NULL DEFAULT 0 CHECK (admin_count >= 0),
    subscriber_count    INTEGER NOT NULL DEFAULT 0 CHECK (subscriber_count >= 0),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_domain_key ON organizations (domain) WHERE domain IS NOT NULL;

CREATE TABLE memberships (
    org_id              BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id             BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    subscriber          BOOLEAN NOT NULL DEFAULT false,
    subscriber_admin    BOOLEAN NOT NULL DEFAULT false,
    joined_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_id ON memberships (user_id);
-- At most one owner per organization...
CREATE UNIQUE INDEX memberships_one_owner ON memberships (org_id) WHERE role = 'owner';

-- ...and at least one for every active organization, checked at commit so that a transfer
-- (demote the old owner, promote the new one) can happen inside one transaction.
CREATE FUNCTION check_org_has_owner() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    checked_org BIGINT;
BEGIN
    IF TG_TABLE_NAME = 'organizations' THEN
        checked_org := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        checked_org := OLD.org_id;
    ELSE
        checked_org := NEW.org_id;
    END IF;
    IF EXISTS (SELECT 1 FROM organizations o WHERE o.id = checked_org AND o.status = 'active')
       AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = checked_org AND m.role = 'owner') THEN
        RAISE EXCEPTION 'organization % has no owner', checked_org
            USING ERRCODE = 'check_violation', CONSTRAINT = 'organization_has_one_owner';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER organization_has_owner_on_membership
    AFTER INSERT OR UPDATE OR DELETE ON memberships
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_org_has_owner();
CREATE CONSTRAINT TRIGGER organization_has_owner_on_organization
    AFTER INSERT OR UPDATE OF status ON organizations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_org_has_owner();

-- Member, admin (owner or admin) and subscriber counters on the organization row.
CREATE FUNCTION maintain_membership_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE organizations SET
            member_count = member_count - 1,
            admin_count = admin_count - (OLD.role IN ('owner', 'admin'))::int,
            subscriber_count = subscriber_count - OLD.subscriber::int
        WHERE id = OLD.org_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE organizations SET
            member_count = member_count + 1,
            admin_count = admin_count + (NEW.role IN ('owner', 'admin'))::int,
            subscriber_count = subscriber_count + NEW.subscriber::int
        WHERE id = NEW.org_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER memberships_counts
    AFTER INSERT OR UPDATE OF org_id, role, subscriber OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION maintain_membership_counts();

-- Server-side session store for actix-session: the cookie carries only the key, whose hash is
-- the primary key here, so deleting rows revokes sessions.
CREATE TABLE sessions (
    key_hash            BYTEA PRIMARY KEY,
    user_id             BIGINT REFERENCES users (id) ON DELETE CASCADE,
    state               JSONB NOT NULL,
    expires_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Failed sign-ins, keyed by 'email:<address>' or 'ip:<address>', for throttling.
CREATE TABLE login_failures (
    id                  BIGSERIAL PRIMARY KEY,
    key                 TEXT NOT NULL,
    at                  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);

CREATE TABLE audit_log (
    id                  BIGSERIAL PRIMARY KEY,
    at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Plain ids, no foreign keys: history outlives the rows it describes.
    actor_user_id       BIGINT,
    actor_email         TEXT NOT NULL DEFAULT '',
    actor_role          TEXT NOT NULL,
    action              TEXT NOT NULL,
    org_id              BIGINT,
    target              TEXT NOT NULL DEFAULT '',
    before              JSONB,
    after               JSONB,
    ip                  TEXT
);
CREATE INDEX audit_log_org_at ON audit_log (org_id, at DESC);

-- Append-only: rows may be inserted, never changed or removed.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
