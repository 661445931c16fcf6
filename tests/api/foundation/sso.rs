//! Single sign-on through a real OpenID provider (`support::oidc`): a new person is
//! provisioned into the organization of their domain, an existing one signs in, every error
//! ends on a clear page and creates nothing, and an organization can require SSO.

use crate::support::oidc::{Account, OidcProvider, through_the_provider};
use crate::support::smtp::SmtpSink;
use crate::support::{OrgId, TestApp, TestUser, Visitor, spawn_app_with};

const CLIENT: &str = "guildhall";
const SECRET: &str = "a-client-secret";

struct Sso {
    app: TestApp,
    _provider: OidcProvider,
    org: OrgId,
    /// Example's owner, who has a password too.
    owner: TestUser,
    base: String,
    mail: SmtpSink,
}

/// An app whose own address is known before it starts (the provider sends browsers back to
/// it), SSO on, and Example (example.com) signing in through the provider.
async fn sso_app() -> Sso {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mail = SmtpSink::start().await;
    let app = spawn_app_with(|settings| {
        settings.bind = format!("127.0.0.1:{port}");
        settings.base_url = base.clone();
        settings.smtp_url = Some(mail.url());
    })
    .await;
    let provider = OidcProvider::start(
        CLIENT,
        SECRET,
        &format!("{base}/login/sso/callback"),
        &[
            Account {
                email: "alice@example.com",
                verified: true,
            },
            Account {
                email: "mallory@example.com",
                verified: false,
            },
            Account {
                email: "owner@example.com",
                verified: true,
            },
        ],
    )
    .await;
    let owner = app.user("owner@example.com").create().await;
    let org = app
        .org("Example")
        .owned_by(&owner)
        .domain(Some("example.com"))
        .create()
        .await;
    configure(&app, org, &provider.issuer, SECRET).await;
    app.sql("UPDATE platform_settings SET oauth_login_enabled = true")
        .await;
    Sso {
        app,
        _provider: provider,
        org,
        owner,
        base,
        mail,
    }
}

/// The organization's client, its secret sealed as the OAuth dialog seals it.
async fn configure(app: &TestApp, org: OrgId, issuer: &str, secret: &str) {
    use diesel::sql_types::{BigInt, Binary, Text};
    use diesel_async::RunQueryDsl;
    let context = guildhall::crypto::SealedIn::OAuthSecret(org).context();
    let sealed =
        guildhall::crypto::seal(&app.master_key, secret.as_bytes(), &context).expect("seal");
    diesel::sql_query(
        "INSERT INTO org_oauth_settings (org_id, issuer_url, client_id, client_secret_sealed) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO UPDATE SET issuer_url = $2, \
         client_secret_sealed = $4",
    )
    .bind::<BigInt, _>(org.0)
    .bind::<Text, _>(issuer)
    .bind::<Text, _>(CLIENT)
    .bind::<Binary, _>(sealed)
    .execute(&mut app.conn().await)
    .await
    .expect("configure SSO");
}

/// Starts SSO as `email` and returns the address the provider sends the browser back to.
async fn to_the_provider_and_back(sso: &Sso, visitor: &Visitor, email: &str) -> String {
    visitor.get("/login/sso").await;
    let sent = visitor.post_form("/login/sso", &[("email", email)]).await;
    assert_eq!(sent.status(), 200, "{}", sent.text());
    let provider = sent
        .html()
        .attr("#sso-continue", "href")
        .expect("the way on");
    let refresh = sent
        .html()
        .attr("meta[http-equiv=refresh]", "content")
        .expect("a redirect");
    assert_eq!(refresh, format!("0;url={provider}"));
    let back = through_the_provider(&provider, &sso.base).await;
    back.strip_prefix(&sso.base)
        .expect("our address")
        .to_owned()
}

async fn users(app: &TestApp) -> i64 {
    app.number("SELECT count(*) FROM users").await
}

