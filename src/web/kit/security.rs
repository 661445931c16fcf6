//! Security events as log lines with a stable name from OWASP's logging vocabulary
//! (`authn_login_fail`, `authz_fail`, `excess_rate_limit_exceeded`, `malicious_csrf`, ...), the
//! user when known and the client's address; the request id comes from the request's span.
//! Never a password, token or secret.

use actix_web::{HttpMessage, HttpRequest};

use crate::access::CurrentUser;
use crate::web::AppState;
use crate::web::kit::client_ip;

/// Logs one security event about this request.
pub fn event(req: &HttpRequest, name: &'static str, user: Option<&str>, detail: &str) {
    let ip = req
        .app_data::<actix_web::web::Data<AppState>>()
        .and_then(|state| client_ip(req, &state.settings.trusted_proxies))
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let signed_in = req
        .extensions()
        .get::<CurrentUser>()
        .map(|user| user.email.clone());
    // What a visitor typed is shown without control characters, so it cannot forge lines.
    let user: String = user
        .map(str::to_owned)
        .or(signed_in)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(254)
        .collect();
    // An invitation link's token never reaches the log.
    let path = crate::web::kit::spans::logged_target(req.path());
    tracing::warn!(target: "security", event = name, user = %user, ip = %ip, path = %path, "{detail}");
}
