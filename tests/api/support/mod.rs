//! The test harness as a small library: a database per test, the app on port 0, visitors with
//! their own cookies, builders for fixtures, HTML queries, a browser and an SMTP sink.
//!
//! The application's library paths are named here and not in the stories, so a rename in
//! `src/` is fixed in one place: `app.rs` (`config::Settings`, `startup::Application`, the `db`
//! pool), `builders.rs` (`models::users`, `memberships`, `organizations`, `oauth`), `db.rs`
//! (`db::run_migrations`) and the domain types re-exported below.

pub mod app;
pub mod browser;
pub mod builders;
pub mod db;
pub mod html;
pub mod oidc;
pub mod smtp;

pub use app::*;
pub use builders::{Membership, TestUser};
pub use db::TestDb;
/// The application's domain types the stories name, from one place.
pub use guildhall::domain::{OrgId, OrgRole, TeamId, TeamRole};

/// Every log line of this test process, as text (a subscriber of its own; nextest runs each
/// test in its own process).
pub fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<std::sync::Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        struct Capture;
        impl std::io::Write for Capture {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                captured_logs()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(|| Capture)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        std::sync::Mutex::new(Vec::new())
    })
}
