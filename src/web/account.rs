//! `/settings/account`: the signed-in user's profile, password, organizations and personal
//! API keys. The profile form is the model for every form: htmx swaps the form fragment in place (422 with field errors and the
//! input kept), and without JavaScript the same POST answers with the whole page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;

use crate::access::{CurrentUser, OrgContext};
use crate::domain::{FieldErrors, PersonName};
use crate::error::AppError;
use crate::services::account::{
    self, PasswordChange, PasswordOutcome, ProfileChange, UserOrganization,
};
use crate::services::api_keys::Scope;
use crate::services::usage::{self, Range, Report};
use crate::web::AppState;
use crate::web::api_keys::{
    self, Created, KeysPageQuery, KeysSection, NewKeyForm, NewKeyInput, PERSONAL_KEYS, RotateInput,
};
use crate::web::kit::session::AppSession;
use crate::web::kit::{self as kit, flash, htmx, paths};
use crate::web::usage::Chart;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ACCOUNT_PAGE.pattern, web::get().to(page))
        .route(
            paths::ACCOUNT_PROFILE.pattern,
            web::post().to(update_profile),
        )
        .route(
            paths::ACCOUNT_PASSWORD.pattern,
            web::post().to(change_password),
        )
        .route(paths::SWITCH_ORG.pattern, web::post().to(switch_org))
        .route(
            paths::ACCOUNT_LEAVE_ORG.pattern,
            web::post().to(leave_organization),
        )
        .route(
            paths::ACCOUNT_ORGANIZATIONS.pattern,
            web::post().to(create_organization),
        )
        .route(
            paths::ACCOUNT_API_KEYS.pattern,
            web::post().to(create_api_key),
        )
        .route(paths::ACCOUNT_API_KEY.pattern, web::get().to(api_key_page))
        .route(
            paths::ACCOUNT_API_KEY_REVOKE.pattern,
            web::post().to(revoke_api_key),
        )
        .route(
            paths::ACCOUNT_API_KEY_ROTATE.pattern,
            web::post().to(rotate_api_key),
        )
        .route(paths::CONFIRM_PASSWORD.pattern, web::get().to(confirm_page))
        .route(paths::CONFIRM_PASSWORD.pattern, web::post().to(confirm));
}

#[derive(Template)]
#[template(path = "account/confirm.html")]
struct ConfirmPage {
    back: String,
    error: Option<&'static str>,
}

#[derive(serde::Deserialize)]
struct ConfirmQuery {
    #[serde(default)]
    back: String,
}

/// A return address of this site, or the start page.
fn local_back(back: &str) -> String {
    if kit::is_local_path(back) {
        back.to_owned()
    } else {
        paths::HOME.path()
    }
}

