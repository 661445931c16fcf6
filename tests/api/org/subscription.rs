//! The Subscription tab: what every member reads (plan, seats, cost, shared limits), plan
//! changes and their refusals, seats granted and withdrawn at the 10-seat boundary, statements
//! prorated by day across a mid-month change with their CSV, and cancellation — each rule tried
//! with the wrong role, another organization's ids, a missing token and concurrent requests.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};

use crate::support::{Membership, OrgRole, TestApp, TestUser, Visitor, spawn_app};

const PAGE: &str = "/settings/org/subscription";

async fn signed_in(app: &TestApp, user: &TestUser) -> Visitor {
    let visitor = app.another_visitor();
    visitor.login(user).await;
    visitor.get(PAGE).await;
    visitor
}

/// Members of `org` named seat1@… to seatN@…, none holding a seat.
async fn members(app: &TestApp, org: crate::support::OrgId, n: usize) -> Vec<TestUser> {
    let mut made = Vec::new();
    for i in 1..=n {
        made.push(
            app.user(&format!("seat{i}@acme.test"))
                .joins(Membership::new(org, OrgRole::Member))
                .create()
                .await,
        );
    }
    made
}

/// Previews, then confirms, a seat for `user`, as the page's two steps do.
async fn grant_seat(visitor: &Visitor, user: &TestUser) -> String {
    let preview = visitor
        .get(&format!(
            "/settings/org/subscription/seat?email={}&change=grant",
            user.email
        ))
        .await;
    assert_eq!(preview.status(), 200, "{}", preview.text());
    let facts = preview.html().text(".facts");
    let confirmed = visitor
        .post_form(
            "/settings/org/subscription/seat",
            &[("user", &user.id.to_string()), ("change", "grant")],
        )
        .await;
    assert_eq!(confirmed.status(), 303, "{}", confirmed.text());
    facts
}

async fn seats(app: &TestApp, org: crate::support::OrgId) -> i64 {
    app.number(&format!(
        "SELECT subscriber_count FROM organizations WHERE id = {org}"
    ))
    .await
}

#[tokio::test]
async fn every_member_reads_the_plan_seats_cost_and_shared_limits_and_only_managers_get_controls() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    app.sql(&format!(
        "UPDATE organizations SET workflows_in_use = 7, work_items_in_use = 2500, jobs_running = 1 WHERE id = {}",
        acme.org
    ))
    .await;

    let mia = signed_in(&app, &acme.member).await;
    let html = mia.get(PAGE).await.html();
    let facts = html.text(".facts");
    assert!(facts.contains("Standard"), "{facts}");
    assert!(facts.contains("$20.00 a month with 10 seats"), "{facts}");
    assert!(facts.contains("0 of 10 included"), "{facts}");
    assert!(facts.contains("Monthly cost $20.00"), "{facts}");
    let limits = html.texts(".limits li");
    assert_eq!(
        limits,
        vec![
            "Production workflows 7 of 10 in use",
            "Work items 2,500 of 10,000 in use",
            "Concurrent jobs 1 of 5 in use",
        ]
    );
    assert!(
        html.text("main")
            .contains("shared by the whole organization")
    );
    // A member reads and changes nothing: no forms, the reason in their place, no statements.
    assert!(!html.has("#change-plan"));
    assert!(!html.has("#seat-form"));
    assert!(!html.has("#statements-heading"));
    assert!(
        html.text(".locked")
            .contains("Only owners and admins can change the plan.")
    );

    let olive = signed_in(&app, &acme.owner).await;
    let html = olive.get(PAGE).await.html();
    assert!(html.has("#change-plan"));
    assert!(html.has("#seat-form"));
    assert_eq!(
        html.texts("#change-plan label strong"),
        vec!["Standard", "Team", "Business"]
    );
    assert!(html.is_checked("#change-plan input[checked]"));
    assert!(html.has("#statements-heading"));
    assert_eq!(html.text("#no-seat-holders"), "No member holds a seat yet.");

    // An admin without the subscription-admin flag changes the plan but not the seats.
    let ada = signed_in(&app, &acme.admin).await;
    let html = ada.get(PAGE).await.html();
    assert!(html.has("#change-plan"));
    assert!(!html.has("#seat-form"));
    assert!(
        html.text("main")
            .contains("Only the owner and subscription admins grant and withdraw seats.")
    );
}

