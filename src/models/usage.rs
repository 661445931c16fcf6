//! Usage records: every reported call once (by its idempotency key), summed per key, day,
//! endpoint and model as it is recorded, and counted against the organization's tokens.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
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
         member_monthly AS ( \
             INSERT INTO usage_member_monthly (org_id, month, user_id, requests, input_tokens, \
                                               output_tokens) \
             SELECT min(org_id), date_trunc('month', at AT TIME ZONE 'UTC')::date, min(user_id), \
                    count(*), sum(input_tokens), sum(output_tokens) \
             FROM inserted WHERE org_id IS NOT NULL GROUP BY 2 \
             ON CONFLICT (org_id, month, user_id) DO UPDATE SET \
                 requests = usage_member_monthly.requests + excluded.requests, \
                 input_tokens = usage_member_monthly.input_tokens + excluded.input_tokens, \
                 output_tokens = usage_member_monthly.output_tokens + excluded.output_tokens), \
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
/// holder, from the rollups, in one statement.
pub async fn sums(
    conn: &mut AsyncPgConnection,
    of: UsageOf,
    from: NaiveDate,
    until: NaiveDate,
) -> QueryResult<Vec<UsageSum>> {
    match of {
        // The organization's rollups: a few rows a day; members from whole months and the
        // days at the range's edges (`MemberSpans`), not one row a member a day.
        UsageOf::Organization(org) => {
            let reads = MemberSpans::of(from, until).reads();
            let mut sql = String::from(
                "SELECT 'day' AS dimension, day::text AS value, sum(requests)::bigint AS requests, \
                        sum(input_tokens)::bigint AS input_tokens, \
                        sum(output_tokens)::bigint AS output_tokens \
                 FROM usage_org_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY day \
                 UNION ALL SELECT 'endpoint', endpoint, sum(requests)::bigint, \
                        sum(input_tokens)::bigint, sum(output_tokens)::bigint \
                 FROM usage_org_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 \
                 GROUP BY endpoint \
                 UNION ALL SELECT 'model', model, sum(requests)::bigint, \
                        sum(input_tokens)::bigint, sum(output_tokens)::bigint \
                 FROM usage_org_daily WHERE org_id = $1 AND day BETWEEN $2 AND $3 GROUP BY model \
                 UNION ALL SELECT 'holder', user_id::text, sum(requests)::bigint, \
                        sum(input_tokens)::bigint, sum(output_tokens)::bigint FROM (",
            );
            // Only the spans that read something; params from $4, two dates each.
            let branches: Vec<String> = reads
                .iter()
                .enumerate()
                .map(|(i, read)| {
                    let (table, column) = if read.monthly {
                        ("usage_member_monthly", "month")
                    } else {
                        ("usage_member_daily", "day")
                    };
                    let sign = if read.taken { "-" } else { "" };
                    format!(
                        "SELECT user_id, {sign}requests AS requests, \
                                {sign}input_tokens AS input_tokens, \
                                {sign}output_tokens AS output_tokens \
                         FROM {table} WHERE org_id = $1 AND {column} BETWEEN ${} AND ${}",
                        4 + 2 * i,
                        5 + 2 * i
                    )
                })
                .collect();
            sql.push_str(&branches.join(" UNION ALL "));
            sql.push_str(") spans GROUP BY user_id HAVING sum(requests) > 0");
            let mut query = diesel::sql_query(sql)
                .into_boxed()
                .bind::<BigInt, _>(org.0)
                .bind::<Date, _>(from)
                .bind::<Date, _>(until);
            for read in &reads {
                query = query.bind::<Date, _>(read.first).bind::<Date, _>(read.last);
            }
            query.load(conn).await
        }
        // One person's keys: a handful, summed per key and day.
        UsageOf::User(user) => {
            diesel::sql_query(
                "SELECT CASE WHEN grouping(day) = 0 THEN 'day' WHEN grouping(endpoint) = 0 \
                             THEN 'endpoint' WHEN grouping(model) = 0 THEN 'model' \
                             ELSE 'holder' END AS dimension, \
                        coalesce(day::text, endpoint, model, coalesce(org_id::text, '')) AS value, \
                        sum(requests)::bigint AS requests, \
                        sum(input_tokens)::bigint AS input_tokens, \
                        sum(output_tokens)::bigint AS output_tokens \
                 FROM usage_daily WHERE user_id = $1 AND day BETWEEN $2 AND $3 \
                 GROUP BY GROUPING SETS ((day), (endpoint), (model), (coalesce(org_id::text, '')))",
            )
            .bind::<BigInt, _>(user.0)
            .bind::<Date, _>(from)
            .bind::<Date, _>(until)
            .load(conn)
            .await
        }
    }
}

/// How a range of days is summed from the per-member rollups: whole months, plus the days
/// added at an edge, minus the days of an edge month that fall outside the range. Each edge
/// takes whichever reads fewer rows: its days inside the range, or its month less the days
/// outside. Unused spans are empty (their first day after their last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MemberSpans {
    /// First days of the first and last whole months read.
    months: (NaiveDate, NaiveDate),
    added: [(NaiveDate, NaiveDate); 2],
    taken: [(NaiveDate, NaiveDate); 2],
}

