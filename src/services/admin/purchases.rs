//! Token purchases of an organization, and assigning those tokens to its members.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::SuperAdmin;
use crate::domain::{EmailAddress, FieldErrors, OrgId, PurchaseLine, TokenKind};
use crate::error::{AppError, TxError};
use crate::models::token_purchases::{self, NewPurchase};
use crate::models::{audit, memberships, organizations, token_assignments, users};
use crate::services::admin::organizations::Organization;

pub use crate::models::token_assignments::AssignmentRow;
pub use crate::models::token_purchases::Purchase;

/// The purchases page: history and what was assigned.
pub struct PurchaseHistory {
    pub org: Organization,
    pub purchases: Vec<Purchase>,
    pub assignments: Vec<AssignmentRow>,
}

#[tracing::instrument(skip(conn, _admin))]
pub async fn history(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    org_id: OrgId,
) -> Result<PurchaseHistory, AppError> {
    let org = organizations::find(conn, org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(PurchaseHistory {
        org,
        purchases: token_purchases::purchases_of(conn, org_id, 500).await?,
        assignments: token_assignments::assignments_of(conn, org_id, 500).await?,
    })
}

pub enum RecordOutcome {
    Recorded,
    /// Refused by the database's rules (a reference already used, more than was purchased).
    Invalid(FieldErrors),
}

#[tracing::instrument(skip(conn, admin, line), fields(reference = %line.reference))]
pub async fn record_purchase(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    line: &PurchaseLine,
) -> Result<RecordOutcome, AppError> {
    let purchase = NewPurchase::from_line(org_id, line.clone(), "manual", Some(admin.user_id()));
    let recorded = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let org = organizations::find(conn, org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            if token_purchases::insert_purchases(conn, std::slice::from_ref(&purchase)).await? == 0
            {
                return Ok(false);
            }
            let after = serde_json::json!({ "kind": line.kind.as_str(), "tokens": line.tokens,
                "amount_cents": line.amount_cents, "currency": line.currency,
                "purchased_on": line.purchased_on, "reference": line.reference });
            let entry = audit::NewAuditEntry {
                after: Some(after),
                ..admin.audit("purchase.recorded", org_id, &org.name)
            };
            audit::record(conn, &entry).await?;
            Ok(true)
        })
        .await?;
    if !recorded {
        let mut errors = FieldErrors::default();
        errors.add(
            "reference",
            "A purchase with this reference is already recorded.",
        );
        return Ok(RecordOutcome::Invalid(errors));
    }
    Ok(RecordOutcome::Recorded)
}

/// Purchased tokens to give one member.
#[derive(Debug, Clone)]
pub struct TokenAssignment {
    pub member_email: EmailAddress,
    pub kind: TokenKind,
    pub tokens: i64,
}

/// Assigns purchased tokens to a member. The database refuses more than was purchased (a
/// check on the organization's totals), so concurrent assignments cannot overshoot.
#[tracing::instrument(skip(conn, admin, assignment))]
pub async fn assign_tokens(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    assignment: &TokenAssignment,
) -> Result<RecordOutcome, AppError> {
    let TokenAssignment {
        member_email,
        kind,
        tokens,
    } = assignment;
    let result = conn
        .transaction::<_, TxError<(&'static str, String)>, _>(async |conn| {
            let org = organizations::find(conn, org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let member = match users::find_by_email(conn, member_email.as_str()).await? {
                Some(user) if memberships::find(conn, org_id, user.id).await?.is_some() => user,
                _ => {
                    return Err(TxError::Rejected((
                        "member_email",
                        "No member of this organization has this email.".to_owned(),
                    )));
                }
            };
            token_assignments::insert_assignment(
                conn,
                org_id,
                *kind,
                *tokens,
                member.id,
                admin.user_id(),
            )
            .await?;
            let after = serde_json::json!({ "member": member.email, "kind": kind.as_str(), "tokens": tokens });
            let entry = audit::NewAuditEntry {
                after: Some(after),
                ..admin.audit("tokens.assigned", org_id, &org.name)
            };
            audit::record(conn, &entry).await?;
            Ok(())
        })
        .await;
    let mut errors = FieldErrors::default();
    match result {
        Ok(()) => return Ok(RecordOutcome::Recorded),
        Err(TxError::Rejected((field, message))) => errors.add(field, message),
        Err(TxError::Db(e)) if token_assignments::exceeds_purchased(&e) => errors.add(
            "assign_tokens",
            format!(
                "Only purchased tokens can be assigned: this is more than the {} tokens left unassigned.",
                kind.label().to_lowercase()
            ),
        ),
        Err(TxError::Db(e)) => return Err(e.into()),
    }
    Ok(RecordOutcome::Invalid(errors))
}