#[tokio::test]
async fn seats_cost_nothing_up_to_the_ten_included_and_five_dollars_each_beyond() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let people = members(&app, acme.org, 11).await;
    let olive = signed_in(&app, &acme.owner).await;
    assert_eq!(seats(&app, acme.org).await, 0);
    assert!(
        olive
            .get(PAGE)
            .await
            .html()
            .text(".facts")
            .contains("Monthly cost $20.00")
    );

    for person in &people[..9] {
        grant_seat(&olive, person).await;
    }
    // The 10th seat is still included; the 11th costs $5 a month more, and the page says so
    // before it is confirmed.
    let tenth = grant_seat(&olive, &people[9]).await;
    assert!(tenth.contains("9 → 10"), "{tenth}");
    assert!(tenth.contains("$20.00 → $20.00"), "{tenth}");
    let eleventh = grant_seat(&olive, &people[10]).await;
    assert!(eleventh.contains("10 → 11"), "{eleventh}");
    assert!(eleventh.contains("$20.00 → $25.00"), "{eleventh}");
    assert_eq!(seats(&app, acme.org).await, 11);
    let html = olive.get(PAGE).await.html();
    assert!(html.text(".facts").contains("11 of 10 included, 1 beyond"));
    assert!(html.text(".facts").contains("Monthly cost $25.00"));
    assert_eq!(html.count("#seat-holders tbody tr"), 11);

    // Withdrawing goes back under the boundary.
    let preview = olive
        .get(&format!(
            "{PAGE}/seat?email={}&change=withdraw",
            people[0].email
        ))
        .await;
    assert!(preview.html().text(".facts").contains("$25.00 → $20.00"));
    let withdrawn = olive
        .post_form(
            "/settings/org/subscription/seat",
            &[("user", &people[0].id.to_string()), ("change", "withdraw")],
        )
        .await;
    assert_eq!(withdrawn.status(), 303);
    assert_eq!(seats(&app, acme.org).await, 10);
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'subscription.seat_granted'")
            .await,
        11
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'subscription.seat_withdrawn'")
            .await,
        1
    );

    // A seat for someone outside the organization, or already seated, is refused in the form.
    let refused = olive
        .get(&format!("{PAGE}/seat?email=nobody@else.test&change=grant"))
        .await;
    assert_eq!(refused.status(), 422);
    assert_eq!(
        refused.html().field_error("seat-form-email").as_deref(),
        Some("No member of this organization has this email.")
    );
    assert_eq!(
        refused.html().value("#seat-form-email"),
        "nobody@else.test",
        "the input is kept"
    );
    let twice = olive
        .get(&format!(
            "{PAGE}/seat?email={}&change=grant",
            people[1].email
        ))
        .await;
    assert_eq!(twice.status(), 422);
    assert!(twice.text().contains("already holds a seat"));
}

/// The day the clock is moved to: `day` of the month after the current one, at `hour` UTC.
fn next_month_at(now: chrono::DateTime<Utc>, day: u32, hour: u32) -> chrono::DateTime<Utc> {
    let this = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).expect("a month");
    let next = (this + Duration::days(32)).with_day(1).expect("a month");
    Utc.from_utc_datetime(
        &next
            .with_day(day)
            .expect("a day")
            .and_hms_opt(hour, 0, 0)
            .expect("a time"),
    )
}

fn days_in(month: NaiveDate) -> i64 {
    let next = (month + Duration::days(32)).with_day(1).expect("a month");
    (next - month).num_days()
}

/// `cent_days / days_in_month` (a monthly cost times the days it ran), rounded half up.
fn prorated(cent_days: i64, days_in_month: i64) -> i64 {
    (cent_days * 2 + days_in_month) / (days_in_month * 2)
}

