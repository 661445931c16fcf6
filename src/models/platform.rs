//! Platform-wide settings, the plan catalogue and the model catalogue.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{models, org_models, plans, platform_settings};
use crate::domain::{OrgId, TokenKind};

#[derive(Debug, Clone, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = platform_settings, check_for_backend(diesel::pg::Pg))]
pub struct PlatformSettings {
    pub single_org_per_account: bool,
    pub oauth_login_enabled: bool,
    pub invitation_ttl_days: i32,
}

pub async fn settings(conn: &mut AsyncPgConnection) -> QueryResult<PlatformSettings> {
    platform_settings::table
        .select(PlatformSettings::as_select())
        .first(conn)
        .await
}

pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    settings: &PlatformSettings,
) -> QueryResult<PlatformSettings> {
    diesel::update(platform_settings::table)
        .set(settings)
        .returning(PlatformSettings::as_returning())
        .get_result(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plans, check_for_backend(diesel::pg::Pg))]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub monthly_price_cents: i64,
    pub included_seats: i32,
    pub extra_seat_price_cents: i64,
    pub workflow_limit: i32,
    pub work_item_capacity: i32,
    pub concurrent_job_limit: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = plans)]
pub struct NewPlan {
    pub name: String,
    pub monthly_price_cents: i64,
    pub included_seats: i32,
    pub extra_seat_price_cents: i64,
    pub workflow_limit: i32,
    pub work_item_capacity: i32,
    pub concurrent_job_limit: i32,
}

pub async fn plans(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Plan>> {
    plans::table
        .order(plans::monthly_price_cents.asc())
        .select(Plan::as_select())
        .load(conn)
        .await
}

pub async fn default_plan_id(conn: &mut AsyncPgConnection) -> QueryResult<Option<i64>> {
    plans::table
        .order(plans::id.asc())
        .select(plans::id)
        .first(conn)
        .await
        .optional()
}

/// Inserts a plan; `None` when the name is taken.
pub async fn insert_plan(
    conn: &mut AsyncPgConnection,
    plan: &NewPlan,
) -> QueryResult<Option<Plan>> {
    diesel::insert_into(plans::table)
        .values(plan)
        .on_conflict(plans::name)
        .do_nothing()
        .returning(Plan::as_returning())
        .get_result(conn)
        .await
        .optional()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = models, check_for_backend(diesel::pg::Pg))]
pub struct Model {
    pub id: i64,
    pub provider: String,
    pub name: String,
    pub kind: TokenKind,
}

pub async fn catalogue(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Model>> {
    models::table
        .order((models::provider.asc(), models::name.asc()))
        .select(Model::as_select())
        .load(conn)
        .await
}

/// Adds a model; `None` when the provider already has one of that name.
pub async fn insert_model(
    conn: &mut AsyncPgConnection,
    provider: &str,
    name: &str,
    kind: TokenKind,
) -> QueryResult<Option<Model>> {
    diesel::insert_into(models::table)
        .values((
            models::provider.eq(provider),
            models::name.eq(name),
            models::kind.eq(kind),
        ))
        .on_conflict((models::provider, models::name))
        .do_nothing()
        .returning(Model::as_returning())
        .get_result(conn)
        .await
        .optional()
}

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
