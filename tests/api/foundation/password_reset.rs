//! Forgotten passwords: the request is answered the same for every address, the link (only
//! its hash stored) sets a new password once within the hour and ends every session.

use crate::support::smtp::SmtpSink;
use crate::support::{Visitor, spawn_app_with};

const PAGE: &str = "/password-reset";

async fn ask(visitor: &Visitor, email: &str) -> String {
    visitor.get(PAGE).await;
    let answer = visitor.post_form(PAGE, &[("email", email)]).await;
    assert_eq!(answer.status(), 200);
    answer.html().text("main .card")
}

#[tokio::test]
async fn a_link_sets_a_new_password_once_and_ends_every_session() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    let ada = app.user("ada@acme.test").create().await;
    let signed_in = app.another_visitor();
    signed_in.login(&ada).await;
    assert_eq!(signed_in.get("/settings/account").await.status(), 200);

    // Known and unknown addresses get the same page; only the known one gets mail.
    let visitor = app.another_visitor();
    let known = ask(&visitor, "ADA@acme.test").await;
    let unknown = ask(&app.another_visitor(), "nobody@acme.test").await;
    assert_eq!(known, unknown);
    let mails = sink.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 1);
    assert_eq!(mails[0].to, ["ada@acme.test"]);
    let link = mails[0].link("/password-reset/");
    let token = link.trim_start_matches("/password-reset/");
    assert!(token.len() >= 43, "{link}");
    // Only a hash of the token is stored.
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM password_resets WHERE token_hash = sha256('{token}'::bytea)"
        ))
        .await,
        1
    );
    // Asking again at once sends nothing more.
    ask(&visitor, "ada@acme.test").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 1);

    let page = visitor.get(&link).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    let weak = visitor
        .post_form(
            &link,
            &[("new_password", "short"), ("confirm_password", "short")],
        )
        .await;
    assert_eq!(weak.status(), 422);
    assert!(
        weak.html()
            .field_error("new-password-new_password")
            .is_some()
    );
    let set = visitor
        .post_form(
            &link,
            &[
                ("new_password", "a brand new passphrase"),
                ("confirm_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(set.status(), 303, "{}", set.text());
    assert_eq!(set.header("location"), "/login?reset=1");

    // The old session ended; the new password signs in, the old one does not.
    assert_eq!(signed_in.get("/settings/account").await.status(), 303);
    let again = app.another_visitor();
    assert_eq!(
        again
            .login_with("ada@acme.test", "a brand new passphrase")
            .await
            .status(),
        303
    );
    assert_ne!(
        app.another_visitor()
            .login_with("ada@acme.test", &ada.password)
            .await
            .status(),
        303
    );
    // Used: the link opens nothing any more.
    assert_eq!(visitor.get(&link).await.status(), 410);
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'user.password_reset'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_link_works_once_under_twenty_concurrent_uses_and_not_after_an_hour() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    app.user("ada@acme.test").create().await;
    app.user("bob@acme.test").create().await;
    ask(&app.another_visitor(), "ada@acme.test").await;
    let link = sink.wait_for(1).await[0].link("/password-reset/");

    let mut visitors = Vec::new();
    for _ in 0..20 {
        let visitor = app.another_visitor();
        visitor.get(&link).await;
        visitors.push(visitor);
    }
    let uses = visitors.iter().enumerate().map(|(i, visitor)| {
        let link = link.clone();
        async move {
            let password = format!("concurrent passphrase {i:02}");
            visitor
                .post_form(
                    &link,
                    &[
                        ("new_password", password.as_str()),
                        ("confirm_password", password.as_str()),
                    ],
                )
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(uses).await;
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 410),
        "{statuses:?}"
    );

    // A link older than an hour opens nothing.
    ask(&app.another_visitor(), "bob@acme.test").await;
    let bobs = sink.wait_for(2).await[1].link("/password-reset/");
    app.clock.advance(chrono::Duration::minutes(61));
    let visitor = app.another_visitor();
    assert_eq!(visitor.get(&bobs).await.status(), 410);
}

#[tokio::test]
async fn disabled_accounts_and_service_accounts_get_no_link() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    let gone = app.user("gone@acme.test").create().await;
    app.sql(&format!(
        "UPDATE users SET status = 'disabled' WHERE id = {}",
        gone.id
    ))
    .await;
    let owner = app.user("owner@acme.test").create().await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    app.sql(&format!(
        "INSERT INTO users (email, first_name, service_of) \
         VALUES ('bot.1@service-accounts.invalid', 'Bot', {org})"
    ))
    .await;
    for email in ["gone@acme.test", "bot.1@service-accounts.invalid"] {
        ask(&app.another_visitor(), email).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(sink.received().is_empty());
    assert_eq!(app.number("SELECT count(*) FROM password_resets").await, 0);
}

#[tokio::test]
async fn the_reset_pages_work_in_a_browser_and_pass_axe() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    app.user("ada@acme.test").create().await;
    let browser = crate::support::browser::Browser::start().await;
    browser.goto(&app.url("/login")).await;
    browser.click("a[href='/password-reset']").await;
    browser.wait_for("input#email").await;
    browser.assert_accessible().await;
    browser.fill("#email", "ada@acme.test").await;
    browser.click("main button[type=submit]").await;
    browser.wait_for("main .alert-success").await;
    browser.assert_accessible().await;
    let link = sink.wait_for(1).await[0].link("/password-reset/");
    browser.goto(&app.url(&link)).await;
    browser.wait_for("#new-password").await;
    browser.assert_accessible().await;
    browser
        .fill("#new-password-new_password", "a brand new passphrase")
        .await;
    browser
        .fill("#new-password-confirm_password", "a brand new passphrase")
        .await;
    browser.click("#new-password button[type=submit]").await;
    let notice = browser.wait_for("main .alert-success").await;
    assert!(notice.contains("sign in with the new one"), "{notice}");
    browser.assert_accessible().await;
    browser.goto(&app.url(&link)).await;
    browser.wait_for("main .alert-error").await;
    browser.assert_accessible().await;
    browser.close().await;
}
