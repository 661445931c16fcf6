//! Each area is fenced by where it is mounted: a route nobody listed is refused like the others.

use crate::support::{Membership, OrgRole, spawn_app};

#[tokio::test]
async fn a_route_under_admin_that_no_list_names_is_refused_to_everyone_but_super_admins() {
    let app = spawn_app().await;
    let owner = app.user("owner@acme.test").create().await;
    let admin = app.user("admin@acme.test").create().await;
    let member = app.user("member@acme.test").create().await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    app.add_membership(&admin, Membership::new(org, OrgRole::Admin))
        .await;
    app.add_membership(&member, Membership::new(org, OrgRole::Member))
        .await;
    let unnamed = "/admin/a-page-no-access-test-names";

    let visitor = app.another_visitor();
    assert_eq!(visitor.get(unnamed).await.location(), "/login");
    for user in [&owner, &admin, &member] {
        let browser = app.another_visitor();
        browser.login(user).await;
        let response = browser.get(unnamed).await;
        assert_eq!(response.status(), 403, "{}", user.email);
        let page = response.text();
        assert!(page.contains("Only super administrators"), "{page}");
    }
    let root = app.super_admin().await;
    app.login(&root).await;
    assert_eq!(app.get(unnamed).await.status(), 404);
}

#[tokio::test]
async fn the_organization_area_acts_only_in_an_organization_of_ones_own() {
    let app = spawn_app().await;
    let owner = app.user("owner@acme.test").create().await;
    let member = app.user("member@acme.test").create().await;
    let loner = app.user("loner@example.test").create().await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    app.add_membership(&member, Membership::new(org, OrgRole::Member))
        .await;

    assert_eq!(app.get("/settings/org").await.location(), "/login");

    let lonely = app.another_visitor();
    lonely.login(&loner).await;
    assert_eq!(
        lonely.get("/settings/org").await.location(),
        "/settings/account"
    );

    app.login(&member).await;
    let page = app.get_html("/settings/org").await;
    assert!(page.contains("<h1>Acme</h1>"), "{page}");
    // Removed between two requests: the next one no longer sees the organization.
    app.sql(&format!(
        "DELETE FROM memberships WHERE org_id = {} AND user_id = {}",
        org.0, member.id.0
    ))
    .await;
    assert_eq!(
        app.get("/settings/org").await.location(),
        "/settings/account"
    );
}

#[tokio::test]
async fn the_api_answers_json_without_sessions_or_csrf() {
    let app = spawn_app().await;
    // No key at all: refused at the fence, before any route.
    let unauthenticated = app.send(app.client.get(app.url("/api/v1/anything"))).await;
    assert_eq!(unauthenticated.status(), 401);
    let body: serde_json::Value = serde_json::from_str(unauthenticated.text()).expect("JSON");
    assert_eq!(body["error"]["code"], "unauthenticated");
    // A key that is not one: authorize answers why, with no session and no CSRF token.
    let answer = app
        .send(
            app.client
                .post(app.url("/api/v1/authorize"))
                .header("Authorization", "Bearer not-a-key")
                .json(&serde_json::json!({"endpoint": "chat_completions", "model": "x"})),
        )
        .await;
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = serde_json::from_str(answer.text()).expect("JSON");
    assert_eq!(body["decision"], "deny");
    assert_eq!(body["reason"], "key_invalid");
    for response in [&unauthenticated, &answer] {
        assert!(response.headers().get("set-cookie").is_none());
    }
}
