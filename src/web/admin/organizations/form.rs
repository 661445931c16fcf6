//! The organization form as typed (Add Organization and the Details tab), and its conversion
//! into the checked values the services take. Every problem is reported beside its field.

use serde::Deserialize;

use crate::domain::reference::{COUNTRIES, country_name};
use crate::domain::{EmailAddress, FieldErrors, OrganizationFields, RequiredText};
use crate::services::admin::organizations::{NewOrganization, Organization};
use crate::services::rules;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OrgInput {
    pub name: String,
    pub contact_name: String,
    pub address: String,
    pub zip: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub domain: String,
    pub restrict_to_domain: Option<String>,
    pub allow_subdomains: Option<String>,
    /// Add Organization only.
    pub owner_email: String,
    /// Add Organization's one-time token (a new one each time the form is first shown).
    pub form_token: String,
}

impl OrgInput {
    pub fn from_organization(org: &Organization) -> OrgInput {
        OrgInput {
            name: org.name.clone(),
            contact_name: org.contact_name.clone(),
            address: org.address.clone(),
            zip: org.zip.clone(),
            city: org.city.clone(),
            country: org.country.clone(),
            phone: org.phone.clone(),
            email: org.email.clone(),
            domain: org.domain.clone().unwrap_or_default(),
            restrict_to_domain: org.restrict_to_domain.then(|| "on".to_owned()),
            allow_subdomains: org.allow_subdomains.then(|| "on".to_owned()),
            owner_email: String::new(),
            form_token: String::new(),
        }
    }

    /// An empty Add Organization form with a fresh one-time token.
    pub fn new_organization() -> OrgInput {
        OrgInput {
            form_token: crate::domain::random_token(16),
            ..OrgInput::default()
        }
    }

    /// Every field, each problem recorded under its name.
    fn fields(&self, errors: &mut FieldErrors) -> Option<OrganizationFields> {
        let name = errors.check("name", RequiredText::parse(&self.name, 200));
        let contact_name =
            errors.check("contact_name", RequiredText::parse(&self.contact_name, 200));
        let address = optional_text(errors, "address", &self.address, 200);
        let zip = optional_text(errors, "zip", &self.zip, 20);
        let city = optional_text(errors, "city", &self.city, 100);
        let country = self.country.trim().to_uppercase();
        if country.is_empty() {
            errors.add("country", "Choose a country.");
        } else if country_name(&country).is_none() {
            errors.add(
                "country",
                "Choose a country from the list (an ISO 3166 code such as DE).",
            );
        }
        let phone = optional_text(errors, "phone", &self.phone, 40);
        if !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
        {
            errors.add("phone", "Use digits, spaces and + - ( ) only.");
        }
        let email = errors.check("email", EmailAddress::parse(&self.email));
        let domain = errors.check("domain", rules::organization_domain(&self.domain));
        let restrict_to_domain = self.restrict_to_domain.is_some();
        if restrict_to_domain && self.domain.trim().is_empty() {
            errors.add(
                "restrict_to_domain",
                "Set a domain to restrict members to it.",
            );
        }
        let fields = OrganizationFields {
            name: name?.into_inner(),
            contact_name: contact_name?.into_inner(),
            address,
            zip,
            city,
            country,
            phone,
            email: email?.into_inner(),
            domain: domain?,
            restrict_to_domain,
            allow_subdomains: self.allow_subdomains.is_some(),
        };
        errors.is_empty().then_some(fields)
    }
}

fn optional_text(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    max_chars: usize,
) -> String {
    let text = raw.trim();
    if text.chars().count() > max_chars {
        errors.add(field, format!("Use at most {max_chars} characters."));
    } else if text.chars().any(char::is_control) {
        errors.add(field, "Remove the control characters.");
    }
    text.to_owned()
}

/// The Details tab.
impl TryFrom<&OrgInput> for OrganizationFields {
    type Error = FieldErrors;

    fn try_from(input: &OrgInput) -> Result<OrganizationFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        input.fields(&mut errors).ok_or(errors)
    }
}

/// Add Organization: the fields and the owner's email.
impl TryFrom<&OrgInput> for NewOrganization {
    type Error = FieldErrors;

    fn try_from(input: &OrgInput) -> Result<NewOrganization, FieldErrors> {
        let mut errors = FieldErrors::default();
        let fields = input.fields(&mut errors);
        let owner_email = errors.check("owner_email", EmailAddress::parse(&input.owner_email));
        match (fields, owner_email) {
            (Some(fields), Some(owner_email)) => Ok(NewOrganization {
                fields,
                owner_email,
                form_token: Some(input.form_token.trim())
                    .filter(|token| !token.is_empty() && token.len() <= 64)
                    .map(str::to_owned),
            }),
            _ => Err(errors),
        }
    }
}

/// The form as shown: what was typed and each field's problem.
pub struct OrgForm {
    pub input: OrgInput,
    pub errors: FieldErrors,
}

impl OrgForm {
    pub fn new(input: OrgInput) -> OrgForm {
        OrgForm {
            input,
            errors: FieldErrors::default(),
        }
    }

    pub fn countries(&self) -> &'static [(&'static str, &'static str)] {
        COUNTRIES
    }
}
