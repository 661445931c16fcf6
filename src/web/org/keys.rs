//! `/settings/org/keys`: the organization's API keys (every member makes their own; owners and
//! admins see and revoke everyone's) and its LLM provider keys (owners and admins add, rotate
//! and remove them; members see which providers are available). A pasted provider key is
//! never sent back, not even into a form that failed validation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::access::OrgContext;
use crate::domain::{FieldErrors, Provider};
use crate::error::AppError;
use crate::services::api_keys::Scope;
use crate::services::org::provider_keys::{self as service, KeyOutcome, KeyRow, KeysView};
use crate::web::AppState;
use crate::web::api_keys::{
    self, Created, KeysPageQuery, KeysSection, NewKeyForm, NewKeyInput, ORG_KEYS,
    RotateInput as RotateApiKey,
};
use crate::web::kit::{flash, htmx, paths};

/// The Add key form as typed, without the value.
#[derive(Default)]
struct AddForm {
    provider: String,
    label: String,
    errors: FieldErrors,
}

impl AddForm {
    fn providers(&self) -> Vec<(&'static str, &'static str)> {
        Provider::ALL
            .iter()
            .map(|p| (p.as_str(), p.label()))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "org/keys/page.html")]
struct KeysPage {
    view: KeysView,
    form: AddForm,
    api: KeysSection,
}

async fn keys_page(
    req: &HttpRequest,
    ctx: &OrgContext,
    state: &AppState,
    status: StatusCode,
    form: AddForm,
    api_form: NewKeyForm,
    keys_page: i64,
) -> Result<HttpResponse, AppError> {
    let view = service::view(&mut *state.pool.get().await?, ctx).await?;
    let scope = Scope::Organization(ctx);
    let api = KeysSection::load(state, scope, ORG_KEYS, api_form, keys_page).await?;
    htmx::page(req, status, &KeysPage { view, form, api })
}

pub async fn page(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    query: web::Query<KeysPageQuery>,
) -> Result<HttpResponse, AppError> {
    let api_form = NewKeyForm {
        holder: query.holder.clone().unwrap_or_default(),
        ..NewKeyForm::default()
    };
    keys_page(
        &req,
        &ctx,
        &state,
        StatusCode::OK,
        AddForm::default(),
        api_form,
        query.page(),
    )
    .await
}

pub async fn create_api_key(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    input: web::Form<NewKeyInput>,
) -> Result<HttpResponse, AppError> {
    let scope = Scope::Organization(&ctx);
    match api_keys::create(&req, &state, scope, ORG_KEYS, input.into_inner()).await? {
        Created::Shown(response) => Ok(response),
        Created::Invalid(form) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            keys_page(&req, &ctx, &state, status, AddForm::default(), form, 1).await
        }
    }
}

pub async fn api_key_page(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    api_keys::key_page(&req, &state, Scope::Organization(&ctx), ORG_KEYS, *path).await
}

pub async fn revoke_api_key(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    api_keys::revoke(&req, &state, Scope::Organization(&ctx), ORG_KEYS, *path).await
}

pub async fn rotate_api_key(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<RotateApiKey>,
) -> Result<HttpResponse, AppError> {
    let scope = Scope::Organization(&ctx);
    api_keys::rotate(&req, &state, scope, ORG_KEYS, *path, input.into_inner()).await
}

#[derive(Deserialize)]
pub struct AddInput {
    provider: String,
    label: String,
    secret: SecretString,
}

pub async fn add(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    input: web::Form<AddInput>,
) -> Result<HttpResponse, AppError> {
    let input = input.into_inner();
    let outcome = service::add(
        &mut *state.pool.get().await?,
        &ctx,
        &state.settings.master_key_bytes(),
        &input.provider,
        &input.label,
        input.secret.expose_secret(),
        state.clock.now(),
    )
    .await?;
    match outcome {
        KeyOutcome::Saved(label) => {
            flash(&req, format!("The key “{label}” was added."))?;
            Ok(htmx::redirect(&req, &paths::PROVIDER_KEYS.path()))
        }
        KeyOutcome::Invalid(errors) => {
            let form = AddForm {
                provider: input.provider,
                label: input.label,
                errors,
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            keys_page(&req, &ctx, &state, status, form, NewKeyForm::default(), 1).await
        }
    }
}

#[derive(Template)]
#[template(path = "org/keys/rotate.html")]
struct RotatePage {
    row: KeyRow,
    error: Option<String>,
}

pub async fn rotate_form(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let row = service::find(&mut *state.pool.get().await?, &ctx, *path).await?;
    htmx::page(&req, StatusCode::OK, &RotatePage { row, error: None })
}

#[derive(Deserialize)]
pub struct RotateInput {
    secret: SecretString,
}

pub async fn rotate(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<RotateInput>,
) -> Result<HttpResponse, AppError> {
    let key_id = *path;
    let outcome = service::rotate(
        &mut *state.pool.get().await?,
        &ctx,
        &state.settings.master_key_bytes(),
        key_id,
        input.secret.expose_secret(),
        state.clock.now(),
    )
    .await?;
    match outcome {
        KeyOutcome::Saved(label) => {
            flash(
                &req,
                format!("The key “{label}” was replaced; everyone uses the new value from now on."),
            )?;
            Ok(htmx::redirect(&req, &paths::PROVIDER_KEYS.path()))
        }
        KeyOutcome::Invalid(errors) => {
            let row = service::find(&mut *state.pool.get().await?, &ctx, key_id).await?;
            let error = errors.get("secret").map(str::to_owned);
            htmx::page(
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                &RotatePage { row, error },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "org/keys/remove.html")]
struct RemovePage {
    row: KeyRow,
}

pub async fn confirm_remove(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let row = service::find(&mut *state.pool.get().await?, &ctx, *path).await?;
    htmx::page(&req, StatusCode::OK, &RemovePage { row })
}

pub async fn remove(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let label = service::remove(&mut *state.pool.get().await?, &ctx, *path).await?;
    flash(&req, format!("The key “{label}” was removed."))?;
    Ok(htmx::redirect(&req, &paths::PROVIDER_KEYS.path()))
}
