//! Server-side session rows (see `web::kit::session` for the store that uses them).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::sessions;
use crate::domain::{OrgId, OrgRole, PlatformRole, UserId};

/// A session row with its signed-in user, the user's organizations and the platform settings
/// every page needs: one row per organization (one row when there is none).
#[derive(Debug, QueryableByName)]
pub struct SessionWithUser {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub state: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub user_id: Option<UserId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub first_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub last_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub platform_role: Option<PlatformRole>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub org_id: Option<OrgId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub org_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub role: Option<OrgRole>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub single_org_per_account: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub oauth_login_enabled: bool,
}

/// The live session with this key and, when it is signed in to an active account, its user
/// and their organizations, in one statement: the request context costs one round trip.
pub async fn load_with_user(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
) -> QueryResult<Vec<SessionWithUser>> {
    diesel::sql_query(
        "SELECT s.state, u.id AS user_id, u.email, u.first_name, u.last_name, u.platform_role, \
                m.org_id, o.name AS org_name, m.role, \
                p.single_org_per_account, p.oauth_login_enabled \
         FROM sessions s \
         CROSS JOIN platform_settings p \
         LEFT JOIN users u ON u.id = s.user_id AND u.status = 'active' \
         LEFT JOIN memberships m ON m.user_id = u.id \
         LEFT JOIN organizations o ON o.id = m.org_id \
         WHERE s.key_hash = $1 AND s.expires_at > now() \
         ORDER BY o.name, o.id",
    )
    .bind::<diesel::sql_types::Bytea, _>(key_hash)
    .load(conn)
    .await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    user_id: Option<UserId>,
    state: &serde_json::Value,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::key_hash.eq(key_hash),
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Returns whether a live row was updated.
pub async fn update(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    user_id: Option<UserId>,
    state: &serde_json::Value,
    expires_at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .set((
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

pub async fn extend(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn delete(conn: &mut AsyncPgConnection, key_hash: &[u8]) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Ends every session of a user (sign-out everywhere, password change, account disabled).
pub async fn delete_for_user(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)))
        .execute(conn)
        .await
}

pub async fn delete_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(diesel::dsl::now)))
        .execute(conn)
        .await
}
