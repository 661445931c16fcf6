//! The organization pages under /settings/org.

mod invitations;
mod members;
mod overview;
