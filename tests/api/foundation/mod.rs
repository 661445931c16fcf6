//! Signing in and out, sessions, CSRF, error pages, the database's own rules, mail and the CLI.

mod account;
mod auth;
mod browser;
pub mod cli;
mod csrf;
mod database;
mod errors;
mod fences;
mod hardening;
mod mail;
mod password_reset;
mod sessions;
mod sso;
mod startup;
