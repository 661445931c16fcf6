-- The super administrator's console: platform settings, plans, the model catalogue and each
-- organization's allowlist, OAuth client settings, token purchases and assignments, and what the
-- Organizations and Users tables need to stay fast at scale.

-- Trigram indexes for "contains" search. pg_trgm is a trusted extension (a database owner may
-- create it) shipped with PostgreSQL.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE platform_settings (
    id                      BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    single_org_per_account  BOOLEAN NOT NULL DEFAULT false,
    oauth_login_enabled     BOOLEAN NOT NULL DEFAULT false,
    invitation_ttl_days     INTEGER NOT NULL DEFAULT 7 CHECK (invitation_ttl_days BETWEEN 1 AND 90)
);
INSERT INTO platform_settings DEFAULT VALUES;

CREATE TABLE plans (
    id                      BIGSERIAL PRIMARY KEY,
    name                    TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    monthly_price_cents     BIGINT NOT NULL CHECK (monthly_price_cents >= 0),
    included_seats          INTEGER NOT NULL CHECK (included_seats >= 0),
    extra_seat_price_cents  BIGINT NOT NULL CHECK (extra_seat_price_cents >= 0),
    workflow_limit          INTEGER NOT NULL CHECK (workflow_limit >= 0),
    work_item_capacity      INTEGER NOT NULL CHECK (work_item_capacity >= 0),
    concurrent_job_limit    INTEGER NOT NULL CHECK (concurrent_job_limit >= 0),
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Seed 004's default: $20 a month with 10 seats included, $5 per extra seat.
INSERT INTO plans (name, monthly_price_cents, included_seats, extra_seat_price_cents, workflow_limit, work_item_capacity, concurrent_job_limit)
VALUES ('Standard', 2000, 10, 500, 10, 10000, 5);

CREATE TABLE models (
    id          BIGSERIAL PRIMARY KEY,
    provider    TEXT NOT NULL CHECK (provider ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind        TEXT NOT NULL CHECK (kind IN ('inference', 'embedding')),
    UNIQUE (provider, name)
);
INSERT INTO models (provider, name, kind) VALUES
    ('openai', 'gpt-4o', 'inference'),
    ('openai', 'text-embedding-3-large', 'embedding'),
    ('anthropic', 'claude-sonnet-4', 'inference'),
    ('google', 'gemini-2.5-pro', 'inference'),
    ('mistral', 'mistral-large', 'inference'),
    ('mistral', 'mistral-embed', 'embedding');

CREATE TABLE org_models (
    org_id      BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    model_id    BIGINT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, model_id)
);

CREATE TABLE org_oauth_settings (
    org_id                  BIGINT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    issuer_url              TEXT NOT NULL CHECK (issuer_url ~ '^https://'),
    client_id               TEXT NOT NULL CHECK (length(client_id) BETWEEN 1 AND 255),
    -- nonce || ChaCha20-Poly1305 ciphertext under the master key, bound to the organization.
    client_secret_sealed    BYTEA NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE organizations
    ADD COLUMN plan_id BIGINT REFERENCES plans (id),
    ADD COLUMN inference_purchased BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN inference_assigned BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN embedding_purchased BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN embedding_assigned BIGINT NOT NULL DEFAULT 0,
    -- Assigned tokens never exceed purchased ones, per kind, whatever the code does.
    ADD CONSTRAINT inference_assigned_within_purchased CHECK (inference_assigned BETWEEN 0 AND inference_purchased),
    ADD CONSTRAINT embedding_assigned_within_purchased CHECK (embedding_assigned BETWEEN 0 AND embedding_purchased),
    ADD COLUMN search_text TEXT GENERATED ALWAYS AS (lower(name || ' ' || coalesce(domain, '') || ' ' || email)) STORED,
    -- Case-insensitive sort keys as plain columns: an index on an expression cannot serve an
    -- index-only scan, and deep pages need one.
    ADD COLUMN name_key TEXT GENERATED ALWAYS AS (lower(name)) STORED,
    ADD COLUMN contact_key TEXT GENERATED ALWAYS AS (lower(contact_name)) STORED;
UPDATE organizations SET plan_id = (SELECT id FROM plans WHERE name = 'Standard');

-- One index per sortable column of the Organizations table (ties broken by id).
CREATE INDEX organizations_name_id ON organizations (name_key, id);
CREATE INDEX organizations_member_count_id ON organizations (member_count, id);
CREATE INDEX organizations_contact_id ON organizations (contact_key, id);
CREATE INDEX organizations_phone_id ON organizations (phone, id);
CREATE INDEX organizations_email_id ON organizations (email, id);
CREATE INDEX organizations_domain_id ON organizations (domain, id);
CREATE INDEX organizations_inference_purchased_id ON organizations (inference_purchased, id);
CREATE INDEX organizations_inference_assigned_id ON organizations (inference_assigned, id);
CREATE INDEX organizations_embedding_purchased_id ON organizations (embedding_purchased, id);
CREATE INDEX organizations_embedding_assigned_id ON organizations (embedding_assigned, id);
CREATE INDEX organizations_search ON organizations USING gin (search_text gin_trgm_ops);

-- People are found by what their email, first name or last name starts with: a range over a
-- B-tree per field, fast even for common words (a trigram index is not, at 200,000 users) and
-- usable from a prepared statement (LIKE 'x%' needs the pattern at planning time). The keys are
-- lower-case and in the "C" collation, so a prefix is exactly the range [p, p+1).
ALTER TABLE users
    ADD COLUMN email_key TEXT COLLATE "C" GENERATED ALWAYS AS (email) STORED,
    ADD COLUMN first_name_key TEXT COLLATE "C" GENERATED ALWAYS AS (lower(first_name)) STORED,
    ADD COLUMN last_name_key TEXT COLLATE "C" GENERATED ALWAYS AS (lower(last_name)) STORED;
-- Covering (INCLUDE the id), so a search reads only the indexes.
CREATE INDEX users_by_email_key ON users (email_key) INCLUDE (id);
-- First and last name together serve both "gra" and "grace hop".
CREATE INDEX users_by_full_name_key ON users (first_name_key, last_name_key) INCLUDE (id);
CREATE INDEX users_by_last_name_key ON users (last_name_key) INCLUDE (id);

-- The same keys on each membership, so a 20,000-member organization is searched within itself.
ALTER TABLE memberships
    ADD COLUMN email_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN first_name_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN last_name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE FUNCTION fill_membership_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT u.email_key, u.first_name_key, u.last_name_key
      INTO NEW.email_key, NEW.first_name_key, NEW.last_name_key
      FROM users u WHERE u.id = NEW.user_id;
    RETURN NEW;
END $$;
CREATE TRIGGER memberships_keys BEFORE INSERT OR UPDATE OF user_id ON memberships
    FOR EACH ROW EXECUTE FUNCTION fill_membership_keys();
CREATE FUNCTION copy_user_keys_to_memberships() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET email_key = NEW.email_key, first_name_key = NEW.first_name_key, last_name_key = NEW.last_name_key
    WHERE user_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_keys_to_memberships AFTER UPDATE OF email, first_name, last_name ON users
    FOR EACH ROW EXECUTE FUNCTION copy_user_keys_to_memberships();
UPDATE memberships m SET email_key = u.email_key, first_name_key = u.first_name_key, last_name_key = u.last_name_key
FROM users u WHERE u.id = m.user_id;
CREATE INDEX memberships_email_key ON memberships (org_id, email_key) INCLUDE (user_id);
CREATE INDEX memberships_full_name_key ON memberships (org_id, first_name_key, last_name_key) INCLUDE (user_id);
CREATE INDEX memberships_last_name_key ON memberships (org_id, last_name_key) INCLUDE (user_id);

CREATE TABLE token_purchases (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('inference', 'embedding')),
    tokens          BIGINT NOT NULL CHECK (tokens > 0),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents >= 0),
    currency        TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    purchased_on    DATE NOT NULL,
    -- Unique across the platform: importing the same sales file twice adds nothing.
    reference       TEXT NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 100),
    source          TEXT NOT NULL CHECK (source IN ('manual', 'import')),
    created_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX token_purchases_org ON token_purchases (org_id, purchased_on DESC, id DESC);

