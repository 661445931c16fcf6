//! A database per test, cloned from a template that holds the migrated schema, dropped when the
//! test ends; and a sweep of the databases that killed runs left behind.
//!
//! Test databases are named `guildhall_t_<unix seconds>_<random>`, templates
//! `guildhall_tmpl_<hash of the migrations>`. All processes that use the server (parallel
//! tests, other checkouts) coordinate through one advisory lock: creating a template or sweeping
//! holds it exclusively, cloning holds it shared, so a template is never dropped while a clone
//! from it is being made.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use guildhall::domain::random_token;
use sha2::{Digest, Sha256};

/// The advisory lock key shared by every test process (and older checkouts of this harness).
const LOCK: i64 = 7231;
const TEST_PREFIX: &str = "guildhall_t_";
const TEMPLATE_PREFIX: &str = "guildhall_tmpl_";
/// A test database older than this was left by a run that was killed.
const ABANDONED_AFTER: Duration = Duration::from_secs(3600);

/// The server holding the test databases; `DATABASE_URL`'s server when set.
fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    match url.rsplit_once('/') {
        Some((server, _database)) if server.contains("://") && !server.ends_with('/') => {
            server.to_owned()
        }
        _ => url,
    }
}

pub fn database_url(name: &str) -> String {
    format!("{}/{name}", server_url())
}

async fn maintenance_connection() -> AsyncPgConnection {
    AsyncPgConnection::establish(&database_url("postgres"))
        .await
        .expect("connect to the postgres database")
}

/// Hash of the migrations, so a changed migration gets a fresh template.
static TEMPLATE_NAME: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        hasher.update(path.file_name().expect("name").as_encoded_bytes());
        hasher.update(std::fs::read(path.join("up.sql")).expect("up.sql"));
    }
    let digest = hasher.finalize();
    format!(
        "{TEMPLATE_PREFIX}{}",
        digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
});

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn names_like(admin: &mut AsyncPgConnection, prefix: &str) -> Vec<String> {
    diesel::sql_query(
        "SELECT datname::text AS name FROM pg_database WHERE starts_with(datname, $1)",
    )
    .bind::<diesel::sql_types::Text, _>(prefix)
    .load::<Name>(admin)
    .await
    .expect("query pg_database")
    .into_iter()
    .map(|n| n.name)
    // Only names this harness makes are ever put into a statement.
    .filter(|n| {
        n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
    .collect()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// How long ago a test database was created: from its name, or for names without a time (from
/// older versions of this harness) from its files. `None` when that cannot be known.
async fn age_of(admin: &mut AsyncPgConnection, name: &str) -> Option<Duration> {
    let rest = name.strip_prefix(TEST_PREFIX)?;
    if let Some(created) = rest
        .split_once('_')
        .and_then(|(secs, _)| secs.parse::<u64>().ok())
    {
        return Some(Duration::from_secs(now_secs().saturating_sub(created)));
    }
    // PG_VERSION is written once, when the database is created (it needs superuser or
    // pg_read_server_files; without them the age stays unknown and the database is kept).
    let rows = diesel::sql_query(
        "SELECT extract(epoch FROM now() - (pg_stat_file('base/' || oid || '/PG_VERSION')).modification)::bigint AS n \
         FROM pg_database WHERE datname = $1",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .load::<Number>(admin)
    .await
    .ok()?;
    let seconds = rows.into_iter().next()?.n;
    Some(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// Drops what killed runs left: test databases older than an hour, and templates of other
/// migrations once no test database younger than that is left (so no run of another checkout
/// is under way). Runs under the exclusive lock. Nothing in use is dropped: `DROP DATABASE`
/// without `FORCE` fails while anyone is connected, and that failure is ignored.
async fn sweep(admin: &mut AsyncPgConnection) {
    let mut recent_runs = false;
    for name in names_like(admin, TEST_PREFIX).await {
        match age_of(admin, &name).await {
            Some(age) if age > ABANDONED_AFTER => {
                if admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                    .await
                    .is_err()
                {
                    recent_runs = true;
                }
            }
            _ => recent_runs = true,
        }
    }
    if recent_runs || others_connected(admin).await {
        return;
    }
    for name in names_like(admin, TEMPLATE_PREFIX).await {
        if name == *TEMPLATE_NAME {
            continue;
        }
        let _ = admin
            .batch_execute(&format!("ALTER DATABASE {name} WITH IS_TEMPLATE false"))
            .await;
        if admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .is_err()
        {
            let _ = admin
                .batch_execute(&format!("ALTER DATABASE {name} WITH IS_TEMPLATE true"))
                .await;
        }
    }
}

/// Whether another client is on the maintenance database other than waiting for the lock: an
/// older harness checks that its template exists under the lock and clones it after releasing
/// it, so a client that is connected but not waiting may be about to clone.
async fn others_connected(admin: &mut AsyncPgConnection) -> bool {
    let rows = diesel::sql_query(
        "SELECT count(*)::bigint AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_type = 'client backend' AND wait_event IS DISTINCT FROM 'advisory'",
    )
    .load::<Number>(admin)
    .await
    .expect("query pg_stat_activity");
    rows.into_iter().next().is_none_or(|r| r.n > 0)
}

/// Whether this process has swept yet: once per process is enough.
static SWEPT: AtomicBool = AtomicBool::new(false);

/// Under the exclusive lock: sweeps once per process and creates the migrated template if it is
/// missing. Returns holding the lock shared, so the template stays until the clone is made.
async fn lock_template_for_cloning(admin: &mut AsyncPgConnection) {
    admin
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK})"))
        .await
        .expect("lock");
    if !SWEPT.swap(true, Ordering::SeqCst) {
        sweep(admin).await;
    }
    let name = TEMPLATE_NAME.as_str();
    if !names_like(admin, name).await.iter().any(|n| n == name) {
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create template");
        guildhall::db::run_migrations(&database_url(name))
            .await
            .expect("migrate template");
        admin
            .batch_execute(&format!("ALTER DATABASE {name} WITH IS_TEMPLATE true"))
            .await
            .expect("mark template");
    }
    // A session's own locks never conflict, so the shared lock is granted at once.
    admin
        .batch_execute(&format!(
            "SELECT pg_advisory_lock_shared({LOCK}); SELECT pg_advisory_unlock({LOCK})"
        ))
        .await
        .expect("lock shared");
}

/// A database of one test, dropped (even after a panic) when the test ends.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let name = format!(
            "{TEST_PREFIX}{}_{}",
            now_secs(),
            random_token(9).to_lowercase().replace(['-', '_'], "x")
        );
        let mut admin = maintenance_connection().await;
        lock_template_for_cloning(&mut admin).await;
        let cloned = admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE {}",
                TEMPLATE_NAME.as_str()
            ))
            .await;
        admin
            .batch_execute(&format!("SELECT pg_advisory_unlock_shared({LOCK})"))
            .await
            .expect("unlock");
        cloned.expect("clone the template");
        TestDb { name }
    }

    pub fn url(&self) -> String {
        database_url(&self.name)
    }

    /// Drops the database now (to simulate an outage).
    pub async fn drop_now(&self) {
        maintenance_connection()
            .await
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .expect("drop");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // No async Drop: a thread with its own runtime, joined so the process cannot exit first.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = AsyncPgConnection::establish(&database_url("postgres")).await
                {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}
