//! Soft alerts: owners and admins choose percentages (80 % and 100 % unless they change them)
//! of every limit: the organization's purchased tokens, each team's token budget and the
//! plan's shared limits. The first time use reaches one in a month, each of them gets one
//! email, through the outbox, whichever instance recorded the use.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{OrgContext, Permission, require};
use crate::domain::{OrgId, TokenKind};
use crate::error::{AppError, Denied, TxError};
use crate::models::{audit, memberships, organizations, teams};
use crate::services::org::subscription::shared_limits;
use crate::services::org::{current_actor, rejected};
use crate::services::outbox::{AlertedLimit, Postbox, UsageAlertEmail};

/// Thresholds an organization may keep at most.
const MOST_THRESHOLDS: usize = 5;

/// Percentages as typed ("80, 100"): 1 to 100, at most five, each once, in order.
pub fn parse_thresholds(raw: &str) -> Result<Vec<i16>, &'static str> {
    let mut thresholds = Vec::new();
    for part in raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let value: i16 = part
            .trim_end_matches('%')
            .parse()
            .ok()
            .filter(|v| (1..=100).contains(v))
            .ok_or("Give whole percentages from 1 to 100, separated by commas.")?;
        if !thresholds.contains(&value) {
            thresholds.push(value);
        }
    }
    if thresholds.len() > MOST_THRESHOLDS {
        return Err("Choose at most five thresholds.");
    }
    thresholds.sort_unstable();
    Ok(thresholds)
}

/// Saves the organization's thresholds (none: no alerts).
#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn set_thresholds(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    thresholds: &[i16],
) -> Result<(), AppError> {
    require(ctx, Permission::ManagePlan)?;
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let actor = current_actor(conn, ctx).await?;
        require(&actor, Permission::ManagePlan).map_err(TxError::Rejected)?;
        let before = organizations::find(conn, ctx.org_id)
            .await?
            .map(|org| org.alert_thresholds)
            .unwrap_or_default();
        organizations::set_alert_thresholds(conn, ctx.org_id, thresholds).await?;
        let who = actor.actor();
        let entry = audit::NewAuditEntry {
            before: Some(serde_json::json!(before)),
            after: Some(serde_json::json!(thresholds)),
            ..who.audit_org("usage.alerts_changed", ctx.org_id, &ctx.org_name)
        };
        audit::record(conn, &entry).await?;
        Ok(())
    })
    .await
    .map_err(rejected)
}

/// What changed in the organization's use, and so which limits to look at again.
pub enum Changed<'a> {
    /// Tokens were used, some of them for these teams.
    Tokens { teams: &'a [i64] },
    /// The platform reported what is in use against the plan's shared limits.
    SharedUse,
}

/// A limit an alert watches and the organization's use of it.
struct Watched<'a> {
    /// Unique per organization: what `usage_alerts_sent` remembers.
    limit_name: String,
    limit: AlertedLimit<'a>,
    used: i64,
    allowed: i64,
}

/// After the organization's use changed: queues the alerts its use now calls for, each once
/// per limit, threshold and month. Returns how many emails were queued.
pub async fn after_use(
    conn: &mut AsyncPgConnection,
    postbox: &Postbox,
    org_id: OrgId,
    changed: Changed<'_>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let period = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or_default();
    let queued = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(org) = organizations::find(conn, org_id).await? else {
                return Ok(0);
            };
            let (budgets, shared) = match changed {
                Changed::Tokens { teams } => {
                    let mut budgets = Vec::new();
                    for &team in teams {
                        if let Some(budget) = teams::budget_use(conn, org_id, team).await? {
                            budgets.push((team, budget));
                        }
                    }
                    (budgets, Vec::new())
                }
                Changed::SharedUse => (Vec::new(), shared_limits(conn, org_id).await?),
            };
            let mut watched = Vec::new();
            if let Changed::Tokens { .. } = changed {
                for (kind, used, allowed) in [
                    (
                        TokenKind::Inference,
                        org.inference_used,
                        org.inference_purchased,
                    ),
                    (
                        TokenKind::Embedding,
                        org.embedding_used,
                        org.embedding_purchased,
                    ),
                ] {
                    watched.push(Watched {
                        limit_name: format!("{}_tokens", kind.as_str()),
                        limit: AlertedLimit::Tokens {
                            kind: kind.as_str(),
                        },
                        used,
                        allowed,
                    });
                }
            }
            for (team, budget) in &budgets {
                for (kind, assigned, used) in budget.assigned {
                    watched.push(Watched {
                        limit_name: format!("team:{team}:{}_tokens", kind.as_str()),
                        limit: AlertedLimit::TeamBudget {
                            team: &budget.name,
                            kind: kind.as_str(),
                        },
                        used,
                        allowed: assigned,
                    });
                }
            }
            let names: Vec<String> = shared.iter().map(|l| l.label.to_lowercase()).collect();
            for (limit, name) in shared.iter().zip(&names) {
                watched.push(Watched {
                    limit_name: format!("shared:{}", limit.key),
                    limit: AlertedLimit::Shared { name },
                    used: i64::from(limit.used),
                    allowed: i64::from(limit.limit),
                });
            }
            let mut queued = 0;
            for limit in watched.into_iter().filter(|w| w.allowed > 0) {
                let percent = limit.used.saturating_mul(100) / limit.allowed;
                let reached = org
                    .alert_thresholds
                    .iter()
                    .filter(|t| i64::from(**t) <= percent);
                for &threshold in reached {
                    let first_time = organizations::mark_alert_sent(
                        conn,
                        org_id,
                        &limit.limit_name,
                        threshold,
                        period,
                        now,
                    )
                    .await?;
                    if !first_time {
                        continue;
                    }
                    for to in memberships::manager_emails(conn, org_id).await? {
                        let email = UsageAlertEmail {
                            to: &to,
                            org_name: &org.name,
                            limit: limit.limit,
                            percent: threshold,
                            used: limit.used,
                            allowed: limit.allowed,
                        };
                        postbox.queue_usage_alert(conn, &email).await?;
                        queued += 1;
                    }
                }
            }
            Ok(queued)
        })
        .await?;
    if queued > 0 {
        postbox.wake();
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_whole_percentages_each_once_in_order() {
        assert_eq!(parse_thresholds("100, 80"), Ok(vec![80, 100]));
        assert_eq!(parse_thresholds("50% 75 75"), Ok(vec![50, 75]));
        assert_eq!(parse_thresholds(""), Ok(vec![]));
        assert!(parse_thresholds("0").is_err());
        assert!(parse_thresholds("101").is_err());
        assert!(parse_thresholds("eighty").is_err());
        assert!(parse_thresholds("10,20,30,40,50,60").is_err());
    }
}
