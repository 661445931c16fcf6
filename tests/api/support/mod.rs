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
pub mod smtp;

pub use app::*;
pub use builders::{Membership, TestUser};
pub use db::TestDb;
/// The application's domain types the stories name, from one place.
pub use guildhall::domain::{OrgId, OrgRole, TeamId, TeamRole};
