//! The Manage dialog: Details, Assign Users and Models tabs. Each tab is a URL
//! (`/admin/organizations/{id}/manage?tab=…`): a page without JavaScript, the dialog (or just
//! its body, when a tab is switched inside it) with htmx.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::SuperAdmin;
use crate::domain::reference::COUNTRIES;
use crate::domain::{FieldErrors, OrgId, OrganizationFields};
use crate::error::AppError;
use crate::services::admin::assign_users::{self, AssignLine, AssignOutcome, AssignVerdict};
use crate::services::admin::model_access::{self, AiModel, ModelAccess};
use crate::services::admin::organizations::{self as service, Organization, SaveOutcome};
use crate::web::AppState;
use crate::web::admin::organizations::form::OrgInput;
use crate::web::kit::paths::{events, targets};
use crate::web::kit::{flash, htmx, paths};

pub struct DetailsForm {
    pub org_id: OrgId,
    pub input: OrgInput,
    pub errors: FieldErrors,
    pub saved: bool,
}

impl DetailsForm {
    fn of(org: &Organization) -> DetailsForm {
        DetailsForm {
            org_id: org.id,
            input: OrgInput::from_organization(org),
            errors: FieldErrors::default(),
            saved: false,
        }
    }

    pub fn countries(&self) -> &'static [(&'static str, &'static str)] {
        COUNTRIES
    }
}

/// Where the Assign Users tab stands after a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignState {
    Blank,
    /// "Check": what each line would do.
    Planned,
    Assigned,
    /// Nothing was assigned because of the lines marked in error.
    Rejected,
}

pub struct AssignForm {
    pub org_id: OrgId,
    pub emails: String,
    pub override_domain: bool,
    pub restricted_domain: Option<String>,
    pub message: Option<String>,
    pub lines: Vec<AssignLine>,
    pub state: AssignState,
}

impl AssignForm {
    fn of(org: &Organization) -> AssignForm {
        AssignForm {
            org_id: org.id,
            emails: String::new(),
            override_domain: false,
            restricted_domain: org.restrict_to_domain.then(|| org.domain.clone()).flatten(),
            message: None,
            lines: Vec::new(),
            state: AssignState::Blank,
        }
    }

    pub fn is(&self, state: AssignState) -> bool {
        self.state == state
    }

    pub fn outcome_of(&self, line: &AssignLine) -> String {
        line.verdict.describe(self.state == AssignState::Assigned)
    }

    /// How many lines are (or would be) assigned, already members, without an account.
    pub fn tally(&self) -> (usize, usize, usize) {
        let count =
            |verdict: AssignVerdict| self.lines.iter().filter(|l| l.verdict == verdict).count();
        (
            count(AssignVerdict::Assign),
            count(AssignVerdict::AlreadyMember),
            count(AssignVerdict::NoAccount),
        )
    }
}

pub struct ModelsForm {
    pub org_id: OrgId,
    pub catalogue: Vec<AiModel>,
    pub allowed: Vec<i64>,
    pub saved: bool,
}

impl ModelsForm {
    fn of(access: ModelAccess, saved: bool) -> (Organization, ModelsForm) {
        let form = ModelsForm {
            org_id: access.org.id,
            catalogue: access.catalogue,
            allowed: access.allowed,
            saved,
        };
        (access.org, form)
    }

    pub fn is_allowed(&self, model_id: &i64) -> bool {
        self.allowed.contains(model_id)
    }
}

