//! The Manage dialog: Details, Assign Users and Models tabs. Each tab is a URL
//! (`/admin/organizations/{id}/manage?tab=…`): a page without JavaScript, the dialog (or just
//! its body, when a tab is switched inside it) with htmx.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::domain::reference::COUNTRIES;
use crate::domain::{FieldErrors, OrgId};
use crate::models::organizations::Organization;
use crate::models::platform::{self, Model};
use crate::services::organizations::{
    self as service, AssignOutcome, LineProblem, OrgInput, SaveOutcome,
};
use crate::web::admin::Admin;
use crate::web::context::Chrome;
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::session::{AppSession, FlashKind};
use crate::web::{AppState, htmx};

pub struct DetailsForm {
    pub org_id: OrgId,
    pub csrf_token: String,
    pub input: OrgInput,
    pub errors: FieldErrors,
    pub saved: bool,
}

impl DetailsForm {
    pub fn countries(&self) -> &'static [(&'static str, &'static str)] {
        COUNTRIES
    }
}

pub struct AssignForm {
    pub org_id: OrgId,
    pub csrf_token: String,
    pub emails: String,
    pub override_domain: bool,
    pub restricted_domain: Option<String>,
    pub message: Option<String>,
    pub problems: Vec<LineProblem>,
    pub result: Option<(Vec<String>, Vec<String>, Vec<String>)>,
}

pub struct ModelsForm {
    pub org_id: OrgId,
    pub csrf_token: String,
    pub catalogue: Vec<Model>,
    pub allowed: Vec<i64>,
    pub saved: bool,
}

impl ModelsForm {
    pub fn is_allowed(&self, model_id: &i64) -> bool {
        self.allowed.contains(model_id)
    }
}

pub enum Tab {
    Details(DetailsForm),
    Assign(AssignForm),
    Models(ModelsForm),
}

impl Tab {
    pub fn key(&self) -> &'static str {
        match self {
            Tab::Details(_) => "details",
            Tab::Assign(_) => "users",
            Tab::Models(_) => "models",
        }
    }
}

/// The dialog's body: tab links and the current tab.
pub struct ManageBody {
    pub org: Organization,
    pub tab: Tab,
}

