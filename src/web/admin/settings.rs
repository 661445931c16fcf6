//! `/admin/settings`: platform settings, the plan catalogue and the model catalogue.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::FieldErrors;
use crate::models::platform::{self, Model, Plan, PlatformSettings};
use crate::services::platform::{self as service, ModelInput, Outcome, PlanInput, SettingsInput};
use crate::web::admin::Admin;
use crate::web::context::Chrome;
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::session::{AppSession, FlashKind};
use crate::web::{AppState, htmx};

#[derive(Template, WebTemplate)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage {
    pub chrome: Chrome,
    pub csrf_token: String,
    pub settings: PlatformSettings,
    pub ttl_input: String,
    pub settings_errors: FieldErrors,
    pub plans: Vec<Plan>,
    pub plan: PlanInput,
    pub plan_errors: FieldErrors,
    pub models: Vec<Model>,
    pub model: ModelInput,
    pub model_errors: FieldErrors,
}

#[derive(Default)]
struct Rejected {
    settings: Option<(SettingsInput, FieldErrors)>,
    plan: Option<(PlanInput, FieldErrors)>,
    model: Option<(ModelInput, FieldErrors)>,
}

async fn page(
    admin: &Admin,
    state: &AppState,
    rejected: Rejected,
) -> Result<SettingsPage, AppError> {
    let mut conn = state.pool.get().await?;
    let mut settings = platform::settings(&mut conn).await?;
    let mut ttl_input = settings.invitation_ttl_days.to_string();
    let settings_errors = match rejected.settings {
        Some((input, errors)) => {
            settings.single_org_per_account = input.single_org_per_account.is_some();
            settings.oauth_login_enabled = input.oauth_login_enabled.is_some();
            ttl_input = input.invitation_ttl_days;
            errors
        }
        None => FieldErrors::default(),
    };
    let (plan, plan_errors) = rejected.plan.unwrap_or_default();
    let (model, model_errors) = rejected.model.unwrap_or_else(|| {
        (
            ModelInput {
                kind: "inference".to_owned(),
                ..Default::default()
            },
            FieldErrors::default(),
        )
    });
    Ok(SettingsPage {
        chrome: Chrome::new(&admin.signed_in, "settings")?,
        csrf_token: admin.signed_in.session.csrf_token()?,
        settings,
        ttl_input,
        settings_errors,
        plans: platform::plans(&mut conn).await?,
        plan,
        plan_errors,
        models: platform::catalogue(&mut conn).await?,
        model,
        model_errors,
    })
}

pub async fn show(admin: Admin, state: web::Data<AppState>) -> Result<SettingsPage, AppError> {
    page(&admin, &state, Rejected::default()).await
}

/// After a POST: back to the page with a message when saved (post/redirect/get), or the page
/// again with the rejected form's input and errors (422).
async fn finish(
    req: &HttpRequest,
    admin: &Admin,
    state: &AppState,
    result: Result<&str, Rejected>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(message) => {
            admin
                .signed_in
                .session
                .push_flash(FlashKind::Success, message)?;
            Ok(htmx::redirect(req, "/admin/settings"))
        }
        Err(rejected) => page(admin, state, rejected)
            .await?
            .render_with(StatusCode::UNPROCESSABLE_ENTITY),
    }
}

pub async fn save(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    form: web::Form<SettingsInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let result = match service::update_settings(&mut *state.pool.get().await?, &admin.admin, &input)
        .await?
    {
        Outcome::Saved(_) => Ok("The platform settings were saved."),
        Outcome::Invalid(errors) => Err(Rejected {
            settings: Some((input, errors)),
            ..Default::default()
        }),
    };
    finish(&req, &admin, &state, result).await
}

pub async fn add_plan(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    form: web::Form<PlanInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let result =
        match service::add_plan(&mut *state.pool.get().await?, &admin.admin, &input).await? {
            Outcome::Saved(()) => Ok("The plan was added."),
            Outcome::Invalid(errors) => Err(Rejected {
                plan: Some((input, errors)),
                ..Default::default()
            }),
        };
    finish(&req, &admin, &state, result).await
}

pub async fn add_model(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    form: web::Form<ModelInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let result =
        match service::add_model(&mut *state.pool.get().await?, &admin.admin, &input).await? {
            Outcome::Saved(()) => Ok("The model was added to the catalogue."),
            Outcome::Invalid(errors) => Err(Rejected {
                model: Some((input, errors)),
                ..Default::default()
            }),
        };
    finish(&req, &admin, &state, result).await
}
