//! Guildhall: the organization and user management console.

pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod email;
pub mod models;
pub mod seed;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;
