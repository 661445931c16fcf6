//! Typed settings, built once from the environment and passed down.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use actix_web::cookie::Key;
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{ExposeSecret, SecretSlice};

/// Where a development install keeps the keys it generated (git-ignored).
const LOCAL_KEY_DIR: &str = ".guildhall";

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    /// Public address of the console, used for links in emails and to decide on Secure cookies.
    pub base_url: String,
    /// Signs and encrypts the session cookie (at least 64 bytes).
    pub secret: SecretSlice<u8>,
    /// Encrypts secrets stored in the database (32 bytes).
    pub master_key: SecretSlice<u8>,
    pub smtp_url: Option<String>,
    /// Where emails are written when no SMTP server is configured.
    pub mail_dir: PathBuf,
    pub mail_from: String,
    /// Peers whose `X-Forwarded-For` header is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub database_pool_size: usize,
}

impl Settings {
    /// Reads the environment (and `.env` when present). Outside production, missing keys are
    /// generated once and kept under `.guildhall/`; in production they are required.
    pub fn from_env() -> anyhow::Result<Settings> {
        let _ = dotenvy::dotenv();
        let production = env("GUILDHALL_ENV").as_deref() == Some("production");
        let bind = env("GUILDHALL_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let base_url = env("GUILDHALL_BASE_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        let secret = key_from_env_or_local("GUILDHALL_SECRET", 64, production)?;
        let master_key = key_from_env_or_local("GUILDHALL_MASTER_KEY", 32, production)?;
        if master_key.expose_secret().len() != 32 {
            bail!("GUILDHALL_MASTER_KEY must be 32 bytes, base64-encoded");
        }
        let trusted_proxies = env("GUILDHALL_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .with_context(|| format!("GUILDHALL_TRUSTED_PROXIES: bad address {s:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Settings {
            database_url: env("DATABASE_URL").unwrap_or_else(|| {
                "postgres://postgres:postgres@127.0.0.1:5432/guildhall".to_owned()
            }),
            bind,
            base_url,
            secret,
            master_key,
            smtp_url: env("SMTP_URL"),
            mail_dir: env("GUILDHALL_MAIL_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(LOCAL_KEY_DIR).join("mail")),
            mail_from: env("GUILDHALL_MAIL_FROM")
                .unwrap_or_else(|| "Guildhall <no-reply@guildhall.localhost>".to_owned()),
            trusted_proxies,
            database_pool_size: env("GUILDHALL_DB_POOL_SIZE")
                .map(|s| s.parse().context("GUILDHALL_DB_POOL_SIZE must be a number"))
                .transpose()?
                .unwrap_or(16),
        })
    }

    pub fn cookie_key(&self) -> Key {
        Key::from(self.secret.expose_secret())
    }

    pub fn master_key_bytes(&self) -> Vec<u8> {
        self.master_key.expose_secret().to_vec()
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn key_from_env_or_local(
    name: &str,
    min_len: usize,
    production: bool,
) -> anyhow::Result<SecretSlice<u8>> {
    let encoded = match env(name) {
        Some(value) => value,
        None if production => bail!("{name} is required in production (base64, {min_len}+ bytes)"),
        None => local_key(name, min_len)?,
    };
    let bytes = BASE64
        .decode(encoded.trim())
        .with_context(|| format!("{name} must be base64"))?;
    if bytes.len() < min_len {
        bail!("{name} must decode to at least {min_len} bytes");
    }
    Ok(bytes.into())
}

/// Generates a development key once and keeps it in `.guildhall/<name>`.
fn local_key(name: &str, len: usize) -> anyhow::Result<String> {
    let path = Path::new(LOCAL_KEY_DIR).join(name.to_lowercase());
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing);
    }
    std::fs::create_dir_all(LOCAL_KEY_DIR).context("creating .guildhall")?;
    let encoded = BASE64.encode(crate::domain::random_bytes(len));
    std::fs::write(&path, &encoded).with_context(|| format!("writing {}", path.display()))?;
    Ok(encoded)
}
