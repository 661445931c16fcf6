//! Failed sign-ins, counted over a sliding window to throttle guessing.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::login_failures;

/// Failures recorded under each key within the last `window_minutes`, in one query.
pub async fn recent_counts(
    conn: &mut AsyncPgConnection,
    keys: &[&str],
    window_minutes: i32,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(String, i64)>> {
    login_failures::table
        .filter(login_failures::key.eq_any(keys))
        .filter(login_failures::at.gt(now - Duration::minutes(window_minutes.into())))
        .group_by(login_failures::key)
        .select((login_failures::key, diesel::dsl::count_star()))
        .load(conn)
        .await
}

pub async fn record(conn: &mut AsyncPgConnection, keys: &[&str]) -> QueryResult<()> {
    let rows: Vec<_> = keys
        .iter()
        .map(|key| login_failures::key.eq(*key))
        .collect();
    diesel::insert_into(login_failures::table)
        .values(rows)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::key.eq(key)))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn delete_older_than(
    conn: &mut AsyncPgConnection,
    minutes: i32,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        login_failures::table
            .filter(login_failures::at.lt(now - Duration::minutes(minutes.into()))),
    )
    .execute(conn)
    .await
}
