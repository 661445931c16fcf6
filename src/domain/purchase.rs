//! A token purchase as typed in the purchase form or read from a line of a sales file: one
//! parser for both, so the two can never disagree on what a valid purchase is.

use chrono::NaiveDate;

use crate::domain::TokenKind;
use crate::domain::reference::is_currency;

/// The fields of a purchase, as text; names are the sales file's columns.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawPurchase<'a> {
    pub kind: &'a str,
    pub tokens: &'a str,
    pub amount: &'a str,
    pub currency: &'a str,
    pub date: &'a str,
    pub reference: &'a str,
}

/// A valid purchase, not yet tied to an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseLine {
    pub kind: TokenKind,
    pub tokens: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub purchased_on: NaiveDate,
    pub reference: String,
}

impl PurchaseLine {
    /// Every field's problem, named by its column (`kind`, `tokens`, `amount`, `currency`,
    /// `date`, `reference`), or the purchase.
    pub fn parse(raw: &RawPurchase<'_>) -> Result<PurchaseLine, Vec<(&'static str, &'static str)>> {
        let parsed = (
            parse_kind(raw.kind),
            parse_tokens(raw.tokens),
            parse_amount(raw.amount),
            parse_currency(raw.currency),
            parse_date(raw.date),
            parse_reference(raw.reference),
        );
        match parsed {
            (
                Ok(kind),
                Ok(tokens),
                Ok(amount_cents),
                Ok(currency),
                Ok(purchased_on),
                Ok(reference),
            ) => Ok(PurchaseLine {
                kind,
                tokens,
                amount_cents,
                currency,
                purchased_on,
                reference,
            }),
            (kind, tokens, amount, currency, date, reference) => Err([
                ("kind", kind.err()),
                ("tokens", tokens.err()),
                ("amount", amount.err()),
                ("currency", currency.err()),
                ("date", date.err()),
                ("reference", reference.err()),
            ]
            .into_iter()
            .filter_map(|(column, problem)| problem.map(|p| (column, p)))
            .collect()),
        }
    }
}

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