#[tokio::test]
async fn a_new_person_is_provisioned_into_their_domains_organization_and_signs_in_again() {
    let sso = sso_app().await;
    let app = &sso.app;
    let login = app.get("/login").await.html();
    assert_eq!(
        login.attr("#sign-in-with-sso", "href").as_deref(),
        Some("/login/sso")
    );

    let alice = app.another_visitor();
    let back = to_the_provider_and_back(&sso, &alice, "Alice@Example.com").await;
    assert!(back.starts_with("/login/sso/callback?code="), "{back}");
    let signed_in = alice.get(&back).await;
    assert_eq!(signed_in.status(), 303, "{}", signed_in.text());
    assert_eq!(signed_in.location(), "/");
    assert_eq!(alice.get("/").await.location(), "/settings/org");
    let page = alice.get("/settings/org").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.html()
            .text(".alert-success")
            .contains("created by single sign-on")
    );
    assert_eq!(
        app.string("SELECT coalesce(password_hash, 'none') || ' ' || first_name FROM users WHERE email = 'alice@example.com'")
            .await,
        "none Alice"
    );
    assert_eq!(
        app.string(&format!(
            "SELECT role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE u.email = 'alice@example.com' AND m.org_id = {}",
            sso.org.0
        ))
        .await,
        "member"
    );
    // Both entries say where the sign-in came from, though nobody was signed in yet.
    let entries = app
        .number(
            "SELECT count(*) FROM audit_log WHERE action IN ('user.created_by_sso', \
             'member.joined_by_domain') AND ip = '127.0.0.1' AND request_id IS NOT NULL",
        )
        .await;
    assert_eq!(entries, 2);

    // With no password to reset, a reset request is answered by the way to sign in.
    let asking = app.another_visitor();
    asking.get("/password-reset").await;
    let asked = asking
        .post_form("/password-reset", &[("email", "alice@example.com")])
        .await;
    assert_eq!(asked.status(), 200);
    let mails = sso.mail.wait_for(1).await;
    assert_eq!(mails[0].to, ["alice@example.com"]);
    let text = mails[0].data.replace("=\r\n", "");
    assert!(text.contains("no password to reset"), "{text}");
    assert_eq!(mails[0].link("/login/sso"), "/login/sso");
    assert!(!mails[0].data.contains("/password-reset/"));

    // Again, in another browser: the same account, nothing new.
    let before = users(app).await;
    let again = app.another_visitor();
    let back = to_the_provider_and_back(&sso, &again, "alice@example.com").await;
    assert_eq!(again.get(&back).await.location(), "/");
    assert_eq!(users(app).await, before);
    assert_eq!(again.get("/settings/org").await.status(), 200);
}

#[tokio::test]
async fn every_failure_ends_on_a_clear_page_and_creates_nothing() {
    let sso = sso_app().await;
    let app = &sso.app;
    let before = users(app).await;

    // A tampered state.
    let visitor = app.another_visitor();
    let back = to_the_provider_and_back(&sso, &visitor, "alice@example.com").await;
    let tampered = back.replace("state=", "state=x");
    let refused = visitor.get(&tampered).await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .html()
            .text("#sso-error")
            .contains("not started in this browser")
    );
    // The genuine return, after that, is used up too: a sign-in is tried once.
    assert_eq!(visitor.get(&back).await.status(), 400);
    // Another browser cannot finish what this one started.
    let back = to_the_provider_and_back(&sso, &visitor, "alice@example.com").await;
    assert_eq!(app.another_visitor().get(&back).await.status(), 400);

    // An address the provider has not verified.
    let back = to_the_provider_and_back(&sso, &visitor, "mallory@example.com").await;
    let refused = visitor.get(&back).await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .html()
            .text("#sso-error")
            .contains("not verified your email")
    );

    // A domain without SSO, and a typo.
    visitor.get("/login/sso").await;
    let none = visitor
        .post_form("/login/sso", &[("email", "bob@nowhere.test")])
        .await;
    assert_eq!(none.status(), 422);
    assert!(
        none.html()
            .text("#sso-error")
            .contains("No organization signs in")
    );
    assert_eq!(
        none.html().attr("#sso-email", "value").as_deref(),
        Some("bob@nowhere.test")
    );
    let typo = visitor
        .post_form("/login/sso", &[("email", "alice@")])
        .await;
    assert_eq!(typo.status(), 422);

    // The wrong client secret: the provider refuses the code.
    configure(app, sso.org, &sso._provider.issuer, "not-the-secret").await;
    let back = to_the_provider_and_back(&sso, &visitor, "alice@example.com").await;
    let refused = visitor.get(&back).await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .html()
            .text("#sso-error")
            .contains("did not sign you in")
    );

    // The provider down.
    configure(app, sso.org, "http://127.0.0.1:9", SECRET).await;
    visitor.get("/login/sso").await;
    let down = visitor
        .post_form("/login/sso", &[("email", "alice@example.com")])
        .await;
    assert_eq!(down.status(), 502);
    assert!(
        down.html()
            .text("#sso-error")
            .contains("could not be reached")
    );

    // SSO switched off on the platform.
    app.sql("UPDATE platform_settings SET oauth_login_enabled = false")
        .await;
    let off = visitor
        .post_form("/login/sso", &[("email", "alice@example.com")])
        .await;
    assert_eq!(off.status(), 404);
    let page = visitor.get("/login/sso").await;
    assert_eq!(page.status(), 404);
    assert!(page.html().text("#sso-error").contains("not offered"));
    assert_eq!(app.get("/login").await.html().count("#sign-in-with-sso"), 0);

    assert_eq!(users(app).await, before, "no account was made");
    assert_eq!(
        app.number("SELECT count(*) FROM sessions WHERE user_id IS NOT NULL")
            .await,
        0,
        "nobody was signed in"
    );
}

