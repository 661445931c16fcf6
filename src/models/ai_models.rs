//! The platform's AI model catalogue (table `models`).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::models;
use crate::domain::TokenKind;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = models, check_for_backend(diesel::pg::Pg))]
pub struct AiModel {
    pub id: i64,
    pub provider: String,
    pub name: String,
    pub kind: TokenKind,
}

pub async fn catalogue(conn: &mut AsyncPgConnection) -> QueryResult<Vec<AiModel>> {
    models::table
        .order((models::provider.asc(), models::name.asc()))
        .select(AiModel::as_select())
        .load(conn)
        .await
}

/// Adds a model; `None` when the provider already has one of that name.
pub async fn insert_model(
    conn: &mut AsyncPgConnection,
    provider: &str,
    name: &str,
    kind: TokenKind,
) -> QueryResult<Option<AiModel>> {
    diesel::insert_into(models::table)
        .values((
            models::provider.eq(provider),
            models::name.eq(name),
            models::kind.eq(kind),
        ))
        .on_conflict((models::provider, models::name))
        .do_nothing()
        .returning(AiModel::as_returning())
        .get_result(conn)
        .await
        .optional()
}
