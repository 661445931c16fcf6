//! One integration-test binary: each test gets a real app on port 0 and its own database.
//! `support/` is the harness; each other folder holds the stories of one area.

mod support;

mod admin;
mod audit;
mod foundation;
mod org;
mod policy_api;
