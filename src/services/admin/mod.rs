//! The super administrator's console. Every function takes the `SuperAdmin` proof.

pub mod assign_users;
pub mod model_access;
pub mod oauth;
pub mod organizations;
pub mod platform;
pub mod purchases;
pub mod sales_import;
pub mod users;

/// One line of a pasted batch or an uploaded file that stops the whole batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub text: String,
    pub reason: String,
}