#[tokio::test]
async fn a_seat_added_mid_month_is_charged_by_the_day_in_the_statement_and_its_csv() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let people = members(&app, acme.org, 11).await;
    let olive = signed_in(&app, &acme.owner).await;
    // Ten seats (still $20) from before the month starts...
    for person in &people[..10] {
        grant_seat(&olive, person).await;
    }
    let now = app.clock.now();
    let month_start = next_month_at(now, 1, 0);
    app.clock.advance(month_start - now);
    // ...and the eleventh on the 11th at 15:00: charged from that day on.
    let eleventh_day = next_month_at(now, 11, 15);
    app.clock.advance(eleventh_day - month_start);
    // Weeks passed: the session expired, so Olive signs in again.
    let olive = signed_in(&app, &acme.owner).await;
    grant_seat(&olive, &people[10]).await;

    let html = olive.get(PAGE).await.html();
    let month = month_start.date_naive();
    let dim = days_in(month);
    // The total is rounded once; the last line takes what the first did not.
    let first_line = prorated(2000 * 10, dim);
    let second_line = prorated(2000 * 10 + 2500, dim) - first_line;
    let running = html.all("#statements-heading ~ table")[0];
    let running_text = crate::support::html::text_of(running);
    assert!(
        running_text.contains(&format!("(10 of {dim})")),
        "{running_text}"
    );
    assert!(running_text.contains("(1 of"), "so far: the 11th only");
    assert!(
        running_text.contains(&format!(
            "Total ${}.{:02}",
            (first_line + second_line) / 100,
            (first_line + second_line) % 100
        )),
        "{running_text}"
    );

    // A month later, last month's CSV has both lines and the total.
    app.clock.advance(Duration::days(31));
    let olive = signed_in(&app, &acme.owner).await;
    let key = month.format("%Y-%m").to_string();
    let csv = olive
        .get(&format!("/settings/org/subscription/statements/{key}"))
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(
        csv.header("content-disposition")
            .contains(&format!("statement-{key}.csv"))
    );
    let lines: Vec<&str> = csv.text().lines().collect();
    let rest = dim - 10;
    let second_line = prorated(2000 * 10 + 2500 * rest, dim) - first_line;
    let money = |cents: i64| format!("{}.{:02}", cents / 100, cents % 100);
    assert_eq!(
        lines,
        vec![
            "from,to,plan,seats,extra_seats,monthly_cost,days,days_in_month,amount".to_owned(),
            format!(
                "{},{},Standard,10,0,20.00,10,{dim},{}",
                month,
                month + Duration::days(9),
                money(first_line)
            ),
            format!(
                "{},{},Standard,11,1,25.00,{rest},{dim},{}",
                month + Duration::days(10),
                month + Duration::days(dim - 1),
                money(second_line)
            ),
            format!("total,,,,,,,,{}", money(first_line + second_line)),
        ]
    );

    // Any past month is reached from the page's form too; one to come is refused in the form.
    let found = olive
        .get(&format!(
            "/settings/org/subscription/statements?month={key}"
        ))
        .await;
    assert_eq!(found.status(), 303);
    assert_eq!(
        found.location(),
        format!("/settings/org/subscription/statements/{key}")
    );
    for bad in ["2999-01", "last%20month"] {
        let refused = olive
            .get(&format!(
                "/settings/org/subscription/statements?month={bad}"
            ))
            .await;
        assert_eq!(refused.status(), 422, "{bad}");
        assert_eq!(
            refused.html().field_error("any-month-month").as_deref(),
            Some("Choose a month up to this one, as YYYY-MM.")
        );
    }

    // Members see no statements; a month still to come and a mangled month are not found.
    let mia = signed_in(&app, &acme.member).await;
    assert_eq!(
        mia.get(&format!("/settings/org/subscription/statements/{key}"))
            .await
            .status(),
        403
    );
    assert_eq!(
        olive
            .get("/settings/org/subscription/statements/2999-01")
            .await
            .status(),
        404
    );
    assert_eq!(
        olive
            .get("/settings/org/subscription/statements/..%2F..")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_downgrade_the_organization_does_not_fit_in_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let team_plan = app.number("SELECT id FROM plans WHERE name = 'Team'").await;
    let standard = app
        .number("SELECT id FROM plans WHERE name = 'Standard'")
        .await;
    let ada = signed_in(&app, &acme.admin).await;
    let upgraded = ada
        .post_form(
            "/settings/org/subscription/plan",
            &[("plan", &team_plan.to_string())],
        )
        .await;
    assert_eq!(upgraded.status(), 303);
    assert_eq!(
        app.number(&format!(
            "SELECT plan_id FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        team_plan
    );
    // The organization now runs 20 production workflows; Standard allows 10.
    app.sql(&format!(
        "UPDATE organizations SET workflows_in_use = 20 WHERE id = {}",
        acme.org
    ))
    .await;
    let html = ada.get(PAGE).await.html();
    assert!(html.has(&format!("#plan-{standard}[disabled]")));
    assert_eq!(
        html.text(&format!("#plan-{standard}-reason")),
        "Standard allows 10 production workflows; this organization uses 20."
    );
    let refused = ada
        .post_form(
            "/settings/org/subscription/plan",
            &[("plan", &standard.to_string())],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert_eq!(
        refused.html().text("#change-plan-error"),
        "The plan did not change: Standard allows 10 production workflows; this organization uses 20."
    );
    assert_eq!(
        app.number(&format!(
            "SELECT plan_id FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        team_plan
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'subscription.plan_changed'")
            .await,
        1
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM subscription_changes WHERE org_id = {} AND reason = 'plan'",
            acme.org
        ))
        .await,
        1
    );

    // Members cannot change the plan even by forging the form; nor can anyone without the
    // token; an unknown plan is not found.
    let mia = signed_in(&app, &acme.member).await;
    let forged = mia
        .post_form(
            "/settings/org/subscription/plan",
            &[("plan", &standard.to_string())],
        )
        .await;
    assert_eq!(forged.status(), 403);
    let tokenless = ada
        .send(
            ada.client
                .post(ada.url("/settings/org/subscription/plan"))
                .form(&[("plan", &standard.to_string())]),
        )
        .await;
    assert_eq!(tokenless.status(), 403);
    let unknown = ada
        .post_form("/settings/org/subscription/plan", &[("plan", "999999")])
        .await;
    assert_eq!(unknown.status(), 404);
    let garbage = ada
        .post_form("/settings/org/subscription/plan", &[("plan", "1\u{0}")])
        .await;
    assert_eq!(garbage.status(), 422);
}

#[tokio::test]
async fn only_the_owner_and_subscription_admins_manage_seats_and_only_in_their_organization() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let billing = app
        .user("billing@acme.test")
        .joins(Membership::new(acme.org, OrgRole::Member).subscriber_admin())
        .create()
        .await;
    let globex_owner = app.user("owner@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&globex_owner).create().await;
    let gus = app
        .user("gus@globex.test")
        .joins(Membership::new(globex, OrgRole::Member))
        .create()
        .await;

    // An admin without the flag: refused on both steps.
    let ada = signed_in(&app, &acme.admin).await;
    let preview = ada
        .get(&format!(
            "{PAGE}/seat?email={}&change=grant",
            acme.member.email
        ))
        .await;
    assert_eq!(preview.status(), 403);
    let forged = ada
        .post_form(
            "/settings/org/subscription/seat",
            &[("user", &acme.member.id.to_string()), ("change", "grant")],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(seats(&app, acme.org).await, 0);

    // A member holding the subscription-admin flag may.
    let bill = signed_in(&app, &billing).await;
    grant_seat(&bill, &acme.member).await;
    assert_eq!(seats(&app, acme.org).await, 1);
    let html = bill.get(PAGE).await.html();
    assert_eq!(html.rows("#seat-holders")[0][0], "member@acme.test");
    assert!(html.has("#statements-heading"), "statements too");

    // Another organization's member is not found, by id or by email; a made-up change is refused.
    let olive = signed_in(&app, &acme.owner).await;
    let other = olive
        .post_form(
            "/settings/org/subscription/seat",
            &[("user", &gus.id.to_string()), ("change", "grant")],
        )
        .await;
    assert_eq!(other.status(), 404);
    let by_email = olive
        .get(&format!("{PAGE}/seat?email={}&change=grant", gus.email))
        .await;
    assert_eq!(by_email.status(), 422);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE user_id = {} AND subscriber",
            gus.id
        ))
        .await,
        0
    );
    let odd = olive
        .post_form(
            "/settings/org/subscription/seat",
            &[("user", &acme.admin.id.to_string()), ("change", "steal")],
        )
        .await;
    assert_eq!(odd.status(), 400);
    let tokenless = olive
        .send(
            olive
                .client
                .post(olive.url("/settings/org/subscription/seat"))
                .form(&[
                    ("user", acme.admin.id.to_string().as_str()),
                    ("change", "grant"),
                ]),
        )
        .await;
    assert_eq!(tokenless.status(), 403);
    assert_eq!(seats(&app, acme.org).await, 1);
}

#[tokio::test]
async fn twenty_seats_granted_at_once_are_each_counted_and_recorded_once() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let people = members(&app, acme.org, 20).await;
    let olive = signed_in(&app, &acme.owner).await;
    let requests = people.iter().map(|person| {
        let id = person.id.to_string();
        let olive = &olive;
        async move {
            olive
                .post_form(
                    "/settings/org/subscription/seat",
                    &[("user", &id), ("change", "grant")],
                )
                .await
        }
    });
    let responses = futures_util::future::join_all(requests).await;
    for r in &responses {
        assert_eq!(r.status(), 303, "{} {}", r.location(), r.text());
    }
    assert_eq!(seats(&app, acme.org).await, 20);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM subscription_changes WHERE org_id = {} AND reason = 'seats'",
            acme.org
        ))
        .await,
        20
    );
    // Recorded in order under the organization's lock: the latest change says 20.
    assert_eq!(
        app.number(&format!(
            "SELECT seats FROM subscription_changes WHERE org_id = {} ORDER BY effective_at DESC, id DESC LIMIT 1",
            acme.org
        ))
        .await,
        20
    );
}

