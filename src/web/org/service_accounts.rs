//! `/settings/org/service-accounts` (owners and admins): the organization's service accounts
//! and the form that creates one. Their keys are issued on the Keys page ("Held by"); their
//! role and removal are the Members page's, as for anyone.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::{OrgContext, roles_to_give};
use crate::domain::{FieldErrors, OrgRole};
use crate::error::AppError;
use crate::services::org::service_accounts::{self as service, CreateOutcome, ServiceAccount};
use crate::web::AppState;
use crate::web::kit::{flash, htmx, paths};

#[derive(Default, Deserialize)]
pub struct NewServiceAccount {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "org/service_accounts/page.html")]
struct ServiceAccountsPage {
    accounts: Vec<ServiceAccount>,
    roles: Vec<OrgRole>,
    form: NewServiceAccount,
    errors: FieldErrors,
}

impl ServiceAccountsPage {
    fn role_options(&self) -> Vec<(&'static str, &'static str)> {
        self.roles
            .iter()
            .map(|role| (role.as_str(), role.label()))
            .collect()
    }
}

async fn render(
    req: &HttpRequest,
    ctx: &OrgContext,
    state: &AppState,
    status: StatusCode,
    form: NewServiceAccount,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let accounts = service::list(&mut *state.pool.get().await?, ctx).await?;
    let page = ServiceAccountsPage {
        accounts,
        // Below the actor's own role, never owner: as for invitations.
        roles: roles_to_give(ctx),
        form,
        errors,
    };
    htmx::page(req, status, &page)
}

pub async fn page(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = NewServiceAccount {
        role: OrgRole::Member.as_str().to_owned(),
        ..NewServiceAccount::default()
    };
    render(
        &req,
        &ctx,
        &state,
        StatusCode::OK,
        form,
        FieldErrors::default(),
    )
    .await
}

/// Created: on to the Keys page with the account chosen as the new key's holder.
pub async fn create(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    form: web::Form<NewServiceAccount>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let outcome =
        service::create(&mut *state.pool.get().await?, &ctx, &form.name, &form.role).await?;
    match outcome {
        CreateOutcome::Created(account) => {
            flash(
                &req,
                format!(
                    "The service account “{}” was created: create its first key below.",
                    account.first_name
                ),
            )?;
            let keys = format!(
                "{}?holder={}#new-api-key",
                paths::PROVIDER_KEYS.path(),
                account.id.0
            );
            Ok(htmx::redirect(&req, &keys))
        }
        CreateOutcome::Invalid(errors) => {
            render(
                &req,
                &ctx,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
            )
            .await
        }
    }
}
