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

/// Every failure recorded under a key, whatever its age (consecutive failures of an account;
/// housekeeping forgets them after a day).
pub async fn count_all(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<i64> {
    login_failures::table
        .filter(login_failures::key.eq(key))
        .count()
        .get_result(conn)
        .await
}

/// Serialises attempts on these keys until the transaction ends (transaction-level advisory
/// locks, taken in one order so two attempts cannot deadlock).
pub async fn lock_keys(conn: &mut AsyncPgConnection, keys: &[&str]) -> QueryResult<()> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    for key in keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Records a failure under each key; returns the rows' ids.
pub async fn record(conn: &mut AsyncPgConnection, keys: &[&str]) -> QueryResult<Vec<i64>> {
    let rows: Vec<_> = keys
        .iter()
        .map(|key| login_failures::key.eq(*key))
        .collect();
    diesel::insert_into(login_failures::table)
        .values(rows)
        .returning(login_failures::id)
        .get_results(conn)
        .await
}

/// Forgets these failures, and every failure under these keys.
pub async fn forget(conn: &mut AsyncPgConnection, ids: &[i64], keys: &[&str]) -> QueryResult<()> {
    diesel::delete(
        login_failures::table.filter(
            login_failures::id
                .eq_any(ids)
                .or(login_failures::key.eq_any(keys)),
        ),
    )
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
