//! The one row of platform-wide settings.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::platform_settings;

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
