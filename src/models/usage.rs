//! Usage records: every reported call once (by its idempotency key), summed per key, day,
//! endpoint and model as it is recorded, and counted against the organization's tokens.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::domain::{OrgId, UserId};

/// One call as the gateway reports it.
#[derive(Debug, Clone)]
pub struct NewUsage {
    pub idempotency_key: String,
    pub endpoint: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub at: DateTime<Utc>,
    /// The team the call was made for: its tokens count against the team's budget too.
    pub team_id: Option<i64>,
}

#[derive(QueryableByName)]
struct Recorded {
    #[diesel(sql_type = BigInt)]
    recorded: i64,
}

/// Records the calls of one key that were not recorded before (a retried report adds
/// nothing), adds them to the daily sums and to the tokens used of the organization and of
/// the teams they were made for, in one statement; returns how many were new.
pub async fn record(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    calls: &[NewUsage],
) -> QueryResult<i64> {
    let mut teams: Vec<i64> = calls.iter().filter_map(|c| c.team_id).collect();
    if teams.is_empty() {
        return record_calls(conn, key_id, calls).await;
    }
    // The teams' rows first, in id order: two reports for the same teams never wait on each
    // other crosswise.
    teams.sort_unstable();
    teams.dedup();
    conn.transaction(async |conn| {
        diesel::sql_query("SELECT id FROM teams WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
            .bind::<Array<BigInt>, _>(&teams)
            .execute(conn)
            .await?;
        record_calls(conn, key_id, calls).await
    })
    .await
}

async fn record_calls(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    calls: &[NewUsage],
) -> QueryResult<i64> {
    let column = |f: fn(&NewUsage) -> String| calls.iter().map(f).collect::<Vec<_>>();
    let rows: Vec<Recorded> = diesel::sql_query(
        "WITH incoming AS ( \
             SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], \
                                  $6::bigint[], $7::timestamptz[], $8::bigint[]) \
                 AS i (idempotency_key, endpoint, model, input_tokens, output_tokens, at, \
                       team_id)), \
         owner AS (SELECT id, org_id, user_id FROM api_keys WHERE id = $1), \
         inserted AS ( \
             INSERT INTO usage_records (key_id, idempotency_key, org_id, user_id, endpoint, \
                                        model, input_tokens, output_tokens, at, team_id) \
             SELECT owner.id, i.idempotency_key, owner.org_id, owner.user_id, i.endpoint, \
                    i.model, i.input_tokens, i.output_tokens, i.at, i.team_id \
             FROM incoming i CROSS JOIN owner \
             ON CONFLICT (key_id, idempotency_key) DO NOTHING \
             RETURNING org_id, user_id, endpoint, model, input_tokens, output_tokens, at, \
                       team_id), \
         kinds AS ( \
             SELECT i.team_id, i.org_id, i.input_tokens + i.output_tokens AS tokens, m.kind \
             FROM inserted i LEFT JOIN LATERAL ( \
                 SELECT kind FROM models WHERE name = i.model ORDER BY id LIMIT 1) m ON true), \
         team_used AS ( \
             UPDATE teams t SET \
                 inference_used = t.inference_used + s.inference, \
                 embedding_used = t.embedding_used + s.embedding \
             FROM (SELECT team_id, min(org_id) AS org_id, \
                          coalesce(sum(tokens) FILTER (WHERE kind = 'inference'), 0) AS inference, \
                          coalesce(sum(tokens) FILTER (WHERE kind = 'embedding'), 0) AS embedding \
                   FROM kinds WHERE team_id IS NOT NULL GROUP BY team_id) s \
             WHERE t.id = s.team_id AND t.org_id = s.org_id), \
         daily AS ( \
             INSERT INTO usage_daily (key_id, day, endpoint, model, org_id, user_id, \
                                      requests, input_tokens, output_tokens) \
             SELECT $1, (at AT TIME ZONE 'UTC')::date, endpoint, model, min(org_id), \
                    min(user_id), count(*), sum(input_tokens), sum(output_tokens) \
             FROM inserted GROUP BY 2, 3, 4 \
             ON CONFLICT (key_id, day, endpoint, model) DO UPDATE SET \
                 requests = usage_daily.requests + excluded.requests, \
                 input_tokens = usage_daily.input_tokens + excluded.input_tokens, \
                 output_tokens = usage_daily.output_tokens + excluded.output_tokens), \
         org_daily AS ( \
             INSERT INTO usage_org_daily (org_id, day, endpoint, model, requests, \
                                          input_tokens, output_tokens) \
             SELECT min(org_id), (at AT TIME ZONE 'UTC')::date, endpoint, model, count(*), \
                    sum(input_tokens), sum(output_tokens) \
             FROM inserted WHERE org_id IS NOT NULL GROUP BY 2, 3, 4 \
             ON CONFLICT (org_id, day, endpoint, model) DO UPDATE SET \
                 requests = usage_org_daily.requests + excluded.requests, \
                 input_tokens = usage_org_daily.input_tokens + excluded.input_tokens, \
                 output_tokens = usage_org_daily.output_tokens + excluded.output_tokens), \
         member_daily AS ( \
             INSERT INTO usage_member_daily (org_id, day, user_id, requests, input_tokens, \
                                             output_tokens) \
             SELECT min(org_id), (at AT TIME ZONE 'UTC')::date, min(user_id), count(*), \
                    sum(input_tokens), sum(output_tokens) \
             FROM inserted WHERE org_id IS NOT NULL GROUP BY 2 \
             ON CONFLICT (org_id, day, user_id) DO UPDATE SET \
                 requests = usage_member_daily.requests + excluded.requests, \
                 input_tokens = usage_member_daily.input_tokens + excluded.input_tokens, \
                 output_tokens = usage_member_daily.output_tokens + excluded.output_tokens), \
         used AS ( \
             UPDATE organizations o SET \
                 inference_used = o.inference_used + t.inference, \
                 embedding_used = o.embedding_used + t.embedding \
             FROM (SELECT min(org_id) AS org_id, \
                          coalesce(sum(tokens) FILTER (WHERE kind = 'inference'), 0) AS inference, \
                          coalesce(sum(tokens) FILTER (WHERE kind = 'embedding'), 0) AS embedding \
                   FROM kinds) t \
             WHERE o.id = t.org_id) \
         SELECT count(*) AS recorded FROM inserted",
    )
    .bind::<BigInt, _>(key_id)
    .bind::<Array<Text>, _>(column(|c| c.idempotency_key.clone()))
    .bind::<Array<Text>, _>(column(|c| c.endpoint.clone()))
    .bind::<Array<Text>, _>(column(|c| c.model.clone()))
    .bind::<Array<BigInt>, _>(calls.iter().map(|c| c.input_tokens).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(calls.iter().map(|c| c.output_tokens).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(calls.iter().map(|c| c.at).collect::<Vec<_>>())
    .bind::<Array<diesel::sql_types::Nullable<BigInt>>, _>(
        calls.iter().map(|c| c.team_id).collect::<Vec<_>>(),
    )
    .load(conn)
    .await?;
    Ok(rows.iter().map(|r| r.recorded).sum())
}

/// Whose usage a page sums.
#[derive(Debug, Clone, Copy)]
pub enum UsageOf {
    Organization(OrgId),
    /// One person's: their personal keys and their keys in every organization.
    User(UserId),
}

/// The dimensions a page breaks usage down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Day,
    Endpoint,
    Model,
    /// By member for an organization; by organization (empty: personal) for a user.
    Holder,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct UsageSum {
    #[diesel(sql_type = Text)]
    dimension: String,
    #[diesel(sql_type = Text)]
    pub value: String,
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    #[diesel(sql_type = BigInt)]
    pub input_tokens: i64,
    #[diesel(sql_type = BigInt)]
    pub output_tokens: i64,
}

impl UsageSum {
    pub fn dimension(&self) -> Dimension {
        match self.dimension.as_str() {
            "day" => Dimension::Day,
            "endpoint" => Dimension::Endpoint,
            "model" => Dimension::Model,
            _ => Dimension::Holder,
        }
    }

    pub fn tokens(&self) -> i64 {
        self.input_tokens + self.output_tokens
    }
}

/// Usage from `from` to `until` (inclusive days, UTC) summed by day, endpoint, model and
/// holder, from the daily sums, in one statement.
pub async fn sums(
    conn: &mut AsyncPgConnection,
    of: UsageOf,
    from: NaiveDate,
    until: NaiveDate,
) -> QueryResult<Vec<UsageSum>> {
    let (query, id) = match of {
        // The organization's rollups: a few rows a day, and one a member a day.
        UsageOf::Organization(org) => (
            "SELECT 'day' AS dimension, day::text AS value, sum(requests)::bigint AS requests, \
                    sum(input_tokens)::bigint AS input_tokens, \
                    sum(output_tokens)::bigint AS output_tokens \
             FROM usage_org_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY day \
             UNION ALL SELECT 'endpoint', endpoint, sum(requests)::bigint, \
                    sum(input_tokens)::bigint, sum(output_tokens)::bigint \
             FROM usage_org_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY endpoint \
             UNION ALL SELECT 'model', model, sum(requests)::bigint, sum(input_tokens)::bigint, \
                    sum(output_tokens)::bigint \
             FROM usage_org_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY model \
             UNION ALL SELECT 'holder', user_id::text, sum(requests)::bigint, \
                    sum(input_tokens)::bigint, sum(output_tokens)::bigint \
             FROM usage_member_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 \
             GROUP BY user_id",
            org.0,
        ),
        // One person's keys: a handful, summed per key and day.
        UsageOf::User(user) => (
            "SELECT CASE WHEN grouping(day) = 0 THEN 'day' WHEN grouping(endpoint) = 0 \
                         THEN 'endpoint' WHEN grouping(model) = 0 THEN 'model' ELSE 'holder' \
                    END AS dimension, \
                    coalesce(day::text, endpoint, model, coalesce(org_id::text, '')) AS value, \
                    sum(requests)::bigint AS requests, sum(input_tokens)::bigint AS input_tokens, \
                    sum(output_tokens)::bigint AS output_tokens \
             FROM usage_daily WHERE user_id = $1 AND day BETWEEN $2 AND $3 \
             GROUP BY GROUPING SETS ((day), (endpoint), (model), (coalesce(org_id::text, '')))",
            user.0,
        ),
    };
    diesel::sql_query(query)
        .bind::<BigInt, _>(id)
        .bind::<Date, _>(from)
        .bind::<Date, _>(until)
        .load(conn)
        .await
}
