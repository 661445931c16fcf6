//! `/login/sso`: "Sign in with SSO". The person gives their email; the browser goes to their
//! organization's identity provider and comes back to `/login/sso/callback`, where the
//! service checks everything and the session starts (`services::sso`).

use actix_session::{Session, SessionExt};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::config::BodyLimits;
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::services::sso::{self, Pending, Refusal, Returned};
use crate::web::AppState;
use crate::web::kit::session::AppSession;
use crate::web::kit::{self as kit, flash, flash_notice, htmx, origin, paths, security};

/// Where the session keeps a sign-in sent to the provider, until it comes back.
const PENDING: &str = "sso_pending";

pub fn configure(cfg: &mut web::ServiceConfig, limits: BodyLimits) {
    cfg.service(
        web::resource(paths::SSO.pattern)
            .app_data(kit::form_config(limits.sign_in_bytes))
            .route(web::get().to(page))
            .route(web::post().to(start)),
    )
    .route(paths::SSO_CALLBACK.pattern, web::get().to(callback));
}

/// The way to the provider: an instant redirect of its own (see the template).
#[derive(Template)]
#[template(path = "auth/sso_continue.html")]
struct ContinuePage {
    authorize_url: String,
    provider_host: String,
}

#[derive(Template)]
#[template(path = "auth/sso.html")]
struct SsoPage {
    email: String,
    error: Option<&'static str>,
}

fn redirect_url(state: &AppState) -> String {
    format!(
        "{}{}",
        state.settings.base_url.trim_end_matches('/'),
        paths::SSO_CALLBACK.path()
    )
}

async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let offered = sso::offered(&mut *state.pool.get().await?).await?;
    let page = SsoPage {
        email: String::new(),
        error: (!offered).then(|| Refusal::Off.message()),
    };
    let status = if offered {
        StatusCode::OK
    } else {
        status_of(Refusal::Off)
    };
    htmx::page(&req, status, &page)
}

#[derive(serde::Deserialize)]
struct StartForm {
    #[serde(default)]
    email: String,
}

async fn start(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, AppError> {
    let typed = form.into_inner().email;
    let refused = |status, error| {
        let page = SsoPage {
            email: typed.clone(),
            error: Some(error),
        };
        htmx::page(&req, status, &page)
    };
    let Ok(email) = EmailAddress::parse(&typed) else {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your work email address, like name@example.com.",
        );
    };
    let now = state.clock.now().timestamp();
    let master_key = state.settings.master_key_bytes();
    let mut conn = state.pool.get().await?;
    match sso::start(&mut conn, &master_key, &redirect_url(&state), &email, now).await? {
        Ok(started) => {
            session.insert(PENDING, &started.pending)?;
            let page = ContinuePage {
                authorize_url: started.authorize_url,
                provider_host: started.provider_host,
            };
            htmx::page(&req, StatusCode::OK, &page)
        }
        Err(refusal) => refused(status_of(refusal), refusal.message()),
    }
}

fn status_of(refusal: Refusal) -> StatusCode {
    match refusal {
        Refusal::ProviderUnreachable => StatusCode::BAD_GATEWAY,
        Refusal::Off => StatusCode::NOT_FOUND,
        Refusal::AccountDisabled | Refusal::NotAPerson => StatusCode::FORBIDDEN,
        Refusal::NoOrganization => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[derive(serde::Deserialize)]
struct Callback {
    code: Option<String>,
    #[serde(default)]
    state: String,
    error: Option<String>,
}

async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Callback>,
) -> Result<HttpResponse, AppError> {
    let session = req.get_session();
    // Used once, whatever happens next.
    let pending: Option<Pending> = session.remove_as(PENDING).and_then(Result::ok);
    let returned = Returned {
        code: query.code.as_deref(),
        state: &query.state,
        error: query.error.as_deref(),
    };
    let now = state.clock.now().timestamp();
    let master_key = state.settings.master_key_bytes();
    let mut conn = state.pool.get().await?;
    let outcome = sso::finish(
        &mut conn,
        &master_key,
        &redirect_url(&state),
        pending,
        returned,
        &origin(&req, &state.settings.trusted_proxies),
        now,
    )
    .await?;
    match outcome {
        Ok(signed_in) => {
            session.start_signed_in(signed_in.user.id, now)?;
            tracing::info!(target: "security", event = "authn_login_success_sso", user = %signed_in.user.email);
            if signed_in.created {
                flash(
                    &req,
                    "Welcome to Guildhall: your account was created by single sign-on.",
                )?;
            }
            if let Some(notice) = signed_in.domain.notice() {
                flash_notice(&req, notice)?;
            }
            Ok(htmx::redirect(&req, &paths::HOME.path()))
        }
        Err(refusal) => {
            security::event(&req, "authn_login_fail_sso", None, refusal.message());
            let page = SsoPage {
                email: String::new(),
                error: Some(refusal.message()),
            };
            htmx::page(&req, status_of(refusal), &page)
        }
    }
}
