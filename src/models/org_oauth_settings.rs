//! Per-organization OAuth/OIDC client settings; the client secret is stored sealed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::org_oauth_settings;
use crate::domain::OrgId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = org_oauth_settings, check_for_backend(diesel::pg::Pg))]
pub struct OAuthSettings {
    pub org_id: OrgId,
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret_sealed: Vec<u8>,
    pub updated_at: DateTime<Utc>,
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Option<OAuthSettings>> {
    org_oauth_settings::table
        .find(org_id)
        .select(OAuthSettings::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn upsert(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    issuer_url: &str,
    client_id: &str,
    sealed_secret: &[u8],
) -> QueryResult<()> {
    diesel::insert_into(org_oauth_settings::table)
        .values((
            org_oauth_settings::org_id.eq(org_id),
            org_oauth_settings::issuer_url.eq(issuer_url),
            org_oauth_settings::client_id.eq(client_id),
            org_oauth_settings::client_secret_sealed.eq(sealed_secret),
        ))
        .on_conflict(org_oauth_settings::org_id)
        .do_update()
        .set((
            org_oauth_settings::issuer_url.eq(excluded(org_oauth_settings::issuer_url)),
            org_oauth_settings::client_id.eq(excluded(org_oauth_settings::client_id)),
            org_oauth_settings::client_secret_sealed
                .eq(excluded(org_oauth_settings::client_secret_sealed)),
            org_oauth_settings::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The first stored secret, to check at start-up that the master key still opens them.
pub async fn first_sealed_secret(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Option<(OrgId, Vec<u8>)>> {
    org_oauth_settings::table
        .order(org_oauth_settings::org_id)
        .select((
            org_oauth_settings::org_id,
            org_oauth_settings::client_secret_sealed,
        ))
        .first(conn)
        .await
        .optional()
}

/// Every sealed client secret, locked (master-key rotation).
pub async fn all_sealed(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(OrgId, Vec<u8>)>> {
    org_oauth_settings::table
        .order(org_oauth_settings::org_id)
        .select((
            org_oauth_settings::org_id,
            org_oauth_settings::client_secret_sealed,
        ))
        .for_update()
        .load(conn)
        .await
}

pub async fn set_sealed(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    sealed: &[u8],
) -> QueryResult<()> {
    diesel::update(org_oauth_settings::table.find(org_id))
        .set(org_oauth_settings::client_secret_sealed.eq(sealed))
        .execute(conn)
        .await
        .map(|_| ())
}
