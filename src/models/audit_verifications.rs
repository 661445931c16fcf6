//! Walks along the audit chains, run in the background: each row is one walk's state, so any
//! instance can show its progress.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::audit_verifications;
use crate::domain::{OrgId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_verifications, check_for_backend(diesel::pg::Pg))]
pub struct AuditVerification {
    pub id: i64,
    pub org_id: Option<OrgId>,
    pub started_by: Option<UserId>,
    pub started_at: DateTime<Utc>,
    pub total: i64,
    pub checked: i64,
    pub beat_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub failed: bool,
    pub problem: Option<String>,
    pub problem_entry: Option<i64>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Links in the chains a walk covers: one organization's (its head's position), or every one.
pub async fn links_in(conn: &mut AsyncPgConnection, only: Option<OrgId>) -> QueryResult<i64> {
    let count: Count =
        match only {
            Some(org) => diesel::sql_query(
                "SELECT coalesce(max(position), 0)::bigint AS n FROM audit_chain WHERE chain = $1",
            )
            .bind::<BigInt, _>(org.0)
            .get_result(conn)
            .await?,
            None => {
                diesel::sql_query("SELECT count(*)::bigint AS n FROM audit_chain")
                    .get_result(conn)
                    .await?
            }
        };
    Ok(count.n)
}

/// The walk of the same chains still running (its walker heard from since `alive_since`).
pub async fn running(
    conn: &mut AsyncPgConnection,
    only: Option<OrgId>,
    alive_since: DateTime<Utc>,
) -> QueryResult<Option<i64>> {
    let query = audit_verifications::table
        .filter(audit_verifications::finished_at.is_null())
        .filter(audit_verifications::beat_at.gt(alive_since))
        .select(audit_verifications::id)
        .into_boxed();
    let query = match only {
        Some(org) => query.filter(audit_verifications::org_id.eq(org)),
        None => query.filter(audit_verifications::org_id.is_null()),
    };
    query.first(conn).await.optional()
}

pub async fn start(
    conn: &mut AsyncPgConnection,
    only: Option<OrgId>,
    started_by: UserId,
    total: i64,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    diesel::insert_into(audit_verifications::table)
        .values((
            audit_verifications::org_id.eq(only),
            audit_verifications::started_by.eq(started_by),
            audit_verifications::started_at.eq(now),
            audit_verifications::total.eq(total),
            audit_verifications::beat_at.eq(now),
        ))
        .returning(audit_verifications::id)
        .get_result(conn)
        .await
}

/// The walker's progress, and a sign of life.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    id: i64,
    checked: i64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(audit_verifications::table.find(id))
        .set((
            audit_verifications::checked.eq(checked),
            audit_verifications::beat_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The walk's end: how many links it checked and the first break, if any (its kind and entry).
pub async fn finish(
    conn: &mut AsyncPgConnection,
    id: i64,
    checked: i64,
    problem: Option<(&str, i64)>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(audit_verifications::table.find(id))
        .set((
            audit_verifications::checked.eq(checked),
            audit_verifications::beat_at.eq(now),
            audit_verifications::finished_at.eq(now),
            audit_verifications::problem.eq(problem.map(|(kind, _)| kind)),
            audit_verifications::problem_entry.eq(problem.map(|(_, entry)| entry)),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The walk stopped on an error: ended, with no verdict.
pub async fn abandon(conn: &mut AsyncPgConnection, id: i64, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(audit_verifications::table.find(id))
        .set((
            audit_verifications::finished_at.eq(now),
            audit_verifications::failed.eq(true),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<AuditVerification>> {
    audit_verifications::table
        .find(id)
        .select(AuditVerification::as_select())
        .first(conn)
        .await
        .optional()
}
