//! The audit log pages (an organization's and the super admins'), their filters, pages and
//! CSV, and the hash chains that make tampering visible.

mod browser;
mod chain;
mod every_route;
mod pages;

use crate::support::{OrgId, TestApp};

/// Writes `count` entries about `org` straight into the log, a second apart from `start`
/// (seconds before the app's clock), each with its number in the target: `target-<n>`.
pub async fn write_entries(app: &TestApp, org: OrgId, count: i64, action: &str, actor: &str) {
    app.sql(&format!(
        "INSERT INTO audit_log (at, actor_email, actor_role, action, org_id, target, before, after)
         SELECT now() - interval '1 day' + g * interval '1 second', '{actor}', 'admin', '{action}',
                {org}, 'target-' || g, '{{\"role\": \"member\"}}', '{{\"role\": \"admin\"}}'
           FROM generate_series(1, {count}) g",
        org = org.0
    ))
    .await;
}
