//! One-time tokens of creation forms, kept as hashes (see the migration).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use crate::db::schema::used_form_tokens;

/// Marks the token used; `false` when it already was (the form was submitted before).
pub async fn claim(conn: &mut AsyncPgConnection, token: &str) -> QueryResult<bool> {
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    diesel::insert_into(used_form_tokens::table)
        .values(used_form_tokens::token_hash.eq(hash))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|inserted| inserted == 1)
}

pub async fn delete_older_than(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(used_form_tokens::table.filter(used_form_tokens::used_at.lt(before)))
        .execute(conn)
        .await
}