#[tokio::test]
async fn cancelling_waits_for_every_other_member_to_go_and_then_closes_the_organization_to_all_but_the_owner()
 {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let olive = signed_in(&app, &acme.owner).await;

    // Others remain: the page says how many and links to them; the POST is refused.
    let html = olive.get(PAGE).await.html();
    let locked = html.text("#cancel-heading ~ .locked");
    assert!(
        locked.contains("Remove every other member before cancelling. 4 other members remain"),
        "{locked}"
    );
    assert!(html.has("#cancel-heading ~ .locked a[href='/settings/org/users']"));
    let early = olive
        .post_form("/settings/org/subscription/cancel", &[])
        .await;
    assert_eq!(early.status(), 403);
    // Admins never cancel.
    let ada = signed_in(&app, &acme.admin).await;
    assert_eq!(
        ada.post_form("/settings/org/subscription/cancel", &[])
            .await
            .status(),
        403
    );

    // A pending invitation, then everyone else removed through the Members page.
    olive.get("/settings/org/users").await;
    olive
        .post_form(
            "/settings/org/invitations",
            &[
                ("emails", "late@acme.test"),
                ("role", "member"),
                ("intent", "send"),
            ],
        )
        .await;
    let others = [
        &acme.admin,
        &acme.other_admin,
        &acme.member,
        &acme.other_member,
    ];
    let fields: Vec<(&str, String)> = others
        .iter()
        .map(|user| ("user", user.id.to_string()))
        .collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let removed = olive.post_form("/settings/org/removal", &fields).await;
    assert_eq!(removed.status(), 200, "{}", removed.text());
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        1
    );

    let confirm = olive.get("/settings/org/subscription/cancel").await.html();
    assert!(
        confirm
            .text("main")
            .contains("you can still use the organization's remaining credits")
    );
    let tokenless = olive
        .send(
            olive
                .client
                .post(olive.url("/settings/org/subscription/cancel")),
        )
        .await;
    assert_eq!(tokenless.status(), 403);
    let cancelled = olive
        .post_form("/settings/org/subscription/cancel", &[])
        .await;
    assert_eq!(cancelled.status(), 303);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM organizations WHERE id = {} AND status = 'cancelled' AND cancelled_at IS NOT NULL",
            acme.org
        ))
        .await,
        1
    );
    assert_eq!(
        app.number("SELECT count(*) FROM invitations WHERE status = 'pending'")
            .await,
        0,
        "nobody can join through an old invitation"
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'subscription.cancelled'")
            .await,
        1
    );

    // The owner still sees it, marked cancelled, and can no longer grow it.
    let html = olive.get(PAGE).await.html();
    assert!(
        html.text("#cancelled-notice")
            .contains("This subscription was cancelled")
    );
    assert!(!html.has("#change-plan"));
    olive.get("/settings/org/users").await;
    let invite = olive
        .post_form(
            "/settings/org/invitations",
            &[
                ("emails", "later@acme.test"),
                ("role", "member"),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(invite.status(), 403);
    assert_eq!(
        olive
            .post_form("/settings/org/subscription/cancel", &[])
            .await
            .status(),
        403,
        "cancelled once"
    );

    // Anyone else who still holds a membership (added behind the console's back) no longer
    // sees the organization at all.
    app.sql(&format!(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ({}, {}, 'member')",
        acme.org, acme.member.id
    ))
    .await;
    let mia = app.another_visitor();
    mia.login(&acme.member).await;
    let page = mia.get("/settings/org").await;
    assert!(
        !page.text().contains("Acme"),
        "a cancelled organization is closed to its members: {}",
        page.status()
    );
    assert_ne!(mia.get(PAGE).await.status(), 200);
}

/// Someone accepting an invitation while the owner cancels: whichever commits first, the
/// organization never ends up cancelled with a member other than its owner.
#[tokio::test]
async fn a_join_racing_the_cancellation_never_leaves_a_member_in_a_cancelled_organization() {
    let sink = crate::support::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = crate::support::spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let owner = app.user("owner@solo.test").create().await;
    let org = app.org("Solo").owned_by(&owner).create().await;
    let invitees: Vec<TestUser> = futures_util::future::join_all(
        (1..=5).map(|i| app.user(&format!("invitee{i}@solo.test")).create()),
    )
    .await;
    let olive = signed_in(&app, &owner).await;
    olive.get("/settings/org/users").await;
    let emails: Vec<&str> = invitees.iter().map(|u| u.email.as_str()).collect();
    olive
        .post_form(
            "/settings/org/invitations",
            &[
                ("emails", &emails.join("\n")),
                ("role", "member"),
                ("intent", "send"),
            ],
        )
        .await;
    let mails = sink.wait_for(5).await;
    let mut joiners = Vec::new();
    for invitee in &invitees {
        let mail = mails
            .iter()
            .find(|m| m.to.iter().any(|to| to.contains(&invitee.email)))
            .expect("a mail to each invitee");
        let link = mail.invitation_link();
        let visitor = app.another_visitor();
        visitor.login(invitee).await;
        visitor.get(&link).await;
        joiners.push((visitor, link));
    }
    olive.get(PAGE).await;

    let joins = joiners.iter().map(|(visitor, link)| async move {
        visitor.post_form(&format!("{link}/join"), &[]).await
    });
    let cancel = olive.post_form("/settings/org/subscription/cancel", &[]);
    let (joined, cancelled) = tokio::join!(futures_util::future::join_all(joins), cancel);
    let members = app
        .number(&format!(
            "SELECT count(*) FROM memberships WHERE org_id = {org}"
        ))
        .await;
    let is_cancelled = app
        .number(&format!(
            "SELECT count(*) FROM organizations WHERE id = {org} AND status = 'cancelled'"
        ))
        .await
        == 1;
    assert!(
        !(is_cancelled && members > 1),
        "cancelled with {members} members"
    );
    if is_cancelled {
        assert_eq!(cancelled.status(), 303);
        assert!(joined.iter().all(|r| r.status() != 303), "nobody joined");
    } else {
        assert_eq!(cancelled.status(), 403, "someone joined first");
        assert!(members > 1);
    }
    assert!(
        joined.iter().all(|r| r.status().as_u16() < 500),
        "no error, whoever lost"
    );
}

#[tokio::test]
async fn the_owner_names_subscription_admins_who_then_grant_seats() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    let globex_owner = app.user("owner@globex.test").create().await;
    app.org("Globex").owned_by(&globex_owner).create().await;
    let olive = signed_in(&app, &acme.owner).await;
    let ada = signed_in(&app, &acme.admin).await;
    let preview = format!("{PAGE}/seat?email={}&change=grant", acme.member.email);
    assert_eq!(ada.get(&preview).await.status(), 403);

    let ada_id = acme.admin.id.to_string();
    let named = olive
        .post_form(
            "/settings/org/subscription/admin",
            &[("user", &ada_id), ("admin", "yes")],
        )
        .await;
    assert_eq!(named.status(), 303);
    assert_eq!(
        ada.get(&preview).await.status(),
        200,
        "Ada grants seats now"
    );
    // Naming them is the owner's alone; another organization's user is not found here.
    let forged = ada
        .post_form(
            "/settings/org/subscription/admin",
            &[("user", &acme.other_admin.id.to_string()), ("admin", "yes")],
        )
        .await;
    assert_eq!(forged.status(), 403);
    let elsewhere = olive
        .post_form(
            "/settings/org/subscription/admin",
            &[("user", &globex_owner.id.to_string()), ("admin", "yes")],
        )
        .await;
    assert_eq!(elsewhere.status(), 404);
    let odd = olive
        .post_form(
            "/settings/org/subscription/admin",
            &[("user", &ada_id), ("admin", "maybe")],
        )
        .await;
    assert_eq!(odd.status(), 400);

    let withdrawn = olive
        .post_form(
            "/settings/org/subscription/admin",
            &[("user", &ada_id), ("admin", "no")],
        )
        .await;
    assert_eq!(withdrawn.status(), 303);
    assert_eq!(ada.get(&preview).await.status(), 403);
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action IN ('subscription.admin_named', 'subscription.admin_withdrawn')"
        )
        .await,
        2
    );
    assert_eq!(
        app.number("SELECT count(*) FROM memberships WHERE subscriber_admin")
            .await,
        0
    );
}
