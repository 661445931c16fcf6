//! Per-organization OAuth/OIDC client settings, offered only when OAuth login is enabled.
//! The client secret is sealed under the master key and never shown back.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::crypto;
use crate::domain::{FieldErrors, OrgId};
use crate::models::oauth::{self, OAuthSettings};
use crate::models::{audit, organizations, platform};
use crate::services::SuperAdmin;
use crate::web::errors::AppError;

#[derive(Debug, Deserialize)]
pub struct OAuthInput {
    #[serde(default)]
    pub issuer_url: String,
    #[serde(default)]
    pub client_id: String,
    /// Blank keeps the stored secret.
    pub client_secret: Option<SecretString>,
}

pub fn sealing_context(org_id: OrgId) -> String {
    format!("org-oauth:{org_id}")
}

pub async fn require_enabled(conn: &mut AsyncPgConnection) -> Result<(), AppError> {
    if platform::settings(conn).await?.oauth_login_enabled {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "OAuth login is turned off in the platform settings.",
        ))
    }
}

pub async fn current(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    org_id: OrgId,
) -> Result<Option<OAuthSettings>, AppError> {
    require_enabled(conn).await?;
    Ok(oauth::find(conn, org_id).await?)
}

pub enum SaveOutcome {
    Saved,
    Invalid(FieldErrors),
}

pub async fn save(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    master_key: &[u8],
    org_id: OrgId,
    input: &OAuthInput,
) -> Result<SaveOutcome, AppError> {
    require_enabled(conn).await?;
    let existing = oauth::find(conn, org_id).await?;
    let mut errors = FieldErrors::default();
    let issuer_url = input.issuer_url.trim();
    let issuer_ok = issuer_url.starts_with("https://")
        && issuer_url.len() > "https://".len()
        && issuer_url.len() <= 500
        && !issuer_url.contains(char::is_whitespace);
    if !issuer_ok {
        errors.add("issuer_url", "Enter the issuer's https:// address.");
    }
    let client_id = input.client_id.trim();
    if client_id.is_empty() || client_id.len() > 255 {
        errors.add("client_id", "Enter the client id (at most 255 characters).");
    }
    let new_secret = input
        .client_secret
        .as_ref()
        .map(|s| s.expose_secret().trim())
        .filter(|s| !s.is_empty());
    if new_secret.is_none() && existing.is_none() {
        errors.add("client_secret", "Enter the client secret.");
    }
    if !errors.is_empty() {
        return Ok(SaveOutcome::Invalid(errors));
    }
    let sealed = match (new_secret, &existing) {
        (Some(secret), _) => crypto::seal(master_key, secret.as_bytes(), &sealing_context(org_id))?,
        (None, Some(existing)) => existing.client_secret_sealed.clone(),
        (None, None) => unreachable!("checked above"),
    };
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let org = organizations::find(conn, org_id).await?.ok_or(diesel::result::Error::NotFound)?;
        oauth::upsert(conn, org_id, issuer_url, client_id, &sealed).await?;
        // The secret itself never reaches the audit log.
        let after = serde_json::json!({ "issuer_url": issuer_url, "client_id": client_id, "secret_changed": new_secret.is_some() });
        audit::record(conn, &audit::NewAuditEntry { after: Some(after), ..admin.audit("organization.oauth_changed", org_id, &org.name) }).await
    })
    .await?;
    Ok(SaveOutcome::Saved)
}
