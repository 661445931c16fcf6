//! Signing in and out, and `/`, which sends each visitor where they work.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;

use crate::access::CurrentUser;
use crate::config::BodyLimits;
use crate::error::AppError;
use crate::services::auth::{self, SignInOutcome};
use crate::web::AppState;
use crate::web::kit::session::AppSession;
use crate::web::kit::{self as kit, flash_notice, htmx, origin, paths, security};

pub fn configure(cfg: &mut web::ServiceConfig, limits: BodyLimits) {
    cfg.route(paths::HOME.pattern, web::get().to(home))
        .service(
            web::resource(paths::LOGIN.pattern)
                // An email and a password: anything larger is not a sign-in.
                .app_data(kit::form_config(limits.sign_in_bytes))
                .route(web::get().to(login_page))
                .route(web::post().to(login)),
        )
        .route(paths::LOGOUT.pattern, web::post().to(logout));
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}

async fn home(user: Result<CurrentUser, AppError>) -> Result<HttpResponse, AppError> {
    let location = match user {
        Err(AppError::Unauthenticated) => paths::LOGIN.path(),
        Err(other) => return Err(other),
        Ok(user) if user.is_super_admin() => paths::ORGANIZATIONS.path(),
        Ok(user) if !user.organizations.is_empty() => paths::ORG_OVERVIEW.path(),
        Ok(_) => paths::ACCOUNT_PAGE.path(),
    };
    Ok(see_other(&location))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    email: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    /// "Sign in with SSO" is offered (platform settings).
    sso_offered: bool,
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    signed_out: Option<String>,
    /// Back from a password reset link.
    reset: Option<String>,
}

async fn login_page(
    req: HttpRequest,
    user: Result<CurrentUser, AppError>,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    match user {
        Ok(_) => return Ok(see_other(&paths::HOME.path())),
        Err(AppError::Unauthenticated) => {}
        Err(other) => return Err(other),
    }
    let page = LoginPage {
        sso_offered: sso_offered(&state).await,
        email: String::new(),
        error: None,
        notice: if query.reset.is_some() {
            Some("Your password was changed and every session ended: sign in with the new one.")
        } else {
            query.signed_out.is_some().then_some("You have signed out.")
        },
    };
    htmx::page(&req, StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    email: String,
    password: SecretString,
}

async fn login(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let LoginForm { email, password } = form.into_inner();
    let (outcome, ip) = check_sign_in(&req, &state, &email, password).await?;
    let (event, status, error) = match outcome {
        SignInOutcome::SignedIn(user, domain) => {
            session.start_signed_in(user.id, state.clock.now().timestamp())?;
            tracing::info!(target: "security", event = "authn_login_success", user = %user.email, ip = %ip);
            if let Some(notice) = domain.notice() {
                flash_notice(&req, notice)?;
            }
            return Ok(see_other(&paths::HOME.path()));
        }
        refused => refusal(&refused),
    };
    security::event(&req, event, Some(&email), error);
    let page = LoginPage {
        sso_offered: sso_offered(&state).await,
        email,
        error: Some(error),
        notice: None,
    };
    htmx::page(&req, status, &page)
}

/// Checks a sign-in for this request's client address (throttled; the password hashed off the
/// async workers); the address comes back for the log.
pub(crate) async fn check_sign_in(
    req: &HttpRequest,
    state: &AppState,
    email: &str,
    password: SecretString,
) -> Result<(SignInOutcome, String), AppError> {
    let from = origin(req, &state.settings.trusted_proxies);
    let outcome = auth::sign_in(
        &state.pool,
        &state.clock,
        &state.hashing,
        &state.settings.throttle,
        email,
        password,
        &from,
    )
    .await?;
    Ok((outcome, from.ip.unwrap_or_default()))
}

/// Whether the sign-in page offers SSO. The page stays up without the database: it then
/// offers the password form only (whose sign-in answers that the service is unavailable).
async fn sso_offered(state: &AppState) -> bool {
    match state.pool.get().await {
        Ok(mut conn) => crate::services::sso::offered(&mut conn)
            .await
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// A refused sign-in: the security event, the status and the message shown.
pub(crate) fn refusal(outcome: &SignInOutcome) -> (&'static str, StatusCode, &'static str) {
    match outcome {
        SignInOutcome::SignedIn(..) | SignInOutcome::InvalidCredentials => (
            "authn_login_fail",
            StatusCode::UNPROCESSABLE_ENTITY,
            "The email or password is not correct.",
        ),
        SignInOutcome::Disabled => (
            "authn_login_fail_disabled",
            StatusCode::FORBIDDEN,
            "This account is disabled. Ask an administrator to enable it.",
        ),
        SignInOutcome::UseSso => (
            "authn_login_fail_sso_required",
            StatusCode::FORBIDDEN,
            "Your organization signs in with single sign-on: choose “Sign in with SSO” below.",
        ),
        SignInOutcome::Throttled => (
            "excess_rate_limit_exceeded",
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts. Wait 15 minutes, then try again.",
        ),
        SignInOutcome::Locked => (
            "authn_login_lock",
            StatusCode::TOO_MANY_REQUESTS,
            "This account is locked after 100 failed sign-ins in a row; it unlocks within a day.",
        ),
    }
}

/// Ends the session here and tells the browser to forget what it kept of it.
async fn logout(session: Session) -> HttpResponse {
    session.purge();
    let mut response = see_other(&format!("{}?signed_out=1", paths::LOGIN.path()));
    response.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("clear-site-data"),
        actix_web::http::header::HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    response
}
