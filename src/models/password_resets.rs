//! Password reset links: a hash of each token, its lifetime and whether it was used.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::password_resets;
use crate::domain::UserId;

pub async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    token_hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::user_id.eq(user_id),
            password_resets::token_hash.eq(token_hash),
            password_resets::created_at.eq(now),
            password_resets::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Whether a link was sent to the user since `since` (one is enough for a while).
pub async fn sent_since(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    since: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        password_resets::table
            .filter(password_resets::user_id.eq(user_id))
            .filter(password_resets::created_at.gt(since)),
    ))
    .get_result(conn)
    .await
}

/// The user a live link (unused, unexpired) opens.
pub async fn open(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<UserId>> {
    password_resets::table
        .filter(password_resets::token_hash.eq(token_hash))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now))
        .select(password_resets::user_id)
        .first(conn)
        .await
        .optional()
}

/// Uses a live link: whoever gets here first gets the user, every other use nothing.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<UserId>> {
    diesel::update(
        password_resets::table
            .filter(password_resets::token_hash.eq(token_hash))
            .filter(password_resets::used_at.is_null())
            .filter(password_resets::expires_at.gt(now)),
    )
    .set(password_resets::used_at.eq(now))
    .returning(password_resets::user_id)
    .get_result(conn)
    .await
    .optional()
}

/// Closes the user's other live links once their password was reset.
pub async fn close_all(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        password_resets::table
            .filter(password_resets::user_id.eq(user_id))
            .filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(now))
    .execute(conn)
    .await
    .map(|_| ())
}
