//! Secrets at rest: ChaCha20-Poly1305 under the master key. The context (for example
//! `org-oauth:42`) is authenticated too, so a sealed value cannot be moved to another row.

use anyhow::anyhow;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::domain::{OrgId, random_bytes};

/// Where a sealed value is stored. Its context is authenticated with it, so a value copied to
/// another row (another organization's, say) does not open.
#[derive(Debug, Clone, Copy)]
pub enum SealedIn<'a> {
    /// An organization's OAuth client secret.
    OAuthSecret(OrgId),
    /// An organization's LLM provider key (organization, key id).
    ProviderKey(OrgId, i64),
    /// An email waiting in the outbox, to this recipient.
    Outbox(&'a str),
}

impl SealedIn<'_> {
    pub fn context(self) -> String {
        match self {
            SealedIn::OAuthSecret(org_id) => format!("org-oauth:{org_id}"),
            SealedIn::ProviderKey(org_id, key_id) => format!("provider-key:{org_id}:{key_id}"),
            SealedIn::Outbox(recipient) => format!("outbox:{recipient}"),
        }
    }
}

fn key(master_key: &[u8]) -> anyhow::Result<LessSafeKey> {
    UnboundKey::new(&CHACHA20_POLY1305, master_key)
        .map(LessSafeKey::new)
        .map_err(|_| anyhow!("the master key must be 32 bytes"))
}

/// Returns nonce ‖ ciphertext ‖ tag.
pub fn seal(master_key: &[u8], plaintext: &[u8], context: &str) -> anyhow::Result<Vec<u8>> {
    let nonce_bytes = random_bytes(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(&nonce_bytes).map_err(|_| anyhow!("nonce length"))?;
    let mut sealed = plaintext.to_vec();
    key(master_key)?
        .seal_in_place_append_tag(nonce, Aad::from(context.as_bytes()), &mut sealed)
        .map_err(|_| anyhow!("sealing failed"))?;
    Ok([nonce_bytes, sealed].concat())
}

pub fn open(master_key: &[u8], sealed: &[u8], context: &str) -> anyhow::Result<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return Err(anyhow!("sealed value too short"));
    }
    let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| anyhow!("nonce length"))?;
    let mut buffer = ciphertext.to_vec();
    let plaintext = key(master_key)?
        .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
        .map_err(|_| {
            anyhow!("the sealed value is corrupt, or sealed under another key or context")
        })?;
    Ok(plaintext.to_vec())
}

/// Whether `sealed` opens under `master_key` in `context`: false for a wrong key, a wrong
/// context or a corrupt value.
pub fn can_open(master_key: &[u8], sealed: &[u8], context: &str) -> bool {
    open(master_key, sealed, context).is_ok()
}

/// The start-up check: an error (one line, naming `GUILDHALL_MASTER_KEY`) when a secret stored in
/// the database cannot be opened with the configured master key, so the console refuses to start
/// rather than fail later on every page that needs the secret. `what` says which stored value
/// was tried, e.g. "the OAuth client secret of organization 42".
pub fn ensure_master_key_opens(
    master_key: &[u8],
    sealed: &[u8],
    context: &str,
    what: &str,
) -> anyhow::Result<()> {
    if can_open(master_key, sealed, context) {
        return Ok(());
    }
    Err(anyhow!(
        "GUILDHALL_MASTER_KEY cannot decrypt the secrets stored in this database ({what} does \
         not open): start with the master key they were sealed under"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering() {
        let key = random_bytes(32);
        let sealed = seal(&key, b"client-secret", "org-oauth:1").expect("seal");
        assert!(
            !sealed.windows(13).any(|w| w == b"client-secret"),
            "no plaintext at rest"
        );
        assert_eq!(
            open(&key, &sealed, "org-oauth:1").expect("open"),
            b"client-secret"
        );
        assert!(
            open(&key, &sealed, "org-oauth:2").is_err(),
            "bound to its row"
        );
        assert!(
            open(&random_bytes(32), &sealed, "org-oauth:1").is_err(),
            "bound to its key"
        );
        let mut tampered = sealed.clone();
        tampered[15] ^= 1;
        assert!(open(&key, &tampered, "org-oauth:1").is_err());
    }

    #[test]
    fn can_open_tells_whether_the_configured_key_opens_a_stored_secret() {
        let key = random_bytes(32);
        let sealed = seal(&key, b"client-secret", "org-oauth:7").expect("seal");
        assert!(can_open(&key, &sealed, "org-oauth:7"));
        assert!(
            !can_open(&random_bytes(32), &sealed, "org-oauth:7"),
            "another key"
        );
        assert!(!can_open(&key, &sealed, "org-oauth:8"), "another row");
        assert!(!can_open(&key, &sealed[..5], "org-oauth:7"), "truncated");
        assert!(!can_open(&key[..16], &sealed, "org-oauth:7"), "a short key");

        assert!(ensure_master_key_opens(&key, &sealed, "org-oauth:7", "it").is_ok());
        let error = ensure_master_key_opens(
            &random_bytes(32),
            &sealed,
            "org-oauth:7",
            "the OAuth client secret of organization 7",
        )
        .expect_err("another key")
        .to_string();
        assert!(
            error.starts_with("GUILDHALL_MASTER_KEY cannot decrypt")
                && error.contains("organization 7")
                && !error.contains('\n'),
            "{error}"
        );
    }
}
