//! The organization pages under /settings/org.

mod overview;
