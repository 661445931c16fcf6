-- Members and invitations: teams (minimal: what invitations pre-assign and removals take away),
-- invitations with their hashed tokens, and the outbox of emails to send.

-- Teams, kept to what this issue needs; the teams issue adds description, colour and budgets.
CREATE TABLE teams (
    id          BIGSERIAL PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teams_org_name ON teams (org_id, lower(name));
-- The target of the composite keys below: a team row names its organization.
CREATE UNIQUE INDEX teams_id_org ON teams (id, org_id);

CREATE TABLE team_members (
    team_id     BIGINT NOT NULL,
    org_id      BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'member'
                CHECK (role IN ('owner', 'admin', 'moderator', 'member', 'viewer')),
    joined_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (team_id, org_id) REFERENCES teams (id, org_id) ON DELETE CASCADE,
    -- Only a member of the organization is in its teams, and leaving it leaves them all.
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
CREATE INDEX team_members_org_user ON team_members (org_id, user_id);

CREATE TABLE invitations (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT NOT NULL CHECK (email = lower(email)),
    -- `owner`: the account of an owner a super admin named, who has no password yet.
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'accepted', 'cancelled', 'expired')),
    -- SHA-256 of the token in the link; the token itself is never stored.
    token_hash      BYTEA NOT NULL,
    invited_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    last_sent_at    TIMESTAMPTZ,
    expires_at      TIMESTAMPTZ NOT NULL,
    -- How many times a link was issued (the first send and every resend).
    send_count      INT NOT NULL DEFAULT 1,
    -- Why the last attempt to send failed; cleared once it is sent.
    send_failure    TEXT,
    accepted_by     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    accepted_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX invitations_token_hash ON invitations (token_hash);
-- One pending invitation per email and organization: inviting again is a resend.
CREATE UNIQUE INDEX invitations_one_pending ON invitations (org_id, email) WHERE status = 'pending';
CREATE INDEX invitations_org_created ON invitations (org_id, created_at DESC, id DESC);
CREATE INDEX invitations_invited_by ON invitations (invited_by, org_id) WHERE status = 'pending';

CREATE TABLE invitation_teams (
    invitation_id   BIGINT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    team_id         BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (invitation_id, team_id)
);

-- Emails to send, written in the transaction of the change that causes them and sent by a
-- background worker (claimed with FOR UPDATE SKIP LOCKED, so N instances send each once).
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    invitation_id   BIGINT REFERENCES invitations (id) ON DELETE CASCADE,
    recipient       TEXT NOT NULL,
    -- The rendered message, sealed under the master key (it carries a sign-up link);
    -- cleared once sent.
    message_sealed  BYTEA,
    attempts        INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error      TEXT,
    sent_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_invitation ON outbox (invitation_id);
