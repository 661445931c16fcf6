//! A real OpenID provider for the single sign-on tests: the npm package `oidc-provider`
//! (`tests/oidc/provider.mjs`, installed by `make test`), run by Node.js on loopback with one
//! client and the accounts a test gives it. It signs in the account named by the
//! authorization request's `login_hint` (the email the person typed) with no form to fill.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct OidcProvider {
    pub issuer: String,
    /// Stopped when the test ends.
    _node: Child,
}

/// An account the provider knows: its email and whether it says the email is verified.
pub struct Account<'a> {
    pub email: &'a str,
    pub verified: bool,
}

impl OidcProvider {
    pub async fn start(
        client_id: &str,
        secret: &str,
        redirect_uri: &str,
        accounts: &[Account<'_>],
    ) -> OidcProvider {
        let clients = serde_json::json!([{
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": [redirect_uri],
        }]);
        let accounts: serde_json::Map<String, serde_json::Value> = accounts
            .iter()
            .map(|a| {
                let account = serde_json::json!({ "email": a.email, "email_verified": a.verified,
                    "given_name": "Alice", "family_name": "Example" });
                (a.email.to_owned(), account)
            })
            .collect();
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");
        let mut node = Command::new("node")
            .arg("provider.mjs")
            .arg("0")
            .current_dir(folder)
            .env("OIDC_CLIENTS", clients.to_string())
            .env(
                "OIDC_ACCOUNTS",
                serde_json::Value::Object(accounts).to_string(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node (apt install nodejs npm; `make test` does it, and npm ci in tests/oidc)");
        let stdout = node.stdout.take().expect("the provider's output");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.expect("read the provider") {
                if let Some(issuer) = line.strip_prefix("ISSUER ") {
                    return issuer.to_owned();
                }
            }
            panic!("the OpenID provider stopped before it was ready (npm ci in tests/oidc?)");
        })
        .await
        .expect("the OpenID provider starts within 20 s");
        OidcProvider {
            issuer,
            _node: node,
        }
    }
}

/// Follows the provider's redirects from `authorize_url` in a browser of its own, until it
/// sends the browser back to `back_to`; returns that address.
pub async fn through_the_provider(authorize_url: &str, back_to: &str) -> String {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut url = authorize_url.to_owned();
    for _ in 0..10 {
        if url.starts_with(back_to) {
            return url;
        }
        let response = browser
            .get(&url)
            .send()
            .await
            .expect("the provider answers");
        let location = response
            .headers()
            .get("location")
            .unwrap_or_else(|| {
                panic!(
                    "the provider answered {} without a redirect",
                    response.status()
                )
            })
            .to_str()
            .expect("a location")
            .to_owned();
        url = if location.starts_with('/') {
            let base = reqwest::Url::parse(&url).expect("a url");
            base.join(&location).expect("a url").to_string()
        } else {
            location
        };
    }
    panic!("the provider never sent the browser back to {back_to}");
}
