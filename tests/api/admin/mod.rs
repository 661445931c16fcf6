//! The super administrator's console under /admin.

mod access;
mod browser;
mod export_browser;
mod layout_browser;
mod organizations;
mod purchases;
mod sales;
mod settings;
mod users;
