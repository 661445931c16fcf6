-- Soft alerts: the percentages of each limit at which owners and admins are emailed.
ALTER TABLE organizations
    ADD COLUMN alert_thresholds SMALLINT[] NOT NULL DEFAULT '{80,100}'
        CHECK (cardinality(alert_thresholds) <= 5 AND 0 < ALL (alert_thresholds)
               AND 100 >= ALL (alert_thresholds));

-- An alert sent: once per organization, limit, threshold and month.
CREATE TABLE usage_alerts_sent (
    org_id      BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    limit_name  TEXT NOT NULL,
    threshold   SMALLINT NOT NULL,
    period      DATE NOT NULL,
    sent_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, limit_name, threshold, period)
);

-- Usage summed per organization, day, endpoint and model, and per member and day, as it is
-- recorded: the Usage page reads these (a few rows a day, or one a member a day), never every
-- key's sums.
CREATE TABLE usage_org_daily (
    org_id          BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day             DATE NOT NULL,
    endpoint        TEXT NOT NULL,
    model           TEXT NOT NULL,
    requests        BIGINT NOT NULL,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, endpoint, model)
);
CREATE TABLE usage_member_daily (
    org_id          BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day             DATE NOT NULL,
    user_id         BIGINT NOT NULL,
    requests        BIGINT NOT NULL,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, user_id)
);
CREATE INDEX usage_member_daily_range ON usage_member_daily (org_id, day)
    INCLUDE (user_id, requests, input_tokens, output_tokens);
INSERT INTO usage_org_daily
SELECT org_id, day, endpoint, model, sum(requests), sum(input_tokens), sum(output_tokens)
FROM usage_daily WHERE org_id IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO usage_member_daily
SELECT org_id, day, user_id, sum(requests), sum(input_tokens), sum(output_tokens)
FROM usage_daily WHERE org_id IS NOT NULL GROUP BY 1, 2, 3;
