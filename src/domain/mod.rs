//! Parsed value types: once constructed, a value is known to be valid.

pub mod api_key;
pub mod billing;
mod email;
mod grouped;
mod ids;
mod ip_network;
mod names;
mod organization;
pub mod password;
mod provider_secret;
pub mod purchase;
pub mod reference;
mod roles;

pub use email::{EmailAddress, EmailError, normalise_domain};
pub use grouped::Grouped;
pub use ids::{InvitationId, OrgId, TeamId, UserId};
pub use ip_network::IpNetwork;
pub use names::{OptionalText, PersonName, RequiredText, search_text};
pub use organization::OrganizationFields;
pub use provider_secret::ProviderSecret;
pub use purchase::{PurchaseLine, RawPurchase, parse_kind};
pub use roles::{
    InvitationStatus, OrgRole, PlatformRole, Provider, TeamRole, TeamStatus, TokenKind, UserStatus,
};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes from the operating system's CSPRNG.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    #[allow(clippy::expect_used)] // no entropy source means the platform is unusable
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// A random URL-safe token carrying `bytes * 8` bits of entropy.
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// Field-level validation errors, keyed by form field name, shown beside each field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps the parsed value, or records its error under `field`.
    pub fn check<T, E: ToString>(
        &mut self,
        field: &'static str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed.map_err(|e| self.add(field, e.to_string())).ok()
    }
}
