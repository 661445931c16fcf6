//! The web layer's plumbing, shared by every area: error pages, htmx responses, CSRF, sessions,
//! the request context and its fences, addresses, formatting, paging, uploads, assets.

pub mod assets;
pub mod context;
pub mod csrf;
pub mod errors;
pub mod format;
pub mod health;
pub mod htmx;
pub mod listing;
pub mod multipart;
pub mod paths;
pub mod session;

use std::net::IpAddr;

use actix_session::SessionExt;
use actix_web::HttpRequest;

use crate::error::AppError;
use crate::web::kit::session::{AppSession, FlashKind};

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Sent with every response.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    // Pages show personal data: never keep them in a shared or back-button cache.
    ("cache-control", "no-store"),
    ("vary", "HX-Request"),
];

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

/// A message shown once on the next page.
pub fn flash(req: &HttpRequest, message: impl Into<String>) -> Result<(), AppError> {
    Ok(req.get_session().push_flash(FlashKind::Success, message)?)
}
