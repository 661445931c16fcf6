//! The platform's report of what an organization has in use against its plan's shared limits
//! (production workflows, work items, concurrent jobs; seed 000: totals across every member).
//! A report gives the figures now, not increments, so a retried report changes nothing. Only
//! the platform reports them (`PlatformCaller`): the figures decide which plans the
//! organization fits, so no key the organization holds may set them.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::access::PlatformCaller;
use crate::db::DbPool;
use crate::domain::OrgId;
use crate::error::AppError;
use crate::models::{audit, organizations, plans, subscriptions};
use crate::services::alerts;
use crate::services::org::subscription::{LimitUse, limits_of};
use crate::services::outbox::Postbox;

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
    Recorded(Vec<LimitUse>),
    NoSuchOrganization,
    /// Cancelled: it runs nothing, and its figures stay as they were.
    OrganizationInactive,
}

#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn report(
    pool: &DbPool,
    postbox: &Postbox,
    platform: &PlatformCaller,
    org_id: OrgId,
    figures: SharedUse,
    now: DateTime<Utc>,
) -> Result<SharedUseReported, AppError> {
    let conn = &mut *pool.get().await?;
    let reported = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            // The row stays locked to the commit: two reports at once are recorded one after
            // the other, each audited against the figures the other left.
            let Some(before) = subscriptions::find(conn, org_id, true).await? else {
                return Ok(SharedUseReported::NoSuchOrganization);
            };
            if before.status != "active" || before.is_cancelled() {
                return Ok(SharedUseReported::OrganizationInactive);
            }
            let was = SharedUse {
                workflows: before.workflows_in_use,
                work_items: before.work_items_in_use,
                jobs: before.jobs_running,
            };
            let plan = match before.plan_id {
                Some(id) => plans::find(conn, id).await?,
                None => None,
            };
            let name = organizations::name_and_member_count(conn, org_id)
                .await?
                .map(|(name, _)| name)
                .unwrap_or_default();
            if was != figures {
                subscriptions::report_use(
                    conn,
                    org_id,
                    figures.workflows,
                    figures.work_items,
                    figures.jobs,
                )
                .await?;
                let entry = audit::NewAuditEntry {
                    before: Some(was.as_json()),
                    after: Some(figures.as_json()),
                    ..platform
                        .actor()
                        .audit_org("organization.shared_use_reported", org_id, &name)
                };
                audit::record(conn, &entry).await?;
            }
            let now_in_use = subscriptions::Subscription {
                workflows_in_use: figures.workflows,
                work_items_in_use: figures.work_items,
                jobs_running: figures.jobs,
                ..before
            };
            Ok(SharedUseReported::Recorded(limits_of(
                plan.as_ref(),
                &now_in_use,
            )))
        })
        .await?;
    if let SharedUseReported::Recorded(_) = reported {
        // On every report, changed or not: a use that stays high is told again next month.
        alerts::after_use(conn, postbox, org_id, alerts::Changed::SharedUse, now).await?;
    }
    Ok(reported)
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
