//! Invitations: the dry run and the commit, the email over real SMTP with its link followed to
//! a joined member, single use under a race, expiry, resend and cancel, a dead SMTP server,
//! two instances sharing one outbox, and the rules (role, domain, single organization).

use std::time::Duration;

use crate::support::smtp::{ReceivedMail, SmtpSink};
use crate::support::{Membership, OrgRole, TestApp, TestUser, spawn_app, spawn_app_with};

async fn owner_of_acme(app: &TestApp) -> (crate::support::OrgId, TestUser) {
    let owner = app
        .user("owner@acme.test")
        .named("Olive", "Owner")
        .create()
        .await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    app.login(&owner).await;
    app.get("/settings/org/users").await;
    (org, owner)
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn the_dry_run_says_per_line_what_would_happen_and_writes_nothing() {
    let app = spawn_app().await;
    let (org, _) = owner_of_acme(&app).await;
    app.user("member@acme.test")
        .joins(Membership::new(org, OrgRole::Member))
        .create()
        .await;
    let pasted = "new@acme.test, member@acme.test\nnot-an-email\nNEW@acme.test\n\nsecond@acme.test";
    let response = app
        .post_htmx(
            "/settings/org/invitations",
            &[("emails", pasted), ("role", "member"), ("intent", "check")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let outcomes = response
        .html()
        .texts(".invite-report tbody td:nth-child(3)");
    assert_eq!(
        outcomes,
        vec![
            "Will be invited",
            "Already a member: skipped",
            "Enter an email address like name@example.com.",
            "Listed twice: invited once",
            "Will be invited",
        ]
    );
    assert_eq!(app.number("SELECT count(*) FROM invitations").await, 0);
    assert_eq!(app.number("SELECT count(*) FROM outbox").await, 0);
}

#[tokio::test]
async fn an_invitation_goes_by_smtp_and_its_link_makes_a_new_member_in_one_step() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let (org, _) = owner_of_acme(&app).await;
    let sent = app
        .post_htmx(
            "/settings/org/invitations",
            &[
                ("emails", "grace@acme.test"),
                ("role", "member"),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(sent.status(), 200);
    assert_eq!(sent.header("hx-trigger"), "invitations-changed");
    let mails = sink.wait_for(1).await;
    let mail = &mails[0];
    assert_eq!(mail.to, vec!["grace@acme.test".to_owned()]);
    assert!(
        mail.data.contains("Content-Type: text/plain")
            && mail.data.contains("Content-Type: text/html")
    );
    assert!(mail.data.contains("Olive Owner") && mail.data.contains("Acme"));
    let link = mail.invitation_link();
    // Only the hash of the token is stored.
    let token = link.trim_start_matches("/invitations/");
    assert!(token.len() >= 22, "{token}");
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM invitations WHERE encode(token_hash, 'escape') LIKE '%{token}%'"
        ))
        .await,
        0
    );
    wait_until("the sent message is dropped from the outbox", async || {
        app.number("SELECT count(*) FROM outbox WHERE message_sealed IS NOT NULL")
            .await
            == 0
    })
    .await;

    let invitee = app.another_visitor();
    let page = invitee.get(&link).await;
    assert_eq!(page.status(), 200);
    let html = page.html();
    assert!(html.text("h1").contains("Join Acme"));
    assert!(html.text("main").contains("Olive Owner invited"));
    let joined = invitee
        .post_form(
            &format!("{link}/register"),
            &[
                ("first_name", "Grace"),
                ("last_name", "Hopper"),
                ("password", "correct horse battery staple"),
                ("confirm_password", "correct horse battery staple"),
            ],
        )
        .await;
    assert_eq!(joined.status(), 303, "{}", joined.text());
    assert_eq!(joined.location(), "/settings/org");
    let overview = invitee.get("/settings/org").await;
    assert!(overview.html().text("main").contains("Welcome to Acme"));
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = {org} AND u.email = 'grace@acme.test' AND m.role = 'member'"
        ))
        .await,
        1
    );
    // Used once: the link is closed now.
    let again = app.another_visitor().get(&link).await;
    assert_eq!(again.status(), 410);
    assert!(again.html().text("main").contains("already used"));
}

