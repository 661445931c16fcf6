-- Two larger plans beside the default Standard one, so organizations can upgrade.
INSERT INTO plans (name, monthly_price_cents, included_seats, extra_seat_price_cents, workflow_limit, work_item_capacity, concurrent_job_limit)
VALUES ('Team', 9900, 25, 400, 50, 100000, 20),
       ('Business', 29900, 100, 300, 200, 1000000, 100)
ON CONFLICT (name) DO NOTHING;

-- The shared limits in use right now, reported by the platform (the policy API keeps them
-- current), and when the subscription was cancelled.
ALTER TABLE organizations
    ADD COLUMN workflows_in_use INTEGER NOT NULL DEFAULT 0 CHECK (workflows_in_use >= 0),
    ADD COLUMN work_items_in_use INTEGER NOT NULL DEFAULT 0 CHECK (work_items_in_use >= 0),
    ADD COLUMN jobs_running INTEGER NOT NULL DEFAULT 0 CHECK (jobs_running >= 0),
    ADD COLUMN cancelled_at TIMESTAMPTZ;

-- What an organization pays for, from when: one row per change of plan, seats or status. The
-- prices are copied, so editing a plan later never rewrites a past statement.
CREATE TABLE subscription_changes (
    id                      BIGSERIAL PRIMARY KEY,
    org_id                  BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    effective_at            TIMESTAMPTZ NOT NULL,
    reason                  TEXT NOT NULL CHECK (reason IN ('started', 'plan', 'seats', 'cancelled')),
    plan_name               TEXT NOT NULL,
    monthly_price_cents     BIGINT NOT NULL CHECK (monthly_price_cents >= 0),
    included_seats          INTEGER NOT NULL CHECK (included_seats >= 0),
    extra_seat_price_cents  BIGINT NOT NULL CHECK (extra_seat_price_cents >= 0),
    seats                   INTEGER NOT NULL CHECK (seats >= 0),
    active                  BOOLEAN NOT NULL
);
CREATE INDEX subscription_changes_org_time ON subscription_changes (org_id, effective_at, id);

INSERT INTO subscription_changes (org_id, effective_at, reason, plan_name, monthly_price_cents,
                                  included_seats, extra_seat_price_cents, seats, active)
SELECT o.id, o.created_at, 'started', coalesce(p.name, 'No plan'), coalesce(p.monthly_price_cents, 0),
       coalesce(p.included_seats, 0), coalesce(p.extra_seat_price_cents, 0), o.subscriber_count,
       o.status = 'active'
FROM organizations o LEFT JOIN plans p ON p.id = o.plan_id;

-- Seat holders by email, for the Subscription page's list: a page is read from the index
-- alone, however deep.
CREATE INDEX memberships_seat_holders ON memberships (org_id, email_key, user_id)
    INCLUDE (subscriber_admin) WHERE subscriber;

-- The organization's keys to LLM providers. The value is sealed (ChaCha20-Poly1305 under the
-- master key, bound to the organization and the key's id) and never read back by the console.
CREATE TABLE provider_keys (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    provider        TEXT NOT NULL CHECK (provider ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    label           TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    secret_sealed   BYTEA NOT NULL,
    last_four       TEXT NOT NULL CHECK (length(last_four) <= 4),
    created_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    rotated_at      TIMESTAMPTZ
);
CREATE UNIQUE INDEX provider_keys_org_label ON provider_keys (org_id, lower(label));

-- Every replacement of a key's value: who, when, and the last four of the value it put in.
CREATE TABLE provider_key_rotations (
    id              BIGSERIAL PRIMARY KEY,
    key_id          BIGINT NOT NULL REFERENCES provider_keys (id) ON DELETE CASCADE,
    rotated_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    rotated_at      TIMESTAMPTZ NOT NULL,
    last_four       TEXT NOT NULL CHECK (length(last_four) <= 4)
);
CREATE INDEX provider_key_rotations_key ON provider_key_rotations (key_id, rotated_at DESC);