CREATE TABLE token_assignments (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('inference', 'embedding')),
    tokens          BIGINT NOT NULL CHECK (tokens > 0),
    -- A member of the organization (teams join this table when they exist).
    user_id         BIGINT NOT NULL,
    created_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
CREATE INDEX token_assignments_org ON token_assignments (org_id, created_at DESC);

-- Token totals on the organization row, kept per statement so a 50,000-line import updates each
-- organization once.
CREATE FUNCTION apply_token_totals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    purchased BOOLEAN := TG_TABLE_NAME = 'token_purchases';
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH delta AS (
            SELECT org_id,
                   sum(tokens) FILTER (WHERE kind = 'inference') AS inference,
                   sum(tokens) FILTER (WHERE kind = 'embedding') AS embedding
            FROM new_rows GROUP BY org_id)
        UPDATE organizations o SET
            inference_purchased = o.inference_purchased + CASE WHEN purchased THEN coalesce(d.inference, 0) ELSE 0 END,
            embedding_purchased = o.embedding_purchased + CASE WHEN purchased THEN coalesce(d.embedding, 0) ELSE 0 END,
            inference_assigned = o.inference_assigned + CASE WHEN purchased THEN 0 ELSE coalesce(d.inference, 0) END,
            embedding_assigned = o.embedding_assigned + CASE WHEN purchased THEN 0 ELSE coalesce(d.embedding, 0) END
        FROM delta d WHERE o.id = d.org_id;
    ELSE
        WITH delta AS (
            SELECT org_id,
                   sum(tokens) FILTER (WHERE kind = 'inference') AS inference,
                   sum(tokens) FILTER (WHERE kind = 'embedding') AS embedding
            FROM old_rows GROUP BY org_id)
        UPDATE organizations o SET
            inference_purchased = o.inference_purchased - CASE WHEN purchased THEN coalesce(d.inference, 0) ELSE 0 END,
            embedding_purchased = o.embedding_purchased - CASE WHEN purchased THEN coalesce(d.embedding, 0) ELSE 0 END,
            inference_assigned = o.inference_assigned - CASE WHEN purchased THEN 0 ELSE coalesce(d.inference, 0) END,
            embedding_assigned = o.embedding_assigned - CASE WHEN purchased THEN 0 ELSE coalesce(d.embedding, 0) END
        FROM delta d WHERE o.id = d.org_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER token_purchases_totals_insert AFTER INSERT ON token_purchases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_token_totals();
