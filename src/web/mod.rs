//! The web layer: routes, handlers and their templates, and the cross-cutting pieces.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod context;
pub mod csrf;
pub mod errors;
pub mod format;
pub mod health;
pub mod home;
pub mod htmx;
pub mod listing;
pub mod multipart;
pub mod org;
pub mod session;

use std::net::IpAddr;

use actix_web::{HttpRequest, web};

use crate::config::Settings;
use crate::db::DbPool;

/// Shared by every handler.
pub struct AppState {
    pub pool: DbPool,
    pub settings: Settings,
}

/// The route table.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::index))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/login", web::get().to(auth::login_page))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .configure(admin::configure)
        .route("/settings/org", web::get().to(org::overview))
        .route("/settings/account", web::get().to(account::page))
        .route(
            "/settings/account/profile",
            web::post().to(account::update_profile),
        )
        .route(
            "/settings/account/password",
            web::post().to(account::change_password),
        );
}

/// The client's address: the connection's peer, or the first address of `X-Forwarded-For`
/// when the peer is a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    req.headers()
        .get("X-Forwarded-For")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .or(Some(peer))
}
