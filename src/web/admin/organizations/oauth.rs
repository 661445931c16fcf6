//! The OAuth dialog: per-organization OAuth/OIDC client settings.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::access::SuperAdmin;
use crate::domain::{FieldErrors, OrgId};
use crate::error::AppError;
use crate::services::admin::oauth::{self as service, OAuthClient, OAuthView, SaveOutcome};
use crate::web::AppState;
use crate::web::kit::context::PasswordConfirmed;
use crate::web::kit::{flash, htmx, paths};

/// The OAuth form as typed.
#[derive(Debug, Deserialize)]
pub struct OAuthInput {
    #[serde(default)]
    issuer_url: String,
    #[serde(default)]
    client_id: String,
    /// Blank keeps the stored secret.
    client_secret: Option<SecretString>,
}

impl TryFrom<OAuthInput> for OAuthClient {
    type Error = FieldErrors;

    fn try_from(input: OAuthInput) -> Result<OAuthClient, FieldErrors> {
        let mut errors = FieldErrors::default();
        let issuer_url = input.issuer_url.trim();
        // https, or plain http to a provider on this machine (development, tests).
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .find_map(|prefix| issuer_url.strip_prefix(prefix))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']));
        let issuer_ok = (issuer_url.starts_with("https://") || loopback)
            && issuer_url.len() > "https://".len()
            && issuer_url.len() <= 500
            && !issuer_url.contains(|c: char| c.is_whitespace() || c.is_control());
        if !issuer_ok {
            errors.add("issuer_url", "Enter the issuer's https:// address.");
        }
        let client_id = input.client_id.trim();
        if client_id.is_empty() || client_id.len() > 255 || client_id.contains(char::is_control) {
            errors.add("client_id", "Enter the client id (at most 255 characters).");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(OAuthClient {
            issuer_url: issuer_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: input.client_secret,
        })
    }
}

pub struct OAuthForm {
    pub view: OAuthView,
    pub errors: FieldErrors,
    pub saved: bool,
}

#[derive(Template)]
#[template(path = "admin/organizations/oauth/page.html")]
struct OAuthPage {
    form: OAuthForm,
}

#[derive(Template)]
#[template(path = "admin/organizations/oauth/_dialog.html")]
struct OAuthDialog {
    form: OAuthForm,
}

#[derive(Template)]
#[template(path = "admin/organizations/oauth/_form.html")]
struct OAuthFormFragment {
    form: OAuthForm,
}

pub async fn show(
    req: HttpRequest,
    admin: SuperAdmin,
    _confirmed: PasswordConfirmed,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let view = service::current(&mut *state.pool.get().await?, &admin, org_id).await?;
    let form = OAuthForm {
        view,
        errors: FieldErrors::default(),
        saved: false,
    };
    htmx::respond(&req, StatusCode::OK, OAuthDialog { form }, |dialog| {
        OAuthPage { form: dialog.form }
    })
}

pub async fn save(
    req: HttpRequest,
    admin: SuperAdmin,
    _confirmed: PasswordConfirmed,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<OAuthInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let (issuer_url, client_id) = (input.issuer_url.clone(), input.client_id.clone());
    let secret_given = input
        .client_secret
        .as_ref()
        .is_some_and(|s| !s.expose_secret().trim().is_empty());
    let mut conn = state.pool.get().await?;
    let master_key = state.settings.master_key_bytes();
    let (view, errors) = match OAuthClient::try_from(input) {
        Ok(client) => match service::save(&mut conn, &admin, &master_key, org_id, &client).await? {
            SaveOutcome::Saved(view) => (view, None),
            SaveOutcome::Invalid(view, errors) => (view, Some(errors)),
        },
        Err(mut errors) => {
            let stored = service::current(&mut conn, &admin, org_id).await?;
            // Every problem at once: the secret is missing too when none is stored.
            if !secret_given && !stored.has_secret {
                errors.add("client_secret", "Enter the client secret.");
            }
            let view = OAuthView {
                issuer_url,
                client_id,
                ..stored
            };
            (view, Some(errors))
        }
    };
    let (status, form) = match errors {
        None if !htmx::is_htmx(&req) => {
            flash(
                &req,
                format!("The OAuth settings of {} were saved.", view.org.name),
            )?;
            return Ok(htmx::redirect(&req, &paths::ORGANIZATIONS.path()));
        }
        None => (
            StatusCode::OK,
            OAuthForm {
                view,
                errors: FieldErrors::default(),
                saved: true,
            },
        ),
        Some(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            OAuthForm {
                view,
                errors,
                saved: false,
            },
        ),
    };
    htmx::respond(&req, status, OAuthFormFragment { form }, |fragment| {
        OAuthPage {
            form: fragment.form,
        }
    })
}
