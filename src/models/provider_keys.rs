//! The organization's keys to LLM providers: sealed values the console never reads back, and
//! every rotation of them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{provider_key_rotations, provider_keys, users};
use crate::domain::{OrgId, Provider, UserId};

/// A key as the Provider keys page lists it: never its value.
#[derive(Debug, Clone, Queryable)]
pub struct ProviderKey {
    pub id: i64,
    pub provider: Provider,
    pub label: String,
    pub last_four: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub rotated_at: Option<DateTime<Utc>>,
}

/// One replacement of a key's value.
#[derive(Debug, Clone, Queryable)]
pub struct Rotation {
    pub key_id: i64,
    pub rotated_at: DateTime<Utc>,
    pub rotated_by: Option<String>,
    pub last_four: String,
}

/// The organization's keys, by provider then label.
pub async fn list(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<Vec<ProviderKey>> {
    provider_keys::table
        .left_join(users::table.on(users::id.nullable().eq(provider_keys::created_by)))
        .filter(provider_keys::org_id.eq(org_id))
        .order((
            provider_keys::provider,
            provider_keys::label,
            provider_keys::id,
        ))
        .select((
            provider_keys::id,
            provider_keys::provider,
            provider_keys::label,
            provider_keys::last_four,
            provider_keys::created_at,
            users::email.nullable(),
            provider_keys::rotated_at,
        ))
        .load(conn)
        .await
}

/// The providers the organization holds a key for, each once: all a member sees.
pub async fn providers(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<Vec<Provider>> {
    provider_keys::table
        .filter(provider_keys::org_id.eq(org_id))
        .select(provider_keys::provider)
        .distinct()
        .load(conn)
        .await
}

/// The latest rotations of the given keys, newest first.
pub async fn rotations_of(
    conn: &mut AsyncPgConnection,
    key_ids: &[i64],
) -> QueryResult<Vec<Rotation>> {
    provider_key_rotations::table
        .left_join(users::table.on(users::id.nullable().eq(provider_key_rotations::rotated_by)))
        .filter(provider_key_rotations::key_id.eq_any(key_ids))
        .order((
            provider_key_rotations::rotated_at.desc(),
            provider_key_rotations::id.desc(),
        ))
        .select((
            provider_key_rotations::key_id,
            provider_key_rotations::rotated_at,
            users::email.nullable(),
            provider_key_rotations::last_four,
        ))
        .load(conn)
        .await
}

/// The key of this organization with this id, its row locked for a change.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    key_id: i64,
) -> QueryResult<Option<(Provider, String)>> {
    provider_keys::table
        .filter(provider_keys::org_id.eq(org_id))
        .filter(provider_keys::id.eq(key_id))
        .select((provider_keys::provider, provider_keys::label))
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The id the next key will have, so its value can be sealed to it before the row exists.
pub async fn next_id(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "nextval('provider_keys_id_seq')",
    ))
    .get_result(conn)
    .await
}

pub struct NewProviderKey<'a> {
    pub id: i64,
    pub org_id: OrgId,
    pub provider: Provider,
    pub label: &'a str,
    pub sealed: &'a [u8],
    pub last_four: &'a str,
    pub created_by: UserId,
    pub at: DateTime<Utc>,
}

/// Inserts the key; `None` when the organization already has a key with this label.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    key: &NewProviderKey<'_>,
) -> QueryResult<Option<i64>> {
    diesel::insert_into(provider_keys::table)
        .values((
            provider_keys::id.eq(key.id),
            provider_keys::org_id.eq(key.org_id),
            provider_keys::provider.eq(key.provider),
            provider_keys::label.eq(key.label),
            provider_keys::secret_sealed.eq(key.sealed),
            provider_keys::last_four.eq(key.last_four),
            provider_keys::created_by.eq(key.created_by),
            provider_keys::created_at.eq(key.at),
        ))
        .on_conflict_do_nothing()
        .returning(provider_keys::id)
        .get_result(conn)
        .await
        .optional()
}

/// Replaces a key's value and records who did it.
pub async fn replace_value(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    sealed: &[u8],
    last_four: &str,
    by: UserId,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(provider_keys::table.find(key_id))
        .set((
            provider_keys::secret_sealed.eq(sealed),
            provider_keys::last_four.eq(last_four),
            provider_keys::rotated_at.eq(at),
        ))
        .execute(conn)
        .await?;
    diesel::insert_into(provider_key_rotations::table)
        .values((
            provider_key_rotations::key_id.eq(key_id),
            provider_key_rotations::rotated_by.eq(by),
            provider_key_rotations::rotated_at.eq(at),
            provider_key_rotations::last_four.eq(last_four),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn delete(conn: &mut AsyncPgConnection, key_id: i64) -> QueryResult<()> {
    diesel::delete(provider_keys::table.find(key_id))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Every sealed value with its organization and id, locked (master-key rotation).
pub async fn all_sealed(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(i64, OrgId, Vec<u8>)>> {
    provider_keys::table
        .order(provider_keys::id)
        .select((
            provider_keys::id,
            provider_keys::org_id,
            provider_keys::secret_sealed,
        ))
        .for_update()
        .load(conn)
        .await
}

pub async fn set_sealed(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    sealed: &[u8],
) -> QueryResult<()> {
    diesel::update(provider_keys::table.find(key_id))
        .set(provider_keys::secret_sealed.eq(sealed))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The sealed value of one key (the platform's use of it, and tests).
pub async fn sealed_value(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    key_id: i64,
) -> QueryResult<Option<Vec<u8>>> {
    provider_keys::table
        .filter(provider_keys::org_id.eq(org_id))
        .filter(provider_keys::id.eq(key_id))
        .select(provider_keys::secret_sealed)
        .first(conn)
        .await
        .optional()
}

/// The oldest and the newest stored key (one, or none), to check at start-up that the master
/// key still opens them.
pub async fn first_and_last_sealed(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<(i64, OrgId, Vec<u8>)>> {
    let columns = (
        provider_keys::id,
        provider_keys::org_id,
        provider_keys::secret_sealed,
    );
    let mut found: Vec<(i64, OrgId, Vec<u8>)> = provider_keys::table
        .order(provider_keys::id.asc())
        .select(columns)
        .first(conn)
        .await
        .optional()?
        .into_iter()
        .collect();
    let last: Option<(i64, OrgId, Vec<u8>)> = provider_keys::table
        .order(provider_keys::id.desc())
        .select(columns)
        .first(conn)
        .await
        .optional()?;
    let first_id = match found.as_slice() {
        [(id, _, _)] => Some(*id),
        _ => None,
    };
    found.extend(last.filter(|(id, _, _)| Some(*id) != first_id));
    Ok(found)
}
