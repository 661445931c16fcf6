//! API keys on the Keys and Account pages: shown once, seen and revoked by the right people,
//! rotated with an overlap, personal keys kept apart from organizations.

use chrono::Duration;

use super::{
    ORG_KEYS, ORG_KEYS_PAGE, PERSONAL_KEYS, authorize, create_key, open_for_calls, signed_in,
    verdict,
};
use crate::org::acme;
use crate::support::{captured_logs, spawn_app};

#[tokio::test]
async fn a_new_key_is_in_exactly_one_response_and_in_no_page_log_or_audit_entry() {
    let logs = captured_logs();
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI pipeline", "90d").await;
    assert!(key.starts_with("ghk_") && key.len() > 50);
    let prefix = &key[4..16];

    let mut later = Vec::new();
    let list = mia.get(ORG_KEYS_PAGE).await;
    assert_eq!(
        list.html().rows("#api-key-list")[0][..2],
        ["CI pipeline".to_owned(), format!("ghk_{prefix}…")]
    );
    later.push(list.text().to_owned());
    let id = app.number("SELECT id FROM api_keys").await;
    later.push(mia.get(&format!("{ORG_KEYS}/{id}")).await.text().to_owned());
    app.login(&acme.owner).await;
    later.push(app.get(ORG_KEYS_PAGE).await.text().to_owned());
    for text in later {
        assert!(!text.contains(&key[17..]), "the secret is shown again");
    }
    let audit = app
        .number(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'api_key.created' \
             AND target = 'ghk_{prefix}…' AND after::text NOT LIKE '%{}%'",
            &key[17..]
        ))
        .await;
    assert_eq!(audit, 1);
    let logged = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    assert!(!logged.contains(&key[17..]), "the secret is in the logs");
    // Only the hash is kept.
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM api_keys WHERE secret_hash = sha256('{key}'::bytea)"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn owners_and_admins_see_and_revoke_every_key_members_only_their_own() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let mia = signed_in(&app, &acme.member).await;
    create_key(&mia, ORG_KEYS, "Mia's", "none").await;
    let max = signed_in(&app, &acme.other_member).await;
    create_key(&max, ORG_KEYS, "Max's", "none").await;
    let maxs = app
        .number(&format!(
            "SELECT id FROM api_keys WHERE user_id = {}",
            acme.other_member.id
        ))
        .await;

    let mias_list = mia.get(ORG_KEYS_PAGE).await.html();
    assert_eq!(
        mias_list.texts("#api-key-list tbody td:first-child"),
        ["Mia's"]
    );
    // Another member's key, by id: not found on its page, nor to revoke or rotate.
    assert_eq!(mia.get(&format!("{ORG_KEYS}/{maxs}")).await.status(), 404);
    mia.get(ORG_KEYS_PAGE).await;
    for action in ["revoke", "rotate"] {
        let response = mia
            .post_form(
                &format!("{ORG_KEYS}/{maxs}/{action}"),
                &[("overlap", "none")],
            )
            .await;
        assert_eq!(response.status(), 404, "{action}");
    }

    let ada = signed_in(&app, &acme.admin).await;
    let adas_list = ada.get(ORG_KEYS_PAGE).await.html();
    assert_eq!(
        adas_list.texts("#api-key-list tbody td:first-child"),
        ["Max's", "Mia's"]
    );
    // An admin revokes a member's key but may not rotate it (the new key would be theirs to see).
    let page = ada.get(&format!("{ORG_KEYS}/{maxs}")).await.html();
    assert!(
        page.text("#rotate-api-key")
            .contains("Only the key's holder rotates it")
    );
    let rotated = ada
        .post_form(&format!("{ORG_KEYS}/{maxs}/rotate"), &[("overlap", "none")])
        .await;
    assert_eq!(rotated.status(), 403);
    let revoked = ada
        .post_form(&format!("{ORG_KEYS}/{maxs}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM api_keys WHERE id = {maxs} AND revoked_at IS NOT NULL"
        ))
        .await,
        1
    );
    // Without the form's token nothing changes.
    let forged = app.another_visitor();
    forged.login(&acme.admin).await;
    let mias = app
        .number(&format!(
            "SELECT id FROM api_keys WHERE user_id = {}",
            acme.member.id
        ))
        .await;
    let no_token = forged
        .send(
            forged
                .client
                .post(forged.url(&format!("{ORG_KEYS}/{mias}/revoke"))),
        )
        .await;
    assert_eq!(no_token.status(), 403);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM api_keys WHERE id = {mias} AND revoked_at IS NULL"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn another_organizations_key_is_not_found_anywhere() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let other_owner = app.user("owner@globex.test").create().await;
    app.org("Globex").owned_by(&other_owner).create().await;
    let theirs = signed_in(&app, &other_owner).await;
    create_key(&theirs, ORG_KEYS, "Globex CI", "none").await;
    let id = app.number("SELECT id FROM api_keys").await;

    let olive = signed_in(&app, &acme.owner).await;
    assert_eq!(olive.get(&format!("{ORG_KEYS}/{id}")).await.status(), 404);
    olive.get(ORG_KEYS_PAGE).await;
    for action in ["revoke", "rotate"] {
        let response = olive
            .post_form(&format!("{ORG_KEYS}/{id}/{action}"), &[("overlap", "1h")])
            .await;
        assert_eq!(response.status(), 404, "{action}");
    }
    // Nor is it a personal key of hers.
    assert_eq!(
        olive.get(&format!("{PERSONAL_KEYS}/{id}")).await.status(),
        404
    );
    assert_eq!(
        app.number("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND expires_at IS NULL")
            .await,
        1
    );
    assert!(!olive.get(ORG_KEYS_PAGE).await.text().contains("Globex CI"));
}