impl ManageBody {
    pub fn tabs(&self) -> [(&'static str, &'static str); 3] {
        [
            ("details", "Details"),
            ("users", "Assign users"),
            ("models", "Models"),
        ]
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/manage/page.html")]
pub struct ManagePage {
    pub chrome: Chrome,
    pub body: ManageBody,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/manage/_dialog.html")]
pub struct ManageDialog {
    pub body: ManageBody,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/manage/_body.html")]
pub struct ManageBodyFragment {
    pub body: ManageBody,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/manage/_details.html")]
pub struct DetailsFragment {
    pub details: DetailsForm,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/manage/_assign.html")]
pub struct AssignFragment {
    pub assign: AssignForm,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/manage/_models.html")]
pub struct ModelsFragment {
    pub models: ModelsForm,
}

#[derive(Deserialize)]
pub struct TabQuery {
    tab: Option<String>,
}

fn assign_form(org: &Organization, csrf_token: String) -> AssignForm {
    AssignForm {
        org_id: org.id,
        csrf_token,
        emails: String::new(),
        override_domain: false,
        restricted_domain: org.restrict_to_domain.then(|| org.domain.clone()).flatten(),
        message: None,
        problems: Vec::new(),
        result: None,
    }
}

pub async fn show(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<TabQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let org = service::find(&mut conn, &admin.admin, OrgId(path.into_inner())).await?;
    let csrf_token = admin.signed_in.session.csrf_token()?;
    let tab = match query.tab.as_deref() {
        Some("users") => Tab::Assign(assign_form(&org, csrf_token)),
        Some("models") => Tab::Models(ModelsForm {
            org_id: org.id,
            csrf_token,
            catalogue: platform::catalogue(&mut conn).await?,
            allowed: platform::allowed_model_ids(&mut conn, org.id).await?,
            saved: false,
        }),
        _ => Tab::Details(DetailsForm {
            org_id: org.id,
            csrf_token,
            input: OrgInput::from_organization(&org),
            errors: FieldErrors::default(),
            saved: false,
        }),
    };
    let body = ManageBody { org, tab };
    if htmx::is_htmx(&req) {
        // A tab link inside the open dialog swaps only the body.
        let inside_dialog = req
            .headers()
            .get("HX-Target")
            .is_some_and(|t| t == "manage-body");
        if inside_dialog {
            return ManageBodyFragment { body }.render_with(StatusCode::OK);
        }
        return ManageDialog { body }.render_with(StatusCode::OK);
    }
    let page = ManagePage {
        chrome: Chrome::new(&admin.signed_in, "organizations")?,
        body,
    };
    page.render_with(StatusCode::OK)
}

/// Renders a tab after a POST: the form alone for htmx, the whole page otherwise.
async fn respond(
    req: &HttpRequest,
    admin: &Admin,
    state: &AppState,
    org_id: OrgId,
    tab: Tab,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    if htmx::is_htmx(req) {
        let mut response = match tab {
            Tab::Details(details) => DetailsFragment { details }.render_with(status)?,
            Tab::Assign(assign) => AssignFragment { assign }.render_with(status)?,
            Tab::Models(models) => ModelsFragment { models }.render_with(status)?,
        };
        if status.is_success() {
            // The Organizations table behind the dialog refreshes itself.
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("hx-trigger"),
                actix_web::http::header::HeaderValue::from_static("orgs-changed"),
            );
        }
        return Ok(response);
    }
    let mut conn = state.pool.get().await?;
    let org = service::find(&mut conn, &admin.admin, org_id).await?;
    let page = ManagePage {
        chrome: Chrome::new(&admin.signed_in, "organizations")?,
        body: ManageBody { org, tab },
    };
    page.render_with(status)
}

pub async fn save_details(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<OrgInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let csrf_token = admin.signed_in.session.csrf_token()?;
    let (status, details) =
        match service::update_details(&mut conn, &admin.admin, org_id, &input).await? {
            SaveOutcome::Saved(org) => {
                if !htmx::is_htmx(&req) {
                    admin
                        .signed_in
                        .session
                        .push_flash(FlashKind::Success, format!("{} was saved.", org.name))?;
                    return Ok(htmx::redirect(
                        &req,
                        &format!("/admin/organizations/{org_id}/manage"),
                    ));
                }
                let input = OrgInput::from_organization(&org);
                (
                    StatusCode::OK,
                    DetailsForm {
                        org_id,
                        csrf_token,
                        input,
                        errors: FieldErrors::default(),
                        saved: true,
                    },
                )
            }
            SaveOutcome::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                DetailsForm {
                    org_id,
                    csrf_token,
                    input,
                    errors,
                    saved: false,
                },
            ),
        };
    respond(&req, &admin, &state, org_id, Tab::Details(details), status).await
}

#[derive(Deserialize)]
pub struct AssignInput {
    #[serde(default)]
    emails: String,
    override_domain: Option<String>,
}

pub async fn assign_users(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<AssignInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let override_domain = input.override_domain.is_some();
    let mut conn = state.pool.get().await?;
    let org = service::find(&mut conn, &admin.admin, org_id).await?;
    let mut assign = assign_form(&org, admin.signed_in.session.csrf_token()?);
    let status = match service::assign_users(
        &mut conn,
        &admin.admin,
        org_id,
        &input.emails,
        override_domain,
    )
    .await?
    {
        AssignOutcome::Assigned {
            assigned,
            already_members,
            unknown,
        } => {
            assign.result = Some((assigned, already_members, unknown));
            StatusCode::OK
        }
        AssignOutcome::Rejected { message, problems } => {
            // Nothing changed: keep what was pasted so it can be corrected.
            assign.emails = input.emails;
            assign.override_domain = override_domain;
            assign.message = message;
            assign.problems = problems;
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    respond(&req, &admin, &state, org_id, Tab::Assign(assign), status).await
}

pub async fn save_models(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    // Repeated `model` fields: one per ticked checkbox.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| AppError::BadRequest("The form could not be read."))?;
    let model_ids = pairs
        .iter()
        .filter(|(key, _)| key == "model")
        .map(|(_, value)| value.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            AppError::BadRequest(
                "One of the chosen models is not in the catalogue. Reload the page and try again.",
            )
        })?;
    let mut conn = state.pool.get().await?;
    service::set_models(&mut conn, &admin.admin, org_id, &model_ids).await?;
    let models = ModelsForm {
        org_id,
        csrf_token: admin.signed_in.session.csrf_token()?,
        catalogue: platform::catalogue(&mut conn).await?,
        allowed: platform::allowed_model_ids(&mut conn, org_id).await?,
        saved: true,
    };
    if !htmx::is_htmx(&req) {
        admin
            .signed_in
            .session
            .push_flash(FlashKind::Success, "The model allowlist was saved.")?;
        return Ok(htmx::redirect(
            &req,
            &format!("/admin/organizations/{org_id}/manage?tab=models"),
        ));
    }
    respond(
        &req,
        &admin,
        &state,
        org_id,
        Tab::Models(models),
        StatusCode::OK,
    )
    .await
}
