//! An organization's details as a super administrator edits them, once every field is valid.

use diesel::prelude::*;

use crate::db::schema::organizations;

/// The fields a super administrator edits (Add Organization and the Details tab).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Insertable, AsChangeset)]
#[diesel(table_name = organizations, treat_none_as_null = true)]
pub struct OrganizationFields {
    pub name: String,
    pub contact_name: String,
    pub address: String,
    pub zip: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub domain: Option<String>,
    pub restrict_to_domain: bool,
    pub allow_subdomains: bool,
}
