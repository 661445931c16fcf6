//! Secrets at rest: ChaCha20-Poly1305 under the master key. The context (for example
//! `org-oauth:42`) is authenticated too, so a sealed value cannot be moved to another row.

use anyhow::anyhow;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::domain::random_bytes;

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
}
