//! The web layer: one scope per area, each behind its fence, so a route is protected by where
//! it is mounted. `kit/` holds the plumbing every area shares.
//!
//! - the HTML area (everything but `/api`, `/static` and the probes): sessions, CSRF on every
//!   state change, error pages;
//!   - `/admin`: super administrators (`SuperAdmin` proof);
//!   - `/settings/org`: members of the organization chosen in the header (`OrgContext`);
//!   - `/settings/account`: any signed-in user (`CurrentUser`);
//! - `/api`: programs with bearer keys, JSON errors, no session, cookie or CSRF.

pub mod account;
pub mod admin;
pub mod api;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod invitations;
pub mod kit;
pub mod org;
pub mod password_reset;
pub mod sso;
pub mod usage;

use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::web;

use crate::clock::Clock;
use crate::config::{BodyLimits, Settings};
use crate::db::DbPool;
use crate::services::outbox::Postbox;
use crate::services::password_work::PasswordWork;
use crate::services::policy_cache::PolicyCache;
use crate::web::kit::session::PgSessionStore;
use crate::web::kit::{assets, context, csrf, errors, health, paths};

/// Shared by every handler.
pub struct AppState {
    pub pool: DbPool,
    pub settings: Settings,
    pub clock: Clock,
    pub hashing: PasswordWork,
    pub postbox: Postbox,
    /// Policy API calls per key (`api::KeyRate`).
    pub api_rate: api::KeyRate,
    /// The facts of recent `authorize` calls (`services::policy_cache`).
    pub policy_cache: Arc<PolicyCache>,
}

/// The route table: the areas that need no session first, then the HTML area.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    sessions: SessionMiddleware<PgSessionStore>,
    limits: BodyLimits,
) {
    cfg.route(paths::HEALTHZ.pattern, web::get().to(health::healthz))
        .route(paths::READYZ.pattern, web::get().to(health::readyz))
        .route(paths::STATIC.pattern, web::get().to(assets::serve))
        .service(web::scope(paths::API).configure(api::configure))
        .service(
            web::scope("")
                .configure(|cfg| auth::configure(cfg, limits))
                .configure(|cfg| password_reset::configure(cfg, limits))
                .configure(|cfg| sso::configure(cfg, limits))
                .configure(|cfg| invitations::configure(cfg, limits))
                .service(
                    web::scope(paths::ADMIN)
                        .wrap(from_fn(context::super_admin_fence))
                        .configure(admin::configure),
                )
                .service(
                    web::scope(paths::ORG)
                        .wrap(from_fn(context::org_fence))
                        .configure(org::configure),
                )
                .service(
                    web::scope(paths::ACCOUNT)
                        .wrap(from_fn(context::signed_in_fence))
                        .configure(account::configure),
                )
                // Innermost first: CSRF needs the session; errors are rendered after both.
                .wrap(from_fn(sync_policy_after_changes))
                .wrap(from_fn(csrf::verify_csrf))
                .wrap(sessions)
                .wrap(from_fn(errors::render_error_pages)),
        );
}

/// A console change is answered once this instance's policy listener has heard it (the
/// triggers' notifications reach every instance's listener at the same commit): whoever made
/// the change may ask the policy API straight away. Only for changes that went through.
async fn sync_policy_after_changes(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let went_through = response.status().is_success() || response.status().is_redirection();
    if let Some(state) = state.filter(|_| changes && went_through) {
        state.policy_cache.sync_or_forget(&state.pool).await;
    }
    Ok(response)
}
