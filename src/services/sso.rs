//! Single sign-on with an organization's OpenID Connect provider (seed 002: people arrive
//! through SSO; seed 003: the per-organization client the super admin stores). The
//! authorization code flow with PKCE, `state` and `nonce`; discovery, the token exchange and
//! every check of the ID token (signature, issuer, audience, expiry, nonce) are the
//! `openidconnect` crate's. A first sign-in creates the account without a password and joins
//! the organization of its domain as a member.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::access::{Actor, Origin};
use crate::crypto;
use crate::domain::{EmailAddress, OrgId, PlatformRole, UserStatus};
use crate::error::AppError;
use crate::models::users::{NewUser, User};
use crate::models::{audit, org_oauth_settings, organizations, platform_settings, users};
use crate::services::rules::{self, DomainJoin};

/// How long the provider may take to answer one request.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a sign-in started may take to come back.
const PENDING_FOR_SECS: i64 = 600;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What the browser's session keeps between sending it to the provider and its return.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub org_id: OrgId,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub started_at: i64,
}

/// Why a single sign-on ended without signing in: each says what to do, none reveals more
/// than the person already knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The platform does not offer SSO.
    Off,
    NoOrganization,
    ProviderUnreachable,
    /// The sign-in came back to another browser, twice, late or altered.
    NotStartedHere,
    /// The provider refused (the person cancelled, or the client is misconfigured).
    ProviderRefused,
    /// The provider's answer did not pass the ID token's checks.
    TokenRejected,
    EmailUnverified,
    /// The provider vouched for an address outside the organization's domain.
    OtherDomain,
    AccountDisabled,
    /// A service account's address.
    NotAPerson,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Off => "Single sign-on is not offered on this platform.",
            Refusal::NoOrganization => {
                "No organization signs in with single sign-on for this address. Sign in with your password."
            }
            Refusal::ProviderUnreachable => {
                "Your organization's identity provider could not be reached. Try again in a few minutes, or ask your administrator."
            }
            Refusal::NotStartedHere => {
                "This sign-in was not started in this browser, was already used or took too long. Start again."
            }
            Refusal::ProviderRefused => {
                "Your organization's identity provider did not sign you in. Start again, or ask your administrator."
            }
            Refusal::TokenRejected => {
                "The identity provider's answer could not be trusted, so you were not signed in. Ask your administrator to check the SSO settings."
            }
            Refusal::EmailUnverified => {
                "Your identity provider has not verified your email address, so it cannot sign you in here."
            }
            Refusal::OtherDomain => {
                "Your identity provider vouched for an address outside your organization's domain."
            }
            Refusal::AccountDisabled => {
                "This account is disabled. Ask an administrator to enable it."
            }
            Refusal::NotAPerson => {
                "This address belongs to a service account, which never signs in."
            }
        }
    }
}

/// The provider's address to send the browser to, and what to keep until it returns.
pub struct Started {
    pub authorize_url: String,
    /// The provider's host name, to tell the person where they are going.
    pub provider_host: String,
    pub pending: Pending,
}

/// The signed-in person, and whether the account was made just now.
pub struct SignedIn {
    pub user: User,
    pub created: bool,
    /// What this sign-in did about the organization of their email's domain.
    pub domain: DomainJoin,
}

/// Whether the sign-in page offers "Sign in with SSO".
pub async fn offered(conn: &mut AsyncPgConnection) -> Result<bool, AppError> {
    Ok(platform_settings::settings(conn).await?.oauth_login_enabled)
}

fn http_client() -> Result<openidconnect::reqwest::Client, AppError> {
    openidconnect::reqwest::Client::builder()
        // The crate's advice: a provider's redirect must not take the server elsewhere.
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(PROVIDER_TIMEOUT)
        .build()
        .map_err(|e| AppError::Internal(e.into()))
}

/// Discovers the provider and builds the organization's client.
async fn client(
    http: &openidconnect::reqwest::Client,
    settings: &org_oauth_settings::OAuthSettings,
    master_key: &[u8],
    redirect_url: &str,
) -> Result<Result<Client, Refusal>, AppError> {
    let Ok(issuer) = IssuerUrl::new(settings.issuer_url.clone()) else {
        return Ok(Err(Refusal::ProviderUnreachable));
    };
    let metadata = match CoreProviderMetadata::discover_async(issuer, http).await {
        Ok(metadata) => metadata,
        Err(error) => {
            tracing::warn!(org_id = %settings.org_id, error = %error, "SSO discovery failed");
            return Ok(Err(Refusal::ProviderUnreachable));
        }
    };
    let secret = crypto::open(
        master_key,
        &settings.client_secret_sealed,
        &crypto::SealedIn::OAuthSecret(settings.org_id).context(),
    )
    .map_err(AppError::Internal)?;
    let secret = String::from_utf8(secret).map_err(|e| AppError::Internal(e.into()))?;
    let redirect =
        RedirectUrl::new(redirect_url.to_owned()).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect)))
}

