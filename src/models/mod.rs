//! Row structs and the queries over each table. Query functions return `QueryResult`.

pub mod audit;
pub mod login_failures;
pub mod memberships;
pub mod oauth;
pub mod organizations;
pub mod platform;
pub mod sessions;
pub mod tokens;
pub mod users;
