//! `/api`: the policy API for programs (SPEC §6). Its fence wants a bearer key and a JSON
//! answer for every error; no session, cookie or CSRF middleware runs here. Every error is
//! `{"error": {"code", "message"}}` with a stable code; bad input is never a 500.

mod rate;
pub mod v1;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

pub use rate::KeyRate;

use crate::web::kit::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::API_OPENAPI.pattern, web::get().to(v1::openapi))
        .service(
            web::scope("")
                .wrap(from_fn(bearer_key_fence))
                .route(paths::API_AUTHORIZE.pattern, web::post().to(v1::authorize))
                .route(paths::API_USAGE.pattern, web::post().to(v1::usage))
                .route(
                    paths::API_SHARED_USE.pattern,
                    web::post().to(v1::shared_use),
                )
                .default_service(web::to(|| async {
                    json_error(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
                })),
        );
}

/// `{"error": {"code": …, "message": …}}` with a code programs can rely on.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "error": { "code": code, "message": message }
    }))
}

/// A refusal of the policy API: its status, stable code and message, as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: a body this endpoint does not take.
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    /// 429, with the seconds to wait.
    pub fn rate_limited(wait_secs: u64) -> ApiError {
        ApiError {
            retry_after: Some(wait_secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "This key is making calls faster than allowed; retry after the given seconds.",
            )
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = json_error(self.status, self.code, &self.message);
        if let Some(wait) = self.retry_after {
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(wait),
            );
        }
        response
    }
}

/// The application's errors as a program sees them: busy or broken, never a page.
impl From<crate::error::AppError> for ApiError {
    fn from(e: crate::error::AppError) -> ApiError {
        use crate::error::AppError;
        match e {
            AppError::Unavailable(detail) => {
                tracing::warn!(%detail, "policy API: database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is busy or its database unreachable; retry shortly.",
                )
            }
            AppError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found."),
            other => {
                tracing::error!(error = %other, "policy API request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on our side.",
                )
            }
        }
    }
}

/// The key in `Authorization: Bearer …`, as sent.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|key| !key.is_empty())
}

/// Lets a request in only with `Authorization: Bearer …`; whether the key is valid is the
/// endpoint's to decide (`authorize` answers why not).
async fn bearer_key_fence<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if bearer(req.request()).is_some() {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let refusal = json_error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Send an API key as `Authorization: Bearer <key>`.",
    );
    Ok(req.into_response(refusal).map_into_right_body())
}

/// Reads a JSON body of at most `limit` bytes into `T`; the refusal is a JSON error (413 for
/// too large, 400 for anything malformed).
pub async fn read_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<T, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("The body is larger than {limit} bytes."),
        )
    };
    let declared = req
        .headers()
        .get("Content-Length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::malformed("The body could not be read."))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(not_taken)
}

/// A body that does not deserialize, said precisely (serde names the field and position).
pub fn not_taken(e: serde_json::Error) -> ApiError {
    ApiError::malformed(format!(
        "The body is not the JSON this endpoint takes: {e}."
    ))
}
