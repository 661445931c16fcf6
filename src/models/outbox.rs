//! Emails waiting to be sent. A request writes a row in its own transaction; the worker
//! claims due rows with `FOR UPDATE SKIP LOCKED`, so two instances never take the same one.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::outbox;
use crate::domain::InvitationId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    pub id: i64,
    pub invitation_id: Option<InvitationId>,
    pub recipient: String,
    pub message_sealed: Option<Vec<u8>>,
    pub attempts: i32,
}

pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    invitation_id: Option<InvitationId>,
    recipient: &str,
    message_sealed: Vec<u8>,
) -> QueryResult<i64> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::invitation_id.eq(invitation_id),
            outbox::recipient.eq(recipient),
            outbox::message_sealed.eq(message_sealed),
        ))
        .returning(outbox::id)
        .get_result(conn)
        .await
}

/// Due rows, locked for this transaction; rows another transaction holds are skipped.
pub async fn claim_due(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::next_attempt_at.le(diesel::dsl::now))
        .order(outbox::next_attempt_at)
        .limit(limit)
        .for_update()
        .skip_locked()
        .select(OutboxRow::as_select())
        .load(conn)
        .await
}

/// Sent: the sealed message is dropped, only the record stays.
pub async fn mark_sent(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::sent_at.eq(diesel::dsl::now),
            outbox::message_sealed.eq(None::<Vec<u8>>),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Failed: tried again after `retry_in_ms`.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: &str,
    retry_in_ms: i64,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
         next_attempt_at = now() + make_interval(secs => $3::float8 / 1000) WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .bind::<diesel::sql_types::Text, _>(error)
    .bind::<diesel::sql_types::BigInt, _>(retry_in_ms)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Forgets what was not sent yet for an invitation (cancelled, or replaced by a resend).
pub async fn drop_unsent(
    conn: &mut AsyncPgConnection,
    invitation_id: InvitationId,
) -> QueryResult<usize> {
    diesel::delete(
        outbox::table
            .filter(outbox::invitation_id.eq(invitation_id))
            .filter(outbox::sent_at.is_null()),
    )
    .execute(conn)
    .await
}

/// Every message not sent yet, with its recipient (its sealing context), locked
/// (master-key rotation).
pub async fn all_sealed(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(i64, String, Vec<u8>)>> {
    outbox::table
        .filter(outbox::message_sealed.is_not_null())
        .order(outbox::id)
        .select((
            outbox::id,
            outbox::recipient,
            outbox::message_sealed.assume_not_null(),
        ))
        .for_update()
        .load(conn)
        .await
}

pub async fn set_sealed(conn: &mut AsyncPgConnection, id: i64, sealed: &[u8]) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set(outbox::message_sealed.eq(sealed))
        .execute(conn)
        .await
        .map(|_| ())
}
