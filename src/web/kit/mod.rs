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
pub mod security;
pub mod session;
pub mod spans;

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

/// Sent with every response when the console is served over `https://`: browsers then never
/// use plain HTTP for it again.
pub const STRICT_TRANSPORT_SECURITY: (&str, &str) = (
    "strict-transport-security",
    "max-age=31536000; includeSubDomains",
);

/// Whether a return address sent by a form is a path of this site: one leading slash, and
/// nothing a header or a browser would read otherwise (control characters, backslashes).
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.chars().any(|c| c.is_control() || c == '\\')
}

/// The client's address: the connection's peer, or, when the peer is a trusted proxy, the
/// right-most `X-Forwarded-For` address that is not a trusted proxy. Proxies append, so
/// anything left of that was written by the client and proves nothing.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("X-Forwarded-For")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(client_address(peer, &forwarded, trusted_proxies))
}

fn client_address(peer: IpAddr, forwarded: &[&str], trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded.iter().flat_map(|h| h.split(',')).rev() {
        match entry.trim().parse::<IpAddr>() {
            Ok(address) if trusted_proxies.contains(&address) => client = address,
            Ok(address) => return address,
            // Garbage in the chain: believe no further than the last proxy.
            Err(_) => return client,
        }
    }
    client
}

/// Form bodies up to `limit`; above it, the 413 page says the limit (the CSRF check refuses
/// most oversized bodies first; this also holds for smaller per-route limits).
/// Where this request came from, for the audit log: the client address (see `client_ip`) and
/// the request's id.
pub fn origin(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> crate::access::Origin {
    use actix_web::HttpMessage;
    crate::access::Origin {
        ip: client_ip(req, trusted_proxies).map(|ip| ip.to_string()),
        request_id: req
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string),
    }
}

pub fn form_config(limit: usize) -> actix_web::web::FormConfig {
    actix_web::web::FormConfig::default()
        .limit(limit)
        .error_handler(move |error, _| match error {
            actix_web::error::UrlencodedError::Overflow { .. } => AppError::TooLarge(format!(
                "What you sent is larger than the {} this form may be. Nothing was changed.",
                crate::config::size_in_words(limit)
            ))
            .into(),
            other => other.into(),
        })
}

/// A message shown once on the next page.
pub fn flash(req: &HttpRequest, message: impl Into<String>) -> Result<(), AppError> {
    Ok(req.get_session().push_flash(FlashKind::Success, message)?)
}

/// A notice shown once on the next page: something to know, not a success.
pub fn flash_notice(req: &HttpRequest, message: impl Into<String>) -> Result<(), AppError> {
    Ok(req.get_session().push_flash(FlashKind::Info, message)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn return_addresses_must_be_local_paths() {
        assert!(is_local_path("/admin/users?page=2&q=ada"));
        for hostile in [
            "//evil.test",
            "https://evil.test",
            "/admin/users\r\nSet-Cookie: x",
            "/\\evil.test",
            "",
        ] {
            assert!(!is_local_path(hostile), "{hostile:?}");
        }
    }

    #[test]
    fn the_client_is_the_right_most_address_no_trusted_proxy_wrote() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        let from_proxy = |header: &[&str]| client_address(ip("10.0.0.1"), header, &proxies);
        assert_eq!(from_proxy(&["203.0.113.7"]), ip("203.0.113.7"));
        // A spoofed prefix written by the client is ignored.
        assert_eq!(from_proxy(&["1.2.3.4, 203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(
            from_proxy(&["1.2.3.4", "203.0.113.7, 10.0.0.2"]),
            ip("203.0.113.7")
        );
        assert_eq!(from_proxy(&["bogus, 10.0.0.2"]), ip("10.0.0.2"));
        assert_eq!(from_proxy(&[]), ip("10.0.0.1"));
        // An untrusted peer's header is not read at all.
        assert_eq!(
            client_address(ip("198.51.100.9"), &["1.2.3.4"], &proxies),
            ip("198.51.100.9")
        );
    }
}
