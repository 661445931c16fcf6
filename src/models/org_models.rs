//! Each organization's model allowlist.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::org_models;
use crate::domain::OrgId;

pub async fn allowed_model_ids(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Vec<i64>> {
    org_models::table
        .filter(org_models::org_id.eq(org_id))
        .select(org_models::model_id)
        .load(conn)
        .await
}

/// Replaces an organization's allowlist (callers run it inside a transaction).
pub async fn set_allowed_models(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    model_ids: &[i64],
) -> QueryResult<()> {
    diesel::delete(org_models::table.filter(org_models::org_id.eq(org_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = model_ids
        .iter()
        .map(|id| (org_models::org_id.eq(org_id), org_models::model_id.eq(*id)))
        .collect();
    diesel::insert_into(org_models::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}
