//! Attacks from the hardening review, each refused: a spoofed client address, control
//! characters in text, a return address with CR/LF, hostile bodies.

use crate::support::{Role, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_spoofed_forwarded_prefix_does_not_reach_the_audit_log() {
    let app = spawn_app_with(|settings| {
        settings.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
    })
    .await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    let request = ada
        .client
        .post(ada.url("/settings/account/profile"))
        // The client wrote the first address; the proxy (this test) appended the second.
        .header("X-Forwarded-For", "198.51.100.66, 203.0.113.7")
        .form(&[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("csrf_token", ada.csrf_token().as_str()),
        ]);
    assert_eq!(ada.send(request).await.status(), 303);
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'user.profile_updated' AND ip = '203.0.113.7'")
            .await,
        1
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE ip LIKE '198.51.100.%'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_nul_byte_in_any_text_is_refused_without_a_server_error() {
    let app = spawn_app().await;
    let root = app.signed_in_as(Role::SuperAdmin).await;
    for path in [
        "/admin/organizations?q=%00",
        "/admin/organizations?q=acme%00",
        "/admin/organizations.csv?q=%00",
        "/admin/users?q=%00",
        "/admin/users?q=ada%00lovelace",
    ] {
        let response = root.get(path).await;
        assert_eq!(response.status(), 422, "{path}");
        assert!(
            response.text().contains("control characters"),
            "{path}: {}",
            response.text()
        );
    }
    let visitor = app.another_visitor();
    visitor.get("/login").await;
    let refused = visitor
        .login_with("ada\0@acme.test", "whatever it is")
        .await;
    assert_eq!(refused.status(), 422);
    // Counted, under the address without its NUL byte, like any failure.
    assert_eq!(
        app.number("SELECT count(*) FROM login_failures WHERE key = 'account:ada@acme.test'")
            .await,
        1
    );
}

#[tokio::test]
async fn signing_out_clears_what_the_browser_kept_and_https_pins_the_scheme() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    assert!(
        ada.get("/login")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    let signed_out = ada.post_form("/logout", &[]).await;
    assert_eq!(signed_out.status(), 303);
    assert_eq!(
        signed_out.header("clear-site-data"),
        "\"cache\", \"cookies\", \"storage\""
    );

    let secure =
        spawn_app_with(|settings| settings.base_url = "https://console.example".to_owned()).await;
    for path in ["/login", "/healthz", "/no-such-page"] {
        assert_eq!(
            secure.get(path).await.header("strict-transport-security"),
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_return_address_with_cr_lf_is_refused_before_anything_changes() {
    let app = spawn_app().await;
    let root = app.signed_in_as(Role::SuperAdmin).await;
    let ada = app.user("ada@acme.test").create().await;
    let path = format!("/admin/users/{}/status", ada.id.0);
    for back in [
        "/admin/users\r\nSet-Cookie: evil=1",
        "//evil.test/admin/users",
        "/admin/users\0",
    ] {
        let response = root
            .post_form(&path, &[("status", "disabled"), ("back", back)])
            .await;
        assert_eq!(response.status(), 400, "{back:?}");
    }
    assert_eq!(
        app.number("SELECT count(*) FROM users WHERE status = 'disabled'")
            .await,
        0,
        "nothing changed"
    );
    let kept = root
        .post_form(
            &path,
            &[("status", "disabled"), ("back", "/admin/users?page=2")],
        )
        .await;
    assert_eq!(kept.location(), "/admin/users?page=2");
}

#[tokio::test]
async fn instances_starting_together_on_a_missing_database_both_succeed() {
    let db = crate::support::TestDb::create().await;
    let url = format!("{}_new", db.url());
    let name = url.rsplit('/').next().unwrap_or_default().to_owned();
    let started: Vec<anyhow::Result<()>> = futures_util::future::join_all(
        (0..4).map(|_| guildhall::db::create_database_if_missing(&url)),
    )
    .await;
    let mut admin = {
        use diesel_async::AsyncConnection;
        diesel_async::AsyncPgConnection::establish(&db.url())
            .await
            .expect("connect")
    };
    {
        use diesel_async::SimpleAsyncConnection;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .expect("drop");
    }
    for result in started {
        assert!(result.is_ok(), "{result:?}");
    }
}

#[tokio::test]
async fn a_lock_held_elsewhere_costs_a_bounded_wait_and_a_503_page() {
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    let app = spawn_app_with(|settings| settings.statement_limits.lock_timeout_ms = 300).await;
    let root = app.signed_in_as(Role::SuperAdmin).await;
    let mut holder = diesel_async::AsyncPgConnection::establish(&app.db.url())
        .await
        .expect("connect");
    holder
        .batch_execute("BEGIN; SELECT * FROM platform_settings FOR UPDATE")
        .await
        .expect("hold the settings row");

    let started = std::time::Instant::now();
    let response = root
        .post_form("/admin/settings", &[("invitation_ttl_days", "30")])
        .await;
    assert_eq!(response.status(), 503);
    assert!(
        response.text().contains("temporarily unavailable"),
        "{}",
        response.text()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(3));

    holder.batch_execute("ROLLBACK").await.expect("release");
    let saved = root
        .post_form("/admin/settings", &[("invitation_ttl_days", "30")])
        .await;
    assert_eq!(saved.status(), 303);
}

#[tokio::test]
async fn parallel_sign_ins_beyond_the_hashing_bound_are_told_to_retry_not_failed() {
    let app = spawn_app_with(|settings| {
        settings.password_hashes_at_once = 1;
        settings.password_wait_ms = 0;
    })
    .await;
    let ada = app.user("ada@acme.test").create().await;
    let visitors: Vec<_> = (0..12).map(|_| app.another_visitor()).collect();
    for visitor in &visitors {
        visitor.get("/login").await;
    }
    let answers = futures_util::future::join_all(
        visitors
            .iter()
            .map(|visitor| visitor.login_with(&ada.email, "not the password at all")),
    )
    .await;
    let busy: Vec<_> = answers.iter().filter(|a| a.status() == 503).collect();
    assert!(
        // Checked and wrong, refused by the throttle (every attempt counts before its check),
        // or told to come back: never a failure of the server.
        answers
            .iter()
            .all(|a| [422, 429, 503].contains(&a.status().as_u16())),
        "{:?}",
        answers.iter().map(|a| a.status()).collect::<Vec<_>>()
    );
    assert!(!busy.is_empty(), "twelve at once with one hash at a time");
    assert!(busy.iter().all(|a| a.header("retry-after") == "2"));
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_the_limit_before_anything_reads_them() {
    let app = spawn_app().await;
    // Anonymous: a 30 MiB "password" on the sign-in form.
    let visitor = app.another_visitor();
    visitor.get("/login").await;
    let huge = "x".repeat(30 * 1024 * 1024);
    let refused = visitor
        .post_form("/login", &[("email", "ada@acme.test"), ("password", &huge)])
        .await;
    assert_eq!(refused.status(), 413);
    assert!(refused.text().contains("64 KiB"), "{}", refused.text());
    // Within the form limit, still far above what a sign-in is.
    let padded = "x".repeat(20 * 1024);
    let refused = visitor
        .post_form(
            "/login",
            &[("email", "ada@acme.test"), ("password", &padded)],
        )
        .await;
    assert_eq!(refused.status(), 413);
    assert!(refused.text().contains("8 KiB"), "{}", refused.text());

    // Signed in: a 100 KiB profile form.
    let ada = app.signed_in_as(Role::PlainUser).await;
    let refused = ada
        .post_form(
            "/settings/account/profile",
            &[("first_name", &"A".repeat(100 * 1024)), ("last_name", "L")],
        )
        .await;
    assert_eq!(refused.status(), 413);
    assert!(refused.text().contains("64 KiB"));
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'user.profile_updated'")
            .await,
        0
    );
}

/// A browser at `address`, behind the test's trusted proxy.
fn visitor_at(app: &crate::support::TestApp, address: &str) -> crate::support::Visitor {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("X-Forwarded-For", address.parse().expect("a header value"));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .expect("client");
    crate::support::Visitor::with_client(&app.address, client)
}

fn behind_a_proxy(settings: &mut guildhall::config::Settings) {
    settings.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
}

#[tokio::test]
async fn guessing_from_one_address_does_not_lock_the_owner_out_from_another() {
    let app = spawn_app_with(behind_a_proxy).await;
    let ada = app.user("ada@acme.test").create().await;
    let attacker = visitor_at(&app, "198.51.100.1");
    attacker.get("/login").await;
    for _ in 0..5 {
        assert_eq!(attacker.login_with(&ada.email, "guess").await.status(), 422);
    }
    assert_eq!(
        attacker.login(&ada).await.status(),
        429,
        "the attacker is slowed"
    );

    let owner = visitor_at(&app, "203.0.113.5");
    owner.get("/login").await;
    assert_eq!(owner.login(&ada).await.status(), 303, "the owner signs in");
}

#[tokio::test]
async fn parallel_guesses_are_counted_before_any_is_checked() {
    let app = spawn_app().await;
    let ada = app.user("ada@acme.test").create().await;
    let guessers: Vec<_> = (0..20).map(|_| app.another_visitor()).collect();
    for guesser in &guessers {
        guesser.get("/login").await;
    }
    let answers =
        futures_util::future::join_all(guessers.iter().map(|g| g.login_with(&ada.email, "guess")))
            .await;
    let checked = answers.iter().filter(|a| a.status() == 422).count();
    let throttled = answers.iter().filter(|a| a.status() == 429).count();
    assert_eq!(checked, 5, "at most the limit is ever evaluated");
    assert_eq!(throttled, 15);
}

#[tokio::test]
async fn a_hundred_failures_in_a_row_lock_the_account_itself() {
    let app = spawn_app_with(behind_a_proxy).await;
    let ada = app.user("ada@acme.test").create().await;
    app.sql("INSERT INTO login_failures (key) SELECT 'account:ada@acme.test' FROM generate_series(1, 99)")
        .await;
    let anywhere = visitor_at(&app, "192.0.2.77");
    anywhere.get("/login").await;
    assert_eq!(anywhere.login_with(&ada.email, "guess").await.status(), 422);
    let owner = visitor_at(&app, "203.0.113.5");
    owner.get("/login").await;
    let locked = owner.login(&ada).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.text().contains("locked"), "{}", locked.text());
}

#[tokio::test]
async fn a_hash_made_with_weaker_parameters_is_made_again_at_the_next_sign_in() {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    let app = spawn_app().await;
    let ada = app.user("ada@acme.test").create().await;
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4_096, 1, 1, None).expect("params"),
    )
    .hash_password(ada.password.as_bytes())
    .expect("hash")
    .to_string();
    app.sql(&format!(
        "UPDATE users SET password_hash = '{weak}' WHERE id = {}",
        ada.id.0
    ))
    .await;
    assert_eq!(app.login(&ada).await.status(), 303);
    assert_eq!(
        app.number(
            "SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_new_password_that_is_common_or_guessable_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let member = app.signed_in_as(Role::OrgMember).await;
    let org_name = app
        .stored_org(member.org.expect("an organization"))
        .await
        .name;
    let local_part = member
        .user
        .email
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    for (new, why) in [
        ("1qaz2wsx3edc".to_owned(), "most common".to_owned()),
        (format!("{local_part} forever"), local_part.clone()),
        (format!("{org_name} forever!"), org_name.to_lowercase()),
    ] {
        let refused = member
            .post_form(
                "/settings/account/password",
                &[
                    ("current_password", member.user.password.as_str()),
                    ("new_password", new.as_str()),
                    ("confirm_password", new.as_str()),
                ],
            )
            .await;
        assert_eq!(refused.status(), 422, "{new}");
        let error = refused.html().field_error("password-new_password");
        assert!(
            error.as_deref().is_some_and(|e| e.contains(&why)),
            "{new}: {error:?}"
        );
    }
}

#[tokio::test]
async fn security_events_are_logged_by_name_with_the_user_and_address_and_no_secret() {
    let logs = crate::support::captured_logs();
    let app = spawn_app().await;
    let ada = app.user("ada.events@acme.test").create().await;
    let visitor = app.another_visitor();
    visitor.get("/login").await;
    visitor.login_with(&ada.email, "a wrong secret 123").await;
    let member = app.signed_in_as(Role::OrgMember).await;
    member.get("/admin/organizations").await;
    let forged = member
        .client
        .post(member.url("/settings/account/profile"))
        .form(&[("first_name", "X"), ("last_name", "Y")]);
    member.send(forged).await;

    let text =
        String::from_utf8_lossy(&logs.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    let line_of = |event: &str| {
        text.lines()
            .find(|line| {
                line.contains(&format!("event=\"{event}\""))
                    || line.contains(&format!("event={event}"))
            })
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {event} line in:\n{text}"))
    };
    let failed = line_of("authn_login_fail");
    assert!(
        failed.contains("ada.events@acme.test") && failed.contains("ip=127.0.0.1"),
        "{failed}"
    );
    assert!(failed.contains("request_id"), "the request's id: {failed}");
    assert!(line_of("authz_fail").contains(&member.user.email));
    assert!(line_of("malicious_csrf").contains("/settings/account/profile"));
    assert!(!text.contains("a wrong secret 123"), "never a password");
}

#[tokio::test]
async fn anonymous_visitors_leave_no_session_behind_and_still_need_the_token() {
    let app = spawn_app().await;
    for _ in 0..50 {
        assert_eq!(app.another_visitor().get("/login").await.status(), 200);
    }
    assert_eq!(app.number("SELECT count(*) FROM sessions").await, 0);

    // Another visitor's token (without their cookie) is refused.
    let ada = app.user("ada@acme.test").create().await;
    let victim = app.another_visitor();
    victim.get("/login").await;
    let stranger = app.another_visitor();
    let forged = stranger.client.post(stranger.url("/login")).form(&[
        ("email", ada.email.as_str()),
        ("password", ada.password.as_str()),
        ("csrf_token", victim.csrf_token().as_str()),
    ]);
    assert_eq!(stranger.send(forged).await.status(), 403);

    // The visitor with the cookie signs in, and only then is a session stored.
    assert_eq!(victim.login(&ada).await.status(), 303);
    assert_eq!(app.number("SELECT count(*) FROM sessions").await, 1);
}

/// This process's resident memory, in MiB.
fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

#[tokio::test]
async fn failed_sign_ins_in_bursts_leave_memory_bounded() {
    let app = spawn_app_with(behind_a_proxy).await;
    let before = resident_mib();
    for burst in 0..10 {
        let visitors: Vec<_> = (0..24)
            .map(|n| visitor_at(&app, &format!("10.9.{burst}.{n}")))
            .collect();
        for visitor in &visitors {
            visitor.get("/login").await;
        }
        let answers = futures_util::future::join_all(visitors.iter().enumerate().map(
            |(n, visitor)| async move {
                visitor
                    .login_with(
                        &format!("user{burst}-{n}@acme.test"),
                        "not the password at all",
                    )
                    .await
            },
        ))
        .await;
        assert!(
            answers.iter().all(|a| a.status() == 422),
            "every attempt was checked"
        );
    }
    let grown = resident_mib().saturating_sub(before);
    // Four hashing threads keep 19 MiB of argon2 memory each; nothing else may pile up.
    assert!(
        grown < 100,
        "240 failed sign-ins grew the process by {grown} MiB"
    );
}

#[tokio::test]
async fn sensitive_actions_ask_for_the_password_again_after_fifteen_minutes() {
    let app = spawn_app().await;
    let root = app.signed_in_as(Role::SuperAdmin).await;
    let ada = app.user("ada@acme.test").create().await;
    assert_eq!(
        root.get("/admin/settings").await.status(),
        200,
        "just signed in"
    );
    // Active, but the password was entered 20 minutes ago.
    for _ in 0..2 {
        app.clock.advance(chrono::Duration::minutes(10));
        assert_eq!(root.get("/admin/organizations").await.status(), 200);
    }
    let asked = root.get("/admin/settings").await;
    assert_eq!(
        asked.location(),
        "/settings/account/confirm?back=%2Fadmin%2Fsettings"
    );
    let disable = format!("/admin/users/{}/status", ada.id.0);
    let refused = root.post_form(&disable, &[("status", "disabled")]).await;
    assert!(
        refused.location().starts_with("/settings/account/confirm?"),
        "{}",
        refused.location()
    );
    assert_eq!(
        app.number("SELECT count(*) FROM users WHERE status = 'disabled'")
            .await,
        0
    );

    root.get("/settings/account/confirm?back=%2Fadmin%2Fsettings")
        .await;
    let wrong = root
        .post_form(
            "/settings/account/confirm",
            &[("password", "not it at all"), ("back", "/admin/settings")],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let confirmed = root
        .post_form(
            "/settings/account/confirm",
            &[
                ("password", root.user.password.as_str()),
                ("back", "/admin/settings"),
            ],
        )
        .await;
    assert_eq!(
        confirmed.location(),
        "/admin/settings",
        "back to the action"
    );
    assert_eq!(root.get("/admin/settings").await.status(), 200);
    assert_eq!(
        root.post_form(&disable, &[("status", "disabled")])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.number("SELECT count(*) FROM users WHERE status = 'disabled'")
            .await,
        1
    );
}

/// An invitation link's token is a live sign-up secret: a failed sign-in on its page is logged
/// (with the request's path), but never the token.
#[tokio::test]
async fn invitation_tokens_never_reach_the_logs() {
    let logs = crate::support::captured_logs();
    let sink = crate::support::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = crate::support::spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let owner = app.user("owner@tokens.test").create().await;
    let org = app.org("Tokens").owned_by(&owner).create().await;
    let invitee = app.user("invitee@elsewhere.test").create().await;
    app.login(&owner).await;
    app.get("/settings/org/users").await;
    app.post_htmx(
        "/settings/org/invitations",
        &[
            ("emails", &invitee.email),
            ("role", "member"),
            ("intent", "send"),
        ],
    )
    .await;
    let mail = sink.wait_for(1).await.remove(0);
    let data = mail.data.replace("=\r\n", "");
    let start = data.find("/invitations/").expect("a link") + "/invitations/".len();
    let token: String = data[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .collect();
    let visitor = app.another_visitor();
    visitor.get(&format!("/invitations/{token}")).await;
    let refused = visitor
        .post_form(
            &format!("/invitations/{token}/sign-in"),
            &[("password", "not the password")],
        )
        .await;
    assert_eq!(refused.status(), 422);

    let text =
        String::from_utf8_lossy(&logs.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(
        text.contains("authn_login_fail") && text.contains("/invitations/[token]/sign-in"),
        "{text}"
    );
    assert!(!text.contains(&token), "the token is in the logs:\n{text}");
    let _ = org;
}
