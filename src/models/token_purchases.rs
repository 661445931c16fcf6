//! Token purchases. Totals live on the organization row, kept by triggers.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::token_purchases;
use crate::domain::{OrgId, PurchaseLine, TokenKind, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = token_purchases, check_for_backend(diesel::pg::Pg))]
pub struct Purchase {
    pub id: i64,
    pub org_id: OrgId,
    pub kind: TokenKind,
    pub tokens: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub purchased_on: NaiveDate,
    pub reference: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = token_purchases)]
pub struct NewPurchase {
    pub org_id: OrgId,
    pub kind: TokenKind,
    pub tokens: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub purchased_on: NaiveDate,
    pub reference: String,
    pub source: &'static str,
    pub created_by: Option<UserId>,
}

impl NewPurchase {
    pub fn from_line(
        org_id: OrgId,
        line: PurchaseLine,
        source: &'static str,
        created_by: Option<UserId>,
    ) -> NewPurchase {
        NewPurchase {
            org_id,
            kind: line.kind,
            tokens: line.tokens,
            amount_cents: line.amount_cents,
            currency: line.currency,
            purchased_on: line.purchased_on,
            reference: line.reference,
            source,
            created_by,
        }
    }
}

pub async fn purchases_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    limit: i64,
) -> QueryResult<Vec<Purchase>> {
    token_purchases::table
        .filter(token_purchases::org_id.eq(org_id))
        .order((
            token_purchases::purchased_on.desc(),
            token_purchases::id.desc(),
        ))
        .limit(limit)
        .select(Purchase::as_select())
        .load(conn)
        .await
}

/// Inserts purchases whose reference is new; returns how many were inserted.
pub async fn insert_purchases(
    conn: &mut AsyncPgConnection,
    purchases: &[NewPurchase],
) -> QueryResult<usize> {
    let mut inserted = 0;
    // PostgreSQL takes at most 65,535 bind parameters per statement (9 per row here).
    for chunk in purchases.chunks(5_000) {
        inserted += diesel::insert_into(token_purchases::table)
            .values(chunk)
            .on_conflict(token_purchases::reference)
            .do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

/// Purchases already recorded under any of these references.
pub async fn existing_by_reference(
    conn: &mut AsyncPgConnection,
    references: &[String],
) -> QueryResult<Vec<NewPurchase>> {
    let rows: Vec<(OrgId, TokenKind, i64, i64, String, NaiveDate, String)> = token_purchases::table
        .filter(token_purchases::reference.eq_any(references))
        .select((
            token_purchases::org_id,
            token_purchases::kind,
            token_purchases::tokens,
            token_purchases::amount_cents,
            token_purchases::currency,
            token_purchases::purchased_on,
            token_purchases::reference,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(org_id, kind, tokens, amount_cents, currency, purchased_on, reference)| NewPurchase {
                org_id,
                kind,
                tokens,
                amount_cents,
                currency,
                purchased_on,
                reference,
                source: "import",
                created_by: None,
            },
        )
        .collect())
}
