//! The platform's report of what an organization has in use against its plan's shared limits
//! (production workflows, work items, concurrent jobs; seed 000: totals across every member).
//! A report gives the figures now, not increments, so a retried report changes nothing. It
//! comes with an organization key of an owner or admin: in practice an admin service account's.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::access::{Actor, Permission};
use crate::db::DbPool;
use crate::domain::OrgId;
use crate::domain::api_key::PresentedKey;
use crate::error::AppError;
use crate::models::{api_keys, audit, plans, subscriptions, users};
use crate::policy::{Call, Reason, Secret};
use crate::services::org::subscription::{LimitUse, limits_of};
use crate::services::outbox::Postbox;
use crate::services::{alerts, policy};

/// What is in use now against each shared limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedUse {
    pub workflows: i32,
    pub work_items: i32,
    pub jobs: i32,
}

/// What became of a report.
pub enum SharedUseReported {
    /// Recorded: each limit with the use now.
    Recorded {
        org_id: OrgId,
        limits: Vec<LimitUse>,
    },
    /// The key, its organization or the IP allowlist said no, as `authorize` would, with the
    /// deciding check's explanation (which, for the key, tells an unknown key from a revoked
    /// one: not for the caller).
    Denied(Reason, String),
    /// The key may not report for an organization, and why.
    Refused(&'static str),
}

/// Where a report came from: the IP allowlist's address, and the audit log's.
pub struct Origin {
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn report(
    pool: &DbPool,
    postbox: &Postbox,
    presented: &str,
    figures: SharedUse,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<SharedUseReported, AppError> {
    let conn = &mut *pool.get().await?;
    let key = PresentedKey::parse(presented);
    let row = match &key {
        Some(key) => api_keys::facts(conn, key.prefix(), "", "", None).await?,
        None => None,
    };
    let facts = row.as_ref().map(policy::facts_of);
    let call = Call {
        endpoint: "",
        model: "",
        team: None,
        ip: origin.ip,
        now,
        secret: match (&key, &row) {
            (Some(key), Some(row)) if key.matches(&row.secret_hash) => Secret::Matched,
            _ => Secret::Mismatched,
        },
    };
    if let Err((reason, detail)) = crate::policy::standing(facts.as_ref(), &call) {
        return Ok(SharedUseReported::Denied(reason, detail));
    }
    let Some(facts) = facts else {
        return Ok(SharedUseReported::Denied(Reason::KeyInvalid, String::new()));
    };
    let (Some(org_id), Some(role)) = (facts.key.org_id, facts.key.role) else {
        return Ok(SharedUseReported::Refused(
            "A personal key reports nothing for an organization; use an organization key.",
        ));
    };
    if let Err(denied) = Permission::ReportSharedUse.check(role) {
        return Ok(SharedUseReported::Refused(denied.0));
    }
    let holder = facts.key.user_id;
    let label = users::labels_of(conn, &[holder])
        .await?
        .pop()
        .map_or_else(String::new, |(_, label)| label);
    let actor = Actor {
        user_id: Some(holder),
        email: label,
        role: role.as_str(),
        ip: origin.ip.map(|ip| ip.to_string()),
        request_id: origin.request_id,
    };
    let limits = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(before) = subscriptions::find(conn, org_id, true).await? else {
                return Ok(None);
            };
            let was = SharedUse {
                workflows: before.workflows_in_use,
                work_items: before.work_items_in_use,
                jobs: before.jobs_running,
            };
            let plan = match before.plan_id {
                Some(id) => plans::find(conn, id).await?,
                None => None,
            };
            if was == figures {
                return Ok(Some(limits_of(plan.as_ref(), &before)));
            }
            subscriptions::report_use(
                conn,
                org_id,
                figures.workflows,
                figures.work_items,
                figures.jobs,
            )
            .await?;
            let name = facts.org.as_ref().map_or("", |org| org.name.as_str());
            audit::record(
                conn,
                &audit::NewAuditEntry {
                    before: Some(was.as_json()),
                    after: Some(figures.as_json()),
                    ..actor.audit_org("organization.shared_use_reported", org_id, name)
                },
            )
            .await?;
            let now_in_use = subscriptions::Subscription {
                workflows_in_use: figures.workflows,
                work_items_in_use: figures.work_items,
                jobs_running: figures.jobs,
                ..before
            };
            Ok(Some(limits_of(plan.as_ref(), &now_in_use)))
        })
        .await?;
    let Some(limits) = limits else {
        return Ok(SharedUseReported::Denied(Reason::KeyInvalid, String::new()));
    };
    // On every report, changed or not: a new month's alerts are due to a use that stays high.
    alerts::after_use(conn, postbox, org_id, alerts::Changed::SharedUse, now).await?;
    Ok(SharedUseReported::Recorded { org_id, limits })
}

impl SharedUse {
    fn as_json(self) -> serde_json::Value {
        serde_json::json!({
            "production_workflows": self.workflows,
            "work_items": self.work_items,
            "concurrent_jobs": self.jobs,
        })
    }
}