async fn confirm_page(
    req: HttpRequest,
    _user: CurrentUser,
    query: web::Query<ConfirmQuery>,
) -> Result<HttpResponse, AppError> {
    let page = ConfirmPage {
        back: local_back(&query.back),
        error: None,
    };
    htmx::page(&req, StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
struct ConfirmInput {
    password: SecretString,
    #[serde(default)]
    back: String,
}

async fn confirm(
    req: HttpRequest,
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<ConfirmInput>,
) -> Result<HttpResponse, AppError> {
    let ConfirmInput { password, back } = form.into_inner();
    let back = local_back(&back);
    if account::check_password(&state.pool, &state.hashing, &user, password).await? {
        session.confirm_password(state.clock.now().timestamp())?;
        return Ok(htmx::redirect(&req, &back));
    }
    kit::security::event(
        &req,
        "authn_confirm_fail",
        None,
        "a wrong password to confirm an action",
    );
    let page = ConfirmPage {
        back,
        error: Some("This is not your password."),
    };
    htmx::page(&req, StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// The profile form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct ProfileInput {
    first_name: String,
    last_name: String,
}

impl TryFrom<&ProfileInput> for ProfileChange {
    type Error = FieldErrors;

    fn try_from(input: &ProfileInput) -> Result<ProfileChange, FieldErrors> {
        let mut errors = FieldErrors::default();
        let first_name = errors.check("first_name", PersonName::parse(&input.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&input.last_name));
        match (first_name, last_name) {
            (Some(first_name), Some(last_name)) => Ok(ProfileChange {
                first_name,
                last_name,
            }),
            _ => Err(errors),
        }
    }
}

/// The profile form as shown: the values typed (or stored), errors, and whether it just saved.
struct ProfileForm {
    email: String,
    first_name: String,
    last_name: String,
    errors: FieldErrors,
    saved: bool,
}

impl ProfileForm {
    fn of(user: &CurrentUser) -> ProfileForm {
        ProfileForm {
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            errors: FieldErrors::default(),
            saved: false,
        }
    }
}

#[derive(Default)]
struct PasswordForm {
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "account/page.html")]
struct AccountPage {
    profile: ProfileForm,
    password: PasswordForm,
    organizations: Vec<UserOrganization>,
    new_org: NewOrgForm,
    api: KeysSection,
    usage: OwnUsage,
}

/// The person's own usage over the last 30 days, on the Account page.
struct OwnUsage {
    report: Report,
    chart: Chart,
}

/// The sections of the Account page read from the database: personal keys (with the Create
/// form as typed) and one's own usage.
async fn sections(
    state: &AppState,
    user: &CurrentUser,
    form: NewKeyForm,
    keys_page: i64,
) -> Result<(KeysSection, OwnUsage), AppError> {
    let api =
        KeysSection::load(state, Scope::Personal(user), PERSONAL_KEYS, form, keys_page).await?;
    let range =
        Range::parse("", "", state.clock.now()).map_err(|_| AppError::BadRequest("range"))?;
    let report = usage::of_user(&mut *state.pool.get().await?, user, range).await?;
    let chart = Chart::of(&report);
    Ok((api, OwnUsage { report, chart }))
}

/// Create an organization: name and country as typed, with their errors.
#[derive(Default)]
struct NewOrgForm {
    name: String,
    country: String,
    errors: FieldErrors,
}

impl NewOrgForm {
    fn countries(&self) -> &'static [(&'static str, &'static str)] {
        crate::domain::reference::COUNTRIES
    }
}

#[derive(Template)]
#[template(path = "account/_profile_form.html")]
struct ProfileFragment {
    profile: ProfileForm,
}

#[derive(Template)]
#[template(path = "account/_password_form.html")]
struct PasswordFragment {
    password: PasswordForm,
}

async fn page(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<KeysPageQuery>,
) -> Result<HttpResponse, AppError> {
    let (api, usage) = sections(&state, &user, NewKeyForm::default(), query.page()).await?;
    let page = AccountPage {
        profile: ProfileForm::of(&user),
        password: PasswordForm::default(),
        api,
        usage,
        organizations: user.organizations,
        new_org: NewOrgForm::default(),
    };
    htmx::page(&req, StatusCode::OK, &page)
}

async fn update_profile(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<ProfileInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let (status, profile) = match ProfileChange::try_from(&input) {
        Ok(change) => {
            let mut conn = state.pool.get().await?;
            let saved = account::update_profile(&mut conn, &user, change).await?;
            if !htmx::is_htmx(&req) {
                flash(&req, "Your profile was saved.")?;
                return Ok(htmx::redirect(&req, &paths::ACCOUNT_PAGE.path()));
            }
            let profile = ProfileForm {
                first_name: saved.first_name,
                last_name: saved.last_name,
                saved: true,
                ..ProfileForm::of(&user)
            };
            (StatusCode::OK, profile)
        }
        Err(errors) => {
            let profile = ProfileForm {
                first_name: input.first_name,
                last_name: input.last_name,
                errors,
                ..ProfileForm::of(&user)
            };
            (StatusCode::UNPROCESSABLE_ENTITY, profile)
        }
    };
    let (api, usage) = sections(&state, &user, NewKeyForm::default(), 1).await?;
    htmx::respond(&req, status, ProfileFragment { profile }, |fragment| {
        AccountPage {
            profile: fragment.profile,
            password: PasswordForm::default(),
            organizations: user.organizations.clone(),
            new_org: NewOrgForm::default(),
            api,
            usage,
        }
    })
}

#[derive(serde::Deserialize)]
struct PasswordInput {
    current_password: SecretString,
    new_password: SecretString,
    confirm_password: SecretString,
}

async fn change_password(
    req: HttpRequest,
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<PasswordInput>,
) -> Result<HttpResponse, AppError> {
    let PasswordInput {
        current_password,
        new_password,
        confirm_password,
    } = form.into_inner();
    let change = PasswordChange {
        current_password,
        new_password,
        confirm_password,
    };
    match account::change_password(&state.pool, &state.hashing, &user, change).await? {
        PasswordOutcome::Changed => {
            // Every session of the user was just ended; this one continues under a new key.
            session.start_signed_in(user.id, state.clock.now().timestamp())?;
            flash(
                &req,
                "Your password was changed. Other devices have been signed out.",
            )?;
            Ok(htmx::redirect(&req, &paths::ACCOUNT_PAGE.path()))
        }
        PasswordOutcome::Invalid(errors) => {
            let password = PasswordForm { errors };
            let (api, usage) = sections(&state, &user, NewKeyForm::default(), 1).await?;
            htmx::respond(
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                PasswordFragment { password },
                |fragment| AccountPage {
                    profile: ProfileForm::of(&user),
                    password: fragment.password,
                    organizations: user.organizations.clone(),
                    new_org: NewOrgForm::default(),
                    api,
                    usage,
                },
            )
        }
    }
}

#[derive(serde::Deserialize)]
struct SwitchInput {
    org: String,
}

/// The header's switcher: act in one of one's organizations, or in the personal account.
async fn switch_org(
    req: HttpRequest,
    user: CurrentUser,
    session: Session,
    form: web::Form<SwitchInput>,
) -> Result<HttpResponse, AppError> {
    if form.org == "personal" {
        session.choose_org(None)?;
        return Ok(htmx::redirect(&req, &paths::ACCOUNT_PAGE.path()));
    }
    let chosen = form
        .org
        .parse::<i64>()
        .map(crate::domain::OrgId)
        .map_err(|_| AppError::BadRequest("Choose an organization from the list."))?;
    // Only one's own organizations: another's id is not found.
    if !user.organizations.iter().any(|org| org.org_id == chosen) {
        return Err(AppError::NotFound);
    }
    session.choose_org(Some(chosen))?;
    Ok(htmx::redirect(&req, &paths::ORG_OVERVIEW.path()))
}

/// Leaves one of one's organizations (not as its owner), whichever one is being acted in.
async fn leave_organization(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    // Only one's own organizations: another's id is not found.
    let ctx = OrgContext::member_of(user, crate::domain::OrgId(path.into_inner()))
        .ok_or(AppError::NotFound)?;
    crate::services::org::members::leave(&mut *state.pool.get().await?, &ctx, state.clock.now())
        .await?;
    flash(&req, format!("You left {}.", ctx.org_name))?;
    Ok(htmx::redirect(&req, &paths::ACCOUNT_PAGE.path()))
}

#[derive(serde::Deserialize)]
struct NewOrgInput {
    name: String,
    country: String,
}

/// Creates an organization owned by the signed-in user, and acts in it.
async fn create_organization(
    req: HttpRequest,
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<NewOrgInput>,
) -> Result<HttpResponse, AppError> {
    let NewOrgInput { name, country } = form.into_inner();
    let mut errors = FieldErrors::default();
    let parsed_name = errors.check("name", crate::domain::RequiredText::parse(&name, 200));
    let code = country.trim().to_uppercase();
    if crate::domain::reference::country_name(&code).is_none() {
        errors.add("country", "Choose a country from the list.");
    }
    let created = match parsed_name {
        Some(name) if errors.is_empty() => {
            let new = account::OwnOrganization {
                name,
                country: code,
            };
            account::create_organization(&mut *state.pool.get().await?, &user, new).await?
        }
        _ => Err(errors),
    };
    match created {
        Ok(org_id) => {
            session.choose_org(Some(org_id))?;
            flash(
                &req,
                format!("{} was created; you are its owner.", name.trim()),
            )?;
            Ok(htmx::redirect(&req, &paths::ORG_OVERVIEW.path()))
        }
        Err(errors) => {
            let (api, usage) = sections(&state, &user, NewKeyForm::default(), 1).await?;
            let page = AccountPage {
                profile: ProfileForm::of(&user),
                password: PasswordForm::default(),
                organizations: user.organizations.clone(),
                new_org: NewOrgForm {
                    name,
                    country,
                    errors,
                },
                api,
                usage,
            };
            htmx::page(&req, StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

async fn create_api_key(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    input: web::Form<NewKeyInput>,
) -> Result<HttpResponse, AppError> {
    let scope = Scope::Personal(&user);
    match api_keys::create(&req, &state, scope, PERSONAL_KEYS, input.into_inner()).await? {
        Created::Shown(response) => Ok(response),
        Created::Invalid(form) => {
            let (api, usage) = sections(&state, &user, form, 1).await?;
            let page = AccountPage {
                profile: ProfileForm::of(&user),
                password: PasswordForm::default(),
                api,
                usage,
                organizations: user.organizations.clone(),
                new_org: NewOrgForm::default(),
            };
            htmx::page(&req, StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

async fn api_key_page(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    api_keys::key_page(&req, &state, Scope::Personal(&user), PERSONAL_KEYS, *path).await
}

async fn revoke_api_key(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    api_keys::revoke(&req, &state, Scope::Personal(&user), PERSONAL_KEYS, *path).await
}

async fn rotate_api_key(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<RotateInput>,
) -> Result<HttpResponse, AppError> {
    let scope = Scope::Personal(&user);
    api_keys::rotate(
        &req,
        &state,
        scope,
        PERSONAL_KEYS,
        *path,
        input.into_inner(),
    )
    .await
}
