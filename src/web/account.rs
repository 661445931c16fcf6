//! `/settings/account`: the signed-in user's profile and password. The profile form is the
//! model for every form: htmx swaps the form fragment in place (422 with field errors and the
//! input kept), and without JavaScript the same POST answers with the whole page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::FieldErrors;
use crate::models::memberships::UserOrganization;
use crate::services::Actor;
use crate::services::accounts::{
    self, PasswordInput, PasswordOutcome, ProfileInput, ProfileOutcome,
};
use crate::web::context::{Chrome, SignedInUser};
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::session::{AppSession, FlashKind};
use crate::web::{AppState, client_ip, htmx};

/// The profile form as shown: the values typed (or stored), errors, and whether it just saved.
pub struct ProfileForm {
    pub csrf_token: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub errors: FieldErrors,
    pub saved: bool,
}

pub struct PasswordForm {
    pub csrf_token: String,
    pub errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/page.html")]
pub struct AccountPage {
    pub chrome: Chrome,
    pub profile: ProfileForm,
    pub password: PasswordForm,
    pub organizations: Vec<UserOrganization>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/_profile_form.html")]
pub struct ProfileFragment {
    pub profile: ProfileForm,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/_password_form.html")]
pub struct PasswordFragment {
    pub password: PasswordForm,
}

fn actor(req: &HttpRequest, state: &AppState, signed_in: &SignedInUser) -> Actor {
    Actor {
        user_id: Some(signed_in.user.id),
        email: signed_in.user.email.clone(),
        role: "self",
        ip: client_ip(req, &state.settings.trusted_proxies).map(|ip| ip.to_string()),
    }
}

fn account_page(
    signed_in: &SignedInUser,
    profile: ProfileForm,
    password: PasswordForm,
) -> Result<AccountPage, AppError> {
    Ok(AccountPage {
        chrome: Chrome::new(signed_in, "account")?,
        profile,
        password,
        organizations: signed_in.organizations.clone(),
    })
}

pub async fn page(signed_in: SignedInUser) -> Result<AccountPage, AppError> {
    let csrf_token = signed_in.session.csrf_token()?;
    let user = &signed_in.user;
    let profile = ProfileForm {
        csrf_token: csrf_token.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        errors: FieldErrors::default(),
        saved: false,
    };
    let password = PasswordForm {
        csrf_token,
        errors: FieldErrors::default(),
    };
    account_page(&signed_in, profile, password)
}

pub async fn update_profile(
    req: HttpRequest,
    signed_in: SignedInUser,
    state: web::Data<AppState>,
    form: web::Form<ProfileInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let actor = actor(&req, &state, &signed_in);
    let outcome = accounts::update_profile(&mut conn, &actor, &signed_in.user, &input).await?;
    let csrf_token = signed_in.session.csrf_token()?;
    let (status, profile) = match outcome {
        ProfileOutcome::Saved(user) => {
            if !htmx::is_htmx(&req) {
                signed_in
                    .session
                    .push_flash(FlashKind::Success, "Your profile was saved.")?;
                return Ok(htmx::redirect(&req, "/settings/account"));
            }
            let profile = ProfileForm {
                csrf_token,
                email: user.email,
                first_name: user.first_name,
                last_name: user.last_name,
                errors: FieldErrors::default(),
                saved: true,
            };
            (StatusCode::OK, profile)
        }
        ProfileOutcome::Invalid(errors) => {
            let profile = ProfileForm {
                csrf_token,
                email: signed_in.user.email.clone(),
                first_name: input.first_name,
                last_name: input.last_name,
                errors,
                saved: false,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, profile)
        }
    };
    if htmx::is_htmx(&req) {
        return ProfileFragment { profile }.render_with(status);
    }
    let password = PasswordForm {
        csrf_token: profile.csrf_token.clone(),
        errors: FieldErrors::default(),
    };
    let page = account_page(&signed_in, profile, password)?;
    page.render_with(status)
}

pub async fn change_password(
    req: HttpRequest,
    signed_in: SignedInUser,
    state: web::Data<AppState>,
    form: web::Form<PasswordInput>,
) -> Result<HttpResponse, AppError> {
    let actor = actor(&req, &state, &signed_in);
    match accounts::change_password(&state.pool, &actor, &signed_in.user, form.into_inner()).await?
    {
        PasswordOutcome::Changed => {
            // Every session of the user was just ended; this one continues under a new key.
            let session = &signed_in.session;
            session.start_signed_in(signed_in.user.id, chrono::Utc::now().timestamp())?;
            session.push_flash(
                FlashKind::Success,
                "Your password was changed. Other devices have been signed out.",
            )?;
            Ok(htmx::redirect(&req, "/settings/account"))
        }
        PasswordOutcome::Invalid(errors) => {
            let password = PasswordForm {
                csrf_token: signed_in.session.csrf_token()?,
                errors,
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            if htmx::is_htmx(&req) {
                return PasswordFragment { password }.render_with(status);
            }
            let user = &signed_in.user;
            let profile = ProfileForm {
                csrf_token: password.csrf_token.clone(),
                email: user.email.clone(),
                first_name: user.first_name.clone(),
                last_name: user.last_name.clone(),
                errors: FieldErrors::default(),
                saved: false,
            };
            let page = account_page(&signed_in, profile, password)?;
            Ok(page.render_with(status)?)
        }
    }
}
