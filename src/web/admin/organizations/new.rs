//! Add Organization: a dialog over the table with htmx, a page without JavaScript.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::access::SuperAdmin;
use crate::error::AppError;
use crate::services::admin::organizations::{self as service, CreateOutcome, NewOrganization};
use crate::web::AppState;
use crate::web::admin::organizations::form::{OrgForm, OrgInput};
use crate::web::kit::paths::{events, targets};
use crate::web::kit::{flash, htmx, paths};

#[derive(Template)]
#[template(path = "admin/organizations/new/page.html")]
struct NewOrgPage {
    form: OrgForm,
}

#[derive(Template)]
#[template(path = "admin/organizations/new/_dialog.html")]
struct NewOrgDialog {
    form: OrgForm,
}

#[derive(Template)]
#[template(path = "admin/organizations/new/_form.html")]
struct NewOrgForm {
    form: OrgForm,
}

#[derive(Template)]
#[template(path = "admin/organizations/new/_created.html")]
struct CreatedFragment<'a> {
    name: &'a str,
}

pub async fn form(req: HttpRequest, _admin: SuperAdmin) -> Result<HttpResponse, AppError> {
    let form = OrgForm::new(OrgInput::new_organization());
    htmx::respond(&req, StatusCode::OK, NewOrgDialog { form }, |dialog| {
        NewOrgPage { form: dialog.form }
    })
}

pub async fn create(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    input: web::Form<OrgInput>,
) -> Result<HttpResponse, AppError> {
    let input = input.into_inner();
    let outcome = match NewOrganization::try_from(&input) {
        Ok(new) => {
            let mut conn = state.pool.get().await?;
            service::create(&mut conn, &admin, &state.postbox, state.clock.now(), &new).await?
        }
        Err(errors) => CreateOutcome::Invalid(errors),
    };
    match outcome {
        CreateOutcome::Created(org) if htmx::is_htmx(&req) => {
            // Close the dialog, announce the new organization, and refresh the table.
            let response =
                htmx::fragment(&req, StatusCode::OK, &CreatedFragment { name: &org.name })?;
            let response = htmx::retarget(response, targets::MODAL_ROOT, "innerHTML");
            Ok(htmx::trigger(response, events::ORGS_CHANGED))
        }
        CreateOutcome::Created(org) => {
            flash(&req, format!("{} was created.", org.name))?;
            Ok(htmx::redirect(&req, &paths::ORGANIZATIONS.path()))
        }
        CreateOutcome::AlreadySubmitted => {
            flash(
                &req,
                "This form was already submitted; the organization was created once.",
            )?;
            Ok(htmx::redirect(&req, &paths::ORGANIZATIONS.path()))
        }
        CreateOutcome::Invalid(errors) => {
            let form = OrgForm { input, errors };
            htmx::respond(
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                NewOrgForm { form },
                |f| NewOrgPage { form: f.form },
            )
        }
    }
}
