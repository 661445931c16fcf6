//! Sign in and sign out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use secrecy::SecretString;

use crate::services::auth::{self, SignInOutcome};
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::session::{AppSession, SignedIn};
use crate::web::{AppState, client_ip};

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub csrf_token: String,
    pub email: String,
    pub error: Option<&'static str>,
    pub notice: Option<&'static str>,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    signed_out: Option<String>,
}

pub async fn login_page(
    session: Session,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    if let SignedIn::Yes(_) = session.signed_in(chrono::Utc::now().timestamp()) {
        return Ok(HttpResponse::SeeOther()
            .insert_header(("Location", "/"))
            .finish());
    }
    let page = LoginPage {
        csrf_token: session.csrf_token()?,
        email: String::new(),
        error: None,
        notice: query.signed_out.is_some().then_some("You have signed out."),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    email: String,
    password: SecretString,
}

pub async fn login(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let LoginForm { email, password } = form.into_inner();
    let ip = client_ip(&req, &state.settings.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let (status, error) = match auth::sign_in(&state.pool, &email, password, &ip).await? {
        SignInOutcome::SignedIn(user) => {
            session.start_signed_in(user.id, chrono::Utc::now().timestamp())?;
            tracing::info!(user_id = %user.id, "signed in");
            return Ok(HttpResponse::SeeOther()
                .insert_header(("Location", "/"))
                .finish());
        }
        SignInOutcome::InvalidCredentials => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The email or password is not correct.",
        ),
        SignInOutcome::Disabled => (
            StatusCode::FORBIDDEN,
            "This account is disabled. Ask an administrator to enable it.",
        ),
        SignInOutcome::Throttled => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts. Wait 15 minutes, then try again.",
        ),
    };
    let page = LoginPage {
        csrf_token: session.csrf_token()?,
        email,
        error: Some(error),
        notice: None,
    };
    page.render_with(status)
}

pub async fn logout(session: Session) -> HttpResponse {
    session.purge();
    HttpResponse::SeeOther()
        .insert_header(("Location", "/login?signed_out=1"))
        .finish()
}
