//! Service accounts: members that are programs, created by owners and admins, holding keys
//! that outlive the person who made them, never signing in, holding no seat, never owning.

use serde_json::json;

use super::{ORG_KEYS, ORG_KEYS_PAGE, authorize, call, open_for_calls, signed_in, verdict};
use crate::org::acme;
use crate::support::{TestApp, Visitor, spawn_app};

const PAGE: &str = "/settings/org/service-accounts";

/// Creates a service account through the page; its user id.
async fn create_account(app: &TestApp, visitor: &Visitor, name: &str, role: &str) -> i64 {
    visitor.get(PAGE).await;
    let created = visitor
        .post_form(PAGE, &[("name", name), ("role", role)])
        .await;
    assert_eq!(created.status(), 303, "{}", created.text());
    let id = app
        .number(&format!(
            "SELECT id FROM users WHERE service_of IS NOT NULL AND first_name = '{name}'"
        ))
        .await;
    assert_eq!(
        created.header("location"),
        format!("{ORG_KEYS_PAGE}?holder={id}#new-api-key")
    );
    id
}

/// Issues a key held by `holder` through the Keys page's Create form.
async fn key_for(visitor: &Visitor, holder: i64) -> String {
    visitor
        .get(&format!("{ORG_KEYS_PAGE}?holder={holder}"))
        .await;
    let shown = visitor
        .post_form(
            ORG_KEYS,
            &[
                ("name", "Billing sync"),
                ("lifetime", "none"),
                ("holder", &holder.to_string()),
            ],
        )
        .await;
    assert_eq!(shown.status(), 200, "{}", shown.text());
    shown
        .html()
        .attr("#new-key-value", "value")
        .expect("the new key")
}

#[tokio::test]
async fn a_service_accounts_key_keeps_working_when_the_admin_who_made_it_leaves() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let ada = signed_in(&app, &acme.admin).await;
    let bot = create_account(&app, &ada, "Billing sync", "member").await;
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE user_id = {bot} AND org_id = {} \
             AND role = 'member' AND NOT subscriber",
            acme.org
        ))
        .await,
        1
    );
    // The Keys page offers it as a holder, chosen already.
    let page = ada
        .get(&format!("{ORG_KEYS_PAGE}?holder={bot}"))
        .await
        .html();
    assert_eq!(
        page.attr("#new-api-key-holder option[selected]", "value"),
        Some(bot.to_string())
    );
    let key = key_for(&ada, bot).await;
    let allowed = authorize(&app, &key, "chat_completions", "gpt-4o").await;
    assert_eq!(verdict(&allowed), "allow");
    assert_eq!(allowed["user_id"], json!(bot));

    // The admin leaves; the integration does not stop.
    app.login(&acme.owner).await;
    app.get("/settings/org/users").await;
    let removed = app
        .post_form(
            "/settings/org/removal",
            &[("user", &acme.admin.id.to_string())],
        )
        .await;
    assert_eq!(removed.status(), 200, "{}", removed.text());
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "allow"
    );
    let keys = app.get(ORG_KEYS_PAGE).await.html();
    assert!(
        keys.texts("#api-key-list td")
            .contains(&"Billing sync (service account)".to_owned()),
        "{:?}",
        keys.texts("#api-key-list td")
    );
    let key_id = app.number("SELECT id FROM api_keys").await;
    let key_page = app.get(&format!("{ORG_KEYS}/{key_id}")).await.html();
    assert!(
        key_page
            .text(".key-facts")
            .contains("Created by admin@acme.test"),
        "{}",
        key_page.text(".key-facts")
    );
    let members = app.get("/settings/org/users").await.html();
    assert!(
        members
            .text(&format!("#member-{bot}"))
            .contains("Service account")
    );

    // Its calls count in usage under its own name.
    let reported = call(
        &app,
        "/api/v1/usage",
        &key,
        &json!({ "idempotency_key": "s-1", "endpoint": "chat_completions", "model": "gpt-4o",
                 "input_tokens": 10, "output_tokens": 5 }),
    )
    .await;
    assert_eq!(reported.status(), 200, "{}", reported.text());
    assert_eq!(
        app.number(&format!(
            "SELECT sum(input_tokens + output_tokens)::bigint FROM usage_member_daily \
             WHERE user_id = {bot}"
        ))
        .await,
        15
    );
    let usage = app.get("/settings/org/usage").await;
    assert!(usage.text().contains("Billing sync"));

    // Removed like any member: its keys stop and it is disabled.
    let removed = app
        .post_form("/settings/org/removal", &[("user", &bot.to_string())])
        .await;
    assert_eq!(removed.status(), 200, "{}", removed.text());
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "key_invalid"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM users WHERE id = {bot} AND status = 'disabled'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'service_account.created'")
            .await,
        1
    );
}

