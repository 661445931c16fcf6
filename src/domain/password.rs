//! Password hashing with argon2id. Callers run these on a blocking thread.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

fn argon2() -> Argon2<'static> {
    #[allow(clippy::expect_used)] // constant, valid parameters
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &SecretString) -> anyhow::Result<String> {
    argon2()
        .hash_password(password.expose_secret().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Verifies against the stored hash; with no hash (unknown email, or no password set yet)
/// verifies against a dummy so the answer takes as long either way.
pub fn verify(password: &SecretString, stored: Option<&str>) -> bool {
    let matches = argon2()
        .verify_password(
            password.expose_secret().as_bytes(),
            stored.unwrap_or(dummy_hash()),
        )
        .is_ok();
    matches && stored.is_some()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash(&SecretString::from("not the password of anyone".to_owned())).unwrap_or_default()
    })
}

/// Checks a new password against the policy; the message is shown beside the field.
pub fn check_strength(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!("Use at least {MIN_LENGTH} characters."));
    }
    if length > MAX_LENGTH {
        return Err(format!("Use at most {MAX_LENGTH} characters."));
    }
    Ok(())
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
    }
}