pub enum Tab {
    Details(Box<DetailsForm>),
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

#[derive(Template)]
#[template(path = "admin/organizations/manage/page.html")]
struct ManagePage {
    body: ManageBody,
}

#[derive(Template)]
#[template(path = "admin/organizations/manage/_dialog.html")]
struct ManageDialog {
    body: ManageBody,
}

#[derive(Template)]
#[template(path = "admin/organizations/manage/_body.html")]
struct ManageBodyFragment {
    body: ManageBody,
}

#[derive(Template)]
#[template(path = "admin/organizations/manage/_details.html")]
struct DetailsFragment {
    details: Box<DetailsForm>,
}

#[derive(Template)]
#[template(path = "admin/organizations/manage/_assign.html")]
struct AssignFragment {
    assign: AssignForm,
}

#[derive(Template)]
#[template(path = "admin/organizations/manage/_models.html")]
struct ModelsFragment {
    models: ModelsForm,
}

#[derive(Deserialize)]
pub struct TabQuery {
    tab: Option<String>,
}

pub async fn show(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<TabQuery>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let mut conn = state.pool.get().await?;
    let body = match query.tab.as_deref() {
        Some("models") => {
            let (org, models) = ModelsForm::of(
                model_access::current(&mut conn, &admin, org_id).await?,
                false,
            );
            ManageBody {
                org,
                tab: Tab::Models(models),
            }
        }
        Some("users") => {
            let org = service::find(&mut conn, &admin, org_id).await?;
            ManageBody {
                tab: Tab::Assign(AssignForm::of(&org)),
                org,
            }
        }
        _ => {
            let org = service::find(&mut conn, &admin, org_id).await?;
            ManageBody {
                tab: Tab::Details(Box::new(DetailsForm::of(&org))),
                org,
            }
        }
    };
    if htmx::target(&req) == Some(targets::MANAGE_BODY) {
        // A tab link inside the open dialog swaps only the body.
        return htmx::fragment(&req, StatusCode::OK, &ManageBodyFragment { body });
    }
    htmx::respond(&req, StatusCode::OK, ManageDialog { body }, |dialog| {
        ManagePage { body: dialog.body }
    })
}

/// Renders a tab after a POST: the form alone for htmx (the table behind the dialog refreshes
/// itself after a change), the whole page otherwise.
fn respond(
    req: &HttpRequest,
    org: Organization,
    tab: Tab,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    if !htmx::is_htmx(req) {
        let body = ManageBody { org, tab };
        return htmx::page(req, status, &ManagePage { body });
    }
    let response = match tab {
        Tab::Details(details) => htmx::fragment(req, status, &DetailsFragment { details })?,
        Tab::Assign(assign) => htmx::fragment(req, status, &AssignFragment { assign })?,
        Tab::Models(models) => htmx::fragment(req, status, &ModelsFragment { models })?,
    };
    if status.is_success() {
        return Ok(htmx::trigger(response, events::ORGS_CHANGED));
    }
    Ok(response)
}

pub async fn save_details(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<OrgInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let outcome = match OrganizationFields::try_from(&input) {
        Ok(fields) => service::update_details(&mut conn, &admin, org_id, &fields).await?,
        Err(errors) => SaveOutcome::Invalid(errors),
    };
    match outcome {
        SaveOutcome::Saved(org) if !htmx::is_htmx(&req) => {
            flash(&req, format!("{} was saved.", org.name))?;
            Ok(htmx::redirect(
                &req,
                &paths::MANAGE.with_id(org_id).to_string(),
            ))
        }
        SaveOutcome::Saved(org) => {
            let details = DetailsForm {
                saved: true,
                ..DetailsForm::of(&org)
            };
            respond(&req, *org, Tab::Details(Box::new(details)), StatusCode::OK)
        }
        SaveOutcome::Invalid(errors) => {
            let details = DetailsForm {
                org_id,
                input,
                errors,
                saved: false,
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            if htmx::is_htmx(&req) {
                return htmx::fragment(
                    &req,
                    status,
                    &DetailsFragment {
                        details: Box::new(details),
                    },
                );
            }
            // The page without JavaScript shows the organization as stored around the form.
            let org = service::find(&mut conn, &admin, org_id).await?;
            respond(&req, org, Tab::Details(Box::new(details)), status)
        }
    }
}

#[derive(Deserialize)]
pub struct AssignInput {
    #[serde(default)]
    emails: String,
    override_domain: Option<String>,
    /// `check` for the dry run; `assign` (or absent) to assign.
    intent: Option<String>,
}

pub async fn assign_users(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<AssignInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let override_domain = input.override_domain.is_some();
    let commit = match input.intent.as_deref() {
        None | Some("assign") => true,
        Some("check") => false,
        Some(_) => return Err(AppError::BadRequest("Unknown action.")),
    };
    let mut conn = state.pool.get().await?;
    let assignment = assign_users::assign_users(
        &mut conn,
        &admin,
        org_id,
        &input.emails,
        override_domain,
        commit,
    )
    .await?;
    let mut assign = AssignForm::of(&assignment.org);
    let (state, status) = match assignment.outcome {
        AssignOutcome::Invalid(message) => {
            assign.message = Some(message);
            (AssignState::Rejected, StatusCode::UNPROCESSABLE_ENTITY)
        }
        AssignOutcome::Planned(lines) => {
            assign.lines = lines;
            (AssignState::Planned, StatusCode::OK)
        }
        AssignOutcome::Assigned(lines) => {
            assign.lines = lines;
            (AssignState::Assigned, StatusCode::OK)
        }
        AssignOutcome::Rejected(lines) => {
            assign.lines = lines;
            (AssignState::Rejected, StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    assign.state = state;
    // Unless it was done, keep what was pasted so it can be corrected or sent.
    if state != AssignState::Assigned {
        assign.emails = input.emails;
        assign.override_domain = override_domain;
    }
    respond(&req, assignment.org, Tab::Assign(assign), status)
}

pub async fn save_models(
    req: HttpRequest,
    admin: SuperAdmin,
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
        .map_err(|_| AppError::BadRequest("The form could not be read."))?;
    let mut conn = state.pool.get().await?;
    let access = model_access::set_models(&mut conn, &admin, org_id, &model_ids).await?;
    if !htmx::is_htmx(&req) {
        flash(&req, "The model allowlist was saved.")?;
        let location = format!("{}?tab=models", paths::MANAGE.with_id(org_id));
        return Ok(htmx::redirect(&req, &location));
    }
    let (org, models) = ModelsForm::of(access, true);
    respond(&req, org, Tab::Models(models), StatusCode::OK)
}
