//! `/invitations/{token}`: the page an invitation link opens, and joining in one step — a new
//! account, the signed-in account, or signing in right here. A link that cannot be used gets a
//! page that says why and changes nothing.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;

use crate::access::CurrentUser;
use crate::config::BodyLimits;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::services::auth::SignInOutcome;
use crate::services::joining::{self, Invited, JoinOutcome, Joined, NewAccount, Opened, Visitor};
use crate::web::AppState;
use crate::web::kit::session::AppSession;
use crate::web::kit::{self as kit, flash, htmx, origin, paths, security};

pub fn configure(cfg: &mut web::ServiceConfig, limits: BodyLimits) {
    cfg.route(paths::INVITATION.pattern, web::get().to(page))
        .route(paths::INVITATION_JOIN.pattern, web::post().to(join))
        .route(paths::INVITATION_REGISTER.pattern, web::post().to(register))
        .service(
            web::resource(paths::INVITATION_SIGN_IN.pattern)
                // A password: anything larger is not a sign-in (as on `/login`).
                .app_data(kit::form_config(limits.sign_in_bytes))
                .route(web::post().to(sign_in)),
        );
}

#[derive(Template)]
#[template(path = "invitations/page.html")]
struct InvitationPage {
    token: String,
    invited: Invited,
    visitor: Visitor,
    first_name: String,
    last_name: String,
    errors: FieldErrors,
    /// A refusal or sign-in error shown above the form.
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "invitations/closed.html")]
struct ClosedPage {
    reason: String,
}

fn closed(req: &HttpRequest, status: StatusCode, reason: &str) -> Result<HttpResponse, AppError> {
    htmx::page(
        req,
        status,
        &ClosedPage {
            reason: reason.to_owned(),
        },
    )
}

async fn signed_in(req: &HttpRequest) -> Option<CurrentUser> {
    use actix_web::FromRequest;
    CurrentUser::extract(req).await.ok()
}

/// The invitation page for this visitor, with what they typed and what went wrong.
async fn render(
    req: &HttpRequest,
    state: &AppState,
    token: &str,
    status: StatusCode,
    typed: (String, String, FieldErrors),
    problem: Option<String>,
) -> Result<HttpResponse, AppError> {
    let viewer = signed_in(req).await;
    let opened = joining::open(
        &mut *state.pool.get().await?,
        token,
        viewer.as_ref(),
        state.clock.now(),
    )
    .await?;
    match opened {
        Opened::Closed(reason) => closed(req, StatusCode::GONE, reason),
        Opened::Open { invited, visitor } => {
            let (first_name, last_name, errors) = typed;
            let page = InvitationPage {
                token: token.to_owned(),
                invited,
                visitor,
                first_name,
                last_name,
                errors,
                problem,
            };
            htmx::page(req, status, &page)
        }
    }
}

async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let typed = (String::new(), String::new(), FieldErrors::default());
    render(&req, &state, &path, StatusCode::OK, typed, None).await
}

/// Joined: act in the new organization and go there.
fn welcome(req: &HttpRequest, session: &Session, joined: Joined) -> Result<HttpResponse, AppError> {
    session.choose_org(Some(joined.org_id))?;
    let mut message = format!("Welcome to {}.", joined.org_name);
    if !joined.skipped_teams.is_empty() {
        message.push_str(&format!(
            " These teams were deactivated since you were invited, so you did not join them: {}.",
            joined.skipped_teams.join(", ")
        ));
    }
    flash(req, message)?;
    Ok(htmx::redirect(req, &paths::ORG_OVERVIEW.path()))
}

async fn finish(
    req: &HttpRequest,
    session: &Session,
    state: &AppState,
    token: &str,
    outcome: JoinOutcome,
    typed: (String, String),
) -> Result<HttpResponse, AppError> {
    match outcome {
        JoinOutcome::Joined(joined) => welcome(req, session, joined),
        JoinOutcome::Closed(reason) => closed(req, StatusCode::GONE, reason),
        JoinOutcome::Refused(reason) => {
            let typed = (typed.0, typed.1, FieldErrors::default());
            render(req, state, token, StatusCode::CONFLICT, typed, Some(reason)).await
        }
        JoinOutcome::Invalid(errors) => {
            let typed = (typed.0, typed.1, errors);
            render(
                req,
                state,
                token,
                StatusCode::UNPROCESSABLE_ENTITY,
                typed,
                None,
            )
            .await
        }
    }
}

/// The signed-in user joins.
async fn join(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let outcome = joining::join_signed_in(
        &mut *state.pool.get().await?,
        user.id,
        &path,
        &origin(&req, &state.settings.trusted_proxies),
        state.clock.now(),
    )
    .await?;
    finish(&req, &session, &state, &path, outcome, Default::default()).await
}

#[derive(serde::Deserialize)]
struct RegisterInput {
    first_name: String,
    last_name: String,
    password: SecretString,
    confirm_password: SecretString,
}

/// A new account joins: created, signed in and a member in one step.
async fn register(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<RegisterInput>,
) -> Result<HttpResponse, AppError> {
    let RegisterInput {
        first_name,
        last_name,
        password,
        confirm_password,
    } = form.into_inner();
    let typed = (first_name.clone(), last_name.clone());
    let account = NewAccount {
        first_name,
        last_name,
        password,
        confirm_password,
    };
    let now = state.clock.now();
    let from = origin(&req, &state.settings.trusted_proxies);
    let outcome =
        joining::join_new_account(&state.pool, &state.hashing, &path, account, &from, now).await?;
    if let JoinOutcome::Joined(joined) = &outcome {
        session.start_signed_in(joined.user.id, now.timestamp())?;
    }
    finish(&req, &session, &state, &path, outcome, typed).await
}

#[derive(serde::Deserialize)]
struct SignInInput {
    password: SecretString,
}

/// An existing account signs in on the invitation page (with the sign-in form's throttling),
/// then joins.
async fn sign_in(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SignInInput>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let invited = joining::open(&mut *state.pool.get().await?, &path, None, now).await?;
    let email = match invited {
        Opened::Closed(reason) => return closed(&req, StatusCode::GONE, reason),
        Opened::Open { invited, .. } => invited.invitation.email,
    };
    let (outcome, ip) =
        crate::web::auth::check_sign_in(&req, &state, &email, form.into_inner().password).await?;
    let user = match outcome {
        // Joining by invitation: what the domain rule did is not the news here.
        SignInOutcome::SignedIn(user, _) => user,
        refused => {
            let (event, status, message) = crate::web::auth::refusal(&refused);
            security::event(&req, event, Some(&email), message);
            let typed = (String::new(), String::new(), FieldErrors::default());
            return render(&req, &state, &path, status, typed, Some(message.to_owned())).await;
        }
    };
    session.start_signed_in(user.id, now.timestamp())?;
    tracing::info!(target: "security", event = "authn_login_success", user = %user.email, ip = %ip);
    let from = origin(&req, &state.settings.trusted_proxies);
    let outcome =
        joining::join_signed_in(&mut *state.pool.get().await?, user.id, &path, &from, now).await?;
    finish(&req, &session, &state, &path, outcome, Default::default()).await
}
