//! How errors look: the status of each `AppError`, and the middleware that turns every error
//! response of the HTML area into a page (or, for htmx requests, an alert fragment swapped
//! into the page's alert region).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::error::AppError;
use crate::web::kit::SECURITY_HEADERS;
use crate::web::kit::paths::{self, targets};
use crate::web::kit::session::STORE_UNAVAILABLE;
use crate::web::kit::{htmx, security};

impl From<actix_session::SessionInsertError> for AppError {
    fn from(e: actix_session::SessionInsertError) -> AppError {
        AppError::Internal(anyhow::anyhow!("session insert: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> AppError {
        AppError::Internal(anyhow::anyhow!("rendering a template: {e}"))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::ConfirmPassword { .. } => StatusCode::SEE_OTHER,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) | AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A bare response: `render_error_pages` gives it a body once the request is known.
    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::ConfirmPassword { back } => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, confirm_location(back)))
                .finish(),
            AppError::Unauthenticated => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, paths::LOGIN.path()))
                .finish(),
            AppError::Busy => HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "2"))
                .finish(),
            other => HttpResponse::build(other.status_code()).finish(),
        }
    }
}

/// The password confirmation page, coming back to `back` afterwards.
fn confirm_location(back: &str) -> String {
    format!(
        "{}?{}",
        paths::CONFIRM_PASSWORD.path(),
        super::listing::query_string(&[("back", back.to_owned())])
    )
}

/// The sentence shown to the user; never internal details.
fn user_message(error: &AppError) -> &str {
    match error {
        AppError::Forbidden(denied) => denied.0,
        AppError::TooLarge(message) => message,
        AppError::BadRequest(reason) | AppError::Unprocessable(reason) => reason,
        AppError::Csrf => {
            "This form has expired or did not come from this site. Reload the page and try again."
        }
        _ => default_message(error.status_code()),
    }
}

fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request could not be understood.",
        403 => "You do not have permission to do this.",
        404 => {
            "There is nothing here. The address may be mistyped, or the item may have been removed."
        }
        405 => "This address does not accept that kind of request.",
        413 => "What you sent is too large.",
        415 => "What you sent is not a form this address takes. Nothing was changed.",
        429 => "Too many requests. Wait a little and try again.",
        503 => {
            "The service is temporarily unavailable. Nothing was changed; try again in a moment."
        }
        // Any other refusal of the request as sent is not our fault: say so.
        code if code < 500 => "The request could not be taken as sent. Nothing was changed.",
        _ => "Something went wrong on our side. Nothing was changed.",
    }
}

#[derive(Template)]
#[template(path = "errors/page.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    request_id: String,
}

#[derive(Template)]
#[template(path = "errors/_alert.html")]
struct ErrorAlert<'a> {
    message: &'a str,
    request_id: String,
}

/// Outermost middleware of the HTML area: any error response without an HTML body gets the
/// error page (or, for htmx, an alert retargeted to `#alerts`). Errors raised by the session
/// layer mean its store, the database, is unreachable: those become 503.
pub async fn render_error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The request cannot be cloned across `next.call` (routing needs it unshared), so keep what
    // an error page needs.
    let wants_fragment = htmx::is_htmx(req.request());
    let request_id = request_id(req.request());
    let response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        Err(error) => {
            // The session store's own errors wrap ours; Debug shows the whole chain.
            let status = if format!("{error:?}").contains(STORE_UNAVAILABLE) {
                tracing::error!(%error, "session store unavailable");
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                error.as_response_error().status_code()
            };
            let mut page = error_body(wants_fragment, request_id, status, default_message(status));
            for (name, value) in SECURITY_HEADERS {
                page.headers_mut().insert(
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            return Err(actix_web::error::InternalError::from_response(error, page).into());
        }
    };
    // Redirects that errors ask for: htmx follows them as a whole page (HX-Redirect).
    let redirect_to = match response
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(AppError::Unauthenticated) => Some(paths::LOGIN.path()),
        Some(AppError::ConfirmPassword { back }) => Some(confirm_location(back)),
        _ => None,
    };
    if let Some(location) = redirect_to {
        if !wants_fragment {
            return Ok(response);
        }
        let (request, _) = response.into_parts();
        let redirect = htmx::redirect(&request, &location);
        return Ok(ServiceResponse::new(request, redirect));
    }
    let status = response.status();
    let already_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || already_html {
        return Ok(response);
    }
    let error = response.response().error();
    match error.and_then(|e| e.as_error::<AppError>()) {
        Some(AppError::Forbidden(denied)) => {
            security::event(response.request(), "authz_fail", None, denied.0);
        }
        Some(AppError::Busy) => security::event(
            response.request(),
            "excess_rate_limit_exceeded",
            None,
            "password hashing is at its bound",
        ),
        _ => {}
    }
    if let Some(error) = error.filter(|_| status.is_server_error()) {
        // The whole chain: the use case it happened in, then each cause.
        match error.as_error::<AppError>() {
            Some(AppError::Internal(chain)) => {
                tracing::error!(error = %format!("{chain:#}"), "request failed")
            }
            _ => tracing::error!(%error, "request failed"),
        }
    }
    let message = error
        .and_then(|e| e.as_error::<AppError>())
        .map(|e| user_message(e).to_owned())
        .unwrap_or_else(|| default_message(status).to_owned());
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let (request, _) = response.into_parts();
    let mut page = error_body(wants_fragment, request_id, status, &message);
    if let Some(retry_after) = retry_after {
        page.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    Ok(ServiceResponse::new(request, page))
}

fn request_id(request: &HttpRequest) -> String {
    request
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

fn error_body(
    wants_fragment: bool,
    request_id: String,
    status: StatusCode,
    message: &str,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    let rendered = if wants_fragment {
        response
            .insert_header(("HX-Retarget", format!("#{}", targets::ALERTS)))
            .insert_header(("HX-Reswap", "innerHTML"));
        ErrorAlert {
            message,
            request_id,
        }
        .render()
    } else {
        let title = status.canonical_reason().unwrap_or("Error");
        ErrorPage {
            status: status.as_u16(),
            title,
            message,
            request_id,
        }
        .render()
    };
    match rendered {
        Ok(html) => response.body(html),
        Err(e) => {
            tracing::error!(error = %e, "rendering the error page");
            response
                .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/plain")))
                .body(message.to_owned())
        }
    }
}
