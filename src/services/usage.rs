//! Usage reports: an organization's (owners and admins, SPEC §3 "view org-wide usage") and a
//! person's own, by day, endpoint, model and member (or organization), over a date range, read
//! from the daily sums in one pass.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;

use crate::access::{CurrentUser, OrgContext, Permission, require};
use crate::domain::{FieldErrors, OrgId, UserId};
use crate::error::AppError;
use crate::models::organizations;
use crate::models::usage::{self, Dimension, UsageOf, UsageSum};
use crate::services::org::subscription::{LimitUse, shared_limits};

/// The longest range a report covers.
pub const LONGEST_RANGE_DAYS: i64 = 366;
/// Days a report covers unless asked otherwise.
pub const DEFAULT_RANGE_DAYS: i64 = 30;
/// Holders (members or organizations) listed at most, most tokens first.
const HOLDERS_SHOWN: usize = 100;

/// A date range, both ends included, in UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: NaiveDate,
    pub until: NaiveDate,
}

impl Range {
    /// The range as typed (`YYYY-MM-DD`), or the last 30 days for what is left empty.
    pub fn parse(from: &str, until: &str, now: DateTime<Utc>) -> Result<Range, FieldErrors> {
        let today = now.date_naive();
        let mut errors = FieldErrors::default();
        let mut day = |field: &'static str, typed: &str, default: NaiveDate| match typed.trim() {
            "" => Some(default),
            typed => NaiveDate::parse_from_str(typed, "%Y-%m-%d")
                .map_err(|_| errors.add(field, "Enter a date as YYYY-MM-DD."))
                .ok(),
        };
        let until = day("until", until, today);
        let from = day(
            "from",
            from,
            until.unwrap_or(today) - Duration::days(DEFAULT_RANGE_DAYS - 1),
        );
        let (Some(from), Some(until)) = (from, until) else {
            return Err(errors);
        };
        if from > until {
            errors.add("from", "The first day comes before the last.");
        } else if (until - from).num_days() >= LONGEST_RANGE_DAYS {
            errors.add("from", "A report covers at most 366 days.");
        }
        if errors.is_empty() {
            Ok(Range { from, until })
        } else {
            Err(errors)
        }
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.from.iter_days().take_while(|d| *d <= self.until)
    }
}

/// Requests and tokens of one line of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    pub label: String,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

impl Line {
    pub fn tokens(&self) -> i64 {
        self.input_tokens + self.output_tokens
    }

    fn of(label: String, sum: &UsageSum) -> Line {
        Line {
            label,
            requests: sum.requests,
            input_tokens: sum.input_tokens,
            output_tokens: sum.output_tokens,
        }
    }
}

/// Purchased and used tokens of each kind (an organization's report).
#[derive(Debug, Clone)]
pub struct Credits {
    pub inference_purchased: i64,
    pub inference_used: i64,
    pub embedding_purchased: i64,
    pub embedding_used: i64,
    /// The soft alerts' thresholds (percent of each limit).
    pub alert_thresholds: Vec<i16>,
    /// The plan's shared limits and what is in use of each now (none without a plan).
    pub plan_limits: Vec<LimitUse>,
}

