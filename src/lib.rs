//! Guildhall: the organization and user management console.
//!
//! Layers point one way: `web → services → models / domain / db`, with `access` (who may do
//! what in the console), `policy` (what an API key may do), `error` and `clock` beside them for every layer.

pub mod access;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod models;
pub mod policy;
pub mod seed;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;
