//! One function per use case: take the proof (`SuperAdmin`, `OrgContext` or the current user),
//! run one transaction, return an outcome enum that carries what the response needs.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod joining;
pub mod org;
pub mod outbox;
pub mod password_reset;
pub mod password_work;
pub mod policy;
pub mod policy_cache;
pub mod rules;
pub mod secrets;
pub mod shared_use;
pub mod sso;
pub mod usage;
