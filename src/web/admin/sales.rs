//! Upload Sales File: a CSV of purchases for many organizations, checked as a whole.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::access::SuperAdmin;
use crate::error::AppError;
use crate::services::admin::LineProblem;
use crate::services::admin::sales_import::{
    self as service, COLUMNS, ImportOutcome, ImportSummary,
};
use crate::web::AppState;
use crate::web::kit::{htmx, multipart};

/// What the last upload did.
pub enum UploadResult {
    None,
    Imported(ImportSummary),
    Rejected {
        problems: Vec<LineProblem>,
        more: usize,
    },
    Unreadable(&'static str),
}

#[derive(Template)]
#[template(path = "admin/sales/page.html")]
struct SalesPage {
    columns: String,
    /// What the page says of the size a file may have.
    limits: String,
    result: UploadResult,
}

fn limits(state: &AppState) -> String {
    let limits = state.settings.body_limits;
    format!(
        "A file may be up to {} with at most {} purchases.",
        crate::config::size_in_words(limits.upload_bytes),
        crate::web::kit::format::number(limits.upload_lines)
    )
}

#[derive(Template)]
#[template(path = "admin/sales/_result.html")]
struct SalesResult {
    result: UploadResult,
}

pub async fn show(
    req: HttpRequest,
    _admin: SuperAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = SalesPage {
        columns: COLUMNS.join(","),
        limits: limits(&state),
        result: UploadResult::None,
    };
    htmx::page(&req, StatusCode::OK, &page)
}

pub async fn upload(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let file = multipart::boundary(content_type)
        .and_then(|boundary| multipart::find(&body, &boundary, "file"))
        .map(|part| part.data);
    let result = match file {
        None => UploadResult::Unreadable("Choose a CSV file to upload."),
        Some([]) => UploadResult::Unreadable("The file is empty."),
        Some(file) => match service::import(
            &mut *state.pool.get().await?,
            &admin,
            file,
            state.settings.body_limits.upload_lines,
        )
        .await?
        {
            ImportOutcome::Imported(summary) => UploadResult::Imported(summary),
            ImportOutcome::Rejected { problems, more } => UploadResult::Rejected { problems, more },
        },
    };
    let status = match result {
        UploadResult::Imported(_) => StatusCode::OK,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    htmx::respond(&req, status, SalesResult { result }, |fragment| SalesPage {
        columns: COLUMNS.join(","),
        limits: limits(&state),
        result: fragment.result,
    })
}
