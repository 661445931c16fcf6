//! A real browser: headless Chromium driven over WebDriver, plus an axe-core audit.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const AXE_SOURCE: &str = include_str!("../../browser-assets/axe.min.js");

pub struct Browser {
    pub client: Client,
    driver: Child,
    profile_dir: std::path::PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Browser {
    pub async fn start() -> Browser {
        Browser::launch(true).await
    }

    /// A browser with JavaScript switched off: every page must still work as plain links,
    /// GET forms and POSTs. (`eval` and axe need JavaScript; use `wait_for`, `fill`, `click`.)
    pub async fn without_javascript() -> Browser {
        Browser::launch(false).await
    }

    async fn launch(javascript: bool) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt install chromium-driver; `make test` does it)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile_dir = std::env::temp_dir().join(format!(
            "guildhall-chrome-{}",
            guildhall::domain::random_token(6)
        ));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--no-first-run", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile_dir.display())],
                "prefs": {
                    "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 }
                }
            }
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!(),
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session");
        Browser {
            client,
            driver,
            profile_dir,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.expect(css);
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("click");
    }

    /// Waits until an element matching `css` exists, and returns its text. An element found on
    /// the page that was just being replaced (a navigation without JavaScript) is looked up
    /// again on the new one.
    pub async fn wait_for(&self, css: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let element = self
                .client
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
            match element.text().await {
                Ok(text) => return text,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("text of {css}: {e}"),
            }
        }
    }

    pub async fn current_path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.expect("script")
    }

    /// Runs axe-core on the current page and fails the test on any violation.
    pub async fn assert_accessible(&self) {
        self.client
            .execute(&format!("{AXE_SOURCE}\nreturn true;"), vec![])
            .await
            .expect("inject axe");
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe.run");
        let path = self.current_path().await;
        assert_eq!(violations, json!([]), "accessibility violations on {path}");
    }

    /// Signs in through the real login form and waits for the page it lands on (`landmark`,
    /// a selector only that page has: the sign-in page also has a `main h1`).
    pub async fn sign_in(&self, login_url: &str, email: &str, password: &str, landmark: &str) {
        self.goto(login_url).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form button[type=submit]").await;
        self.wait_for(landmark).await;
    }

    /// Waits until `script` (a JavaScript function body that `return`s a boolean) is true.
    pub async fn wait_until(&self, script: &str, what: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self.eval(script).await == json!(true) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting until {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The trimmed text of the element at `css`, or null when there is none.
    pub async fn text_of(&self, css: &str) -> serde_json::Value {
        self.eval(&format!(
            "const e = document.querySelector({}); return e ? e.textContent.trim() : null;",
            json!(css)
        ))
        .await
    }

    /// Waits until the text of the element at `css` is `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text_of(css).await;
            if text == json!(expected) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{css} shows {text}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the element at `css` contains `expected` and returns its text. A notice
    /// from the page before a click is still there until the next page arrives, so waiting
    /// for the element alone would read the old one.
    pub async fn wait_for_containing(&self, css: &str, expected: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent.trim() : null;",
            json!(css)
        );
        loop {
            // A script may fail while the next page replaces this one: try again.
            let text = self
                .client
                .execute(&script, vec![])
                .await
                .unwrap_or_default();
            if let Some(text) = text.as_str().filter(|text| text.contains(expected)) {
                return text.to_owned();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{css} shows {text}, expected it to contain {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The trimmed texts of every element matching `css`, in document order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let texts = self
            .eval(&format!(
                "return Array.from(document.querySelectorAll({}), e => e.textContent.trim());",
                json!(css)
            ))
            .await;
        serde_json::from_value(texts).expect("a list of texts")
    }

    /// Waits until the elements matching `css` have exactly these texts.
    pub async fn wait_for_texts(&self, css: &str, expected: &[&str]) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.texts(css).await;
            if found == expected {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{css} shows {found:?}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Marks the page: a full reload loses the mark, an htmx swap keeps it.
    pub async fn mark_page(&self) {
        self.eval("document.body.dataset.marker = 'x'; return true;")
            .await;
    }

    pub async fn assert_not_reloaded(&self) {
        assert_eq!(
            self.eval("return document.body.dataset.marker;").await,
            "x",
            "the page was reloaded instead of swapped in place"
        );
    }

    /// Chooses an option of a select by its value (as a person picking it does: htmx sees the
    /// change).
    pub async fn choose(&self, select: &str, value: &str) {
        self.client
            .find(Locator::Css(select))
            .await
            .expect(select)
            .select_by_value(value)
            .await
            .expect("choose an option");
    }

    /// Ends the WebDriver session; the driver itself stops when `self` drops.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        // After a failed test the session was never closed: end this test's Chromium, found by
        // its own (random) profile folder.
        let _ = Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg(self.profile_dir.as_os_str())
            .status();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}
