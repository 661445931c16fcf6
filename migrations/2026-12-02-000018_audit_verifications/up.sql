-- A walk along the audit chains, run in the background so a long log shows its progress.
-- The row is the walk's state: whichever instance serves the page reads it.
CREATE TABLE audit_verifications (
    id           BIGSERIAL PRIMARY KEY,
    -- The chains walked: one organization's, or every one (NULL, super admins only).
    org_id       BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    started_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    -- Entries in those chains when the walk started, and how many it has checked.
    total        BIGINT NOT NULL CHECK (total >= 0),
    checked      BIGINT NOT NULL DEFAULT 0 CHECK (checked >= 0),
    -- The walker's last sign of life: a walk silent for long was interrupted.
    beat_at      TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    -- Ended by an error (the database's), not by reaching the end: no verdict.
    failed       BOOLEAN NOT NULL DEFAULT false,
    -- The first break found, as its kind and entry; NULL when the chains are intact.
    problem      TEXT CHECK (problem IN ('altered', 'removed', 'broken', 'unlinked')),
    problem_entry BIGINT,
    CHECK ((problem IS NULL) = (problem_entry IS NULL))
);
-- A running walk of the same chains is joined rather than started again.
CREATE INDEX audit_verifications_running ON audit_verifications (org_id)
    WHERE finished_at IS NULL;
