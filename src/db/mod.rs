//! The connection pool and the embedded migrations.

pub mod paging;
pub mod schema;

use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

// The application's advisory lock keys, kept together so no two collide.

/// Session-level advisory lock that serialises migrations between instances starting together.
const MIGRATION_LOCK: i64 = 0x6775_696c_6468_616c;

// Taken in SQL only, by the audit log's trigger as an entry's transaction commits (migration
// `audit_chain`): 0x6775_696c_6461_7564.

/// Held shared by every serving instance, taken exclusively by a master-key rotation
/// (`services::secrets`).
pub const SERVING_LOCK: i64 = 0x6775_696c_6473_7276;

/// How long one statement may run, and wait for a lock, on the server's connections: a stuck
/// transaction then costs other requests a bounded wait (and them a 503), not the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementLimits {
    pub statement_timeout_ms: u64,
    pub lock_timeout_ms: u64,
}

/// The pool of the command-line tools: no statement limits (seeding takes minutes).
pub fn build_pool(database_url: &str, max_size: usize) -> anyhow::Result<DbPool> {
    pool(database_url, max_size, ManagerConfig::default())
}

/// The server's pool: every connection runs under `limits`.
pub fn build_server_pool(
    database_url: &str,
    max_size: usize,
    limits: StatementLimits,
) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        Box::pin(async move {
            use diesel_async::SimpleAsyncConnection;
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(&format!(
                "SET statement_timeout = {}; SET lock_timeout = {}",
                limits.statement_timeout_ms, limits.lock_timeout_ms
            ))
            .await
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(conn)
        })
    });
    pool(database_url, max_size, config)
}

fn pool(
    database_url: &str,
    max_size: usize,
    mut config: ManagerConfig<AsyncPgConnection>,
) -> anyhow::Result<DbPool> {
    // Fast recycling: no test query on every checkout (a broken connection fails its first query).
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// Creates the database named in the URL when the server does not have it yet (a fresh install).
pub async fn create_database_if_missing(database_url: &str) -> anyhow::Result<()> {
    use diesel_async::SimpleAsyncConnection;
    let error = match AsyncPgConnection::establish(database_url).await {
        Ok(_) => return Ok(()),
        Err(error) => error,
    };
    let (server, name) = database_url
        .rsplit_once('/')
        .context("DATABASE_URL has no database name")?;
    let name = name.split('?').next().unwrap_or(name);
    if !error.to_string().contains("does not exist")
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(anyhow::anyhow!("connecting to the database: {error}"));
    }
    let mut conn = AsyncPgConnection::establish(&format!("{server}/postgres"))
        .await
        .context("connecting to the server")?;
    match conn.batch_execute(&format!("CREATE DATABASE {name}")).await {
        Ok(()) => tracing::info!(database = name, "created the database"),
        // Another instance starting at the same moment created it first (PostgreSQL says so
        // either way, depending on how close the race was): just as good.
        Err(e) if already_created(&e) => {}
        Err(e) => return Err(anyhow::Error::from(e).context("creating the database")),
    }
    Ok(())
}

fn already_created(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    ) || error.to_string().contains("already exists")
}

/// Applies pending migrations while holding an advisory lock, so several instances can start at once.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<()> {
    let conn = AsyncPgConnection::establish(database_url)
        .await
        .context("connecting to the database to migrate it")?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> =
            AsyncConnectionWrapper::from(conn);
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
        let migrated = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
        conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
        migrated
    })
    .await
    .context("migration task")?
}
