//! `/settings/org/audit`: the organization's audit log, for its owners and admins (the
//! page itself is `web::audit`).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::access::OrgContext;
use crate::error::AppError;
use crate::services::audit::Reader;
use crate::web::AppState;
use crate::web::audit::{self as page, AuditQuery, ORG_PAGES, VerifyForm};

pub async fn show(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    page::show(&req, &state, &Reader::Organization(ctx), ORG_PAGES, &query).await
}

pub async fn csv(
    ctx: OrgContext,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    page::csv(state, Reader::Organization(ctx), ORG_PAGES, &query).await
}

pub async fn verify(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    form: web::Form<VerifyForm>,
) -> Result<HttpResponse, AppError> {
    page::verify(&req, &state, &Reader::Organization(ctx), ORG_PAGES, &form).await
}

pub async fn verification(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let reader = Reader::Organization(ctx);
    page::verification(&req, &state, &reader, ORG_PAGES, *id).await
}
