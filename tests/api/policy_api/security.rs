//! `/settings/org/security`: the IP allowlist and endpoint restrictions, obeyed by the very
//! next call; changes that would deny keys in use stop to say which; report-only rules count;
//! "Why was this denied?" shows the API's own trace. Owners and admins only.

use super::{ORG_KEYS, authorize, create_key, open_for_calls, signed_in, verdict};
use crate::org::acme;
use crate::support::{TestApp, Visitor, spawn_app};

const PAGE: &str = "/settings/org/security";

async fn on_page(app: &TestApp, user: &crate::support::TestUser) -> Visitor {
    let visitor = signed_in(app, user).await;
    visitor.get(PAGE).await;
    visitor
}

#[tokio::test]
async fn an_admins_ip_entry_is_obeyed_by_the_next_call_and_its_removal_too() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;
    let ada = on_page(&app, &acme.admin).await;
    assert!(
        ada.get(PAGE)
            .await
            .html()
            .text("#ip-heading + p + .empty-state")
            .contains("every address")
    );

    // The key was never used: nothing to warn about, saved at once.
    let added = ada
        .post_form(
            &format!("{PAGE}/ip"),
            &[
                ("network", "203.0.113.0/24"),
                ("label", "Office"),
                ("endpoint", ""),
            ],
        )
        .await;
    assert_eq!(added.status(), 303, "{}", added.text());
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "ip_not_allowed"
    );
    let page = ada.get(PAGE).await.html();
    assert_eq!(
        page.rows("#ip-entries")[0][..4],
        ["203.0.113.0/24", "Office", "All endpoints", "Enforced"]
    );
    let id = app.number("SELECT id FROM ip_allow_entries").await;
    let removed = ada.post_form(&format!("{PAGE}/ip/{id}/remove"), &[]).await;
    assert_eq!(removed.status(), 303);
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "allow"
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action LIKE 'access_policy.ip_%'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_change_that_would_deny_keys_in_use_names_them_before_it_is_saved() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "allow"
    );

    let ada = on_page(&app, &acme.admin).await;
    let fields = [
        ("network", "10.0.0.0/8"),
        ("label", "VPN"),
        ("endpoint", ""),
    ];
    let asked = ada.post_form(&format!("{PAGE}/ip"), &fields).await;
    assert_eq!(asked.status(), 200);
    let html = asked.html();
    assert!(
        html.text("#would-be-denied").contains("member@acme.test"),
        "{}",
        asked.text()
    );
    assert!(html.text("[role=alert]").contains("locked out"));
    assert_eq!(
        app.number("SELECT count(*) FROM ip_allow_entries").await,
        0,
        "nothing saved yet"
    );

    let saved = ada
        .post_form(
            &format!("{PAGE}/ip"),
            &[fields[0], fields[1], fields[2], ("confirmed", "yes")],
        )
        .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "ip_not_allowed"
    );
}

