//! The value of an LLM provider key as pasted into the form: held as a secret from the moment
//! it is parsed, so it cannot reach a log or a page by accident.

use secrecy::{ExposeSecret, SecretString};

/// Long enough for any provider's key (Azure's and Bedrock's included), short enough to refuse
/// a pasted document.
const MAX_CHARS: usize = 4096;
const MIN_CHARS: usize = 8;

pub struct ProviderSecret(SecretString);

impl ProviderSecret {
    pub fn parse(raw: &str) -> Result<ProviderSecret, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("Paste the key.");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("A key has no spaces, line breaks or control characters: paste it alone.");
        }
        let length = value.chars().count();
        if length < MIN_CHARS {
            return Err("This is too short to be a provider's key: paste the whole key.");
        }
        if length > MAX_CHARS {
            return Err("This is longer than any provider's key: paste the key alone.");
        }
        Ok(ProviderSecret(SecretString::from(value.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The last four characters, which the page shows so people can tell keys apart.
    pub fn last_four(&self) -> String {
        let value = self.expose();
        let skip = value.chars().count().saturating_sub(4);
        value.chars().skip(skip).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_pasted_key_and_shows_only_its_last_four() {
        let key = ProviderSecret::parse("  sk-proj-abcdefgh1234\n").expect("a key");
        assert_eq!(key.expose(), "sk-proj-abcdefgh1234");
        assert_eq!(key.last_four(), "1234");
    }

    #[test]
    fn refuses_what_cannot_be_a_key() {
        assert!(ProviderSecret::parse("").is_err());
        assert!(ProviderSecret::parse("short").is_err());
        assert!(ProviderSecret::parse("sk-two words here").is_err());
        assert!(ProviderSecret::parse("sk-\u{0}nul-inside-key").is_err());
        assert!(ProviderSecret::parse(&"k".repeat(4097)).is_err());
        assert!(ProviderSecret::parse(&"k".repeat(4096)).is_ok());
    }
}