/// Finds the organization of the address's domain with an OpenID client, and the address to
/// send the browser to.
pub async fn start(
    conn: &mut AsyncPgConnection,
    master_key: &[u8],
    redirect_url: &str,
    email: &EmailAddress,
    now: i64,
) -> Result<Result<Started, Refusal>, AppError> {
    if !platform_settings::settings(conn).await?.oauth_login_enabled {
        return Ok(Err(Refusal::Off));
    }
    let Some((org_id, _)) = organizations::id_and_name_by_domain(conn, email.domain()).await?
    else {
        return Ok(Err(Refusal::NoOrganization));
    };
    let Some(settings) = org_oauth_settings::find(conn, org_id).await? else {
        return Ok(Err(Refusal::NoOrganization));
    };
    let http = http_client()?;
    let client = match client(&http, &settings, master_key, redirect_url).await? {
        Ok(client) => client,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .add_extra_param("login_hint", email.as_str())
        .set_pkce_challenge(challenge)
        .url();
    Ok(Ok(Started {
        provider_host: url.host_str().unwrap_or_default().to_owned(),
        authorize_url: url.to_string(),
        pending: Pending {
            org_id,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            started_at: now,
        },
    }))
}

/// What the provider sent back to the callback.
pub struct Returned<'a> {
    pub code: Option<&'a str>,
    pub state: &'a str,
    /// Set when the provider refused (`error=access_denied`, say).
    pub error: Option<&'a str>,
}

/// Checks the return against what this browser started, exchanges the code and checks the
/// ID token, then signs in the person it names (made and joined on their first sign-in).
pub async fn finish(
    conn: &mut AsyncPgConnection,
    master_key: &[u8],
    redirect_url: &str,
    pending: Option<Pending>,
    returned: Returned<'_>,
    origin: &Origin,
    now: i64,
) -> Result<Result<SignedIn, Refusal>, AppError> {
    use subtle::ConstantTimeEq;
    let Some(pending) = pending else {
        return Ok(Err(Refusal::NotStartedHere));
    };
    let same_state: bool = pending
        .state
        .as_bytes()
        .ct_eq(returned.state.as_bytes())
        .into();
    if !same_state || now - pending.started_at > PENDING_FOR_SECS {
        return Ok(Err(Refusal::NotStartedHere));
    }
    let (None, Some(code)) = (returned.error, returned.code) else {
        return Ok(Err(Refusal::ProviderRefused));
    };
    let Some(settings) = org_oauth_settings::find(conn, pending.org_id).await? else {
        return Ok(Err(Refusal::NoOrganization));
    };
    let http = http_client()?;
    let client = match client(&http, &settings, master_key, redirect_url).await? {
        Ok(client) => client,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let exchange = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| AppError::Internal(e.into()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()));
    let token = match exchange.request_async(&http).await {
        Ok(token) => token,
        Err(error) => {
            tracing::warn!(org_id = %pending.org_id, error = %error, "SSO token exchange failed");
            return Ok(Err(Refusal::ProviderRefused));
        }
    };
    let Some(id_token) = token.id_token() else {
        return Ok(Err(Refusal::TokenRejected));
    };
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => claims,
        Err(error) => {
            tracing::warn!(org_id = %pending.org_id, error = %error, "SSO ID token rejected");
            return Ok(Err(Refusal::TokenRejected));
        }
    };
    // A provider that does not say the address is verified has not verified it.
    if !claims.email_verified().unwrap_or(false) {
        return Ok(Err(Refusal::EmailUnverified));
    }
    let Some(email) = claims
        .email()
        .and_then(|email| EmailAddress::parse(email.as_str()).ok())
    else {
        return Ok(Err(Refusal::EmailUnverified));
    };
    let Some(org) = organizations::find(conn, pending.org_id).await? else {
        return Ok(Err(Refusal::NoOrganization));
    };
    if org.domain.as_deref() != Some(email.domain()) {
        return Ok(Err(Refusal::OtherDomain));
    }
    let first_name: String = claims
        .given_name()
        .and_then(|names| names.get(None))
        .map(|name| name.as_str().chars().take(100).collect())
        .unwrap_or_default();
    let last_name: String = claims
        .family_name()
        .and_then(|names| names.get(None))
        .map(|name| name.as_str().chars().take(100).collect())
        .unwrap_or_default();
    sign_in_as(conn, &email, &first_name, &last_name, origin).await
}

/// The account of a vouched-for address: found, or made without a password; then joined to
/// its domain's organization unless it is in it (or the single-organization policy keeps it
/// out). One transaction.
async fn sign_in_as(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
    first_name: &str,
    last_name: &str,
    origin: &Origin,
) -> Result<Result<SignedIn, Refusal>, AppError> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let (user, created) = match users::find_by_email(conn, email.as_str()).await? {
            Some(user) if user.service_of.is_some() => return Ok(Err(Refusal::NotAPerson)),
            Some(user) if user.status == UserStatus::Disabled => {
                return Ok(Err(Refusal::AccountDisabled));
            }
            Some(user) => (user, false),
            None => {
                let new = NewUser {
                    email: email.as_str(),
                    first_name,
                    last_name,
                    password_hash: None,
                    platform_role: PlatformRole::User,
                };
                // A concurrent first sign-in made it first: use theirs.
                match users::insert_if_absent(conn, &new).await? {
                    Some(user) => {
                        let actor = Actor::themselves(user.id, &user.email, origin);
                        let entry = audit::NewAuditEntry {
                            after: Some(serde_json::json!({ "by": "single sign-on" })),
                            ..actor.audit("user.created_by_sso", &user.email)
                        };
                        audit::record(conn, &entry).await?;
                        (user, true)
                    }
                    None => (
                        users::find_by_email(conn, email.as_str())
                            .await?
                            .ok_or(AppError::NotFound)?,
                        false,
                    ),
                }
            }
        };
        let first_sign_in = user.last_login_at.is_none();
        let domain = match rules::join_by_domain(conn, &user, origin).await? {
            // Said once, on the first sign-in, not every time.
            DomainJoin::KeptOut { .. } if !first_sign_in => DomainJoin::Nothing,
            domain => domain,
        };
        users::record_login(conn, user.id).await?;
        Ok(Ok(SignedIn {
            user,
            created,
            domain,
        }))
    })
    .await
}
