-- Usage per member and month, kept in the same statement as the daily sums: the Usage page
-- sums a range from whole months and the few days at its edges (added, or taken away from
-- an edge month), not from every member's every day.
CREATE TABLE usage_member_monthly (
    org_id          BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    month           DATE NOT NULL CHECK (extract(day FROM month) = 1),
    user_id         BIGINT NOT NULL,
    requests        BIGINT NOT NULL,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    PRIMARY KEY (org_id, month, user_id)
);
CREATE INDEX usage_member_monthly_range ON usage_member_monthly (org_id, month)
    INCLUDE (user_id, requests, input_tokens, output_tokens);
INSERT INTO usage_member_monthly
SELECT org_id, date_trunc('month', day)::date, user_id, sum(requests), sum(input_tokens),
       sum(output_tokens)
FROM usage_member_daily GROUP BY 1, 2, 3;