#[tokio::test]
async fn twenty_people_racing_with_one_link_make_one_member() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let (org, _) = owner_of_acme(&app).await;
    app.post_htmx(
        "/settings/org/invitations",
        &[
            ("emails", "race@acme.test"),
            ("role", "member"),
            ("intent", "send"),
        ],
    )
    .await;
    let link = sink.wait_for(1).await[0].invitation_link();
    let visitors: Vec<_> = (0..20).map(|_| app.another_visitor()).collect();
    for visitor in &visitors {
        visitor.get(&link).await;
    }
    let register = format!("{link}/register");
    let attempts = visitors.iter().map(|visitor| {
        visitor.post_form(
            &register,
            &[
                ("first_name", "Race"),
                ("last_name", "Runner"),
                ("password", "correct horse battery staple"),
                ("confirm_password", "correct horse battery staple"),
            ],
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE org_id = {org}"
        ))
        .await,
        2
    );
    assert_eq!(
        app.number("SELECT count(*) FROM users WHERE email = 'race@acme.test'")
            .await,
        1
    );
}

#[tokio::test]
async fn resend_replaces_the_link_cancel_closes_it_and_expiry_closes_it_too() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    owner_of_acme(&app).await;
    app.post_htmx(
        "/settings/org/invitations",
        &[
            ("emails", "a@acme.test, b@acme.test"),
            ("role", "member"),
            ("intent", "send"),
        ],
    )
    .await;
    let first = sink.wait_for(2).await;
    let link_to = |mails: &[ReceivedMail], to: &str| {
        mails
            .iter()
            .rev()
            .find(|m| m.to[0] == to)
            .expect("a mail")
            .invitation_link()
    };
    let old_a = link_to(&first, "a@acme.test");
    let id_a = app
        .number("SELECT id FROM invitations WHERE email = 'a@acme.test'")
        .await;
    let id_b = app
        .number("SELECT id FROM invitations WHERE email = 'b@acme.test'")
        .await;

    let list = app
        .post_htmx(&format!("/settings/org/invitations/{id_a}/resend"), &[])
        .await;
    assert_eq!(list.status(), 200);
    let mails = sink.wait_for(3).await;
    let new_a = link_to(&mails, "a@acme.test");
    assert_ne!(old_a, new_a);
    assert_eq!(app.another_visitor().get(&old_a).await.status(), 410);
    assert_eq!(app.another_visitor().get(&new_a).await.status(), 200);

    let cancelled = app
        .post_htmx(&format!("/settings/org/invitations/{id_b}/cancel"), &[])
        .await;
    assert!(
        cancelled
            .html()
            .text(&format!("#invitation-{id_b}"))
            .contains("Cancelled")
    );
    let link_b = link_to(&mails, "b@acme.test");
    assert!(
        app.another_visitor()
            .get(&link_b)
            .await
            .html()
            .text("main")
            .contains("cancelled")
    );
    // Cancelling twice is refused: it is closed.
    assert_eq!(
        app.post_htmx(&format!("/settings/org/invitations/{id_b}/cancel"), &[])
            .await
            .status(),
        403
    );

    app.clock.advance(chrono::Duration::days(8));
    let expired = app.another_visitor().get(&new_a).await;
    assert_eq!(expired.status(), 410);
    assert!(expired.html().text("main").contains("expired"));
}

#[tokio::test]
async fn with_the_smtp_server_down_the_invitation_waits_shows_the_failure_and_goes_out_later() {
    let sink = SmtpSink::start_down().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    owner_of_acme(&app).await;
    app.post_htmx(
        "/settings/org/invitations",
        &[
            ("emails", "later@acme.test"),
            ("role", "member"),
            ("intent", "send"),
        ],
    )
    .await;
    wait_until("the failure is recorded", async || {
        app.number("SELECT count(*) FROM invitations WHERE send_failure IS NOT NULL")
            .await
            == 1
    })
    .await;
    let page = app.get("/settings/org/users").await.html();
    assert!(page.text("#invitation-table").contains("Sending failed"));

    sink.come_back();
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].to, vec!["later@acme.test".to_owned()]);
    wait_until("the invitation shows it was sent", async || {
        app.number("SELECT count(*) FROM invitations WHERE send_failure IS NULL AND last_sent_at IS NOT NULL").await == 1
    })
    .await;
}

