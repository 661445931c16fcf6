use crate::support::{Role, TestApp, TestUser, spawn_app};

async fn first_name_of(app: &TestApp, user: &TestUser) -> String {
    app.stored_user(user.id).await.first_name
}

#[tokio::test]
async fn a_form_without_the_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;

    let response = ada
        .send(
            ada.client
                .post(ada.url("/settings/account/profile"))
                .form(&[("first_name", "Mallory"), ("last_name", "Evil")]),
        )
        .await;

    assert_eq!(response.status(), 403);
    let page = response.html();
    assert_eq!(
        page.text("main h1 + p"),
        "This form has expired or did not come from this site. Reload the page and try again."
    );
    assert_eq!(first_name_of(&app, &ada.user).await, "Test");
}

#[tokio::test]
async fn a_wrong_or_replayed_token_is_refused() {
    let app = spawn_app().await;
    let victim = app.user("victim@acme.test").create().await;
    let attacker_user = app.user("attacker@acme.test").create().await;
    app.login(&victim).await;
    let attacker = app.another_visitor();
    attacker.login(&attacker_user).await;
    let attackers_token = attacker.csrf_token();

    for token in ["", "not-a-token", attackers_token.as_str()] {
        let response = app
            .send(
                app.client
                    .post(app.url("/settings/account/profile"))
                    .form(&[
                        ("first_name", "Mallory"),
                        ("last_name", "Evil"),
                        ("csrf_token", token),
                    ]),
            )
            .await;
        assert_eq!(response.status(), 403, "token {token:?}");
    }
    // A token from before sign-in is not valid after it (the session starts afresh).
    let anonymous = app.another_visitor();
    anonymous.get("/login").await;
    let old_token = anonymous.csrf_token();
    anonymous.login(&attacker_user).await;
    let response = anonymous
        .send(
            anonymous
                .client
                .post(anonymous.url("/settings/account/profile"))
                .form(&[
                    ("first_name", "Mallory"),
                    ("last_name", "Evil"),
                    ("csrf_token", &old_token),
                ]),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(first_name_of(&app, &victim).await, "Test");
    assert_eq!(first_name_of(&app, &attacker_user).await, "Test");
}

#[tokio::test]
async fn an_htmx_request_without_the_header_gets_an_alert_fragment() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    let response = ada
        .send(
            ada.client
                .post(ada.url("/settings/account/profile"))
                .header("HX-Request", "true")
                .form(&[("first_name", "Mallory"), ("last_name", "Evil")]),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers().get("HX-Retarget").expect("retarget"),
        "#alerts"
    );
    let body = response.text();
    assert!(
        body.starts_with("<p class=\"alert alert-error\" role=\"alert\">"),
        "{body}"
    );
}

#[tokio::test]
async fn the_token_in_the_htmx_header_is_accepted() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    let response = ada
        .post_htmx(
            "/settings/account/profile",
            &[("first_name", "Ada"), ("last_name", "Lovelace")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(first_name_of(&app, &ada.user).await, "Ada");
}

#[tokio::test]
async fn signing_out_needs_the_token_too() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    let response = ada.send(ada.client.post(ada.url("/logout"))).await;
    assert_eq!(response.status(), 403);
    assert_eq!(ada.get("/settings/account").await.status(), 200);
}

#[tokio::test]
async fn signing_in_needs_the_token() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    let response = app
        .send(app.client.post(app.url("/login")).form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ]))
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.get("/settings/account").await.location(), "/login");
}

#[tokio::test]
async fn a_cross_site_request_is_refused_even_with_a_token() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    let token = ada.csrf_token();
    let response = ada
        .send(
            ada.client
                .post(ada.url("/settings/account/profile"))
                .header("Sec-Fetch-Site", "cross-site")
                .form(&[
                    ("first_name", "Mallory"),
                    ("last_name", "Evil"),
                    ("csrf_token", &token),
                ]),
        )
        .await;
    assert_eq!(response.status(), 403);
}
