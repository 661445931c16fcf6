//! `/api`: the policy API for programs (SPEC §6). Its fence authenticates a bearer API key;
//! no session, cookie or CSRF middleware runs here, and every error is JSON with a stable code.
//! API keys arrive with a later issue: until then no key is valid, so the fence refuses every
//! request, and a route added here is refused too until keys exist.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("")
            .wrap(from_fn(bearer_key_fence))
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

/// Lets a request in only with a valid API key in `Authorization: Bearer …`.
async fn bearer_key_fence<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let bearer = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|key| !key.trim().is_empty());
    if bearer.is_some_and(is_valid_key) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let refusal = json_error(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "Send a valid API key as `Authorization: Bearer <key>`.",
    );
    Ok(req.into_response(refusal).map_into_right_body())
}

/// No API keys exist yet, so none is valid.
fn is_valid_key(_key: &str) -> bool {
    false
}
