//! `/admin/organizations/{id}/purchases`: purchase history and totals, recording a purchase,
//! and assigning purchased tokens to members.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::SuperAdmin;
use crate::domain::{EmailAddress, FieldErrors, OrgId, PurchaseLine, RawPurchase, parse_kind};
use crate::error::AppError;
use crate::services::admin::organizations::Organization;
use crate::services::admin::purchases::{
    self as service, AssignmentRow, Purchase, PurchaseHistory, RecordOutcome, TokenAssignment,
};
use crate::web::AppState;
use crate::web::kit::{flash, htmx, paths};

/// The purchase form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PurchaseInput {
    pub kind: String,
    pub tokens: String,
    pub amount: String,
    pub currency: String,
    pub purchased_on: String,
    pub reference: String,
}

impl TryFrom<&PurchaseInput> for PurchaseLine {
    type Error = FieldErrors;

    /// The sales file's parser, its problems put beside the form's fields.
    fn try_from(input: &PurchaseInput) -> Result<PurchaseLine, FieldErrors> {
        let raw = RawPurchase {
            kind: &input.kind,
            tokens: &input.tokens,
            amount: &input.amount,
            currency: &input.currency,
            date: &input.purchased_on,
            reference: &input.reference,
        };
        PurchaseLine::parse(&raw).map_err(|problems| {
            let mut errors = FieldErrors::default();
            for (column, problem) in problems {
                errors.add(
                    if column == "date" {
                        "purchased_on"
                    } else {
                        column
                    },
                    problem,
                );
            }
            errors
        })
    }
}

/// The token assignment form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AssignmentInput {
    pub member_email: String,
    pub kind: String,
    pub tokens: String,
}

impl TryFrom<&AssignmentInput> for TokenAssignment {
    type Error = FieldErrors;

    fn try_from(input: &AssignmentInput) -> Result<TokenAssignment, FieldErrors> {
        let mut errors = FieldErrors::default();
        let member_email = errors.check("member_email", EmailAddress::parse(&input.member_email));
        let kind = errors.check("assign_kind", parse_kind(&input.kind));
        let tokens = errors.check(
            "assign_tokens",
            crate::domain::purchase::parse_tokens(&input.tokens),
        );
        match (member_email, kind, tokens) {
            (Some(member_email), Some(kind), Some(tokens)) => Ok(TokenAssignment {
                member_email,
                kind,
                tokens,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/organizations/purchases/page.html")]
struct PurchasesPage {
    org: Organization,
    purchases: Vec<Purchase>,
    assignments: Vec<AssignmentRow>,
    purchase: PurchaseInput,
    purchase_errors: FieldErrors,
    assignment: AssignmentInput,
    assignment_errors: FieldErrors,
    today: String,
}

impl PurchasesPage {
    fn new(history: PurchaseHistory, today: String) -> PurchasesPage {
        PurchasesPage {
            org: history.org,
            purchases: history.purchases,
            assignments: history.assignments,
            purchase: PurchaseInput {
                kind: "inference".to_owned(),
                currency: "EUR".to_owned(),
                ..Default::default()
            },
            purchase_errors: FieldErrors::default(),
            assignment: AssignmentInput::default(),
            assignment_errors: FieldErrors::default(),
            today,
        }
    }
}

async fn load(
    state: &AppState,
    admin: &SuperAdmin,
    org_id: OrgId,
) -> Result<PurchasesPage, AppError> {
    let history = service::history(&mut *state.pool.get().await?, admin, org_id).await?;
    let today = state.clock.now().format("%Y-%m-%d").to_string();
    Ok(PurchasesPage::new(history, today))
}

pub async fn show(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let page = load(&state, &admin, OrgId(path.into_inner())).await?;
    htmx::page(&req, StatusCode::OK, &page)
}

/// Back to the page with a message when recorded (post/redirect/get), or the page again with
/// the rejected form's input and errors (422).
async fn finish(
    req: &HttpRequest,
    state: &AppState,
    admin: &SuperAdmin,
    org_id: OrgId,
    outcome: RecordOutcome,
    message: &str,
    rejected: impl FnOnce(&mut PurchasesPage, FieldErrors),
) -> Result<HttpResponse, AppError> {
    match outcome {
        RecordOutcome::Recorded => {
            flash(req, message)?;
            Ok(htmx::redirect(
                req,
                &paths::PURCHASES.with_id(org_id).to_string(),
            ))
        }
        RecordOutcome::Invalid(errors) => {
            let mut page = load(state, admin, org_id).await?;
            rejected(&mut page, errors);
            htmx::page(req, StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

pub async fn record(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<PurchaseInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let outcome = match PurchaseLine::try_from(&input) {
        Ok(line) => {
            service::record_purchase(&mut *state.pool.get().await?, &admin, org_id, &line).await?
        }
        Err(errors) => RecordOutcome::Invalid(errors),
    };
    finish(
        &req,
        &state,
        &admin,
        org_id,
        outcome,
        "The purchase was recorded.",
        |page, errors| {
            page.purchase = input;
            page.purchase_errors = errors;
        },
    )
    .await
}

pub async fn assign(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<AssignmentInput>,
) -> Result<HttpResponse, AppError> {
    let org_id = OrgId(path.into_inner());
    let input = form.into_inner();
    let outcome = match TokenAssignment::try_from(&input) {
        Ok(assignment) => {
            service::assign_tokens(&mut *state.pool.get().await?, &admin, org_id, &assignment)
                .await?
        }
        Err(errors) => RecordOutcome::Invalid(errors),
    };
    finish(
        &req,
        &state,
        &admin,
        org_id,
        outcome,
        "The tokens were assigned.",
        |page, errors| {
            page.assignment = input;
            page.assignment_errors = errors;
        },
    )
    .await
}