#[tokio::test]
async fn two_instances_sharing_one_outbox_send_each_email_exactly_once() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    // A second instance on the same database, with the same keys.
    let mut settings = crate::support::test_settings(app.db.url());
    settings.smtp_url = Some(url);
    settings.master_key = app.master_key.clone().into();
    let second = guildhall::startup::Application::build(settings)
        .await
        .expect("second instance");
    tokio::spawn(second.run_until_stopped());

    owner_of_acme(&app).await;
    let emails: Vec<String> = (0..30).map(|n| format!("person{n}@acme.test")).collect();
    app.post_htmx(
        "/settings/org/invitations",
        &[
            ("emails", &emails.join("\n")),
            ("role", "member"),
            ("intent", "send"),
        ],
    )
    .await;
    sink.wait_for(30).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let mut received: Vec<String> = sink.received().iter().map(|m| m.to[0].clone()).collect();
    received.sort();
    let mut expected = emails.clone();
    expected.sort();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn inviting_checks_the_role_the_teams_the_domain_and_the_size() {
    let app = spawn_app().await;
    let owner = app.user("owner@acme.test").create().await;
    let org = app
        .org("Acme")
        .owned_by(&owner)
        .restricted_to_domain()
        .create()
        .await;
    let admin = app
        .user("admin@acme.test")
        .joins(Membership::new(org, OrgRole::Admin))
        .create()
        .await;
    let member = app
        .user("member@acme.test")
        .joins(Membership::new(org, OrgRole::Member))
        .create()
        .await;
    let other_owner = app.user("owner@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&other_owner).create().await;
    app.sql(&format!(
        "WITH team AS (INSERT INTO teams (id, org_id, name) VALUES (77, {globex}, 'Globex team') \
         RETURNING id, org_id) \
         INSERT INTO team_members (team_id, org_id, user_id, role) \
         SELECT id, org_id, {}, 'owner' FROM team",
        other_owner.id
    ))
    .await;

    let as_admin = app.another_visitor();
    as_admin.login(&admin).await;
    as_admin.get("/settings/org/users").await;
    let invite = |role: &'static str, emails: String, team: Option<&'static str>| {
        let visitor = &as_admin;
        async move {
            let mut fields = vec![
                ("emails", emails.as_str()),
                ("role", role),
                ("intent", "send"),
            ];
            if let Some(team) = team {
                fields.push(("team", team));
            }
            visitor
                .post_htmx("/settings/org/invitations", &fields)
                .await
        }
    };
    // A role at or above one's own, forged.
    assert_eq!(
        invite("admin", "x@acme.test".into(), None).await.status(),
        403
    );
    assert_eq!(
        invite("owner", "x@acme.test".into(), None).await.status(),
        403
    );
    // Another organization's team.
    assert_eq!(
        invite("member", "x@acme.test".into(), Some("77"))
            .await
            .status(),
        404
    );
    // Outside the restricted domain: reported on its line, the others invited.
    let report = invite("member", "x@acme.test\nx@elsewhere.test".into(), None).await;
    assert_eq!(report.status(), 200);
    let outcomes = report.html().texts(".invite-report tbody td:nth-child(3)");
    assert_eq!(outcomes[0], "Invited");
    assert!(
        outcomes[1].contains("only admits emails of acme.test"),
        "{outcomes:?}"
    );
    // More than 100 lines.
    let many: Vec<String> = (0..101).map(|n| format!("p{n}@acme.test")).collect();
    let too_many = invite("member", many.join(","), None).await;
    assert_eq!(too_many.status(), 422);
    assert!(
        too_many
            .html()
            .text("#invite-emails-error")
            .contains("at most 100")
    );
    // A 10,000-line paste is refused whole, before it is read.
    let huge: Vec<String> = (0..10_000)
        .map(|n| format!("person{n}@acme.test"))
        .collect();
    let refused = invite("member", huge.join("\n"), None).await;
    assert!(
        refused.status() == 413 || refused.status() == 422,
        "{}",
        refused.status()
    );
    // A member may not invite at all.
    let as_member = app.another_visitor();
    as_member.login(&member).await;
    as_member.get("/settings/org").await;
    let response = as_member
        .post_form(
            "/settings/org/invitations",
            &[
                ("emails", "y@acme.test"),
                ("role", "member"),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);

    assert_eq!(app.number("SELECT count(*) FROM invitations").await, 1);
}

#[tokio::test]
async fn the_single_organization_policy_refuses_on_invite_and_on_accept_without_naming_the_other() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let (_, _) = owner_of_acme(&app).await;
    let elsewhere_owner = app.user("boss@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&elsewhere_owner).create().await;
    let taken = app
        .user("taken@globex.test")
        .joins(Membership::new(globex, OrgRole::Member))
        .create()
        .await;
    // Invited while the policy is off, then the policy is switched on before accepting.
    app.post_htmx(
        "/settings/org/invitations",
        &[
            ("emails", "taken@globex.test"),
            ("role", "member"),
            ("intent", "send"),
        ],
    )
    .await;
    let link = sink.wait_for(1).await[0].invitation_link();
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;

    let check = app
        .post_htmx(
            "/settings/org/invitations",
            &[
                ("emails", "taken@globex.test"),
                ("role", "member"),
                ("intent", "check"),
            ],
        )
        .await;
    let line = check.html().texts(".invite-report tbody td:nth-child(3)");
    // Already invited wins over the policy in the dry run; a fresh address shows the policy.
    assert_eq!(
        line[0],
        "Already invited: skipped (resend it from the list below)"
    );

    let invitee = app.another_visitor();
    invitee.login(&taken).await;
    invitee.get(&link).await;
    let refused = invitee.post_form(&format!("{link}/join"), &[]).await;
    assert_eq!(refused.status(), 409);
    let text = refused.html().text("#invitation-problem");
    assert!(
        text.contains("single-organization") && !text.contains("Globex"),
        "{text}"
    );
    assert_eq!(app.number("SELECT count(*) FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = 'taken@globex.test')").await, 1);
    assert_eq!(
        app.number("SELECT count(*) FROM invitations WHERE status = 'pending'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_owner_named_without_an_account_is_invited_to_set_a_password_and_owns_the_organization()
{
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let existing = app.user("has-password@acme.test").create().await;
    let root = app.signed_in_as(crate::support::Role::SuperAdmin).await;
    root.get("/admin/organizations/new").await;
    for (name, owner) in [
        ("Fresh Org", "fresh.owner@fresh.test"),
        ("Known Org", existing.email.as_str()),
    ] {
        let created = root
            .post_form(
                "/admin/organizations",
                &[
                    ("name", name),
                    ("contact_name", "Contact"),
                    ("country", "DE"),
                    ("email", "contact@fresh.test"),
                    ("owner_email", owner),
                ],
            )
            .await;
        assert_eq!(created.status(), 303, "{}", created.text());
    }
    // Only the owner without a password gets an invitation.
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["fresh.owner@fresh.test".to_owned()]);
    assert!(mails[0].data.contains("as the owner"));
    let link = mails[0].invitation_link();
    let owner = app.another_visitor();
    let page = owner.get(&link).await.html();
    assert!(page.has("#register"), "a new password is set on the page");
    let joined = owner
        .post_form(
            &format!("{link}/register"),
            &[
                ("first_name", "Fresh"),
                ("last_name", "Owner"),
                ("password", "correct horse battery staple"),
                ("confirm_password", "correct horse battery staple"),
            ],
        )
        .await;
    assert_eq!(joined.status(), 303, "{}", joined.text());
    let overview = owner.get("/settings/org").await.html();
    assert!(overview.text("h1").contains("Fresh Org"));
    assert_eq!(
        app.number("SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id \
                    WHERE u.email = 'fresh.owner@fresh.test' AND m.role = 'owner' AND u.password_hash IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn another_organizations_invitation_cannot_be_resent_or_cancelled() {
    let app = spawn_app().await;
    let (_, _) = owner_of_acme(&app).await;
    let other = app.another_visitor();
    let other_owner = app.user("owner@globex.test").create().await;
    app.org("Globex").owned_by(&other_owner).create().await;
    other.login(&other_owner).await;
    other.get("/settings/org/users").await;
    other
        .post_htmx(
            "/settings/org/invitations",
            &[
                ("emails", "guest@globex.test"),
                ("role", "member"),
                ("intent", "send"),
            ],
        )
        .await;
    let id = app
        .number("SELECT id FROM invitations WHERE email = 'guest@globex.test'")
        .await;

    for action in ["resend", "cancel"] {
        let response = app
            .post_form(&format!("/settings/org/invitations/{id}/{action}"), &[])
            .await;
        assert_eq!(response.status(), 404, "{action}");
    }
    assert_eq!(
        app.number("SELECT count(*) FROM invitations WHERE status = 'pending' AND send_count = 1")
            .await,
        1
    );
}

#[tokio::test]
async fn someone_with_an_account_signs_in_on_the_invitation_page_and_joins_and_another_account_cannot()
 {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let (org, _) = owner_of_acme(&app).await;
    let grace = app.user("grace@navy.test").create().await;
    let someone_else = app.user("else@navy.test").create().await;
    app.post_htmx(
        "/settings/org/invitations",
        &[
            ("emails", "grace@navy.test"),
            ("role", "member"),
            ("intent", "send"),
        ],
    )
    .await;
    let link = sink.wait_for(1).await[0].invitation_link();

    // Signed in as another account: the page says so, and joining is refused.
    let other = app.another_visitor();
    other.login(&someone_else).await;
    let page = other.get(&link).await.html();
    assert!(
        page.text("main")
            .contains("You are signed in as else@navy.test")
    );
    let refused = other.post_form(&format!("{link}/join"), &[]).await;
    assert_eq!(refused.status(), 409);
    assert!(
        refused
            .html()
            .text("#invitation-problem")
            .contains("sent to grace@navy.test")
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE org_id = {org}"
        ))
        .await,
        1
    );

    // Signed out, Grace signs in right on the page (a wrong password first) and joins.
    let visitor = app.another_visitor();
    let page = visitor.get(&link).await.html();
    assert!(page.has("#invite-password"));
    let wrong = visitor
        .post_form(&format!("{link}/sign-in"), &[("password", "not it")])
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .html()
            .text("#invitation-problem")
            .contains("not correct")
    );
    let joined = visitor
        .post_form(&format!("{link}/sign-in"), &[("password", &grace.password)])
        .await;
    assert_eq!(
        (joined.status().as_u16(), joined.location()),
        (303, "/settings/org")
    );
    assert_eq!(
        app.stored_membership(org, grace.id).await.map(|m| m.role),
        Some(OrgRole::Member)
    );
}

#[tokio::test]
async fn pending_invitations_are_listed_first_and_the_list_is_bounded() {
    let app = spawn_app().await;
    owner_of_acme(&app).await;
    let emails: Vec<String> = (0..25).map(|n| format!("guest{n:02}@acme.test")).collect();
    app.post_htmx(
        "/settings/org/invitations",
        &[
            ("emails", &emails.join("\n")),
            ("role", "member"),
            ("intent", "send"),
        ],
    )
    .await;
    // The newest one cancelled: it goes below every pending one.
    let newest = app.number("SELECT max(id) FROM invitations").await;
    app.post_htmx(&format!("/settings/org/invitations/{newest}/cancel"), &[])
        .await;
    let html = app.get("/settings/org/users").await.html();
    let statuses = html.texts("#invitation-table tbody td:nth-child(3) .status");
    assert_eq!(statuses.len(), 20);
    assert!(statuses.iter().all(|s| s == "Invited"), "{statuses:?}");
    assert!(
        html.text("#invitation-list .hint")
            .contains("20 most recent")
    );
}

#[tokio::test]
async fn the_invitation_pages_sign_in_takes_no_more_than_the_sign_in_page() {
    let app = spawn_app().await;
    app.get("/login").await;
    let huge = "x".repeat(20_000);
    let refused = app
        .post_form("/invitations/anything/sign-in", &[("password", &huge)])
        .await;
    assert_eq!(refused.status(), 413);
}
