//! The organization's LLM provider keys (seed 000): owners and admins add, rotate and remove
//! them; members see only which providers are available. A value is sealed under the master
//! key, bound to its organization and key id, the moment it arrives, and never shown again.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{OrgContext, Permission, require};
use crate::crypto::{self, SealedIn};
use crate::domain::{FieldErrors, Provider, ProviderSecret, RequiredText};
use crate::error::{AppError, Denied, TxError};
pub use crate::models::provider_keys::{ProviderKey, Rotation};
use crate::models::{audit, provider_keys};
use crate::services::org::{current_actor, rejected};

/// Rotations listed under each key.
const ROTATIONS_SHOWN: usize = 5;

pub struct KeyRow {
    pub key: ProviderKey,
    /// The latest rotations, newest first.
    pub rotations: Vec<Rotation>,
}

pub struct KeysView {
    /// Whether the viewer manages keys, and why not.
    pub manage: Result<(), Denied>,
    /// The keys, for those who manage them.
    pub keys: Vec<KeyRow>,
    /// The providers with a key: all a member sees.
    pub providers: Vec<Provider>,
}

/// The Provider keys page.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn view(conn: &mut AsyncPgConnection, ctx: &OrgContext) -> Result<KeysView, AppError> {
    require(ctx, Permission::ViewOrganization)?;
    let manage = require(ctx, Permission::ManageProviderKeys);
    if manage.is_err() {
        let mut providers = provider_keys::providers(conn, ctx.org_id).await?;
        providers.sort_by_key(|p| Provider::ALL.iter().position(|q| q == p));
        return Ok(KeysView {
            manage,
            keys: Vec::new(),
            providers,
        });
    }
    let keys = provider_keys::list(conn, ctx.org_id).await?;
    let ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
    let mut rotations = provider_keys::rotations_of(conn, &ids).await?;
    let keys: Vec<KeyRow> = keys
        .into_iter()
        .map(|key| {
            let mine: Vec<Rotation> = rotations
                .extract_if(.., |r| r.key_id == key.id)
                .take(ROTATIONS_SHOWN)
                .collect();
            KeyRow {
                key,
                rotations: mine,
            }
        })
        .collect();
    let mut providers: Vec<Provider> = keys.iter().map(|k| k.key.provider).collect();
    providers.dedup();
    Ok(KeysView {
        manage,
        keys,
        providers,
    })
}

/// One key, for its Rotate and Remove pages.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn find(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    key_id: i64,
) -> Result<KeyRow, AppError> {
    require(ctx, Permission::ManageProviderKeys)?;
    let key = provider_keys::list(conn, ctx.org_id)
        .await?
        .into_iter()
        .find(|k| k.id == key_id)
        .ok_or(AppError::NotFound)?;
    let rotations = provider_keys::rotations_of(conn, &[key_id]).await?;
    Ok(KeyRow { key, rotations })
}

pub enum KeyOutcome {
    /// Added or rotated: the key's label.
    Saved(String),
    Invalid(FieldErrors),
}

