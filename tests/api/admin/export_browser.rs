//! "Export CSV" follows the table: after searching as you type, the link downloads what the
//! table shows, in the table's order.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::spawn_app;

#[tokio::test]
async fn the_export_link_follows_a_search_typed_into_the_table() {
    let app = spawn_app().await;
    let root = app.user("root@platform.test").super_admin().create().await;
    for name in [
        "Acme Robotics",
        "Borealis Labs",
        "Borealis Mining",
        "Cobalt Systems",
    ] {
        app.org(name).owned_by(&root).create().await;
    }
    let browser = Browser::start().await;
    let login = app.url("/login");
    browser
        .sign_in(&login, &root.email, &root.password, "#org-search")
        .await;

    let search = browser
        .client
        .find(fantoccini::Locator::Css("#org-search"))
        .await
        .expect("search box");
    search.send_keys("borealis").await.expect("type");
    let deadline = Instant::now() + Duration::from_secs(10);
    let href = loop {
        let href = browser
            .eval("return document.getElementById('export-csv').getAttribute('href');")
            .await;
        if href.as_str().is_some_and(|h| h.contains("q=borealis")) {
            break href.as_str().unwrap_or_default().to_owned();
        }
        assert!(Instant::now() < deadline, "the export link kept {href}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let shown = browser
        .eval(
            "return Array.from(document.querySelectorAll('#organizations tbody tr td:nth-child(3)'),
                td => td.textContent.trim());",
        )
        .await;
    assert_eq!(shown, json!(["Borealis Labs", "Borealis Mining"]));
    browser.close().await;

    // Download it as the same super administrator would.
    app.login(&root).await;
    let csv = app.get_html(&href).await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let names: Vec<String> = reader
        .records()
        .map(|r| r.expect("a CSV record")[1].to_owned())
        .collect();
    assert_eq!(json!(names), shown);
}