#[tokio::test]
async fn report_only_rules_allow_count_per_key_and_are_enforced_in_one_click() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;
    let ada = on_page(&app, &acme.admin).await;
    let added = ada
        .post_form(
            &format!("{PAGE}/restrictions"),
            &[
                ("member", ""),
                ("endpoint", "embeddings"),
                ("report_only", "on"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303, "{}", added.text());

    for _ in 0..3 {
        assert_eq!(
            verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
            "allow"
        );
    }
    let page = ada.get(PAGE).await.html();
    assert_eq!(
        page.rows("#would-deny")[0][..4],
        ["CI", "member@acme.test", "Endpoint restriction", "3"]
    );
    assert_eq!(
        page.rows("#restrictions")[0][..3],
        ["The whole organization", "Embeddings", "Report only"]
    );

    // Enforcing it would deny Mia's key: the page says so first.
    let id = app.number("SELECT id FROM endpoint_restrictions").await;
    let asked = ada
        .post_form(&format!("{PAGE}/restrictions/{id}/enforce"), &[])
        .await;
    assert_eq!(asked.status(), 200);
    assert!(asked.html().text("#would-be-denied").contains("CI"));
    let enforced = ada
        .post_form(
            &format!("{PAGE}/restrictions/{id}/enforce"),
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(enforced.status(), 303);
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "endpoint_not_allowed"
    );
    assert_eq!(
        app.number("SELECT count(*) FROM policy_reports").await,
        0,
        "counts start over"
    );
}

#[tokio::test]
async fn organization_wide_restrictions_bind_admins_and_members_but_not_the_owner() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let olive = signed_in(&app, &acme.owner).await;
    let owners = create_key(&olive, ORG_KEYS, "Owner's", "none").await;
    let ada = signed_in(&app, &acme.admin).await;
    let admins = create_key(&ada, ORG_KEYS, "Admin's", "none").await;
    olive.get(PAGE).await;
    let set = olive
        .post_form(
            &format!("{PAGE}/restrictions"),
            &[("member", ""), ("endpoint", "embeddings")],
        )
        .await;
    assert_eq!(set.status(), 303);
    assert_eq!(
        verdict(&authorize(&app, &owners, "chat_completions", "gpt-4o").await),
        "allow"
    );
    assert_eq!(
        verdict(&authorize(&app, &admins, "chat_completions", "gpt-4o").await),
        "endpoint_not_allowed"
    );
    // A restriction for the owner herself does bind her.
    let mine = olive
        .post_form(
            &format!("{PAGE}/restrictions"),
            &[
                ("member", "owner@acme.test"),
                ("endpoint", "embeddings"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(mine.status(), 303, "{}", mine.text());
    assert_eq!(
        verdict(&authorize(&app, &owners, "chat_completions", "gpt-4o").await),
        "endpoint_not_allowed"
    );
}

#[tokio::test]
async fn why_was_this_denied_shows_every_check_and_the_rule_that_decided() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;
    app.sql(&format!(
        "INSERT INTO ip_allow_entries (org_id, network, label, created_at) \
         VALUES ({}, '203.0.113.0/24', 'Office', now())",
        acme.org
    ))
    .await;
    let entry = app.number("SELECT id FROM ip_allow_entries").await;
    let ada = on_page(&app, &acme.admin).await;
    let prefix = &key[..16];
    let answer = ada
        .get(&format!(
            "{PAGE}/explain?key={prefix}&endpoint=chat_completions&model=gpt-4o&ip=198.51.100.4"
        ))
        .await;
    assert_eq!(answer.status(), 200);
    let html = answer.html();
    assert!(
        html.text("#explain-result h3")
            .starts_with("Denied: ip_not_allowed")
    );
    let steps = html.texts(".trace-step .trace-check");
    assert_eq!(
        steps,
        [
            "Key",
            "Organization",
            "IP allowlist",
            "Endpoint restrictions",
            "Model access",
            "Limits"
        ]
    );
    assert_eq!(html.count(".trace-failed"), 1);
    assert_eq!(html.count(".trace-not-reached"), 3);
    assert_eq!(
        html.attr(".trace-failed a", "href").as_deref(),
        Some(format!("{PAGE}#ip-entry-{entry}").as_str())
    );
    // The same key from inside the network passes; the console recorded nothing.
    let inside = ada
        .get(&format!(
            "{PAGE}/explain?key={prefix}&endpoint=chat_completions&model=gpt-4o&ip=203.0.113.9"
        ))
        .await;
    assert!(
        inside
            .html()
            .text("#explain-result h3")
            .starts_with("Allowed")
    );
    assert_eq!(app.number("SELECT count(*) FROM key_denials").await, 0);
    // The API's own denial is on the key's page with the same trace.
    let denied = authorize(&app, &key, "chat_completions", "gpt-4o").await;
    assert_eq!(verdict(&denied), "ip_not_allowed");
    let id = app.number("SELECT id FROM api_keys").await;
    let key_page = ada.get(&format!("{ORG_KEYS}/{id}")).await.html();
    assert!(key_page.text(".denial summary").contains("ip_not_allowed"));
    assert_eq!(key_page.count(".denial .trace-step"), 6);
    // A bad question gets field errors, not a trace.
    let bad = ada
        .get(&format!(
            "{PAGE}/explain?key=ghk_ffffffffffff&endpoint=&model=gpt-4o&ip=nowhere"
        ))
        .await;
    assert_eq!(bad.status(), 422);
    let errors = bad.html();
    assert!(errors.field_error("explain-form-key").is_some());
    assert!(errors.field_error("explain-form-endpoint").is_some());
    assert!(errors.field_error("explain-form-ip").is_some());
}

#[tokio::test]
async fn members_are_refused_and_another_organizations_rules_are_not_found() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let other_owner = app.user("owner@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&other_owner).create().await;
    app.sql(&format!(
        "INSERT INTO ip_allow_entries (org_id, network, label, created_at) \
         VALUES ({globex}, '203.0.113.0/24', 'Globex office', now())"
    ))
    .await;
    let theirs = app.number("SELECT id FROM ip_allow_entries").await;
    let theirs_key = {
        let visitor = signed_in(&app, &other_owner).await;
        create_key(&visitor, ORG_KEYS, "Globex CI", "none").await
    };

    let mia = signed_in(&app, &acme.member).await;
    assert_eq!(mia.get(PAGE).await.status(), 403);
    for (path, fields) in [
        (format!("{PAGE}/ip"), vec![("network", "10.0.0.0/8")]),
        (
            format!("{PAGE}/restrictions"),
            vec![("endpoint", "embeddings")],
        ),
        (format!("{PAGE}/ip/{theirs}/remove"), vec![]),
    ] {
        let response = mia.post_form(&path, &fields).await;
        assert_eq!(response.status(), 403, "{path}");
    }
    assert!(
        !mia.get("/settings/org")
            .await
            .text()
            .contains("/settings/org/security"),
        "no sidebar link"
    );

    let ada = on_page(&app, &acme.admin).await;
    for action in ["remove", "enforce"] {
        let response = ada
            .post_form(
                &format!("{PAGE}/ip/{theirs}/{action}"),
                &[("confirmed", "yes")],
            )
            .await;
        assert_eq!(response.status(), 404, "{action}");
    }
    let other_member = ada
        .post_form(
            &format!("{PAGE}/restrictions"),
            &[("member", "owner@globex.test"), ("endpoint", "embeddings")],
        )
        .await;
    assert_eq!(other_member.status(), 422);
    assert!(other_member.html().field_error("restrict-member").is_some());
    let explain = ada
        .get(&format!(
            "{PAGE}/explain?key={}&endpoint=chat_completions&model=gpt-4o&ip=10.0.0.1",
            &theirs_key[..16]
        ))
        .await;
    assert_eq!(
        explain.status(),
        422,
        "another organization's key is not found"
    );
    assert_eq!(app.number("SELECT count(*) FROM ip_allow_entries").await, 1);
    assert_eq!(
        app.number("SELECT count(*) FROM endpoint_restrictions")
            .await,
        0
    );

    // Bad input keeps what was typed and says what is wrong.
    for (network, expected) in [
        ("10.0.0.1/8", "did you mean 10.0.0.0/8?"),
        ("10.0.0.0/8\u{0}", "The length after"),
        ("10.0.\u{0}0.0/8", "not an IPv4 or IPv6 address"),
        ("", "Enter an address"),
    ] {
        let refused = ada
            .post_form(
                &format!("{PAGE}/ip"),
                &[("network", network), ("label", "x")],
            )
            .await;
        assert_eq!(refused.status(), 422, "{network:?}");
        let html = refused.html();
        let error = html.field_error("add-ip-network").unwrap_or_default();
        assert!(error.contains(expected), "{network:?}: {error}");
        assert_eq!(html.value("#add-ip-label"), "x");
    }
    // No token, no change.
    let forged = ada
        .send(
            ada.client
                .post(ada.url(&format!("{PAGE}/ip")))
                .form(&[("network", "10.0.0.0/8")]),
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM ip_allow_entries WHERE org_id = {}",
            acme.org
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn super_admins_extend_the_endpoint_catalogue_that_restrictions_choose_from() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;
    assert_eq!(
        verdict(&authorize(&app, &key, "moderations", "gpt-4o").await),
        "endpoint_not_allowed",
        "not in the catalogue yet"
    );

    let root = app.signed_in_as(crate::support::Role::SuperAdmin).await;
    root.get("/admin/settings").await;
    for (name, label) in [("Moderations", "Moderations"), ("moderations", "")] {
        let refused = root
            .post_form(
                "/admin/settings/endpoints",
                &[("endpoint_name", name), ("endpoint_label", label)],
            )
            .await;
        assert_eq!(refused.status(), 422, "{name:?} {label:?}");
    }
    let added = root
        .post_form(
            "/admin/settings/endpoints",
            &[
                ("endpoint_name", "moderations"),
                ("endpoint_label", "Moderations"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303, "{}", added.text());
    assert!(
        root.get("/admin/settings")
            .await
            .html()
            .text("#endpoint-catalogue")
            .contains("moderations")
    );
    assert_eq!(
        verdict(&authorize(&app, &key, "moderations", "gpt-4o").await),
        "allow"
    );

    // Organizations restrict with it; an admin of an organization cannot add one.
    let ada = on_page(&app, &acme.admin).await;
    assert!(
        ada.get(PAGE)
            .await
            .html()
            .has("#restrict-endpoint-moderations")
    );
    let forbidden = ada
        .post_form(
            "/admin/settings/endpoints",
            &[
                ("endpoint_name", "teleport"),
                ("endpoint_label", "Teleport"),
            ],
        )
        .await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(app.number("SELECT count(*) FROM api_endpoints").await, 8);
}
