//! `/settings/org`: the organization the member acts in (chosen in the header).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::access::OrgContext;
use crate::error::AppError;
use crate::services::org::{self, Overview};
use crate::web::AppState;
use crate::web::kit::{htmx, paths};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ORG_OVERVIEW.pattern, web::get().to(overview));
}

#[derive(Template)]
#[template(path = "org/page.html")]
struct OverviewPage {
    ctx: OrgContext,
    overview: Overview,
}

async fn overview(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let overview = org::overview(&mut conn, &ctx).await?;
    htmx::page(&req, StatusCode::OK, &OverviewPage { ctx, overview })
}