#[tokio::test]
async fn only_owners_and_admins_create_them_below_their_own_role() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let mia = signed_in(&app, &acme.member).await;
    assert_eq!(mia.get(PAGE).await.status(), 403);
    let forged = mia
        .post_form(PAGE, &[("name", "Mine"), ("role", "member")])
        .await;
    assert_eq!(forged.status(), 403);
    assert!(!mia.get(ORG_KEYS_PAGE).await.text().contains("Held by"));

    let ada = signed_in(&app, &acme.admin).await;
    ada.get(PAGE).await;
    for (name, role, field) in [
        ("", "member", "new-service-account-name"),
        ("Deploys", "admin", "new-service-account-role"),
        ("Deploys", "owner", "new-service-account-role"),
        ("Deploys\0", "member", "new-service-account-name"),
    ] {
        let refused = ada.post_form(PAGE, &[("name", name), ("role", role)]).await;
        assert_eq!(refused.status(), 422, "{name:?} {role}");
        assert!(
            refused.html().field_error(field).is_some(),
            "{name:?} {role}"
        );
    }
    // No token, no account.
    let no_token = ada
        .send(
            ada.client
                .post(ada.url(PAGE))
                .form(&[("name", "Deploys"), ("role", "member")]),
        )
        .await;
    assert_eq!(no_token.status(), 403);
    assert_eq!(
        app.number("SELECT count(*) FROM users WHERE service_of IS NOT NULL")
            .await,
        0
    );
    // The owner may make an admin one; an admin may not issue or hold keys through it.
    app.login(&acme.owner).await;
    let deploys = create_account(&app, &app, "Deploys", "admin").await;
    let keys_page = ada.get(ORG_KEYS_PAGE).await;
    assert!(!keys_page.text().contains("Deploys"));
    let refused = ada
        .post_form(
            ORG_KEYS,
            &[
                ("name", "x"),
                ("lifetime", "none"),
                ("holder", &deploys.to_string()),
            ],
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(app.number("SELECT count(*) FROM api_keys").await, 0);
}

#[tokio::test]
async fn a_service_account_never_signs_in_holds_a_seat_or_owns_the_organization() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    app.login(&acme.owner).await;
    let bot = create_account(&app, &app, "Nightly export", "member").await;
    let email = app
        .string(&format!("SELECT email FROM users WHERE id = {bot}"))
        .await;
    assert!(email.ends_with(".invalid"), "{email}");

    app.get("/settings/org/subscription").await;
    let seat = app
        .post_form(
            "/settings/org/subscription/seat",
            &[("user", &bot.to_string()), ("change", "grant")],
        )
        .await;
    assert_eq!(seat.status(), 403, "{}", seat.text());
    app.get("/settings/org").await;
    let transfer = app
        .post_form("/settings/org/transfer", &[("email", &email)])
        .await;
    assert!(transfer.status().is_client_error(), "{}", transfer.status());
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE user_id = {bot} \
             AND role = 'member' AND NOT subscriber"
        ))
        .await,
        1
    );
    // Behind the console's back too: the database refuses.
    let mut conn = app.conn().await;
    for refused in [
        format!("UPDATE memberships SET role = 'owner' WHERE user_id = {bot}"),
        format!("UPDATE memberships SET subscriber = true WHERE user_id = {bot}"),
        format!("UPDATE users SET password_hash = 'x' WHERE id = {bot}"),
    ] {
        let result =
            diesel_async::RunQueryDsl::execute(diesel::sql_query(&refused), &mut conn).await;
        assert!(result.is_err(), "{refused}");
    }

    // No password opens it.
    let visitor = app.another_visitor();
    visitor.get("/login").await;
    let signed = visitor
        .post_form("/login", &[("email", &email), ("password", "")])
        .await;
    assert_ne!(signed.status(), 303);
    assert_eq!(visitor.get("/settings/org").await.status(), 303);
}

#[tokio::test]
async fn keys_are_issued_only_for_the_organizations_own_service_accounts() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let globex_owner = app.user("owner@globex.test").create().await;
    app.org("Globex").owned_by(&globex_owner).create().await;
    app.login(&globex_owner).await;
    let theirs = create_account(&app, &app, "Their bot", "member").await;

    let ada = signed_in(&app, &acme.admin).await;
    let ours = create_account(&app, &ada, "Our bot", "member").await;
    ada.get(ORG_KEYS_PAGE).await;
    for holder in [
        theirs.to_string(),
        acme.member.id.to_string(),
        "abc".to_owned(),
    ] {
        let refused = ada
            .post_form(
                ORG_KEYS,
                &[("name", "x"), ("lifetime", "none"), ("holder", &holder)],
            )
            .await;
        assert_eq!(refused.status(), 404, "{holder}");
    }
    // A member may not issue one for it, even knowing its id.
    let mia = signed_in(&app, &acme.member).await;
    let forged = mia
        .post_form(
            ORG_KEYS,
            &[
                ("name", "x"),
                ("lifetime", "none"),
                ("holder", &ours.to_string()),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(app.number("SELECT count(*) FROM api_keys").await, 0);

    // The admin rotates the account's key (they manage it); a member cannot.
    let key = key_for(&ada, ours).await;
    let id = app.number("SELECT id FROM api_keys").await;
    ada.get(&format!("{ORG_KEYS}/{id}")).await;
    let rotated = ada
        .post_form(&format!("{ORG_KEYS}/{id}/rotate"), &[("overlap", "none")])
        .await;
    assert_eq!(rotated.status(), 200, "{}", rotated.text());
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "key_invalid"
    );
}
