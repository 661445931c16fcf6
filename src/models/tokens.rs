//! Token purchases and assignments. Totals live on the organization row (kept by triggers);
//! the database refuses an assignment that would exceed what was purchased.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{token_assignments, token_purchases, users};
use crate::domain::{OrgId, TokenKind, UserId};

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

/// An assignment with the member's email, for the purchases page.
#[derive(Debug, Clone, Queryable)]
pub struct AssignmentRow {
    pub id: i64,
    pub kind: TokenKind,
    pub tokens: i64,
    pub user_email: String,
    pub created_at: DateTime<Utc>,
}

pub async fn assignments_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    limit: i64,
) -> QueryResult<Vec<AssignmentRow>> {
    token_assignments::table
        .inner_join(users::table)
        .filter(token_assignments::org_id.eq(org_id))
        .order((
            token_assignments::created_at.desc(),
            token_assignments::id.desc(),
        ))
        .limit(limit)
        .select((
            token_assignments::id,
            token_assignments::kind,
            token_assignments::tokens,
            users::email,
            token_assignments::created_at,
        ))
        .load(conn)
        .await
}

pub async fn insert_assignment(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    kind: TokenKind,
    tokens: i64,
    user_id: UserId,
    created_by: UserId,
) -> QueryResult<()> {
    diesel::insert_into(token_assignments::table)
        .values((
            token_assignments::org_id.eq(org_id),
            token_assignments::kind.eq(kind),
            token_assignments::tokens.eq(tokens),
            token_assignments::user_id.eq(user_id),
            token_assignments::created_by.eq(created_by),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}
