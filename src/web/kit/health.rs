//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};
use diesel_async::SimpleAsyncConnection;

use crate::web::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The database answers.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ready = match state.pool.get().await {
        Ok(mut conn) => conn.batch_execute("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    if ready {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}
