//! The test harness as a small library: a database per test, the app on port 0, visitors with
//! their own cookies, builders for fixtures, HTML queries, a browser and an SMTP sink.

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
pub use guildhall::domain::{OrgId, OrgRole};
