//! The organization pages under /settings/org.

mod browser;
mod invitations;
mod members;
mod overview;
