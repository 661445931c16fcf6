//! The append-only audit log (the database refuses updates and deletes).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::audit_log;
use crate::domain::{OrgId, UserId};

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub actor_user_id: Option<UserId>,
    pub actor_email: &'a str,
    /// The role the actor acted as: `super_admin`, an organization role, `self` or `system`.
    pub actor_role: &'a str,
    pub action: &'a str,
    pub org_id: Option<OrgId>,
    pub target: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<&'a str>,
}

pub async fn record(conn: &mut AsyncPgConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn record_many(
    conn: &mut AsyncPgConnection,
    entries: &[NewAuditEntry<'_>],
) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    diesel::insert_into(audit_log::table)
        .values(entries)
        .execute(conn)
        .await
        .map(|_| ())
}
