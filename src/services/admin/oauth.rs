//! Per-organization OAuth/OIDC client settings, offered only when OAuth login is enabled.
//! The client secret is sealed under the master key and never shown back.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};

use crate::access::SuperAdmin;
use crate::crypto;
use crate::domain::{FieldErrors, OrgId};
use crate::error::{AppError, Denied};
use crate::models::{audit, org_oauth_settings, organizations, platform_settings};
use crate::services::admin::organizations::Organization;

/// An organization's OAuth client as typed, every field checked; a blank secret keeps the
/// stored one.
#[derive(Debug)]
pub struct OAuthClient {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
}

/// What the dialog shows: the organization and its current settings (never the secret).
pub struct OAuthView {
    pub org: Organization,
    pub issuer_url: String,
    pub client_id: String,
    pub has_secret: bool,
}

fn sealing_context(org_id: OrgId) -> String {
    crypto::SealedIn::OAuthSecret(org_id).context()
}

async fn require_enabled(conn: &mut AsyncPgConnection) -> Result<(), AppError> {
    if platform_settings::settings(conn).await?.oauth_login_enabled {
        Ok(())
    } else {
        Err(Denied("OAuth login is turned off in the platform settings.").into())
    }
}

#[tracing::instrument(skip(conn, _admin))]
pub async fn current(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    org_id: OrgId,
) -> Result<OAuthView, AppError> {
    require_enabled(conn).await?;
    let org = organizations::find(conn, org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let stored = org_oauth_settings::find(conn, org_id).await?;
    Ok(OAuthView {
        org,
        issuer_url: stored
            .as_ref()
            .map(|s| s.issuer_url.clone())
            .unwrap_or_default(),
        client_id: stored
            .as_ref()
            .map(|s| s.client_id.clone())
            .unwrap_or_default(),
        has_secret: stored.is_some(),
    })
}

pub enum SaveOutcome {
    Saved(OAuthView),
    /// No secret was given and none is stored; nothing was changed.
    Invalid(OAuthView, FieldErrors),
}

#[tracing::instrument(skip(conn, admin, master_key, client))]
pub async fn save(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    master_key: &[u8],
    org_id: OrgId,
    client: &OAuthClient,
) -> Result<SaveOutcome, AppError> {
    require_enabled(conn).await?;
    let new_secret = client
        .client_secret
        .as_ref()
        .map(|s| s.expose_secret().trim())
        .filter(|s| !s.is_empty());
    let sealed = new_secret
        .map(|secret| crypto::seal(master_key, secret.as_bytes(), &sealing_context(org_id)))
        .transpose()?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let org = organizations::find(conn, org_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let stored = org_oauth_settings::find(conn, org_id).await?;
        let view = |org: Organization, has_secret: bool| OAuthView {
            org,
            issuer_url: client.issuer_url.clone(),
            client_id: client.client_id.clone(),
            has_secret,
        };
        let sealed = match (sealed, stored) {
            (Some(sealed), _) => sealed,
            (None, Some(stored)) => stored.client_secret_sealed,
            (None, None) => {
                let mut errors = FieldErrors::default();
                errors.add("client_secret", "Enter the client secret.");
                return Ok(SaveOutcome::Invalid(view(org, false), errors));
            }
        };
        org_oauth_settings::upsert(conn, org_id, &client.issuer_url, &client.client_id, &sealed)
            .await?;
        // The secret itself never reaches the audit log.
        let after = serde_json::json!({ "issuer_url": client.issuer_url,
            "client_id": client.client_id, "secret_changed": new_secret.is_some() });
        let entry = audit::NewAuditEntry {
            after: Some(after),
            ..admin.audit("organization.oauth_changed", org_id, &org.name)
        };
        audit::record(conn, &entry).await?;
        Ok(SaveOutcome::Saved(view(org, true)))
    })
    .await
}
