//! `/password-reset`: asking for a link (answered the same for every address) and the link's
//! page, which sets a new password once. No session needed; CSRF as on the sign-in page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;

use crate::config::BodyLimits;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::services::password_reset::{self as service, ResetOutcome};
use crate::web::AppState;
use crate::web::kit::{self as kit, htmx, origin, paths};

pub fn configure(cfg: &mut web::ServiceConfig, limits: BodyLimits) {
    cfg.service(
        web::resource(paths::PASSWORD_RESET.pattern)
            .app_data(kit::form_config(limits.sign_in_bytes))
            .route(web::get().to(ask_page))
            .route(web::post().to(ask)),
    )
    .service(
        web::resource(paths::PASSWORD_RESET_LINK.pattern)
            .app_data(kit::form_config(limits.sign_in_bytes))
            .route(web::get().to(link_page))
            .route(web::post().to(reset)),
    );
}

#[derive(Template)]
#[template(path = "auth/password_reset.html")]
struct AskPage {
    email: String,
    /// After the request: what happens next, the same for every address.
    sent: bool,
}

async fn ask_page(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let page = AskPage {
        email: String::new(),
        sent: false,
    };
    htmx::page(&req, StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
struct AskForm {
    #[serde(default)]
    email: String,
}

async fn ask(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<AskForm>,
) -> Result<HttpResponse, AppError> {
    let email = form.into_inner().email;
    // Done after the answer: a known address must not answer more slowly than an unknown one.
    let (pool, postbox, now) = (state.pool.clone(), state.postbox.clone(), state.clock.now());
    let asked = email.clone();
    actix_web::rt::spawn(async move {
        if let Err(error) = service::request(&pool, &postbox, &asked, now).await {
            tracing::warn!(error = %error, "a password reset link could not be sent");
        }
    });
    htmx::page(&req, StatusCode::OK, &AskPage { email, sent: true })
}

#[derive(Template)]
#[template(path = "auth/password_reset_link.html")]
struct LinkPage {
    /// The link no longer opens anything.
    closed: bool,
    errors: FieldErrors,
}

async fn link_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let open = service::is_open(&state.pool, &token, state.clock.now()).await?;
    let (status, page) = if open {
        (
            StatusCode::OK,
            LinkPage {
                closed: false,
                errors: FieldErrors::default(),
            },
        )
    } else {
        (
            StatusCode::GONE,
            LinkPage {
                closed: true,
                errors: FieldErrors::default(),
            },
        )
    };
    link_response(&req, status, &page)
}

/// The link's page is never cached, and sends no referrer with the token on.
fn link_response(
    req: &HttpRequest,
    status: StatusCode,
    page: &LinkPage,
) -> Result<HttpResponse, AppError> {
    let mut response = htmx::page(req, status, page)?;
    let headers = response.headers_mut();
    headers.insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

#[derive(serde::Deserialize)]
struct NewPasswordForm {
    new_password: SecretString,
    confirm_password: SecretString,
}

async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<NewPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let NewPasswordForm {
        new_password,
        confirm_password,
    } = form.into_inner();
    let outcome = service::reset(
        &state.pool,
        &state.hashing,
        &token,
        new_password,
        confirm_password,
        &origin(&req, &state.settings.trusted_proxies),
        state.clock.now(),
    )
    .await?;
    match outcome {
        ResetOutcome::Reset => Ok(HttpResponse::SeeOther()
            .insert_header(("Location", format!("{}?reset=1", paths::LOGIN.path())))
            .finish()),
        ResetOutcome::Invalid(errors) => link_response(
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            &LinkPage {
                closed: false,
                errors,
            },
        ),
        ResetOutcome::Closed => link_response(
            &req,
            StatusCode::GONE,
            &LinkPage {
                closed: true,
                errors: FieldErrors::default(),
            },
        ),
    }
}
