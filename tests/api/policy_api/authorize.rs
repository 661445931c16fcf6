//! `POST /api/v1/authorize`: every reason a call is denied, reached through the HTTP API, and
//! the console's changes obeyed by the very next call.

use serde_json::json;

use super::{ORG_KEYS, authorize, call, create_key, open_for_calls, signed_in, verdict};
use crate::org::acme;
use crate::support::{spawn_app, spawn_app_with};

#[tokio::test]
async fn a_members_key_is_allowed_with_the_organization_and_tokens_left() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "90d").await;

    let answer = authorize(&app, &key, "chat_completions", "gpt-4o").await;
    assert_eq!(verdict(&answer), "allow", "{answer}");
    assert_eq!(answer["organization_id"], json!(acme.org.0));
    assert_eq!(answer["user_id"], json!(acme.member.id.0));
    assert_eq!(
        answer["remaining"],
        json!({ "kind": "inference", "tokens": 1000 })
    );
    let embeddings = authorize(&app, &key, "embeddings", "text-embedding-3-large").await;
    assert_eq!(
        embeddings["remaining"],
        json!({ "kind": "embedding", "tokens": 500 })
    );
    // The use is noted on the key.
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM api_keys WHERE user_id = {} AND last_used_at IS NOT NULL \
             AND last_ip = '127.0.0.1' AND last_endpoint = 'embeddings'",
            acme.member.id
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn unknown_malformed_tampered_and_revoked_keys_are_all_key_invalid() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;

    let mut tampered = key.clone();
    let last = tampered.pop().expect("a character");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let unknown = format!("ghk_000000000000_{}", &key[18..]);
    for bad in [unknown.as_str(), "not-a-key", tampered.as_str()] {
        let answer = authorize(&app, bad, "chat_completions", "gpt-4o").await;
        assert_eq!(verdict(&answer), "key_invalid", "{bad}: {answer}");
        assert_eq!(
            answer["message"],
            json!("The key is unknown or no longer valid.")
        );
    }
    // The wrong secret for a real prefix is a denial the key's page shows.
    assert_eq!(
        app.number("SELECT count(*) FROM key_denials WHERE reason = 'key_invalid'")
            .await,
        1
    );

    // Revoked on its page: the very next call is denied, with the same reason as unknown.
    let key_id = app
        .number(&format!(
            "SELECT id FROM api_keys WHERE user_id = {}",
            acme.member.id
        ))
        .await;
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "allow"
    );
    mia.get(&format!("{ORG_KEYS}/{key_id}")).await;
    let revoked = mia
        .post_form(&format!("{ORG_KEYS}/{key_id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "key_invalid"
    );
}

#[tokio::test]
async fn an_expired_key_is_key_expired_and_a_removed_members_key_stops_at_once() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let short = create_key(&mia, ORG_KEYS, "Short", "30d").await;
    let max = signed_in(&app, &acme.other_member).await;
    let maxs = create_key(&max, ORG_KEYS, "Max's", "none").await;

    app.clock.advance(chrono::Duration::days(31));
    assert_eq!(
        verdict(&authorize(&app, &short, "chat_completions", "gpt-4o").await),
        "key_expired"
    );
    assert_eq!(
        verdict(&authorize(&app, &maxs, "chat_completions", "gpt-4o").await),
        "allow"
    );

    // The owner removes Max: his key is revoked in the same transaction.
    app.login(&acme.owner).await;
    app.get("/settings/org/users").await;
    let removed = app
        .post_form(
            "/settings/org/removal",
            &[("user", &acme.other_member.id.to_string())],
        )
        .await;
    assert!(
        removed.status().is_success() || removed.status() == 303,
        "{}",
        removed.status()
    );
    assert_eq!(
        verdict(&authorize(&app, &maxs, "chat_completions", "gpt-4o").await),
        "key_invalid"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM api_keys WHERE user_id = {} AND revoked_reason = 'member removed'",
            acme.other_member.id
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_cancelled_organization_serves_only_its_owner() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let olive = signed_in(&app, &acme.owner).await;
    let owners = create_key(&olive, ORG_KEYS, "Owner's", "none").await;
    let ada = signed_in(&app, &acme.admin).await;
    let admins = create_key(&ada, ORG_KEYS, "Admin's", "none").await;
    // Cancelled behind the console's back, with the admin still a member: only the owner's
    // key keeps working (seed 004: the owner may use the remaining credits).
    app.sql(&format!(
        "UPDATE organizations SET status = 'cancelled', cancelled_at = now() WHERE id = {}",
        acme.org
    ))
    .await;
    assert_eq!(
        verdict(&authorize(&app, &owners, "chat_completions", "gpt-4o").await),
        "allow"
    );
    assert_eq!(
        verdict(&authorize(&app, &admins, "chat_completions", "gpt-4o").await),
        "org_inactive"
    );
}

