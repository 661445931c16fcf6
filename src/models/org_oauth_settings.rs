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
    pub sso_required: bool,
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

/// Whether the user belongs to an active organization that requires single sign-on, has an
/// OpenID Connect client configured, while the platform allows OAuth sign-in. One statement.
pub async fn sso_required_for(
    conn: &mut AsyncPgConnection,
    user_id: crate::domain::UserId,
) -> QueryResult<bool> {
    use crate::db::schema::{memberships, organizations, platform_settings};
    let enabled = platform_settings::table
        .select(platform_settings::oauth_login_enabled)
        .single_value();
    let requiring = memberships::table
        .inner_join(organizations::table)
        .inner_join(
            org_oauth_settings::table.on(org_oauth_settings::org_id.eq(memberships::org_id)),
        )
        .filter(memberships::user_id.eq(user_id))
        .filter(org_oauth_settings::sso_required)
        .filter(organizations::status.eq("active"));
    diesel::select(diesel::dsl::exists(requiring).and(enabled.assume_not_null()))
        .get_result(conn)
        .await
}

/// Sets whether members must sign in with SSO; the value before, or `None` when the
/// organization has no client. The row is locked while it changes.
pub async fn set_sso_required(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    required: bool,
) -> QueryResult<Option<bool>> {
    let before: Option<bool> = org_oauth_settings::table
        .find(org_id)
        .select(org_oauth_settings::sso_required)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    if before.is_some() {
        diesel::update(org_oauth_settings::table.find(org_id))
            .set(org_oauth_settings::sso_required.eq(required))
            .execute(conn)
            .await?;
    }
    Ok(before)
}
