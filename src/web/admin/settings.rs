//! `/admin/settings`: platform settings, the plan catalogue and the model catalogue.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::SuperAdmin;
use crate::domain::purchase::parse_amount;
use crate::domain::{FieldErrors, RequiredText, parse_kind};
use crate::error::AppError;
use crate::services::admin::platform::{
    self as service, AiModel, NewEndpoint, NewModel, NewPlan, Outcome, Plan, PlatformSettings,
};
use crate::web::AppState;
use crate::web::kit::context::PasswordConfirmed;
use crate::web::kit::{flash, htmx, paths};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    pub single_org_per_account: Option<String>,
    pub oauth_login_enabled: Option<String>,
    pub invitation_ttl_days: String,
}

impl TryFrom<&SettingsInput> for PlatformSettings {
    type Error = FieldErrors;

    fn try_from(input: &SettingsInput) -> Result<PlatformSettings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let ttl = input
            .invitation_ttl_days
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|d| (1..=90).contains(d));
        let Some(invitation_ttl_days) = ttl else {
            errors.add(
                "invitation_ttl_days",
                "Enter a number of days from 1 to 90.",
            );
            return Err(errors);
        };
        Ok(PlatformSettings {
            single_org_per_account: input.single_org_per_account.is_some(),
            oauth_login_enabled: input.oauth_login_enabled.is_some(),
            invitation_ttl_days,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanInput {
    pub name: String,
    pub monthly_price: String,
    pub included_seats: String,
    pub extra_seat_price: String,
    pub workflow_limit: String,
    pub work_item_capacity: String,
    pub concurrent_job_limit: String,
}

fn count(raw: &str) -> Result<i32, &'static str> {
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or("Enter a whole number, 0 or more.")
}

impl TryFrom<&PlanInput> for NewPlan {
    type Error = FieldErrors;

    fn try_from(input: &PlanInput) -> Result<NewPlan, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("plan_name", RequiredText::parse(&input.name, 100));
        let monthly = errors.check("monthly_price", parse_amount(&input.monthly_price));
        let seats = errors.check("included_seats", count(&input.included_seats));
        let extra = errors.check("extra_seat_price", parse_amount(&input.extra_seat_price));
        let workflows = errors.check("workflow_limit", count(&input.workflow_limit));
        let items = errors.check("work_item_capacity", count(&input.work_item_capacity));
        let jobs = errors.check("concurrent_job_limit", count(&input.concurrent_job_limit));
        match (name, monthly, seats, extra, workflows, items, jobs) {
            (
                Some(name),
                Some(monthly),
                Some(seats),
                Some(extra),
                Some(workflows),
                Some(items),
                Some(jobs),
            ) => Ok(NewPlan {
                name: name.into_inner(),
                monthly_price_cents: monthly,
                included_seats: seats,
                extra_seat_price_cents: extra,
                workflow_limit: workflows,
                work_item_capacity: items,
                concurrent_job_limit: jobs,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ModelInput {
    pub provider: String,
    pub model_name: String,
    pub kind: String,
}

impl TryFrom<&ModelInput> for NewModel {
    type Error = FieldErrors;

    fn try_from(input: &ModelInput) -> Result<NewModel, FieldErrors> {
        let mut errors = FieldErrors::default();
        let provider = input.provider.trim().to_lowercase();
        let provider_ok = !provider.is_empty()
            && provider.len() <= 40
            && provider
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !provider.starts_with('-');
        if !provider_ok {
            errors.add(
                "provider",
                "Use lower-case letters, digits and hyphens, like openai or azure-openai.",
            );
        }
        let name = errors.check("model_name", RequiredText::parse(&input.model_name, 100));
        let kind = errors.check("model_kind", parse_kind(&input.kind));
        match (provider_ok, name, kind) {
            (true, Some(name), Some(kind)) => Ok(NewModel {
                provider,
                name: name.into_inner(),
                kind,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/settings/page.html")]
struct SettingsPage {
    settings: PlatformSettings,
    ttl_input: String,
    settings_errors: FieldErrors,
    plans: Vec<Plan>,
    plan: PlanInput,
    plan_errors: FieldErrors,
    models: Vec<AiModel>,
    model: ModelInput,
    model_errors: FieldErrors,
    endpoints: Vec<(String, String)>,
    endpoint: EndpointInput,
    endpoint_errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
pub struct EndpointInput {
    #[serde(default)]
    pub endpoint_name: String,
    #[serde(default)]
    pub endpoint_label: String,
}

impl TryFrom<&EndpointInput> for NewEndpoint {
    type Error = FieldErrors;

    fn try_from(input: &EndpointInput) -> Result<NewEndpoint, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = input.endpoint_name.trim();
        let well_formed = name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            errors.add(
                "endpoint_name",
                "Use lower-case letters, digits and _ (at most 40, starting with a letter), as the gateway sends it.",
            );
        }
        let label = errors.check(
            "endpoint_label",
            RequiredText::parse(&input.endpoint_label, 100),
        );
        match label {
            Some(label) if errors.is_empty() => Ok(NewEndpoint {
                name: name.to_owned(),
                label: label.into_inner(),
            }),
            _ => Err(errors),
        }
    }
}

/// A form of the page that was refused, to show again with its input and errors.
enum Rejected {
    None,
    Settings(SettingsInput, FieldErrors),
    Plan(PlanInput, FieldErrors),
    Model(ModelInput, FieldErrors),
    Endpoint(EndpointInput, FieldErrors),
}

async fn page(
    state: &AppState,
    admin: &SuperAdmin,
    rejected: Rejected,
) -> Result<SettingsPage, AppError> {
    let overview = service::overview(&mut *state.pool.get().await?, admin).await?;
    let mut page = SettingsPage {
        ttl_input: overview.settings.invitation_ttl_days.to_string(),
        settings: overview.settings,
        settings_errors: FieldErrors::default(),
        plans: overview.plans,
        plan: PlanInput::default(),
        plan_errors: FieldErrors::default(),
        models: overview.models,
        model: ModelInput {
            kind: "inference".to_owned(),
            ..Default::default()
        },
        model_errors: FieldErrors::default(),
        endpoints: overview.endpoints,
        endpoint: EndpointInput::default(),
        endpoint_errors: FieldErrors::default(),
    };
    match rejected {
        Rejected::None => {}
        Rejected::Settings(input, errors) => {
            page.settings.single_org_per_account = input.single_org_per_account.is_some();
            page.settings.oauth_login_enabled = input.oauth_login_enabled.is_some();
            page.ttl_input = input.invitation_ttl_days;
            page.settings_errors = errors;
        }
        Rejected::Plan(input, errors) => (page.plan, page.plan_errors) = (input, errors),
        Rejected::Model(input, errors) => (page.model, page.model_errors) = (input, errors),
        Rejected::Endpoint(input, errors) => {
            (page.endpoint, page.endpoint_errors) = (input, errors);
        }
    }
    Ok(page)
}

pub async fn show(
    req: HttpRequest,
    admin: SuperAdmin,
    _confirmed: PasswordConfirmed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = page(&state, &admin, Rejected::None).await?;
    htmx::page(&req, StatusCode::OK, &page)
}

/// After a POST: back to the page with a message when saved (post/redirect/get), or the page
/// again with the rejected form's input and errors (422).
async fn finish(
    req: &HttpRequest,
    state: &AppState,
    admin: &SuperAdmin,
    result: Result<&str, Rejected>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(message) => {
            flash(req, message)?;
            Ok(htmx::redirect(req, &paths::SETTINGS.path()))
        }
        Err(rejected) => {
            let page = page(state, admin, rejected).await?;
            htmx::page(req, StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

pub async fn save(
    req: HttpRequest,
    admin: SuperAdmin,
    _confirmed: PasswordConfirmed,
    state: web::Data<AppState>,
    form: web::Form<SettingsInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let result = match PlatformSettings::try_from(&input) {
        Ok(settings) => {
            service::update_settings(&mut *state.pool.get().await?, &admin, &settings).await?;
            Ok("The platform settings were saved.")
        }
        Err(errors) => Err(Rejected::Settings(input, errors)),
    };
    finish(&req, &state, &admin, result).await
}

pub async fn add_plan(
    req: HttpRequest,
    admin: SuperAdmin,
    _confirmed: PasswordConfirmed,
    state: web::Data<AppState>,
    form: web::Form<PlanInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let outcome = match NewPlan::try_from(&input) {
        Ok(plan) => service::add_plan(&mut *state.pool.get().await?, &admin, &plan).await?,
        Err(errors) => Outcome::Invalid(errors),
    };
    let result = match outcome {
        Outcome::Saved => Ok("The plan was added."),
        Outcome::Invalid(errors) => Err(Rejected::Plan(input, errors)),
    };
    finish(&req, &state, &admin, result).await
}

pub async fn add_model(
    req: HttpRequest,
    admin: SuperAdmin,
    _confirmed: PasswordConfirmed,
    state: web::Data<AppState>,
    form: web::Form<ModelInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let outcome = match NewModel::try_from(&input) {
        Ok(model) => service::add_model(&mut *state.pool.get().await?, &admin, &model).await?,
        Err(errors) => Outcome::Invalid(errors),
    };
    let result = match outcome {
        Outcome::Saved => Ok("The model was added to the catalogue."),
        Outcome::Invalid(errors) => Err(Rejected::Model(input, errors)),
    };
    finish(&req, &state, &admin, result).await
}

pub async fn add_endpoint(
    req: HttpRequest,
    admin: SuperAdmin,
    _confirmed: PasswordConfirmed,
    state: web::Data<AppState>,
    form: web::Form<EndpointInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let outcome = match NewEndpoint::try_from(&input) {
        Ok(endpoint) => {
            service::add_endpoint(&mut *state.pool.get().await?, &admin, &endpoint).await?
        }
        Err(errors) => Outcome::Invalid(errors),
    };
    let result = match outcome {
        Outcome::Saved => Ok("The endpoint was added to the catalogue."),
        Outcome::Invalid(errors) => Err(Rejected::Endpoint(input, errors)),
    };
    finish(&req, &state, &admin, result).await
}