#[tokio::test]
async fn endpoints_models_and_limits_are_checked_in_that_order() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;

    for (endpoint, model, expected) in [
        ("teleport", "gpt-4o", "endpoint_not_allowed"),
        ("chat_completions", "claude-sonnet-4", "model_not_allowed"),
        ("chat_completions", "no-such-model", "model_not_allowed"),
        ("chat_completions", "gpt-4o", "allow"),
    ] {
        let answer = authorize(&app, &key, endpoint, model).await;
        assert_eq!(verdict(&answer), expected, "{endpoint} {model}: {answer}");
    }
    app.sql(&format!(
        "UPDATE organizations SET inference_used = 1000 WHERE id = {}",
        acme.org
    ))
    .await;
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "limit_exceeded"
    );
    assert_eq!(
        verdict(&authorize(&app, &key, "embeddings", "text-embedding-3-large").await),
        "allow",
        "embedding tokens are counted apart"
    );
}

#[tokio::test]
async fn the_client_address_is_the_peer_unless_a_trusted_proxy_forwarded_it() {
    let trusted =
        spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")]).await;
    let untrusted = spawn_app().await;
    for (app, trusts_the_proxy) in [(&trusted, true), (&untrusted, false)] {
        let acme = acme(app).await;
        open_for_calls(app, acme.org).await;
        app.sql(&format!(
            "INSERT INTO ip_allow_entries (org_id, network, label, created_at) VALUES \
             ({org}, '203.0.113.0/24', 'Office', now()), ({org}, '2001:db8:1::/48', 'Office v6', now())",
            org = acme.org
        ))
        .await;
        let mia = signed_in(app, &acme.member).await;
        let key = create_key(&mia, ORG_KEYS, "CI", "none").await;
        let from = |forwarded: &'static str| {
            let key = key.clone();
            async move {
                let answer = app
                    .send(
                        app.client
                            .post(app.url("/api/v1/authorize"))
                            .bearer_auth(&key)
                            .header("X-Forwarded-For", forwarded)
                            .json(&json!({ "endpoint": "chat_completions", "model": "gpt-4o" })),
                    )
                    .await;
                let body: serde_json::Value = serde_json::from_str(answer.text()).expect("JSON");
                verdict(&body)
            }
        };
        let inside = if trusts_the_proxy {
            "allow"
        } else {
            "ip_not_allowed"
        };
        assert_eq!(from("203.0.113.7").await, inside);
        assert_eq!(
            from("::ffff:203.0.113.7").await,
            inside,
            "IPv4-mapped is IPv4"
        );
        assert_eq!(from("2001:db8:1::9").await, inside, "IPv6");
        // Spoofed: the client wrote the left-most entry; the proxy appended the real one.
        assert_eq!(from("203.0.113.7, 198.51.100.1").await, "ip_not_allowed");
        assert_eq!(from("198.51.100.1").await, "ip_not_allowed");
    }
}

