//! The secrets stored sealed under the master key (OAuth client secrets, provider keys, emails
//! waiting in the outbox): the start-up check that the configured key opens them, and the
//! master-key rotation.

use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::access::Actor;
use crate::crypto::{self, SealedIn};
use crate::db::{DbPool, SERVING_LOCK};
use crate::models::{audit, org_oauth_settings, outbox, provider_keys};

/// Refuses to start when the stored secrets were sealed under another master key: starting
/// anyway would leave every OAuth client secret and provider key unreadable.
pub async fn check_master_key(
    conn: &mut AsyncPgConnection,
    master_key: &[u8],
) -> anyhow::Result<()> {
    if let Some((org_id, sealed)) = org_oauth_settings::first_sealed_secret(conn).await? {
        crypto::ensure_master_key_opens(
            master_key,
            &sealed,
            &SealedIn::OAuthSecret(org_id).context(),
            &format!("the OAuth client secret of organization {org_id}"),
        )?;
    }
    // The oldest and the newest key: a rotation that missed a key added meanwhile shows there.
    for (key_id, org_id, sealed) in provider_keys::first_and_last_sealed(conn).await? {
        crypto::ensure_master_key_opens(
            master_key,
            &sealed,
            &SealedIn::ProviderKey(org_id, key_id).context(),
            &format!("provider key {key_id} of organization {org_id}"),
        )?;
    }
    Ok(())
}

/// How many secrets a rotation re-sealed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub oauth_secrets: usize,
    pub provider_keys: usize,
    pub queued_emails: usize,
}

// `db::SERVING_LOCK`: every serving instance holds it shared for as long as it serves, and a
// master-key rotation takes it exclusively. A console keeps its master key in memory and would
// seal new secrets under the old one, so a rotation refuses to run beside one, and an instance
// starting during a rotation waits for it to end.

/// A dedicated connection holding the serving lock: keep it for as long as the instance serves.
pub async fn hold_serving_lock(database_url: &str) -> anyhow::Result<AsyncPgConnection> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    diesel::sql_query("SELECT pg_advisory_lock_shared($1)")
        .bind::<BigInt, _>(SERVING_LOCK)
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Opens every stored secret with `old_key` and seals it again under `new_key`, in one
/// transaction: either all of them move to the new key or none does (a secret that does not
/// open under `old_key` stops it, naming the secret). Refused while a console serves the
/// database.
pub async fn rotate_master_key(
    pool: &DbPool,
    old_key: &[u8],
    new_key: &[u8],
) -> anyhow::Result<Resealed> {
    let mut conn = pool.get().await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let alone: bool = diesel::select(
            diesel::dsl::sql::<Bool>("pg_try_advisory_xact_lock(")
                .bind::<BigInt, _>(SERVING_LOCK)
                .sql(")"),
        )
        .get_result(conn)
        .await?;
        anyhow::ensure!(
            alone,
            "a console is serving this database with the current master key: stop every instance, then rotate"
        );
        reseal_all(conn, old_key, new_key).await
    })
    .await
}

/// The rotation's work, in the caller's transaction.
pub async fn reseal_all(
    conn: &mut AsyncPgConnection,
    old_key: &[u8],
    new_key: &[u8],
) -> anyhow::Result<Resealed> {
    anyhow::ensure!(new_key.len() == 32, "the new master key must be 32 bytes");
    anyhow::ensure!(old_key != new_key, "the new master key is the current one");
    let reseal = |sealed: &[u8], place: SealedIn<'_>, what: String| {
        let context = place.context();
        let plain = crypto::open(old_key, sealed, &context)
            .map_err(|e| e.context(format!("{what} does not open under the current master key")))?;
        crypto::seal(new_key, &plain, &context)
    };
    let mut done = Resealed::default();
    for (org_id, sealed) in org_oauth_settings::all_sealed(conn).await? {
        let what = format!("the OAuth client secret of organization {org_id}");
        let sealed = reseal(&sealed, SealedIn::OAuthSecret(org_id), what)?;
        org_oauth_settings::set_sealed(conn, org_id, &sealed).await?;
        done.oauth_secrets += 1;
    }
    for (key_id, org_id, sealed) in provider_keys::all_sealed(conn).await? {
        let what = format!("provider key {key_id} of organization {org_id}");
        let sealed = reseal(&sealed, SealedIn::ProviderKey(org_id, key_id), what)?;
        provider_keys::set_sealed(conn, key_id, &sealed).await?;
        done.provider_keys += 1;
    }
    for (id, recipient, sealed) in outbox::all_sealed(conn).await? {
        let what = format!("queued email {id}");
        let sealed = reseal(&sealed, SealedIn::Outbox(&recipient), what)?;
        outbox::set_sealed(conn, id, &sealed).await?;
        done.queued_emails += 1;
    }
    let system = Actor::system();
    let entry = audit::NewAuditEntry {
        after: Some(serde_json::json!({
            "oauth_secrets": done.oauth_secrets,
            "provider_keys": done.provider_keys,
            "queued_emails": done.queued_emails,
        })),
        ..system.audit("platform.master_key_rotated", "master key")
    };
    audit::record(conn, &entry).await?;
    Ok(done)
}
