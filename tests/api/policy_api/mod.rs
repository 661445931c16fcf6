//! The policy API (`/api/v1`) as the platform's gateway calls it, with keys made the way
//! people make them: through the Keys and Account pages.

mod authorize;
mod browser;
mod keys;
mod security;
mod service_accounts;
mod shared_use;
mod team_budgets;
mod usage;
mod usage_page;

use serde_json::Value;

use crate::support::{OrgId, TestApp, TestResponse, TestUser, Visitor};

pub const ORG_KEYS_PAGE: &str = "/settings/org/keys";
pub const ORG_KEYS: &str = "/settings/org/keys/api";
pub const PERSONAL_KEYS: &str = "/settings/account/keys";

/// Signs `user` in in a browser of their own, on the organization's Keys page.
pub async fn signed_in(app: &TestApp, user: &TestUser) -> Visitor {
    let visitor = app.another_visitor();
    visitor.login(user).await;
    visitor.get(ORG_KEYS_PAGE).await;
    visitor
}

/// Creates a key through the Create form and reads it from the one page that shows it.
pub async fn create_key(visitor: &Visitor, create: &str, name: &str, lifetime: &str) -> String {
    let shown = visitor
        .post_form(create, &[("name", name), ("lifetime", lifetime)])
        .await;
    assert_eq!(shown.status(), 200, "{}", shown.text());
    assert_eq!(shown.header("cache-control"), "no-store");
    shown
        .html()
        .attr("#new-key-value", "value")
        .expect("the new key")
}

/// The organization may call gpt-4o and text-embedding-3-large, and holds tokens of both.
pub async fn open_for_calls(app: &TestApp, org: OrgId) {
    app.sql(&format!(
        "INSERT INTO org_models (org_id, model_id) SELECT {org}, id FROM models \
         WHERE name IN ('gpt-4o', 'text-embedding-3-large')"
    ))
    .await;
    app.sql(&format!(
        "UPDATE organizations SET inference_purchased = 1000, embedding_purchased = 500 \
         WHERE id = {org}"
    ))
    .await;
}

/// A call to the policy API with a bearer key, from the test's own address.
pub async fn call(app: &TestApp, path: &str, key: &str, body: &Value) -> TestResponse {
    app.send(app.client.post(app.url(path)).bearer_auth(key).json(body))
        .await
}

pub async fn authorize(app: &TestApp, key: &str, endpoint: &str, model: &str) -> Value {
    let answer = call(
        app,
        "/api/v1/authorize",
        key,
        &serde_json::json!({ "endpoint": endpoint, "model": model }),
    )
    .await;
    assert_eq!(answer.status(), 200, "{}", answer.text());
    serde_json::from_str(answer.text()).expect("JSON")
}

/// The reason of a denial, or "allow".
pub fn verdict(answer: &Value) -> String {
    match answer["decision"].as_str() {
        Some("allow") => "allow".to_owned(),
        _ => answer["reason"].as_str().unwrap_or("?").to_owned(),
    }
}