#[tokio::test]
async fn bad_requests_get_json_errors_with_stable_codes_never_a_500() {
    let app = spawn_app().await;
    let code = |response: &crate::support::TestResponse| {
        let body: serde_json::Value = serde_json::from_str(response.text()).expect("JSON");
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let unauthenticated = app
        .send(
            app.client
                .post(app.url("/api/v1/authorize"))
                .json(&json!({})),
        )
        .await;
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(code(&unauthenticated), "unauthenticated");

    let other = "ghk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for (body, status, expected) in [
        (json!({ "endpoint": "chat_completions" }), 400, "malformed"),
        (
            json!({ "endpoint": "a\u{0}b", "model": "gpt-4o" }),
            400,
            "malformed",
        ),
        (
            json!({ "endpoint": "x".repeat(300), "model": "gpt-4o" }),
            400,
            "malformed",
        ),
        (
            json!({ "endpoint": "chat_completions", "model": "gpt-4o", "admin": true }),
            400,
            "malformed",
        ),
        (
            json!({ "endpoint": "x".repeat(20_000), "model": "gpt-4o" }),
            413,
            "too_large",
        ),
    ] {
        let response = call(&app, "/api/v1/authorize", other, &body).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(code(&response), expected);
    }
    let not_json = app
        .send(
            app.client
                .post(app.url("/api/v1/authorize"))
                .bearer_auth(other)
                .body("{\"endpoint\": "),
        )
        .await;
    assert_eq!(not_json.status(), 400);
    let huge = app
        .send(
            app.client
                .post(app.url("/api/v1/usage"))
                .bearer_auth(other)
                .body(vec![b' '; 10 * 1024 * 1024]),
        )
        .await;
    assert_eq!(huge.status(), 413);
    assert_eq!(code(&huge), "too_large");
    let nowhere = call(&app, "/api/v1/nothing", other, &json!({})).await;
    assert_eq!(nowhere.status(), 404);
    assert_eq!(code(&nowhere), "not_found");

    // Two calls a second, a burst of four: the fifth at once is told when to come back.
    let slow = spawn_app_with(|s| s.api_calls_per_key_per_second = 2).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = call(
            &slow,
            "/api/v1/authorize",
            other,
            &json!({ "endpoint": "chat_completions", "model": "gpt-4o" }),
        )
        .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert_eq!(code(&response), "rate_limited");
            assert_eq!(response.header("retry-after"), "1");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429]);
}