impl MemberSpans {
    fn of(from: NaiveDate, until: NaiveDate) -> MemberSpans {
        let empty = (
            until.succ_opt().unwrap_or(until),
            from.pred_opt().unwrap_or(from),
        );
        let mut spans = MemberSpans {
            months: (month_start(from), month_start(until)),
            added: [empty; 2],
            taken: [empty; 2],
        };
        if from > until {
            spans.months = (empty.0, empty.1);
            return spans;
        }
        let days = |first: NaiveDate, last: NaiveDate| (last - first).num_days() + 1;
        // The first month: the range's days in it, against the month less the days before.
        let first_month_end = month_end(spans.months.0).min(until);
        let inside = days(from, first_month_end);
        let before = days(spans.months.0, from) - 1;
        let after = if spans.months.0 == spans.months.1 {
            days(until, month_end(until)) - 1
        } else {
            0
        };
        // One month row per member costs about one day's row.
        if inside <= before + after + 1 {
            spans.added[0] = (from, first_month_end);
            spans.months.0 = month_end(spans.months.0).succ_opt().unwrap_or(until);
        } else {
            if before > 0 {
                spans.taken[0] = (month_start(from), from.pred_opt().unwrap_or(from));
            }
            if after > 0 {
                spans.taken[1] = (until.succ_opt().unwrap_or(until), month_end(until));
            }
        }
        if month_start(from) == month_start(until) {
            return spans.collapsed(from, until);
        }
        // The last month, likewise.
        let inside = days(spans.months.1, until);
        let after = days(until, month_end(until)) - 1;
        if inside <= after + 1 {
            spans.added[1] = (spans.months.1, until);
            spans.months.1 = spans.months.1.pred_opt().map_or(from, month_start);
        } else if after > 0 {
            spans.taken[1] = (until.succ_opt().unwrap_or(until), month_end(until));
        }
        spans.collapsed(from, until)
    }

    /// Without a whole month, the days added are the range itself: one span.
    fn collapsed(mut self, from: NaiveDate, until: NaiveDate) -> MemberSpans {
        if self.months.0 > self.months.1 {
            let empty = (
                until.succ_opt().unwrap_or(until),
                from.pred_opt().unwrap_or(from),
            );
            self.added = [(from, until), empty];
        }
        self
    }

    /// The spans that read anything.
    fn reads(&self) -> Vec<Read> {
        let read = |monthly, taken, (first, last): (NaiveDate, NaiveDate)| {
            (first <= last).then_some(Read {
                monthly,
                taken,
                first,
                last,
            })
        };
        std::iter::once(read(true, false, self.months))
            .chain(self.added.iter().map(|span| read(false, false, *span)))
            .chain(self.taken.iter().map(|span| read(false, true, *span)))
            .flatten()
            .collect()
    }
}

/// One span of rows a range reads: month rows or day rows, added or taken away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Read {
    monthly: bool,
    taken: bool,
    first: NaiveDate,
    last: NaiveDate,
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn month_end(day: NaiveDate) -> NaiveDate {
    let next = if day.month() == 12 {
        NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
    };
    next.and_then(|d| d.pred_opt()).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    /// Every day the spans count, with how many times (months add all their days).
    fn counted(spans: &MemberSpans) -> BTreeMap<NaiveDate, i32> {
        let mut counts = BTreeMap::new();
        let mut add = |first: NaiveDate, last: NaiveDate, sign: i32| {
            let mut d = first;
            while d <= last {
                *counts.entry(d).or_insert(0) += sign;
                d = d.succ_opt().expect("a next day");
            }
        };
        let (mut month, last_month) = spans.months;
        while month <= last_month {
            add(month, month_end(month), 1);
            month = month_end(month).succ_opt().expect("a next month");
        }
        for (first, last) in spans.added {
            add(first, last, 1);
        }
        for (first, last) in spans.taken {
            add(first, last, -1);
        }
        counts.retain(|_, n| *n != 0);
        counts
    }

    #[test]
    fn spans_count_every_day_of_the_range_once_and_no_other() {
        let start = day("2026-01-20");
        for offset in 0..75 {
            let from = start + chrono::Duration::days(offset);
            for length in [1, 2, 15, 28, 30, 31, 45, 90, 366] {
                let until = from + chrono::Duration::days(length - 1);
                let spans = MemberSpans::of(from, until);
                let counts = counted(&spans);
                assert!(
                    counts.values().all(|n| *n == 1),
                    "{from} {until}: {spans:?}"
                );
                assert_eq!(counts.len() as i64, length, "{from} {until}: {spans:?}");
                assert_eq!(counts.keys().next(), Some(&from));
                assert_eq!(counts.keys().last(), Some(&until));
            }
        }
    }

    #[test]
    fn a_range_without_a_whole_month_reads_its_days_in_one_span() {
        let reads = MemberSpans::of(day("2026-10-17"), day("2026-11-15")).reads();
        assert_eq!(
            reads,
            [Read {
                monthly: false,
                taken: false,
                first: day("2026-10-17"),
                last: day("2026-11-15"),
            }]
        );
    }

    #[test]
    fn the_last_thirty_days_on_the_first_of_a_month_read_a_month_and_two_days() {
        let spans = MemberSpans::of(day("2026-11-02"), day("2026-12-01"));
        assert_eq!(spans.months, (day("2026-11-01"), day("2026-11-01")));
        assert!(
            spans
                .taken
                .contains(&(day("2026-11-01"), day("2026-11-01")))
        );
        assert!(
            spans
                .added
                .contains(&(day("2026-12-01"), day("2026-12-01")))
        );
    }
}
