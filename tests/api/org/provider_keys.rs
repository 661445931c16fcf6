//! Provider keys: added, rotated and removed by owners and admins, never shown again to anyone
//! (not in a page, a failed form, the audit log or the logs), sealed to their organization and
//! key id, and still readable after the master key is rotated.

use guildhall::crypto::{self, SealedIn};

use crate::support::{OrgId, TestApp, TestUser, Visitor, captured_logs, spawn_app};

const PAGE: &str = "/settings/org/keys";

async fn signed_in(app: &TestApp, user: &TestUser) -> Visitor {
    let visitor = app.another_visitor();
    visitor.login(user).await;
    visitor.get(PAGE).await;
    visitor
}

async fn key_id(app: &TestApp, org: OrgId, label: &str) -> i64 {
    app.number(&format!(
        "SELECT id FROM provider_keys WHERE org_id = {org} AND label = '{label}'"
    ))
    .await
}

/// The stored value of a key, opened with the app's master key.
async fn opened(app: &TestApp, org: OrgId, id: i64) -> String {
    let mut conn = app.conn().await;
    let sealed = guildhall::models::provider_keys::sealed_value(&mut conn, org, id)
        .await
        .expect("query")
        .expect("the key");
    let plain = crypto::open(
        &app.master_key,
        &sealed,
        &SealedIn::ProviderKey(org, id).context(),
    )
    .expect("opens");
    String::from_utf8(plain).expect("text")
}

