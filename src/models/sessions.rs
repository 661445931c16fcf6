//! Server-side session rows (see `web::kit::session` for the store that uses them).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{memberships, organizations, platform_settings, sessions, users};
use crate::domain::{OrgId, OrgRole, PlatformRole, UserId};

/// A session row with its signed-in user, the user's organizations and the platform settings
/// every page needs: one row per organization (one row when there is none).
#[derive(Debug, Queryable)]
pub struct SessionWithUser {
    pub state: serde_json::Value,
    pub user_id: Option<UserId>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub platform_role: Option<PlatformRole>,
    pub org_id: Option<OrgId>,
    pub org_name: Option<String>,
    pub role: Option<OrgRole>,
    pub org_cancelled: Option<bool>,
    pub subscriber_admin: Option<bool>,
    pub single_org_per_account: bool,
    pub oauth_login_enabled: bool,
}

/// The live session with this key and, when it is signed in to an active account, its user
/// and their organizations, in one statement: the request context costs one round trip.
/// Written with the DSL so the statement is prepared once per connection.
pub async fn load_with_user(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
) -> QueryResult<Vec<SessionWithUser>> {
    sessions::table
        // The settings table has one row, whose id is `true`.
        .inner_join(platform_settings::table.on(platform_settings::id.eq(true)))
        .left_join(
            users::table.on(users::id
                .nullable()
                .eq(sessions::user_id)
                .and(users::status.eq("active"))),
        )
        .left_join(memberships::table.on(memberships::user_id.eq(users::id)))
        // A cancelled organization is closed to everyone but its owner (SPEC §3).
        .left_join(
            organizations::table.on(organizations::id.eq(memberships::org_id).and(
                organizations::status
                    .eq("active")
                    .or(memberships::role.eq(OrgRole::Owner)),
            )),
        )
        .filter(sessions::key_hash.eq(key_hash))
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .order((organizations::name.asc(), organizations::id.asc()))
        .select((
            sessions::state,
            users::id.nullable(),
            users::email.nullable(),
            users::first_name.nullable(),
            users::last_name.nullable(),
            users::platform_role.nullable(),
            memberships::org_id.nullable(),
            organizations::name.nullable(),
            memberships::role.nullable(),
            organizations::status.eq("cancelled").nullable(),
            memberships::subscriber_admin.nullable(),
            platform_settings::single_org_per_account,
            platform_settings::oauth_login_enabled,
        ))
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

/// Records when the session was last seen (its `last_seen` entry) and extends the row, unless
/// another request of the same session is writing the row right now: that one records the
/// same fact, so concurrent requests never queue on the row.
pub async fn touch(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    last_seen: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    use diesel::sql_types::{Bytea, Text, Timestamptz};
    diesel::sql_query(
        "UPDATE sessions SET state = jsonb_set(state, '{last_seen}', to_jsonb($2::text)), \
         expires_at = $3 \
         WHERE key_hash = (SELECT key_hash FROM sessions WHERE key_hash = $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Bytea, _>(key_hash)
    .bind::<Text, _>(last_seen)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)
    .await
    .map(|_| ())
}
