//! Token purchases of an organization, and assigning those tokens to its members.

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;

use crate::domain::reference::is_currency;
use crate::domain::{EmailAddress, FieldErrors, OrgId, TokenKind};
use crate::models::tokens::{self, NewPurchase};
use crate::models::{audit, memberships, organizations, users};
use crate::services::{SuperAdmin, TxError};
use crate::web::errors::AppError;

/// Parses an amount such as `1234.50` or `1,234.5` into cents.
pub fn parse_amount(raw: &str) -> Result<i64, &'static str> {
    let text = raw.trim().replace(',', "");
    let (units, cents) = text.split_once('.').unwrap_or((&text, "0"));
    if units.is_empty()
        || !units.chars().all(|c| c.is_ascii_digit())
        || cents.len() > 2
        || !cents.chars().all(|c| c.is_ascii_digit())
    {
        return Err("Enter an amount like 1250.00.");
    }
    let units: i64 = units.parse().map_err(|_| "This amount is too large.")?;
    let cents: i64 = format!("{cents:0<2}")
        .parse()
        .map_err(|_| "Enter an amount like 1250.00.")?;
    units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .ok_or("This amount is too large.")
}

/// A positive whole number of tokens (thousands separators allowed).
pub fn parse_tokens(raw: &str) -> Result<i64, &'static str> {
    let text = raw.trim().replace([',', '_', ' '], "");
    match text.parse::<i64>() {
        Ok(tokens) if tokens > 0 => Ok(tokens),
        Ok(_) => Err("Enter a number of tokens above zero."),
        Err(_) if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) => {
            Err("This number is too large.")
        }
        Err(_) => Err("Enter a whole number of tokens."),
    }
}

pub fn parse_kind(raw: &str) -> Result<TokenKind, &'static str> {
    raw.trim()
        .to_lowercase()
        .parse()
        .map_err(|_| "Choose inference or embedding.")
}

pub fn parse_currency(raw: &str) -> Result<String, &'static str> {
    let code = raw.trim().to_uppercase();
    if is_currency(&code) {
        Ok(code)
    } else {
        Err("Enter an ISO 4217 currency code such as EUR or USD.")
    }
}

pub fn parse_date(raw: &str) -> Result<NaiveDate, &'static str> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| "Enter a date as YYYY-MM-DD.")
}

pub fn parse_reference(raw: &str) -> Result<String, &'static str> {
    let reference = raw.trim();
    if reference.is_empty() {
        return Err("Enter the reference of the sale (an invoice or order number).");
    }
    if reference.chars().count() > 100 || reference.chars().any(char::is_control) {
        return Err("Use at most 100 printable characters.");
    }
    Ok(reference.to_owned())
}

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

pub enum RecordOutcome {
    Recorded,
    Invalid(FieldErrors),
}

pub async fn record_purchase(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    input: &PurchaseInput,
) -> Result<RecordOutcome, AppError> {
    let mut errors = FieldErrors::default();
    let kind = errors.check("kind", parse_kind(&input.kind));
    let tokens = errors.check("tokens", parse_tokens(&input.tokens));
    let amount_cents = errors.check("amount", parse_amount(&input.amount));
    let currency = errors.check("currency", parse_currency(&input.currency));
    let purchased_on = errors.check("purchased_on", parse_date(&input.purchased_on));
    let reference = errors.check("reference", parse_reference(&input.reference));
    let (
        Some(kind),
        Some(tokens),
        Some(amount_cents),
        Some(currency),
        Some(purchased_on),
        Some(reference),
    ) = (
        kind,
        tokens,
        amount_cents,
        currency,
        purchased_on,
        reference,
    )
    else {
        return Ok(RecordOutcome::Invalid(errors));
    };
    let purchase = NewPurchase {
        org_id,
        kind,
        tokens,
        amount_cents,
        currency,
        purchased_on,
        reference,
        source: "manual",
        created_by: Some(admin.user_id()),
    };
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let org = organizations::find(conn, org_id).await?.ok_or(diesel::result::Error::NotFound)?;
            if tokens::insert_purchases(conn, std::slice::from_ref(&purchase)).await? == 0 {
                return Ok(false);
            }
            let after = serde_json::json!({ "kind": kind.as_str(), "tokens": tokens, "amount_cents": amount_cents,
                "currency": purchase.currency, "purchased_on": purchase.purchased_on, "reference": purchase.reference });
            audit::record(conn, &audit::NewAuditEntry { after: Some(after), ..admin.audit("purchase.recorded", org_id, &org.name) }).await?;
            Ok(true)
        })
        .await?;
    if !result {
        let mut errors = FieldErrors::default();
        errors.add(
            "reference",
            "A purchase with this reference is already recorded.",
        );
        return Ok(RecordOutcome::Invalid(errors));
    }
    Ok(RecordOutcome::Recorded)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AssignmentInput {
    pub member_email: String,
    pub kind: String,
    pub tokens: String,
}

/// Assigns purchased tokens to a member. The database refuses more than was purchased (a
/// check on the organization's totals), so concurrent assignments cannot overshoot.
pub async fn assign_tokens(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    input: &AssignmentInput,
) -> Result<RecordOutcome, AppError> {
    let mut errors = FieldErrors::default();
    let email = errors.check("member_email", EmailAddress::parse(&input.member_email));
    let kind = errors.check("assign_kind", parse_kind(&input.kind));
    let tokens = errors.check("assign_tokens", parse_tokens(&input.tokens));
    let (Some(email), Some(kind), Some(tokens)) = (email, kind, tokens) else {
        return Ok(RecordOutcome::Invalid(errors));
    };
    let result = conn
        .transaction::<_, TxError<(&'static str, String)>, _>(async |conn| {
            let org = organizations::find(conn, org_id).await?.ok_or(diesel::result::Error::NotFound)?;
            let member = match users::find_by_email(conn, email.as_str()).await? {
                Some(user) if memberships::find(conn, org_id, user.id).await?.is_some() => user,
                _ => return Err(TxError::Rejected(("member_email", "No member of this organization has this email.".to_owned()))),
            };
            tokens::insert_assignment(conn, org_id, kind, tokens, member.id, admin.user_id()).await?;
            let after = serde_json::json!({ "member": member.email, "kind": kind.as_str(), "tokens": tokens });
            audit::record(conn, &audit::NewAuditEntry { after: Some(after), ..admin.audit("tokens.assigned", org_id, &org.name) }).await?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(RecordOutcome::Recorded),
        Err(TxError::Rejected((field, message))) => {
            errors.add(field, message);
            Ok(RecordOutcome::Invalid(errors))
        }
        Err(TxError::Db(e)) if is_check_violation(&e) => {
            errors.add("assign_tokens", format!("Only purchased tokens can be assigned: this is more than the {} tokens left unassigned.", kind.label().to_lowercase()));
            Ok(RecordOutcome::Invalid(errors))
        }
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

fn is_check_violation(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::CheckViolation, info)
        if info.constraint_name().is_some_and(|c| c.ends_with("_assigned_within_purchased")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_tokens() {
        assert_eq!(parse_amount("1,234.5"), Ok(123_450));
        assert_eq!(parse_amount("20"), Ok(2_000));
        assert!(
            parse_amount("-3").is_err()
                && parse_amount("1.234").is_err()
                && parse_amount("abc").is_err()
        );
        assert_eq!(parse_tokens("1,000,000"), Ok(1_000_000));
        assert!(
            parse_tokens("0").is_err()
                && parse_tokens("-5").is_err()
                && parse_tokens("1.5").is_err()
        );
        assert!(parse_tokens("99999999999999999999").is_err());
    }
}