#[tokio::test]
async fn an_owner_adds_rotates_and_removes_a_key_whose_value_never_comes_back() {
    let logs = captured_logs();
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let first = "sk-proj-FIRSTsecretVALUE-0001aaaa";
    let second = "sk-proj-SECONDsecretVALUE-0002bbbb";
    let olive = signed_in(&app, &acme.owner).await;
    let mut seen = Vec::new();

    let empty = olive.get(PAGE).await.html();
    assert!(
        empty
            .text("#provider-keys-section .empty-state")
            .contains("No provider key yet")
    );
    let added = olive
        .post_form(
            PAGE,
            &[
                ("provider", "openai"),
                ("label", "Production"),
                ("secret", first),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let page = olive.get(PAGE).await;
    seen.push(page.text().to_owned());
    assert_eq!(
        page.html().rows("#provider-keys")[0][..4],
        [
            "OpenAI".to_owned(),
            "Production".to_owned(),
            "ending in …aaaa".to_owned(),
            format!("{} by owner@acme.test", app.clock.now().format("%Y-%m-%d")),
        ]
    );
    let id = key_id(&app, acme.org, "Production").await;
    assert_eq!(opened(&app, acme.org, id).await, first);

    // A failed form does not send the value back: the label is kept, the key must be pasted again.
    let duplicate = olive
        .post_form(
            PAGE,
            &[
                ("provider", "anthropic"),
                ("label", "PRODUCTION"),
                ("secret", second),
            ],
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    seen.push(duplicate.text().to_owned());
    let html = duplicate.html();
    assert_eq!(
        html.field_error("add-key-label").as_deref(),
        Some("Another key of this organization has this label.")
    );
    assert_eq!(html.value("#add-key-label"), "PRODUCTION");
    assert_eq!(html.value("#add-key-secret"), "");

    // Rotation replaces the value, keeps the entry and records who and when.
    let form = olive.get(&format!("{PAGE}/{id}/rotate")).await;
    seen.push(form.text().to_owned());
    let rotated = olive
        .post_form(&format!("{PAGE}/{id}/rotate"), &[("secret", second)])
        .await;
    assert_eq!(rotated.status(), 303);
    assert_eq!(
        key_id(&app, acme.org, "Production").await,
        id,
        "the same entry"
    );
    assert_eq!(opened(&app, acme.org, id).await, second);
    let page = olive.get(PAGE).await;
    seen.push(page.text().to_owned());
    let row = &page.html().rows("#provider-keys")[0];
    assert_eq!(row[2], "ending in …bbbb");
    assert_eq!(
        row[4],
        format!("{} by owner@acme.test", app.clock.now().format("%Y-%m-%d"))
    );
    let history = olive.get(&format!("{PAGE}/{id}/rotate")).await;
    seen.push(history.text().to_owned());
    assert_eq!(history.html().rows("main table")[0][1], "owner@acme.test");

    let confirm = olive.get(&format!("{PAGE}/{id}/remove")).await;
    seen.push(confirm.text().to_owned());
    let removed = olive.post_form(&format!("{PAGE}/{id}/remove"), &[]).await;
    assert_eq!(removed.status(), 303);
    let page = olive.get(PAGE).await;
    seen.push(page.text().to_owned());
    assert!(page.text().contains("The key “Production” was removed."));
    assert_eq!(app.number("SELECT count(*) FROM provider_keys").await, 0);

    // Every change is audited, never with the value.
    let audit: Vec<String> = {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            entry: String,
        }
        let mut conn = app.conn().await;
        diesel::sql_query(
            "SELECT action || ' ' || target || ' ' || coalesce(before::text, '') || ' ' || coalesce(after::text, '') AS entry \
             FROM audit_log WHERE action LIKE 'provider_key.%' ORDER BY id",
        )
        .load::<Row>(&mut conn)
        .await
        .expect("audit")
        .into_iter()
        .map(|r| r.entry)
        .collect()
    };
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(audit[0].starts_with("provider_key.added Production"));
    assert!(audit[1].starts_with("provider_key.rotated Production"));
    assert!(audit[2].starts_with("provider_key.removed Production"));

    let logged = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    for secret in [first, second] {
        for (i, body) in seen.iter().enumerate() {
            assert!(!body.contains(secret), "response {i} shows the key");
        }
        assert!(
            !audit.iter().any(|e| e.contains(secret)),
            "the audit log holds the key"
        );
        assert!(!logged.contains(secret), "the logs hold the key");
        assert_eq!(
            app.number(&format!(
                "SELECT count(*) FROM provider_key_rotations WHERE last_four = '{secret}'"
            ))
            .await,
            0
        );
    }
}

#[tokio::test]
async fn a_member_sees_which_providers_are_available_and_gets_403_on_every_key_action() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let ada = signed_in(&app, &acme.admin).await;
    for (provider, label) in [
        ("anthropic", "Claude"),
        ("openai", "GPT"),
        ("openai", "GPT backup"),
    ] {
        let added = ada
            .post_form(
                PAGE,
                &[
                    ("provider", provider),
                    ("label", label),
                    ("secret", "sk-some-long-enough-key"),
                ],
            )
            .await;
        assert_eq!(added.status(), 303, "admins manage keys too");
    }
    let id = key_id(&app, acme.org, "GPT").await;

    let mia = signed_in(&app, &acme.member).await;
    let html = mia.get(PAGE).await.html();
    assert_eq!(
        html.texts("#available-providers li"),
        vec!["OpenAI", "Anthropic"]
    );
    assert!(!html.has("#provider-keys"));
    assert!(!html.has("#add-key"));
    let providers = html.text("#provider-keys-section");
    assert!(!providers.contains("GPT"), "not even the labels");
    assert!(!providers.contains("…"), "nor the last four");
    assert!(
        html.text(".locked")
            .contains("Only owners and admins can manage provider keys.")
    );
    for (path, method) in [
        (format!("{PAGE}/{id}/rotate"), "GET"),
        (format!("{PAGE}/{id}/remove"), "GET"),
        (PAGE.to_owned(), "POST"),
        (format!("{PAGE}/{id}/rotate"), "POST"),
        (format!("{PAGE}/{id}/remove"), "POST"),
    ] {
        let response = if method == "GET" {
            mia.get(&path).await
        } else {
            mia.post_form(
                &path,
                &[
                    ("provider", "openai"),
                    ("label", "Mine"),
                    ("secret", "sk-member-forged-key"),
                ],
            )
            .await
        };
        assert_eq!(response.status(), 403, "{method} {path}");
    }
    assert_eq!(app.number("SELECT count(*) FROM provider_keys").await, 3);
    assert_eq!(
        app.number("SELECT count(*) FROM provider_key_rotations")
            .await,
        0
    );

    // A missing token is refused before anything else.
    let tokenless = ada
        .send(
            ada.client
                .post(ada.url(&format!("{PAGE}/{id}/remove")))
                .form(&[("x", "y")]),
        )
        .await;
    assert_eq!(tokenless.status(), 403);
}

#[tokio::test]
async fn another_organizations_key_is_out_of_reach_and_its_ciphertext_does_not_open_here() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let globex_owner = app.user("owner@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&globex_owner).create().await;
    let gus = signed_in(&app, &globex_owner).await;
    gus.post_form(
        PAGE,
        &[
            ("provider", "mistral"),
            ("label", "Globex key"),
            ("secret", "globex-secret-value-1234"),
        ],
    )
    .await;
    let olive = signed_in(&app, &acme.owner).await;
    olive
        .post_form(
            PAGE,
            &[
                ("provider", "mistral"),
                ("label", "Acme key"),
                ("secret", "acme-secret-value-5678"),
            ],
        )
        .await;
    let globex_key = key_id(&app, globex, "Globex key").await;
    let acme_key = key_id(&app, acme.org, "Acme key").await;

    for path in [
        format!("{PAGE}/{globex_key}/rotate"),
        format!("{PAGE}/{globex_key}/remove"),
    ] {
        assert_eq!(olive.get(&path).await.status(), 404, "GET {path}");
        let posted = olive
            .post_form(&path, &[("secret", "acme-overwrites-globex")])
            .await;
        assert_eq!(posted.status(), 404, "POST {path}");
    }
    assert_eq!(
        opened(&app, globex, globex_key).await,
        "globex-secret-value-1234"
    );

    // Globex's ciphertext copied onto Acme's row does not open as Acme's key.
    app.sql(&format!(
        "UPDATE provider_keys SET secret_sealed = (SELECT secret_sealed FROM provider_keys WHERE id = {globex_key}) WHERE id = {acme_key}"
    ))
    .await;
    let mut conn = app.conn().await;
    let copied = guildhall::models::provider_keys::sealed_value(&mut conn, acme.org, acme_key)
        .await
        .expect("query")
        .expect("the row");
    assert!(
        crypto::open(
            &app.master_key,
            &copied,
            &SealedIn::ProviderKey(acme.org, acme_key).context()
        )
        .is_err()
    );

    // A 10 MiB body is refused before it is read.
    let huge = olive
        .post_form(
            PAGE,
            &[
                ("provider", "openai"),
                ("label", "Huge"),
                ("secret", &"k".repeat(10 * 1024 * 1024)),
            ],
        )
        .await;
    assert_eq!(huge.status(), 413);

    // Bad input: a NUL byte, an unknown provider, a pasted document.
    let bad = olive
        .post_form(
            PAGE,
            &[
                ("provider", "skynet"),
                ("label", "Bad\u{0}label"),
                ("secret", &"x".repeat(5000)),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert_eq!(
        bad.html().field_errors("#add-key"),
        vec![
            (
                "add-key-provider".to_owned(),
                "Choose a provider from the list.".to_owned()
            ),
            (
                "add-key-label".to_owned(),
                "Remove the control characters.".to_owned()
            ),
            (
                "add-key-secret".to_owned(),
                "This is longer than any provider's key: paste the key alone.".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn rotating_the_master_key_reseals_every_secret_and_a_wrong_current_key_changes_nothing() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let olive = signed_in(&app, &acme.owner).await;
    for label in ["One", "Two"] {
        olive
            .post_form(
                PAGE,
                &[
                    ("provider", "openai"),
                    ("label", label),
                    ("secret", &format!("sk-{label}-value-1234")),
                ],
            )
            .await;
    }
    let oauth = crypto::seal(
        &app.master_key,
        b"client-secret",
        &SealedIn::OAuthSecret(acme.org).context(),
    )
    .expect("seal");
    {
        let mut conn = app.conn().await;
        guildhall::models::org_oauth_settings::upsert(
            &mut conn,
            acme.org,
            "https://id.acme.test",
            "client",
            &oauth,
        )
        .await
        .expect("oauth settings");
    }
    let new_key = guildhall::domain::random_bytes(32);
    let pool = guildhall::db::build_pool(&app.db.url(), 1).expect("pool");
    // This console serves the database: the rotation refuses to run beside it.
    let refused = guildhall::services::secrets::rotate_master_key(&pool, &app.master_key, &new_key)
        .await
        .expect_err("a console is serving");
    assert!(
        refused.to_string().contains("stop every instance"),
        "{refused}"
    );
    // The work itself (what the subcommand does once the consoles are stopped), in a
    // transaction of the test's own.
    let reseal = |old: Vec<u8>| {
        let (pool, new_key) = (pool.clone(), new_key.clone());
        async move {
            use diesel_async::AsyncConnection;
            let mut conn = pool.get().await.expect("a connection");
            conn.transaction::<_, anyhow::Error, _>(async |conn| {
                guildhall::services::secrets::reseal_all(conn, &old, &new_key).await
            })
            .await
        }
    };
    let wrong = reseal(guildhall::domain::random_bytes(32)).await;
    assert!(wrong.is_err());
    let one = key_id(&app, acme.org, "One").await;
    assert_eq!(
        opened(&app, acme.org, one).await,
        "sk-One-value-1234",
        "unchanged"
    );

    let done = reseal(app.master_key.clone()).await.expect("rotate");
    assert_eq!((done.provider_keys, done.oauth_secrets), (2, 1));
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'platform.master_key_rotated' AND actor_role = 'system'")
            .await,
        1,
        "the rotation is audited (counts only), the failed one is not"
    );
    let mut conn = app.conn().await;
    for label in ["One", "Two"] {
        let id = key_id(&app, acme.org, label).await;
        let sealed = guildhall::models::provider_keys::sealed_value(&mut conn, acme.org, id)
            .await
            .expect("query")
            .expect("row");
        let context = SealedIn::ProviderKey(acme.org, id).context();
        assert_eq!(
            crypto::open(&new_key, &sealed, &context).expect("opens with the new key"),
            format!("sk-{label}-value-1234").as_bytes()
        );
        assert!(crypto::open(&app.master_key, &sealed, &context).is_err());
    }
    let stored = guildhall::models::org_oauth_settings::find(&mut conn, acme.org)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(
        crypto::open(
            &new_key,
            &stored.client_secret_sealed,
            &SealedIn::OAuthSecret(acme.org).context()
        )
        .expect("opens"),
        b"client-secret"
    );
    // The console refuses to start under the old key now, and starts under the new one.
    assert!(
        guildhall::services::secrets::check_master_key(&mut conn, &app.master_key)
            .await
            .is_err()
    );
    guildhall::services::secrets::check_master_key(&mut conn, &new_key)
        .await
        .expect("the new key opens them");
}

#[tokio::test]
async fn twenty_concurrent_adds_of_one_label_keep_one_key_and_twenty_rotations_keep_every_record() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let olive = signed_in(&app, &acme.owner).await;
    let adds = (0..20).map(|i| {
        let olive = &olive;
        async move {
            olive
                .post_form(
                    PAGE,
                    &[
                        ("provider", "openai"),
                        ("label", "Shared"),
                        ("secret", &format!("sk-concurrent-value-{i:04}")),
                    ],
                )
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(adds).await;
    statuses.sort_unstable();
    assert_eq!(statuses[0], 303, "{statuses:?}");
    assert!(
        statuses[1..].iter().all(|s| *s == 422),
        "the others are told the label is taken, no error: {statuses:?}"
    );
    assert_eq!(app.number("SELECT count(*) FROM provider_keys").await, 1);

    let id = key_id(&app, acme.org, "Shared").await;
    olive.get(&format!("{PAGE}/{id}/rotate")).await;
    let rotations = (0..20).map(|i| {
        let olive = &olive;
        let path = format!("{PAGE}/{id}/rotate");
        async move {
            olive
                .post_form(&path, &[("secret", &format!("sk-rotated-value-{i:04}"))])
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(rotations).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM provider_key_rotations WHERE key_id = {id}"
        ))
        .await,
        20
    );
    // The value stored is the last rotation's: its last four match the newest record.
    let value = opened(&app, acme.org, id).await;
    let newest = app
        .number(&format!(
            "SELECT last_four::bigint FROM provider_key_rotations WHERE key_id = {id} ORDER BY id DESC LIMIT 1"
        ))
        .await;
    assert_eq!(value, format!("sk-rotated-value-{newest:04}"));
    assert_eq!(
        app.number(&format!(
            "SELECT last_four::bigint FROM provider_keys WHERE id = {id}"
        ))
        .await,
        newest
    );
}
