//! CSRF protection for every state-changing request: the session's token must come back in the
//! `X-CSRF-Token` header (htmx, from `hx-headers` on `<body>`) or in the `csrf_token` form field
//! (plain forms, URL-encoded or multipart). Anything else gets 403 before a handler runs.

use actix_session::SessionExt;
use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::AppError;

pub const HEADER: &str = "X-CSRF-Token";
pub const FIELD: &str = "csrf_token";

pub async fn verify_csrf(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let expected = req
        .get_session()
        .get::<String>(crate::web::kit::session::CSRF_TOKEN_KEY)
        .ok()
        .flatten()
        .or_else(|| visitor_token(req.request()));
    let cross_site = req
        .headers()
        .get("Sec-Fetch-Site")
        .is_some_and(|v| v == "cross-site");
    // Without a session token, or from another site, refuse before reading any body.
    let provided = match req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        _ if expected.is_none() || cross_site => None,
        Some(token) => Some(token.to_owned()),
        None => match token_from_body(&mut req).await {
            Ok(token) => token,
            Err(refusal) => return Ok(req.error_response(refusal).map_into_right_body()),
        },
    };
    match (expected, provided) {
        (Some(expected), Some(provided))
            if !cross_site && constant_time_eq(expected.as_bytes(), provided.as_bytes()) =>
        {
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        _ => {
            crate::web::kit::security::event(
                req.request(),
                "malicious_csrf",
                None,
                "a state change without this session's CSRF token, refused",
            );
            let (request, _) = req.into_parts();
            Ok(ServiceResponse::from_err(AppError::Csrf, request).map_into_right_body())
        }
    }
}

/// A visitor (no session yet: the sign-in page) gets a token in a cookie of its own, encrypted
/// under the session key, instead of a stored session: anonymous requests leave no state on
/// the server. The form carries the same token back (double submit).
pub const VISITOR_COOKIE: &str = "guildhall_csrf";

fn cookie_key(req: &actix_web::HttpRequest) -> Option<actix_web::cookie::Key> {
    req.app_data::<actix_web::web::Data<crate::web::AppState>>()
        .map(|state| state.settings.cookie_key())
}

/// The visitor's token, when their cookie carries an authentic one.
pub fn visitor_token(req: &actix_web::HttpRequest) -> Option<String> {
    let cookie = req.cookie(VISITOR_COOKIE)?;
    let mut jar = actix_web::cookie::CookieJar::new();
    jar.add_original(cookie);
    let opened = jar.private(&cookie_key(req)?).get(VISITOR_COOKIE)?;
    Some(opened.value().to_owned())
}

/// The token of this request's forms, and the visitor cookie to set when it is new.
pub fn token_for(
    req: &actix_web::HttpRequest,
) -> Result<(String, Option<actix_web::cookie::Cookie<'static>>), AppError> {
    use crate::web::kit::session::AppSession;
    let session = req.get_session();
    if session.sign_in_times().is_some() {
        return Ok((session.csrf_token()?, None));
    }
    if let Some(token) = visitor_token(req) {
        return Ok((token, None));
    }
    let token = crate::domain::random_token(32);
    let Some(key) = cookie_key(req) else {
        return Ok((token, None));
    };
    let secure = req
        .app_data::<actix_web::web::Data<crate::web::AppState>>()
        .is_some_and(|state| state.settings.secure_cookies());
    let mut jar = actix_web::cookie::CookieJar::new();
    jar.private_mut(&key).add(
        actix_web::cookie::Cookie::build(VISITOR_COOKIE, token.clone())
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(actix_web::cookie::SameSite::Strict)
            .finish(),
    );
    let cookie = jar.get(VISITOR_COOKIE).cloned();
    Ok((token, cookie))
}

/// Reads the body (it is put back for the handler) and finds the `csrf_token` field in it. A
/// body above the limit of its kind (a form, an upload) is refused without reading it whole.
async fn token_from_body(req: &mut ServiceRequest) -> Result<Option<String>, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let boundary = crate::web::kit::multipart::boundary(&content_type);
    if !is_form && boundary.is_none() {
        return Ok(None);
    }
    let limits = req
        .app_data::<actix_web::web::Data<crate::web::AppState>>()
        .map(|state| state.settings.body_limits)
        .unwrap_or_default();
    let (limit, what) = match boundary {
        None => (limits.form_bytes, "a form"),
        Some(_) => (limits.upload_bytes, "an upload"),
    };
    let too_large = || {
        AppError::TooLarge(format!(
            "What you sent is larger than the {} {what} may be. Nothing was changed.",
            crate::config::size_in_words(limit)
        ))
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("The request could not be read."))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let token = match boundary {
        None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v)),
        Some(boundary) => crate::web::kit::multipart::find(&body, &boundary, FIELD)
            .map(|part| String::from_utf8_lossy(part.data).into_owned()),
    };
    req.set_payload(bytes_to_payload(body));
    Ok(token)
}

fn bytes_to_payload(bytes: Bytes) -> Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(bytes);
    Payload::from(payload)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_whole_tokens() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
