//! An API key: `ghk_`, a 12-hex-digit prefix (what people see and a call is looked up by), `_`,
//! and a 256-bit random secret. Only a SHA-256 of the whole key is stored; a presented key is
//! compared with it in constant time.

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const SCHEME: &str = "ghk_";
const PREFIX_HEX: usize = 12;
/// 32 random bytes, base64url without padding.
const SECRET_CHARS: usize = 43;

/// A key just made: shown once, then only its prefix and hash remain.
pub struct IssuedKey {
    prefix: String,
    full: SecretString,
}

impl IssuedKey {
    pub fn generate() -> IssuedKey {
        let prefix: String = super::random_bytes(PREFIX_HEX / 2)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let full = format!("{SCHEME}{prefix}_{}", super::random_token(32));
        IssuedKey {
            prefix,
            full: SecretString::from(full),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The whole key, for the one page that shows it.
    pub fn expose(&self) -> &str {
        self.full.expose_secret()
    }

    pub fn hash(&self) -> Vec<u8> {
        hash(self.expose())
    }
}

fn hash(full: &str) -> Vec<u8> {
    Sha256::digest(full.as_bytes()).to_vec()
}

/// A key as a program sent it, parsed but not yet checked against the stored hash.
pub struct PresentedKey<'a> {
    prefix: &'a str,
    full: &'a str,
}

impl<'a> PresentedKey<'a> {
    /// `None` when it is not shaped like one of our keys at all.
    pub fn parse(raw: &'a str) -> Option<PresentedKey<'a>> {
        let rest = raw.strip_prefix(SCHEME)?;
        let (prefix, secret) = rest.split_at_checked(PREFIX_HEX)?;
        let secret = secret.strip_prefix('_')?;
        let well_formed = is_prefix(prefix)
            && secret.len() == SECRET_CHARS
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then_some(PresentedKey { prefix, full: raw })
    }

    pub fn prefix(&self) -> &'a str {
        self.prefix
    }

    /// Whether this is the key whose hash is stored, in time independent of where they differ.
    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        hash(self.full).ct_eq(stored_hash).into()
    }
}

fn is_prefix(s: &str) -> bool {
    s.len() == PREFIX_HEX && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The prefix of a key as someone typed it in the console: the prefix alone, the way the pages
/// show it (`ghk_1a2b3c4d5e6f…`), or a whole key (whose secret is ignored).
pub fn parse_prefix(raw: &str) -> Option<String> {
    let typed = raw.trim().trim_end_matches('…');
    let rest = typed.strip_prefix(SCHEME).unwrap_or(typed);
    let prefix = rest.get(..PREFIX_HEX)?;
    let tail = &rest[PREFIX_HEX..];
    (is_prefix(prefix) && (tail.is_empty() || tail.starts_with('_'))).then(|| prefix.to_owned())
}

/// How long a new key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Days30,
    Days90,
    Year,
    Unlimited,
}

impl Lifetime {
    pub const ALL: [Lifetime; 4] = [
        Lifetime::Days30,
        Lifetime::Days90,
        Lifetime::Year,
        Lifetime::Unlimited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Lifetime::Days30 => "30d",
            Lifetime::Days90 => "90d",
            Lifetime::Year => "365d",
            Lifetime::Unlimited => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Lifetime::Days30 => "30 days",
            Lifetime::Days90 => "90 days",
            Lifetime::Year => "1 year",
            Lifetime::Unlimited => "No expiry",
        }
    }

    pub fn parse(raw: &str) -> Result<Lifetime, &'static str> {
        Lifetime::ALL
            .into_iter()
            .find(|l| l.as_str() == raw)
            .ok_or("Choose how long the key lives from the list.")
    }

    pub fn expires_at(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let days = match self {
            Lifetime::Days30 => 30,
            Lifetime::Days90 => 90,
            Lifetime::Year => 365,
            Lifetime::Unlimited => return None,
        };
        Some(now + Duration::days(days))
    }
}

/// How long a rotated key keeps working beside its replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    None,
    Hour,
    Day,
    Week,
}

impl Overlap {
    pub const ALL: [Overlap; 4] = [Overlap::None, Overlap::Hour, Overlap::Day, Overlap::Week];

    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::None => "none",
            Overlap::Hour => "1h",
            Overlap::Day => "24h",
            Overlap::Week => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Overlap::None => "None: the old key stops now",
            Overlap::Hour => "1 hour",
            Overlap::Day => "24 hours",
            Overlap::Week => "7 days",
        }
    }

    pub fn parse(raw: &str) -> Result<Overlap, &'static str> {
        Overlap::ALL
            .into_iter()
            .find(|o| o.as_str() == raw)
            .ok_or("Choose how long the old key keeps working from the list.")
    }

    pub fn duration(self) -> Duration {
        match self {
            Overlap::None => Duration::zero(),
            Overlap::Hour => Duration::hours(1),
            Overlap::Day => Duration::hours(24),
            Overlap::Week => Duration::days(7),
        }
    }
}

/// How a key is shown once it has been issued.
pub fn shown_prefix(prefix: &str) -> String {
    format!("{SCHEME}{prefix}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_parses_back_and_matches_only_its_own_hash() {
        let key = IssuedKey::generate();
        assert_eq!(
            key.expose().len(),
            SCHEME.len() + PREFIX_HEX + 1 + SECRET_CHARS
        );
        let presented = PresentedKey::parse(key.expose()).expect("parses");
        assert_eq!(presented.prefix(), key.prefix());
        assert!(presented.matches(&key.hash()));
        assert!(!presented.matches(&IssuedKey::generate().hash()));
        let mut tampered = key.expose().to_owned();
        tampered.pop();
        tampered.push(if key.expose().ends_with('A') {
            'B'
        } else {
            'A'
        });
        let tampered = PresentedKey::parse(&tampered).expect("still well formed");
        assert!(!tampered.matches(&key.hash()));
    }

    #[test]
    fn malformed_keys_are_not_parsed() {
        for raw in [
            "",
            "ghk_",
            "sk-proj-abc",
            "ghk_ABCDEF123456_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ghk_abcdef123456_short",
            "ghk_abcdef123456-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ghk_abcdef123456_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0",
            "ghk_é",
        ] {
            assert!(PresentedKey::parse(raw).is_none(), "{raw:?}");
        }
    }

    #[test]
    fn the_console_finds_a_key_by_its_prefix_however_it_is_pasted() {
        let key = IssuedKey::generate();
        let prefix = key.prefix().to_owned();
        for typed in [
            prefix.clone(),
            shown_prefix(&prefix),
            format!("  ghk_{prefix}  "),
            key.expose().to_owned(),
        ] {
            assert_eq!(parse_prefix(&typed), Some(prefix.clone()), "{typed}");
        }
        assert_eq!(parse_prefix("ghk_12345"), None);
        assert_eq!(parse_prefix("ghk_1234567890abX"), None);
        assert_eq!(parse_prefix("ghk_1234567890aé"), None);
    }
}