impl Credits {
    /// Each kind of token: its name, used and purchased.
    pub fn by_kind(&self) -> [(&'static str, i64, i64); 2] {
        [
            ("Inference", self.inference_used, self.inference_purchased),
            ("Embedding", self.embedding_used, self.embedding_purchased),
        ]
    }
}

pub struct Report {
    pub range: Range,
    /// One line per day of the range, days without calls included.
    pub days: Vec<Line>,
    pub endpoints: Vec<Line>,
    pub models: Vec<Line>,
    /// Members (an organization's report) or organizations (a person's), most tokens first.
    pub holders: Vec<Line>,
    /// Holders with usage beyond those listed.
    pub more_holders: usize,
    pub total: Line,
    pub credits: Option<Credits>,
}

#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn of_organization(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    range: Range,
) -> Result<Report, AppError> {
    require(ctx, Permission::ManagePlan)?;
    let sums = usage::sums(
        conn,
        UsageOf::Organization(ctx.org_id),
        range.from,
        range.until,
    )
    .await?;
    let org = organizations::find(conn, ctx.org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let ids = top_holders(&sums);
    let labels: HashMap<String, String> = crate::models::users::labels_of(
        conn,
        &ids.iter()
            .filter_map(|id| id.parse().ok().map(UserId))
            .collect::<Vec<_>>(),
    )
    .await?
    .into_iter()
    .map(|(id, email)| (id.0.to_string(), email))
    .collect();
    let mut report = build(range, &sums, |id| {
        labels
            .get(id)
            .cloned()
            .unwrap_or_else(|| "A former member".to_owned())
    });
    report.credits = Some(Credits {
        inference_purchased: org.inference_purchased,
        inference_used: org.inference_used,
        embedding_purchased: org.embedding_purchased,
        embedding_used: org.embedding_used,
        alert_thresholds: org.alert_thresholds,
        plan_limits: shared_limits(conn, ctx.org_id).await?,
    });
    Ok(report)
}

/// A person's own usage: their personal keys and their keys in every organization.
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn of_user(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    range: Range,
) -> Result<Report, AppError> {
    let sums = usage::sums(conn, UsageOf::User(user.id), range.from, range.until).await?;
    let names: HashMap<String, String> = user
        .organizations
        .iter()
        .map(|org| (org.org_id.0.to_string(), org.org_name.clone()))
        .collect();
    Ok(build(range, &sums, |id| match id {
        "" => "Personal".to_owned(),
        id => names.get(id).cloned().unwrap_or_else(|| {
            id.parse()
                .map(|n: i64| format!("Organization {}", OrgId(n)))
                .unwrap_or_default()
        }),
    }))
}

/// The ids of the holders a report lists.
fn top_holders(sums: &[UsageSum]) -> Vec<String> {
    let mut holders: Vec<&UsageSum> = sums
        .iter()
        .filter(|s| s.dimension() == Dimension::Holder)
        .collect();
    holders.sort_by_key(|s| std::cmp::Reverse(s.tokens()));
    holders
        .into_iter()
        .take(HOLDERS_SHOWN)
        .map(|s| s.value.clone())
        .collect()
}

fn build(range: Range, sums: &[UsageSum], holder_name: impl Fn(&str) -> String) -> Report {
    let of = |dimension| sums.iter().filter(move |s| s.dimension() == dimension);
    let by_day: HashMap<&str, &UsageSum> =
        of(Dimension::Day).map(|s| (s.value.as_str(), s)).collect();
    let days = range
        .days()
        .map(|day| {
            let label = day.format("%Y-%m-%d").to_string();
            by_day.get(label.as_str()).map_or_else(
                || Line {
                    label: label.clone(),
                    ..Line::default()
                },
                |s| Line::of(label.clone(), s),
            )
        })
        .collect();
    let sorted = |dimension, name: &dyn Fn(&str) -> String| {
        let mut lines: Vec<Line> = of(dimension).map(|s| Line::of(name(&s.value), s)).collect();
        lines.sort_by(|a, b| b.tokens().cmp(&a.tokens()).then(a.label.cmp(&b.label)));
        lines
    };
    let mut holders = sorted(Dimension::Holder, &holder_name);
    let more_holders = holders.len().saturating_sub(HOLDERS_SHOWN);
    holders.truncate(HOLDERS_SHOWN);
    let total = of(Dimension::Day).fold(
        Line {
            label: "Total".to_owned(),
            ..Line::default()
        },
        |mut t, s| {
            t.requests += s.requests;
            t.input_tokens += s.input_tokens;
            t.output_tokens += s.output_tokens;
            t
        },
    );
    Report {
        range,
        days,
        endpoints: sorted(Dimension::Endpoint, &|v| v.to_owned()),
        models: sorted(Dimension::Model, &|v| v.to_owned()),
        holders,
        more_holders,
        total,
        credits: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .expect("time")
            .to_utc()
    }

    #[test]
    fn a_range_defaults_to_the_last_30_days_and_refuses_what_makes_no_sense() {
        let range = Range::parse("", "", now()).expect("default");
        assert_eq!(range.from.to_string(), "2026-11-02");
        assert_eq!(range.until.to_string(), "2026-12-01");
        assert_eq!(range.days().count(), 30);
        assert!(Range::parse("2026-12-02", "2026-12-01", now()).is_err());
        assert!(Range::parse("2025-01-01", "2026-12-01", now()).is_err());
        assert!(Range::parse("yesterday", "", now()).is_err());
        assert!(Range::parse("2026-02-30", "", now()).is_err());
    }
}
