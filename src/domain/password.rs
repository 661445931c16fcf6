//! Password hashing with argon2id. Callers run these on a blocking thread.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use secrecy::{ExposeSecret, SecretString};

/// NIST 800-63B: long rather than complicated; no composition rules, nothing cut off.
pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

/// Today's argon2id parameters (OWASP's minimum: 19 MiB, 2 passes, 1 lane).
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    #[allow(clippy::expect_used)] // constant, valid parameters
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &SecretString) -> anyhow::Result<String> {
    argon2()
        .hash_password(password.expose_secret().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Verifies against the stored hash; with no hash (unknown email, or no password set yet)
/// verifies against a dummy so the answer takes as long either way. The argon2 working memory
/// (19 MiB) is this thread's, kept for its next verification: allocating it on every sign-in
/// left the allocator holding gigabytes after a burst of failed attempts.
pub fn verify(password: &SecretString, stored: Option<&str>) -> bool {
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let phc = stored.unwrap_or(dummy_hash());
    let matches = MEMORY
        .with_borrow_mut(|memory| verify_in(password.expose_secret().as_bytes(), phc, memory));
    matches.unwrap_or(false) && stored.is_some()
}

/// Computes the PHC string's hash of `password` in `memory` (grown to the hash's size once)
/// and compares in constant time; `None` for a malformed hash.
fn verify_in(password: &[u8], phc: &str, memory: &mut Vec<argon2::Block>) -> Option<bool> {
    let hash = argon2::password_hash::phc::PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
    let version = match hash.version {
        Some(version) => Version::try_from(version).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&hash).ok()?;
    let expected = hash.hash?;
    let salt = hash.salt?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut buffer = [0u8; 64];
    let out = buffer.get_mut(..expected.len())?;
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt.as_ref(), out, &mut memory[..blocks])
        .ok()?;
    let expected = expected.as_bytes();
    Some(
        out.len() == expected.len()
            && out
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0,
    )
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash(&SecretString::from("not the password of anyone".to_owned())).unwrap_or_default()
    })
}

/// Whether a stored hash was made with weaker parameters than today's (or another algorithm):
/// it is made again at the next successful sign-in.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(hash) = argon2::password_hash::phc::PasswordHash::new(stored) else {
        return true;
    };
    let param = |name: &str| hash.params.get_decimal(name).unwrap_or(0);
    hash.algorithm.as_str() != "argon2id"
        || param("m") < MEMORY_KIB
        || param("t") < PASSES
        || param("p") < LANES
}

/// The most common passwords (`data/common-passwords.txt`, 49,000 of them, lower-cased).
fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static COMMON: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    COMMON.get_or_init(|| {
        include_str!("../../data/common-passwords.txt")
            .lines()
            .filter(|line| !line.is_empty())
            .collect()
    })
}

/// Checks a new password against the policy; the message, shown beside the field, says why.
/// `context` holds words an attacker would try first: the email's local part, the product's
/// and the organization's names.
pub fn check_strength(password: &str, context: &[&str]) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!("Use at least {MIN_LENGTH} characters."));
    }
    if length > MAX_LENGTH {
        return Err(format!("Use at most {MAX_LENGTH} characters."));
    }
    let lower = password.to_lowercase();
    if common_passwords().contains(lower.as_str()) {
        return Err("This is one of the most common passwords; choose another.".to_owned());
    }
    let guessable = context
        .iter()
        .map(|word| word.trim().to_lowercase())
        .filter(|word| word.chars().count() >= 4)
        .find(|word| lower.contains(word.as_str()));
    if let Some(word) = guessable {
        return Err(format!(
            "Leave out “{word}”: it is among the first words anyone guessing would try."
        ));
    }
    Ok(())
}

/// The words a password of this account must not contain (see `check_strength`).
pub fn context_words<'a>(email: &'a str, organizations: &[&'a str]) -> Vec<&'a str> {
    let local_part = email.split('@').next().unwrap_or_default();
    let mut words = vec![local_part, "guildhall"];
    words.extend_from_slice(organizations);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_unknown_never_matches() {
        let password = SecretString::from("correct horse battery".to_owned());
        let stored = hash(&password).expect("hash");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&password, Some(&stored)));
        assert!(!verify(
            &SecretString::from("wrong".to_owned()),
            Some(&stored)
        ));
        assert!(!verify(&password, None));
        assert!(!needs_rehash(&stored));
    }

    #[test]
    fn weaker_parameters_are_made_again() {
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4_096, 1, 1, None).expect("params"),
        )
        .hash_password(b"correct horse battery")
        .expect("hash")
        .to_string();
        assert!(needs_rehash(&old));
        assert!(needs_rehash("not a hash"));
    }

    #[test]
    fn the_policy_says_why_a_password_is_refused() {
        let context = context_words("ada.lovelace@acme.test", &["Analytical Engines"]);
        let refused = |pw: &str| check_strength(pw, &context).err().unwrap_or_default();
        assert!(refused("short").contains("at least 12"));
        assert!(refused(&"x".repeat(129)).contains("at most 128"));
        assert!(
            refused("Password1234").contains("most common"),
            "{}",
            refused("Password1234")
        );
        assert!(refused("1QAZ2wsx3EDC").contains("most common"));
        assert!(refused("my ada.lovelace secret").contains("ada.lovelace"));
        assert!(refused("guildhall rules all").contains("guildhall"));
        assert!(refused("analytical engines 4ever").contains("analytical engines"));
        // No composition rules: a long phrase of lower-case words is fine, and so are 128.
        assert!(check_strength("correct horse battery staple", &context).is_ok());
        assert!(check_strength(&"x".repeat(128), &context).is_ok());
        assert!(common_passwords().len() >= 10_000);
    }
}
