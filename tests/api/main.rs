//! One integration-test binary: each test gets a real app on port 0 and its own database.

mod browser;
mod helpers;
mod smtp;

mod account;
mod admin;
mod admin_access;
mod admin_browser;
mod admin_orgs;
mod admin_purchases;
mod admin_sales;
mod admin_settings;
mod admin_users;
mod auth;
mod browser_tests;
mod cli;
mod csrf;
mod database;
mod errors;
mod layout_browser;
mod mail;
mod sessions;
mod startup_defects;
