//! Row structs and the queries over each table, one file per table. Query functions return
//! `QueryResult`; callers decide what a missing row means.

pub mod access_policies;
pub mod ai_models;
pub mod api_keys;
pub mod audit;
pub mod audit_verifications;
pub mod invitations;
pub mod login_failures;
pub mod memberships;
pub mod org_models;
pub mod org_oauth_settings;
pub mod organizations;
pub mod outbox;
pub mod password_resets;
pub mod plans;
pub mod platform_settings;
pub mod provider_keys;
pub mod sessions;
pub mod subscriptions;
pub mod teams;
pub mod token_assignments;
pub mod token_purchases;
pub mod usage;
pub mod used_form_tokens;
pub mod users;
