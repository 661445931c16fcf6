//! `/admin/organizations/{id}/purchases`: purchase history and totals, recording a purchase,
//! and assigning purchased tokens to members.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::{FieldErrors, OrgId};
use crate::models::organizations::Organization;
use crate::models::tokens::{self, AssignmentRow, Purchase};
use crate::services::organizations as orgs;
use crate::services::purchases::{self as service, AssignmentInput, PurchaseInput, RecordOutcome};
use crate::web::admin::Admin;
use crate::web::context::Chrome;
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::session::{AppSession, FlashKind};
use crate::web::{AppState, htmx};

#[derive(Template, WebTemplate)]
#[template(path = "admin/purchases.html")]
pub struct PurchasesPage {
    pub chrome: Chrome,
    pub org: Organization,
    pub purchases: Vec<Purchase>,
    pub assignments: Vec<AssignmentRow>,
    pub purchase: PurchaseInput,
    pub purchase_errors: FieldErrors,
    pub assignment: AssignmentInput,
    pub assignment_errors: FieldErrors,
    pub today: String,
}

async fn page(
    admin: &Admin,
    state: &AppState,
    org_id: OrgId,
    purchase: PurchaseInput,
    purchase_errors: FieldErrors,
    assignment: AssignmentInput,
    assignment_errors: FieldErrors,
) -> Result<PurchasesPage, AppError> {
    let mut conn = state.pool.get().await?;
    let org = orgs::find(&mut conn, &admin.admin, org_id).await?;
    Ok(PurchasesPage {
        chrome: Chrome::new(&admin.signed_in, "organizations")?,
        purchases: tokens::purchases_of(&mut conn, org_id, 500).await?,
        assignments: tokens::assignments_of(&mut conn, org_id, 500).await?,
        org,
        purchase,
        purchase_errors,
        assignment,
        assignment_errors,
        today: chrono::Utc::now().format("%Y-%m-%d").to_string(),
    })
}

pub async fn show(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<PurchasesPage, AppError> {
    let purchase = PurchaseInput {
        kind: "inference".to_owned(),
        currency: "EUR".to_owned(),
        ..Default::default()
    };
    page(
        &admin,
        &state,
        OrgId(path.into_inner()),
        purchase,
        FieldErrors::default(),
        AssignmentInput::default(),
        FieldErrors::default(),
    )
    .await
}

pub async fn record(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<PurchaseInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    match service::record_purchase(&mut conn, &admin.admin, org_id, &input).await? {
        RecordOutcome::Recorded => {
            admin
                .signed_in
                .session
                .push_flash(FlashKind::Success, "The purchase was recorded.")?;
            Ok(htmx::redirect(
                &req,
                &format!("/admin/organizations/{org_id}/purchases"),
            ))
        }
        RecordOutcome::Invalid(errors) => {
            drop(conn);
            let page = page(
                &admin,
                &state,
                org_id,
                input,
                errors,
                AssignmentInput::default(),
                FieldErrors::default(),
            )
            .await?;
            Ok(page.render_with(StatusCode::UNPROCESSABLE_ENTITY)?)
        }
    }
}

pub async fn assign(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<AssignmentInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    match service::assign_tokens(&mut conn, &admin.admin, org_id, &input).await? {
        RecordOutcome::Recorded => {
            admin
                .signed_in
                .session
                .push_flash(FlashKind::Success, "The tokens were assigned.")?;
            Ok(htmx::redirect(
                &req,
                &format!("/admin/organizations/{org_id}/purchases"),
            ))
        }
        RecordOutcome::Invalid(errors) => {
            drop(conn);
            let purchase = PurchaseInput {
                kind: "inference".to_owned(),
                currency: "EUR".to_owned(),
                ..Default::default()
            };
            let page = page(
                &admin,
                &state,
                org_id,
                purchase,
                FieldErrors::default(),
                input,
                errors,
            )
            .await?;
            Ok(page.render_with(StatusCode::UNPROCESSABLE_ENTITY)?)
        }
    }
}