#[tokio::test]
async fn rotation_keeps_the_old_key_working_for_the_chosen_overlap_only() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let old = create_key(&mia, ORG_KEYS, "CI", "none").await;
    let id = app.number("SELECT id FROM api_keys").await;

    mia.get(&format!("{ORG_KEYS}/{id}")).await;
    let bad = mia
        .post_form(
            &format!("{ORG_KEYS}/{id}/rotate"),
            &[("overlap", "forever")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.html().field_error("rotate-api-key-overlap").is_some());
    let rotated = mia
        .post_form(&format!("{ORG_KEYS}/{id}/rotate"), &[("overlap", "1h")])
        .await;
    assert_eq!(rotated.status(), 200);
    let new = rotated
        .html()
        .attr("#new-key-value", "value")
        .expect("the new key");
    assert_ne!(new, old);
    for key in [&old, &new] {
        assert_eq!(
            verdict(&authorize(&app, key, "chat_completions", "gpt-4o").await),
            "allow"
        );
    }
    app.clock.advance(Duration::seconds(3601));
    assert_eq!(
        verdict(&authorize(&app, &old, "chat_completions", "gpt-4o").await),
        "key_expired"
    );
    assert_eq!(
        verdict(&authorize(&app, &new, "chat_completions", "gpt-4o").await),
        "allow"
    );

    // Rotating with no overlap stops the old key at once.
    let mia = signed_in(&app, &acme.member).await;
    let newest = app.number("SELECT max(id) FROM api_keys").await;
    mia.get(&format!("{ORG_KEYS}/{newest}")).await;
    let again = mia
        .post_form(
            &format!("{ORG_KEYS}/{newest}/rotate"),
            &[("overlap", "none")],
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        verdict(&authorize(&app, &new, "chat_completions", "gpt-4o").await),
        "key_invalid"
    );
}

#[tokio::test]
async fn a_personal_key_never_reaches_an_organization() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    app.sql(&format!(
        "INSERT INTO ip_allow_entries (org_id, network, label, created_at) \
         VALUES ({}, '203.0.113.0/24', 'Office', now())",
        acme.org
    ))
    .await;
    let mia = signed_in(&app, &acme.member).await;
    mia.get("/settings/account").await;
    let key = create_key(&mia, PERSONAL_KEYS, "Side project", "none").await;

    let answer = authorize(&app, &key, "chat_completions", "claude-sonnet-4").await;
    assert_eq!(verdict(&answer), "allow", "{answer}");
    assert!(answer.get("organization_id").is_none(), "{answer}");
    assert!(answer.get("remaining").is_none(), "{answer}");
    assert!(!mia.get(ORG_KEYS_PAGE).await.text().contains("Side project"));
    let account = mia.get("/settings/account").await.html();
    assert_eq!(
        account.texts("#api-key-list tbody td:first-child"),
        ["Side project"]
    );
    // Disabling the account revokes it for good.
    app.sql(&format!(
        "UPDATE users SET status = 'disabled' WHERE id = {}",
        acme.member.id
    ))
    .await;
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "key_invalid"
    );
}

#[tokio::test]
async fn the_holder_is_warned_once_by_email_a_week_before_a_key_expires() {
    let sink = crate::support::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = crate::support::spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    let acme = acme(&app).await;
    let mia = signed_in(&app, &acme.member).await;
    create_key(&mia, ORG_KEYS, "Nightly export", "30d").await;
    create_key(&mia, ORG_KEYS, "Forever", "none").await;
    assert!(sink.received().is_empty());

    // 24 days later the 30-day key has less than a week left.
    app.clock.advance(Duration::days(24));
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].to, ["member@acme.test".to_owned()]);
    assert!(
        mails[0].data.contains("Nightly export"),
        "{}",
        mails[0].data
    );
    let id = app
        .number("SELECT id FROM api_keys WHERE name = 'Nightly export'")
        .await;
    assert!(
        mails[0]
            .data
            .replace("=\r\n", "")
            .contains(&format!("/settings/org/keys/api/{id}")),
        "the email links to the key's page"
    );
    // Once only, however long the worker keeps looking.
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    assert_eq!(sink.received().len(), 1);
    assert_eq!(
        app.number("SELECT count(*) FROM api_keys WHERE expiry_warned_at IS NOT NULL")
            .await,
        1
    );
}