#[tokio::test]
async fn an_organization_that_requires_sso_turns_password_sign_in_away_but_not_super_admins() {
    let sso = sso_app().await;
    let app = &sso.app;
    let owner = &sso.owner;
    assert_eq!(app.another_visitor().login(owner).await.status(), 303);

    app.sql(&format!(
        "UPDATE org_oauth_settings SET sso_required = true WHERE org_id = {}",
        sso.org.0
    ))
    .await;
    let visitor = app.another_visitor();
    let refused = visitor.login(owner).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .html()
            .text("#login-error")
            .contains("single sign-on")
    );
    // The wrong password says nothing about SSO.
    let wrong = visitor
        .login_with("owner@example.com", "not the password at all")
        .await;
    assert!(!wrong.text().contains("single sign-on"));
    // SSO still signs them in.
    let back = to_the_provider_and_back(&sso, &visitor, "owner@example.com").await;
    assert_eq!(visitor.get(&back).await.location(), "/");

    let root = app
        .user("root@example.com")
        .super_admin()
        .member_of(sso.org, crate::support::OrgRole::Admin)
        .create()
        .await;
    assert_eq!(app.another_visitor().login(&root).await.status(), 303);
}

#[tokio::test]
async fn owners_and_admins_require_sso_on_the_security_page_and_members_cannot() {
    let sso = sso_app().await;
    let app = &sso.app;
    let owner = app.another_visitor();
    owner.login(&sso.owner).await;
    let page = owner.get("/settings/org/security").await.html();
    assert_eq!(
        page.count("#sso-required input[name=required]:not([checked])"),
        1
    );
    let saved = owner
        .post_form("/settings/org/security/sso", &[("required", "on")])
        .await;
    assert_eq!(saved.status(), 303);
    let page = owner.get("/settings/org/security").await.html();
    assert!(page.text(".alert-success").contains("single sign-on only"));
    assert_eq!(page.count("#sso-required input[name=required][checked]"), 1);
    let required = format!(
        "SELECT sso_required::int FROM org_oauth_settings WHERE org_id = {}",
        sso.org.0
    );
    assert_eq!(app.number(&required).await, 1);
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action = 'access_policy.sso_required_changed'"
        )
        .await,
        1
    );

    // A member may not; nor may anyone of an organization without a provider.
    let member = app
        .user("member@example.com")
        .member_of(sso.org, crate::support::OrgRole::Member)
        .create()
        .await;
    let visitor = app.another_visitor();
    // (Members of Example sign in with SSO now; this one was signed in before.)
    app.sql(&format!(
        "UPDATE org_oauth_settings SET sso_required = false WHERE org_id = {}",
        sso.org.0
    ))
    .await;
    visitor.login(&member).await;
    visitor.get("/settings/org").await;
    let refused = visitor
        .post_form("/settings/org/security/sso", &[("required", "")])
        .await;
    assert_eq!(refused.status(), 403);
    let other = app.signed_in_as(crate::support::Role::OrgOwner).await;
    other.get("/settings/org/security").await;
    assert!(
        other
            .get("/settings/org/security")
            .await
            .text()
            .contains("No identity provider")
    );
    let none = other
        .post_form("/settings/org/security/sso", &[("required", "on")])
        .await;
    assert_eq!(none.status(), 422);
    assert!(none.text().contains("no single sign-on configured"));
}

#[tokio::test]
async fn a_person_signs_in_with_sso_in_a_browser_end_to_end() {
    let sso = sso_app().await;
    let browser = crate::support::browser::Browser::start().await;
    browser.goto(&sso.app.url("/login")).await;
    browser.click("#sign-in-with-sso").await;
    browser.wait_for("#sso-email").await;
    browser.assert_accessible().await;
    browser.fill("#sso-email", "alice@example.com").await;
    browser.click("#sso-form button[type=submit]").await;
    // To the provider, which knows Alice, and back, signed in.
    browser
        .wait_for_containing(".alert-success", "created by single sign-on")
        .await;
    assert_eq!(browser.current_path().await, "/settings/org");
    browser.assert_accessible().await;

    // A refusal is a page of ours, readable and accessible too.
    browser
        .goto(&sso.app.url("/login/sso/callback?state=forged&code=x"))
        .await;
    browser
        .wait_for_containing("#sso-error", "not started in this browser")
        .await;
    browser.assert_accessible().await;
    browser.close().await;
}
