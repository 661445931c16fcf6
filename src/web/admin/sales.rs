//! Upload Sales File: a CSV of purchases for many organizations, checked as a whole.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::services::organizations::LineProblem;
use crate::services::sales_import::{self as service, COLUMNS, ImportOutcome, ImportSummary};
use crate::web::admin::Admin;
use crate::web::context::Chrome;
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::session::AppSession;
use crate::web::{AppState, htmx, multipart};

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

#[derive(Template, WebTemplate)]
#[template(path = "admin/sales/page.html")]
pub struct SalesPage {
    pub chrome: Chrome,
    pub csrf_token: String,
    pub columns: String,
    pub result: UploadResult,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/sales/_result.html")]
pub struct SalesResult {
    pub result: UploadResult,
}

pub async fn show(admin: Admin) -> Result<SalesPage, AppError> {
    Ok(SalesPage {
        chrome: Chrome::new(&admin.signed_in, "sales")?,
        csrf_token: admin.signed_in.session.csrf_token()?,
        columns: COLUMNS.join(","),
        result: UploadResult::None,
    })
}

pub async fn upload(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let file = multipart::boundary(content_type).and_then(|boundary| {
        multipart::parts(&body, &boundary)
            .into_iter()
            .find(|part| part.name == "file")
            .map(|part| part.data.to_vec())
    });
    let result = match file {
        None => UploadResult::Unreadable("Choose a CSV file to upload."),
        Some(file) if file.is_empty() => UploadResult::Unreadable("The file is empty."),
        Some(file) => {
            let mut conn = state.pool.get().await?;
            match service::import(&mut conn, &admin.admin, &file).await? {
                ImportOutcome::Imported(summary) => UploadResult::Imported(summary),
                ImportOutcome::Rejected { problems, more } => {
                    UploadResult::Rejected { problems, more }
                }
            }
        }
    };
    let status = match result {
        UploadResult::Imported(_) => StatusCode::OK,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    if htmx::is_htmx(&req) {
        return SalesResult { result }.render_with(status);
    }
    let page = SalesPage {
        chrome: Chrome::new(&admin.signed_in, "sales")?,
        csrf_token: admin.signed_in.session.csrf_token()?,
        columns: COLUMNS.join(","),
        result,
    };
    page.render_with(status)
}