/// Adds a key. The label is unique in the organization (any case).
#[tracing::instrument(skip(conn, ctx, master_key, secret, now), fields(org_id = %ctx.org_id))]
pub async fn add(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    master_key: &[u8],
    provider: &str,
    label: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<KeyOutcome, AppError> {
    require(ctx, Permission::ManageProviderKeys)?;
    let mut errors = FieldErrors::default();
    let provider = errors.check(
        "provider",
        provider
            .parse::<Provider>()
            .map_err(|_| "Choose a provider from the list."),
    );
    let label = errors.check("label", RequiredText::parse(label, 100));
    let secret = errors.check("secret", ProviderSecret::parse(secret));
    let (Some(provider), Some(label), Some(secret)) = (provider, label, secret) else {
        return Ok(KeyOutcome::Invalid(errors));
    };
    let label = label.into_inner();
    // The id first, so the value is sealed to the row it will be stored in.
    let id = provider_keys::next_id(conn).await?;
    let sealed = seal(master_key, &secret, ctx, id)?;
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let actor = current_actor(conn, ctx).await?;
            require(&actor, Permission::ManageProviderKeys).map_err(TxError::Rejected)?;
            let last_four = secret.last_four();
            let new = provider_keys::NewProviderKey {
                id,
                org_id: ctx.org_id,
                provider,
                label: &label,
                sealed: &sealed,
                last_four: &last_four,
                created_by: ctx.user.id,
                at: now,
            };
            if provider_keys::insert(conn, &new).await?.is_none() {
                return Ok(false);
            }
            let who = actor.actor();
            let entry = audit::NewAuditEntry {
                after: Some(serde_json::json!({
                    "provider": provider,
                    "label": label,
                    "last_four": last_four,
                })),
                ..who.audit_org("provider_key.added", ctx.org_id, &label)
            };
            audit::record(conn, &entry).await?;
            Ok(true)
        })
        .await
        .map_err(rejected)?;
    if result {
        Ok(KeyOutcome::Saved(label))
    } else {
        errors.add("label", "Another key of this organization has this label.");
        Ok(KeyOutcome::Invalid(errors))
    }
}

fn seal(
    master_key: &[u8],
    secret: &ProviderSecret,
    ctx: &OrgContext,
    key_id: i64,
) -> Result<Vec<u8>, AppError> {
    Ok(crypto::seal(
        master_key,
        secret.expose().as_bytes(),
        &SealedIn::ProviderKey(ctx.org_id, key_id).context(),
    )?)
}

/// Replaces a key's value; the entry, its label and provider stay. Everyone using the key gets
/// the new value from the next use on: nothing holds the old one.
#[tracing::instrument(skip(conn, ctx, master_key, secret, now), fields(org_id = %ctx.org_id))]
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    master_key: &[u8],
    key_id: i64,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<KeyOutcome, AppError> {
    require(ctx, Permission::ManageProviderKeys)?;
    let secret = match ProviderSecret::parse(secret) {
        Ok(secret) => secret,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("secret", message);
            return Ok(KeyOutcome::Invalid(errors));
        }
    };
    let sealed = seal(master_key, &secret, ctx, key_id)?;
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let actor = current_actor(conn, ctx).await?;
        require(&actor, Permission::ManageProviderKeys).map_err(TxError::Rejected)?;
        let (provider, label) = provider_keys::lock(conn, ctx.org_id, key_id)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
        let last_four = secret.last_four();
        provider_keys::replace_value(conn, key_id, &sealed, &last_four, ctx.user.id, now).await?;
        let who = actor.actor();
        let entry = audit::NewAuditEntry {
            after: Some(serde_json::json!({
                "provider": provider,
                "last_four": last_four,
            })),
            ..who.audit_org("provider_key.rotated", ctx.org_id, &label)
        };
        audit::record(conn, &entry).await?;
        Ok(KeyOutcome::Saved(label))
    })
    .await
    .map_err(rejected)
}

/// Removes a key; returns its label.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn remove(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    key_id: i64,
) -> Result<String, AppError> {
    require(ctx, Permission::ManageProviderKeys)?;
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let actor = current_actor(conn, ctx).await?;
        require(&actor, Permission::ManageProviderKeys).map_err(TxError::Rejected)?;
        let (provider, label) = provider_keys::lock(conn, ctx.org_id, key_id)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
        provider_keys::delete(conn, key_id).await?;
        let who = actor.actor();
        let entry = audit::NewAuditEntry {
            before: Some(serde_json::json!({ "provider": provider, "label": label })),
            ..who.audit_org("provider_key.removed", ctx.org_id, &label)
        };
        audit::record(conn, &entry).await?;
        Ok(label)
    })
    .await
    .map_err(rejected)
}