#[tokio::test]
async fn a_change_in_the_console_is_obeyed_by_the_next_call_on_another_instance() {
    let app = spawn_app().await;
    // A second instance on the same database, with the same keys: the gateway may ask either.
    let mut settings = crate::support::test_settings(app.db.url());
    settings.master_key = app.master_key.clone().into();
    let second = guildhall::startup::Application::build(settings)
        .await
        .expect("second instance");
    let elsewhere = crate::support::Visitor::new(&format!("http://127.0.0.1:{}", second.port()));
    tokio::spawn(second.run_until_stopped());
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;
    let max = signed_in(&app, &acme.other_member).await;
    let maxs = create_key(&max, ORG_KEYS, "CI", "none").await;
    let ask = async |key: &str, model: &str| {
        let answer = elsewhere
            .send(
                elsewhere
                    .client
                    .post(elsewhere.url("/api/v1/authorize"))
                    .bearer_auth(key)
                    .json(&json!({ "endpoint": "chat_completions", "model": model })),
            )
            .await;
        verdict(&serde_json::from_str(answer.text()).expect("JSON"))
    };
    assert_eq!(ask(&key, "gpt-4o").await, "allow");

    // An IP entry added on the first instance, then removed.
    let ada = signed_in(&app, &acme.admin).await;
    ada.get("/settings/org/security").await;
    let added = ada
        .post_form(
            "/settings/org/security/ip",
            &[
                ("network", "203.0.113.0/24"),
                ("label", "Office"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    assert_eq!(ask(&key, "gpt-4o").await, "ip_not_allowed");
    let entry = app.number("SELECT id FROM ip_allow_entries").await;
    let removed = ada
        .post_form(&format!("/settings/org/security/ip/{entry}/remove"), &[])
        .await;
    assert_eq!(removed.status(), 303);
    assert_eq!(ask(&key, "gpt-4o").await, "allow");

    // A model unticked by a super administrator.
    let root = app.signed_in_as(crate::support::Role::SuperAdmin).await;
    root.get(&format!("/admin/organizations/{}?tab=models", acme.org))
        .await;
    let embedding = app
        .number("SELECT id FROM models WHERE name = 'text-embedding-3-large'")
        .await
        .to_string();
    let saved = root
        .post_form(
            &format!("/admin/organizations/{}/models", acme.org),
            &[("model", &embedding)],
        )
        .await;
    assert_eq!(saved.status(), 303, "{}", saved.text());
    assert_eq!(ask(&key, "gpt-4o").await, "model_not_allowed");
    assert_eq!(ask(&key, "text-embedding-3-large").await, "allow");

    // Usage reported to the first instance uses up the embedding tokens (500).
    let reported = call(
        &app,
        "/api/v1/usage",
        &key,
        &json!({ "idempotency_key": "r-1", "endpoint": "embeddings",
                 "model": "text-embedding-3-large", "input_tokens": 400, "output_tokens": 100 }),
    )
    .await;
    assert_eq!(reported.status(), 200, "{}", reported.text());
    assert_eq!(ask(&key, "text-embedding-3-large").await, "limit_exceeded");
    app.sql(&format!(
        "UPDATE organizations SET embedding_purchased = 1000 WHERE id = {}",
        acme.org
    ))
    .await;

    // A member removed, and a key revoked.
    app.login(&acme.owner).await;
    app.get("/settings/org/users").await;
    app.post_form(
        "/settings/org/removal",
        &[("user", &acme.other_member.id.to_string())],
    )
    .await;
    assert_eq!(ask(&maxs, "text-embedding-3-large").await, "key_invalid");
    let id = app
        .number(&format!(
            "SELECT id FROM api_keys WHERE user_id = {}",
            acme.member.id
        ))
        .await;
    mia.get(&format!("{ORG_KEYS}/{id}")).await;
    mia.post_form(&format!("{ORG_KEYS}/{id}/revoke"), &[]).await;
    assert_eq!(ask(&key, "text-embedding-3-large").await, "key_invalid");
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint_without_a_key() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = serde_json::from_str(response.text()).expect("JSON");
    assert!(
        document["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    for path in ["/api/v1/authorize", "/api/v1/usage"] {
        let post = &document["paths"][path]["post"];
        assert!(post.is_object(), "{path}");
        assert!(
            post["responses"]["429"].is_object(),
            "{path} documents the rate limit"
        );
    }
    let schemas = &document["components"]["schemas"];
    assert!(schemas["AuthorizeRequest"]["properties"]["endpoint"].is_object());
    assert!(schemas["UsageRecord"]["properties"]["idempotency_key"].is_object());
    // The platform's own endpoint: its token, not a key.
    let shared_use = &document["paths"]["/api/v1/shared-use"]["post"];
    assert!(
        shared_use["security"][0]["platform_token"].is_array(),
        "{shared_use}"
    );
    assert!(schemas["SharedUseRequest"]["properties"]["organization_id"].is_object());
    assert_eq!(
        document["components"]["securitySchemes"]["api_key"]["scheme"],
        json!("bearer")
    );
}

#[tokio::test]
async fn a_key_denied_over_and_over_keeps_only_its_latest_fifty_denials() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;
    for n in 0..55 {
        let model = format!("no-such-model-{n}");
        assert_eq!(
            verdict(&authorize(&app, &key, "chat_completions", &model).await),
            "model_not_allowed"
        );
    }
    assert_eq!(app.number("SELECT count(*) FROM key_denials").await, 50);
    // The newest are the ones kept.
    assert_eq!(
        app.number("SELECT count(*) FROM key_denials WHERE trace::text LIKE '%no-such-model-54%'")
            .await,
        1
    );
    assert_eq!(
        app.number("SELECT count(*) FROM key_denials WHERE trace::text LIKE '%no-such-model-4\"%'")
            .await,
        0
    );
}