CREATE TRIGGER token_purchases_totals_delete AFTER DELETE ON token_purchases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_token_totals();
CREATE TRIGGER token_assignments_totals_insert AFTER INSERT ON token_assignments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_token_totals();
CREATE TRIGGER token_assignments_totals_delete AFTER DELETE ON token_assignments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_token_totals();
-- Amounts are facts: correct one by deleting and re-recording it.
CREATE FUNCTION token_rows_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows cannot be updated', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER token_purchases_immutable BEFORE UPDATE ON token_purchases
    FOR EACH ROW EXECUTE FUNCTION token_rows_are_immutable();
CREATE TRIGGER token_assignments_immutable BEFORE UPDATE ON token_assignments
    FOR EACH ROW EXECUTE FUNCTION token_rows_are_immutable();

-- Membership counters per statement as well, so bulk assignment updates each organization once.
DROP TRIGGER memberships_counts ON memberships;
DROP FUNCTION maintain_membership_counts();

CREATE FUNCTION apply_membership_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        WITH delta AS (
            SELECT org_id, count(*) AS members,
                   count(*) FILTER (WHERE role IN ('owner', 'admin')) AS admins,
                   count(*) FILTER (WHERE subscriber) AS subscribers
            FROM old_rows GROUP BY org_id)
        UPDATE organizations o SET
            member_count = o.member_count - d.members,
            admin_count = o.admin_count - d.admins,
            subscriber_count = o.subscriber_count - d.subscribers
        FROM delta d WHERE o.id = d.org_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        WITH delta AS (
            SELECT org_id, count(*) AS members,
                   count(*) FILTER (WHERE role IN ('owner', 'admin')) AS admins,
                   count(*) FILTER (WHERE subscriber) AS subscribers
            FROM new_rows GROUP BY org_id)
        UPDATE organizations o SET
            member_count = o.member_count + d.members,
            admin_count = o.admin_count + d.admins,
            subscriber_count = o.subscriber_count + d.subscribers
        FROM delta d WHERE o.id = d.org_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER memberships_counts_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_membership_counts();
CREATE TRIGGER memberships_counts_update AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_membership_counts();
CREATE TRIGGER memberships_counts_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_membership_counts();

-- Platform-wide row counts, kept per statement, so the unfiltered tables need no count(*).
CREATE TABLE platform_counters (
    id              BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    organizations   BIGINT NOT NULL,
    users           BIGINT NOT NULL
);
INSERT INTO platform_counters (organizations, users)
VALUES ((SELECT count(*) FROM organizations), (SELECT count(*) FROM users));

CREATE FUNCTION apply_platform_counts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO delta FROM new_rows;
    ELSE
        SELECT -count(*) INTO delta FROM old_rows;
    END IF;
    IF TG_TABLE_NAME = 'organizations' THEN
        UPDATE platform_counters SET organizations = organizations + delta;
    ELSE
        UPDATE platform_counters SET users = users + delta;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER organizations_count_insert AFTER INSERT ON organizations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_platform_counts();
CREATE TRIGGER organizations_count_delete AFTER DELETE ON organizations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_platform_counts();
CREATE TRIGGER users_count_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_platform_counts();
CREATE TRIGGER users_count_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION apply_platform_counts();
