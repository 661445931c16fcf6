//! `/admin/audit`: every entry of the audit log, for super administrators (the
//! page itself is `web::audit`).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::access::SuperAdmin;
use crate::error::AppError;
use crate::services::audit::Reader;
use crate::web::AppState;
use crate::web::audit::{self as page, AuditQuery, PLATFORM_PAGES, VerifyForm};

pub async fn show(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    page::show(
        &req,
        &state,
        &Reader::Platform(admin),
        PLATFORM_PAGES,
        &query,
    )
    .await
}

pub async fn csv(
    admin: SuperAdmin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    page::csv(state, Reader::Platform(admin), PLATFORM_PAGES, &query).await
}

pub async fn verify(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    form: web::Form<VerifyForm>,
) -> Result<HttpResponse, AppError> {
    page::verify(
        &req,
        &state,
        &Reader::Platform(admin),
        PLATFORM_PAGES,
        &form,
    )
    .await
}

pub async fn verification(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let reader = Reader::Platform(admin);
    page::verification(&req, &state, &reader, PLATFORM_PAGES, *id).await
}
