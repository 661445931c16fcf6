//! Teams: the cards each role sees, Create Team, adding members by search, team roles given only
//! below one's own, removal, ownership transfer, deactivation and reactivation, the token
//! budget, invitations that pre-assign teams — each rule tried with the wrong team role, the
//! wrong organization role, another organization's ids, a missing token and concurrent requests.

use crate::support::smtp::SmtpSink;
use crate::support::{
    Membership, OrgId, OrgRole, TeamId, TeamRole, TestApp, TestUser, Visitor, spawn_app,
    spawn_app_with,
};

/// The shared Acme (owner Olive, admins Ada and Otto, members Mia and Max) with two more members,
/// Vera and Nia. Research is owned by Mia, an organization member; Max is its admin, Ada (an
/// organization admin) only its viewer, Otto its moderator, Vera its viewer. Globex is another
/// organization with a team.
struct Acme {
    org: OrgId,
    owner: TestUser,
    admin: TestUser,
    other_admin: TestUser,
    mia: TestUser,
    max: TestUser,
    vera: TestUser,
    nia: TestUser,
    research: TeamId,
    globex_team: TeamId,
    globex_user: TestUser,
}

async fn acme(app: &TestApp) -> Acme {
    let base = super::acme(app).await;
    let org = base.org;
    let with = |email: &'static str, first: &'static str| {
        app.user(email)
            .named(first, "Acme")
            .joins(Membership::new(org, OrgRole::Member))
            .create()
    };
    let vera = with("vera@acme.test", "Vera").await;
    let nia = with("nia@acme.test", "Nia").await;
    let (mia, max, admin, other_admin) =
        (base.member, base.other_member, base.admin, base.other_admin);
    let research = app
        .team(org, "Research")
        .owned_by(&mia)
        .with(&max, TeamRole::Admin)
        .with(&admin, TeamRole::Viewer)
        .with(&other_admin, TeamRole::Moderator)
        .with(&vera, TeamRole::Viewer)
        .create()
        .await;
    let globex_owner = app.user("owner@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&globex_owner).create().await;
    let globex_user = app
        .user("gus@globex.test")
        .named("Gus", "Globex")
        .joins(Membership::new(globex, OrgRole::Member))
        .create()
        .await;
    let globex_team = app
        .team(globex, "Globex lab")
        .owned_by(&globex_owner)
        .with(&globex_user, TeamRole::Member)
        .create()
        .await;
    Acme {
        org,
        owner: base.owner,
        admin,
        other_admin,
        mia,
        max,
        vera,
        nia,
        research,
        globex_team,
        globex_user,
    }
}

async fn signed_in(app: &TestApp, user: &TestUser) -> Visitor {
    let visitor = app.another_visitor();
    visitor.login(user).await;
    visitor.get("/settings/org/teams").await;
    visitor
}

async fn team_role(app: &TestApp, team: TeamId, user: &TestUser) -> Option<String> {
    let roles = ["viewer", "member", "moderator", "admin", "owner"];
    let rank = app
        .number(&format!(
            "SELECT coalesce((SELECT array_position(ARRAY['viewer','member','moderator','admin','owner'], role) \
             FROM team_members WHERE team_id = {team} AND user_id = {}), 0)",
            user.id
        ))
        .await;
    (rank > 0).then(|| roles[usize::try_from(rank - 1).expect("a rank")].to_owned())
}

async fn owners_of(app: &TestApp, team: TeamId) -> i64 {
    app.number(&format!(
        "SELECT count(*) FROM team_members WHERE team_id = {team} AND role = 'owner'"
    ))
    .await
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    app.number(&format!(
        "SELECT count(*) FROM audit_log WHERE action = '{action}'"
    ))
    .await
}

fn team_path(team: TeamId, rest: &str) -> String {
    format!("/settings/org/teams/{team}{rest}")
}

#[tokio::test]
async fn members_see_their_active_teams_and_owners_and_admins_see_every_team() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    app.team(acme.org, "Archive")
        .owned_by(&acme.owner)
        .with(&acme.mia, TeamRole::Member)
        .deactivated()
        .create()
        .await;
    app.team(acme.org, "Ops")
        .owned_by(&acme.owner)
        .create()
        .await;

    let mia = signed_in(&app, &acme.mia).await;
    let html = mia.get("/settings/org/teams").await.html();
    assert_eq!(html.texts(".team-card-name"), vec!["Research"]);
    assert!(html.text(".team-card").contains("5 members"));
    assert!(html.text(".team-card").contains("Your team role: Owner"));
    // Members cannot create teams: the button is there, disabled, with the reason.
    assert!(html.has(".page-header button[disabled]"));
    assert!(
        html.text("#create-team-lock")
            .contains("Only owners and admins can create teams")
    );

    let ada = signed_in(&app, &acme.admin).await;
    let html = ada.get("/settings/org/teams").await.html();
    assert_eq!(
        html.texts(".team-card-name"),
        vec!["Archive", "Ops", "Research"]
    );
    assert_eq!(
        html.texts(".team-card-inactive .team-card-name"),
        vec!["Archive"]
    );
    assert!(html.text(".team-card-inactive").contains("Deactivated"));
    // An organization admin can be a plain viewer inside a team.
    let research = html.all(".team-card")[2];
    assert!(crate::support::html::text_of(research).contains("Your team role: Viewer"));
    assert!(html.has("a[href='/settings/org/teams/new']"));
    // Each avatar takes a palette class, never an inline style.
    assert_eq!(html.count(".team-avatar[style]"), 0);
    assert_eq!(html.count(".team-avatar[class*='team-colour-']"), 3);

    // Search narrows the grid in place, by any part of the name and any case.
    let fragment = ada
        .get_htmx_target("/settings/org/teams?q=SEAR", "team-grid")
        .await;
    assert_eq!(fragment.status(), 200);
    let html = fragment.html();
    assert!(!html.has("main"), "only the grid comes back");
    assert_eq!(html.texts(".team-card-name"), vec!["Research"]);
    let none = ada.get("/settings/org/teams?q=zzz").await.html();
    assert!(
        none.text(".empty-state")
            .contains("No team's name contains")
    );
    let beyond = ada.get("/settings/org/teams?page=9").await.html();
    assert!(
        beyond
            .text(".empty-state")
            .contains("No teams on this page")
    );

    // Someone in no team is told who creates teams.
    let nia = signed_in(&app, &acme.nia).await;
    let html = nia.get("/settings/org/teams").await.html();
    assert!(
        html.text(".empty-state")
            .contains("You are not in any team yet")
    );
}

#[tokio::test]
async fn creating_a_team_makes_its_creator_the_owner_and_names_are_unique_in_any_case() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let ada = signed_in(&app, &acme.admin).await;
    assert_eq!(ada.get("/settings/org/teams/new").await.status(), 200);
    let dialog = ada.get_htmx("/settings/org/teams/new").await;
    assert!(
        dialog
            .html()
            .has("dialog[aria-labelledby='new-team-title'] #new-team-name")
    );

    let created = ada
        .post_form(
            "/settings/org/teams",
            &[
                ("name", "  Platform "),
                ("description", "Keeps the lights on"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303, "{}", created.text());
    let team = TeamId(
        app.number("SELECT id FROM teams WHERE name = 'Platform'")
            .await,
    );
    assert_eq!(created.location(), team_path(team, ""));
    assert_eq!(
        team_role(&app, team, &acme.admin).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        app.number(&format!("SELECT member_count FROM teams WHERE id = {team}"))
            .await,
        1
    );
    assert_eq!(audited(&app, "team.created").await, 1);
    let page = ada.get(&team_path(team, "")).await.html();
    assert!(page.text("main").contains("created; you are its owner"));
    assert!(page.text(".team-heading").contains("Keeps the lights on"));

    // The same name in another case, a blank name, a NUL byte, an oversized description: each
    // refused on its field with the input kept, nothing created.
    let cases: [(&str, &str, &str, &str); 4] = [
        ("PLATFORM", "", "new-team-name", "already exists"),
        ("   ", "", "new-team-name", "required"),
        ("Bad\u{0}name", "", "new-team-name", "control characters"),
        (
            "Long",
            &"x".repeat(501),
            "new-team-description",
            "at most 500",
        ),
    ];
    for (name, description, field, message) in cases {
        let refused = ada
            .post_htmx(
                "/settings/org/teams",
                &[("name", name), ("description", description)],
            )
            .await;
        assert_eq!(refused.status(), 422, "{name:?}");
        let html = refused.html();
        let error = html.field_error(field).unwrap_or_default();
        assert!(error.contains(message), "{name:?}: {error}");
        // (An HTML parser reads a NUL as U+FFFD, as browsers do.)
        assert_eq!(html.value("#new-team-name"), name.replace('\0', "\u{FFFD}"));
    }
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM teams WHERE org_id = {}",
            acme.org
        ))
        .await,
        2
    );

    // A member may not, even by forging the request; nor may a request without the token.
    let mia = signed_in(&app, &acme.mia).await;
    assert_eq!(mia.get("/settings/org/teams/new").await.status(), 403);
    let forged = mia
        .post_form("/settings/org/teams", &[("name", "Mine")])
        .await;
    assert_eq!(forged.status(), 403);
    let tokenless = ada
        .send(
            ada.client
                .post(ada.url("/settings/org/teams"))
                .form(&[("name", "No token")]),
        )
        .await;
    assert_eq!(tokenless.status(), 403);
    assert_eq!(
        app.number("SELECT count(*) FROM teams WHERE name IN ('Mine', 'No token')")
            .await,
        0
    );
}

#[tokio::test]
async fn team_roles_are_given_only_below_ones_own_team_role() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let research = acme.research;
    let role = team_path(research, "/role");
    async fn set(visitor: &Visitor, team: TeamId, user: &TestUser, to: &str) -> u16 {
        visitor
            .post_htmx(
                &team_path(team, "/role"),
                &[("user", &user.id.to_string()), ("role", to)],
            )
            .await
            .status()
            .as_u16()
    }

    let max = signed_in(&app, &acme.max).await;
    let page = max.get(&team_path(research, "")).await.html();
    // A team admin offers roles up to moderator, and only to those below them.
    assert_eq!(
        page.texts(&format!("#team-role-{} option", acme.vera.id)),
        vec!["Moderator", "Member", "Viewer"]
    );
    assert!(!page.has(&format!("#team-role-{}", acme.mia.id)));
    assert!(
        page.text(&format!("#team-member-{} .locked", acme.mia.id))
            .contains("transfer")
    );
    let changed = max
        .post_htmx(
            &role,
            &[("user", &acme.vera.id.to_string()), ("role", "moderator")],
        )
        .await;
    assert_eq!(changed.status(), 200);
    let row = changed.html();
    assert!(row.is_checked(&format!(
        "#team-role-{} option[value=moderator]",
        acme.vera.id
    )));
    assert_eq!(
        team_role(&app, research, &acme.vera).await.as_deref(),
        Some("moderator")
    );

    // Up to moderator, not admin; never on the owner or oneself.
    assert_eq!(set(&max, research, &acme.vera, "admin").await, 403);
    assert_eq!(set(&max, research, &acme.mia, "viewer").await, 403);
    assert_eq!(set(&max, research, &acme.max, "moderator").await, 403);
    assert_eq!(set(&max, research, &acme.other_admin, "member").await, 200);
    // An organization admin who is the team's viewer, and the organization's owner who is not
    // in it, manage nothing in it: team roles are separate.
    let ada = signed_in(&app, &acme.admin).await;
    assert_eq!(set(&ada, research, &acme.vera, "viewer").await, 403);
    let olive = signed_in(&app, &acme.owner).await;
    assert_eq!(set(&olive, research, &acme.vera, "viewer").await, 403);
    // The owner makes admins, but never another owner; an unknown role is a bad request.
    let mia = signed_in(&app, &acme.mia).await;
    assert_eq!(set(&mia, research, &acme.vera, "admin").await, 200);
    assert_eq!(set(&mia, research, &acme.vera, "owner").await, 403);
    assert_eq!(set(&mia, research, &acme.vera, "root").await, 400);

    assert_eq!(
        team_role(&app, research, &acme.vera).await.as_deref(),
        Some("admin")
    );
    assert_eq!(
        team_role(&app, research, &acme.other_admin)
            .await
            .as_deref(),
        Some("member")
    );
    assert_eq!(owners_of(&app, research).await, 1);
    assert_eq!(audited(&app, "team.member_role_changed").await, 3);

    // Without JavaScript the same form posts and lands back on the page with the news.
    let plain = mia
        .post_form(
            &role,
            &[("user", &acme.vera.id.to_string()), ("role", "viewer")],
        )
        .await;
    assert_eq!(plain.status(), 303);
    assert!(
        mia.get(plain.location())
            .await
            .html()
            .text("main")
            .contains("is now a team viewer")
    );
}

#[tokio::test]
async fn members_are_added_by_searching_the_organization_outside_the_team() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let research = acme.research;
    let max = signed_in(&app, &acme.max).await;
    let candidates = team_path(research, "/candidates");

    let found = max.get_htmx(&format!("{candidates}?add=acme")).await;
    assert_eq!(found.status(), 200);
    // Everyone named Acme who is not in the team: only Nia (the others are in it).
    assert_eq!(
        found.html().texts(".candidate-list li > span"),
        vec!["Nia Acme nia@acme.test"]
    );
    assert_eq!(
        max.get_htmx(&format!("{candidates}?add=olive"))
            .await
            .html()
            .texts(".candidate-list li > span"),
        vec!["Olive Owner owner@acme.test"]
    );
    // Another organization's people are never offered.
    assert!(
        max.get_htmx(&format!("{candidates}?add=gus"))
            .await
            .html()
            .text(".candidates")
            .contains("No member of the organization outside this team matches")
    );

    let add = team_path(research, "/add");
    let added = max
        .post_htmx(&add, &[("user", &acme.nia.id.to_string()), ("add", "acme")])
        .await;
    assert_eq!(added.status(), 200);
    assert_eq!(added.header("hx-trigger"), "team-members-changed");
    let html = added.html();
    assert!(
        html.text(".alert-success[role=status]")
            .contains("Nia Acme joined the team")
    );
    assert_eq!(
        html.count(".candidate-list li"),
        0,
        "Nia is no longer offered"
    );
    assert_eq!(
        team_role(&app, research, &acme.nia).await.as_deref(),
        Some("member")
    );
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM teams WHERE id = {research}"
        ))
        .await,
        6
    );
    // Twice, another organization's user, an unknown id: refused, nothing added.
    let again = max
        .post_htmx(&add, &[("user", &acme.nia.id.to_string())])
        .await;
    assert_eq!(again.status(), 403);
    let foreign = max
        .post_htmx(&add, &[("user", &acme.globex_user.id.to_string())])
        .await;
    assert_eq!(foreign.status(), 404);
    assert_eq!(
        max.post_htmx(&add, &[("user", "999999")]).await.status(),
        404
    );
    assert_eq!(max.post_htmx(&add, &[("user", "one")]).await.status(), 400);
    // A viewer of the team may not search or add.
    let vera = signed_in(&app, &acme.vera).await;
    assert_eq!(
        vera.get_htmx(&format!("{candidates}?add=a")).await.status(),
        403
    );
    assert_eq!(
        vera.post_htmx(&add, &[("user", &acme.owner.id.to_string())])
            .await
            .status(),
        403
    );
    assert_eq!(audited(&app, "team.member_added").await, 1);

    // Without JavaScript: the search is a GET of the team page, the Add a plain POST.
    let page = max
        .get(&format!("{}?add=olive", team_path(research, "")))
        .await
        .html();
    assert_eq!(
        page.texts(".candidate-list li > span"),
        vec!["Olive Owner owner@acme.test"]
    );
    let plain = max
        .post_form(
            &add,
            &[("user", &acme.owner.id.to_string()), ("add", "olive")],
        )
        .await;
    assert_eq!(plain.status(), 303);
    assert_eq!(
        plain.location(),
        format!("{}?add=olive", team_path(research, ""))
    );
    assert_eq!(
        team_role(&app, research, &acme.owner).await.as_deref(),
        Some("member")
    );
}

#[tokio::test]
async fn another_organizations_team_and_people_are_not_found_from_any_team_address() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let olive = signed_in(&app, &acme.owner).await;
    let theirs = acme.globex_team;
    let gus = acme.globex_user.id.to_string();
    for path in ["", "/candidates?add=g", "/deactivate", "/budget"] {
        let response = olive.get(&team_path(theirs, path)).await;
        assert_eq!(response.status(), 404, "GET {path}");
    }
    assert_eq!(
        olive
            .get(&team_path(theirs, &format!("/transfer?user={gus}")))
            .await
            .status(),
        404
    );
    let posts: [(&str, Vec<(&str, &str)>); 8] = [
        ("/add", vec![("user", &gus)]),
        ("/role", vec![("user", &gus), ("role", "viewer")]),
        ("/remove", vec![("user", &gus)]),
        ("/transfer", vec![("user", &gus)]),
        ("/deactivate", vec![]),
        ("/reactivate", vec![]),
        ("/budget", vec![("kind", "inference"), ("tokens", "1")]),
        ("/budget/withdraw", vec![("assignment", "1")]),
    ];
    for (path, fields) in &posts {
        let response = olive.post_form(&team_path(theirs, path), fields).await;
        assert_eq!(response.status(), 404, "POST {path}");
    }
    // Another organization's user named in our own team's forms.
    let ours = acme.research;
    let mia = signed_in(&app, &acme.mia).await;
    for (path, fields) in [
        ("/role", vec![("user", gus.as_str()), ("role", "viewer")]),
        ("/remove", vec![("user", gus.as_str())]),
        ("/transfer", vec![("user", gus.as_str())]),
    ] {
        let response = mia.post_form(&team_path(ours, path), &fields).await;
        assert_eq!(response.status(), 404, "POST {path} naming Gus");
    }
    assert_eq!(olive.get("/settings/org/teams/abc").await.status(), 404);
    // Nothing changed anywhere.
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM teams WHERE id = {theirs} AND status = 'active' AND member_count = 2"
        ))
        .await,
        1
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action LIKE 'team.%'")
            .await,
        0
    );
}

#[tokio::test]
async fn members_cannot_open_teams_they_are_not_in_and_a_deactivated_team_is_closed_to_them() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let ops = app
        .team(acme.org, "Ops")
        .owned_by(&acme.owner)
        .create()
        .await;
    let archive = app
        .team(acme.org, "Archive")
        .owned_by(&acme.owner)
        .with(&acme.mia, TeamRole::Admin)
        .deactivated()
        .create()
        .await;
    let mia = signed_in(&app, &acme.mia).await;
    assert_eq!(mia.get(&team_path(ops, "")).await.status(), 404);
    let closed = mia.get(&team_path(archive, "")).await;
    assert_eq!(closed.status(), 403);
    assert!(closed.text().contains("deactivated"));
    // Nothing can be done in it, even by its admin.
    assert_eq!(
        mia.post_form(
            &team_path(archive, "/add"),
            &[("user", &acme.nia.id.to_string())]
        )
        .await
        .status(),
        403
    );
    // Organization admins see it, marked, with Reactivate.
    let ada = signed_in(&app, &acme.admin).await;
    let page = ada.get(&team_path(archive, "")).await;
    assert_eq!(page.status(), 200);
    let html = page.html();
    assert!(html.text(".team-heading").contains("Deactivated"));
    assert!(html.has(".team-heading-actions form[action$='/reactivate']"));
}

#[tokio::test]
async fn ownership_moves_only_by_the_owners_transfer_and_the_old_owner_becomes_admin() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let research = acme.research;
    let transfer = team_path(research, "/transfer");
    let vera = acme.vera.id.to_string();

    let max = signed_in(&app, &acme.max).await;
    assert_eq!(
        max.get(&format!("{transfer}?user={vera}")).await.status(),
        403
    );
    assert_eq!(
        max.post_form(&transfer, &[("user", &vera)]).await.status(),
        403
    );
    let olive = signed_in(&app, &acme.owner).await;
    assert_eq!(
        olive
            .post_form(&transfer, &[("user", &vera)])
            .await
            .status(),
        403
    );

    let mia = signed_in(&app, &acme.mia).await;
    let page = mia.get(&team_path(research, "")).await.html();
    assert!(page.has(&format!("a[href='{transfer}?user={}']", acme.max.id)));
    let dialog = mia
        .get_htmx(&format!("{transfer}?user={}", acme.max.id))
        .await;
    assert_eq!(dialog.status(), 200);
    let html = dialog.html();
    assert!(html.has("dialog[aria-labelledby=transfer-title]"));
    assert!(html.text("dialog").contains("Max Acme"));
    let done = mia
        .post_form(&transfer, &[("user", &acme.max.id.to_string())])
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        team_role(&app, research, &acme.max).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        team_role(&app, research, &acme.mia).await.as_deref(),
        Some("admin")
    );
    assert_eq!(owners_of(&app, research).await, 1);
    assert_eq!(audited(&app, "team.ownership_transferred").await, 1);
    // The old owner cannot hand it over again.
    assert_eq!(
        mia.post_form(&transfer, &[("user", &vera)]).await.status(),
        403
    );
}

#[tokio::test]
async fn deactivation_shows_who_loses_access_and_reactivation_gives_it_back() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let research = acme.research;
    let max = signed_in(&app, &acme.max).await;
    assert_eq!(
        max.get(&team_path(research, "/deactivate")).await.status(),
        403
    );
    assert_eq!(
        max.post_form(&team_path(research, "/deactivate"), &[])
            .await
            .status(),
        403
    );

    // The team's owner may deactivate it, though only an organization member.
    let mia = signed_in(&app, &acme.mia).await;
    let preview = mia.get_htmx(&team_path(research, "/deactivate")).await;
    assert_eq!(preview.status(), 200);
    let html = preview.html();
    assert!(html.text("dialog").contains("5 members"));
    assert_eq!(
        html.texts(".name-list li"),
        vec!["Mia Acme", "Max Acme", "Otto Acme", "Ada Acme", "Vera Acme"]
    );
    assert_eq!(
        team_role(&app, research, &acme.max).await.as_deref(),
        Some("admin")
    );
    let done = mia
        .post_form(&team_path(research, "/deactivate"), &[])
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(done.location(), "/settings/org/teams");
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM teams WHERE id = {research} AND status = 'deactivated' AND member_count = 5"
        ))
        .await,
        1
    );
    // Its members lose access at once; organization admins still see it.
    assert_eq!(max.get(&team_path(research, "")).await.status(), 403);
    assert!(
        !max.get("/settings/org/teams")
            .await
            .html()
            .has(".team-card")
    );
    let ada = signed_in(&app, &acme.admin).await;
    assert_eq!(
        ada.get("/settings/org/teams")
            .await
            .html()
            .texts(".team-card-inactive .team-card-name"),
        vec!["Research"]
    );
    // Only organization owners and admins reactivate.
    assert_eq!(
        mia.post_form(&team_path(research, "/reactivate"), &[])
            .await
            .status(),
        403
    );
    let back = ada
        .post_form(&team_path(research, "/reactivate"), &[])
        .await;
    assert_eq!(back.status(), 303);
    assert_eq!(max.get(&team_path(research, "")).await.status(), 200);
    assert_eq!(audited(&app, "team.deactivated").await, 1);
    assert_eq!(audited(&app, "team.reactivated").await, 1);
}

#[tokio::test]
async fn removing_a_team_member_keeps_them_in_the_organization_and_never_takes_the_owner() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let research = acme.research;
    let remove = team_path(research, "/remove");
    let max = signed_in(&app, &acme.max).await;
    let removed = max
        .post_htmx(&remove, &[("user", &acme.vera.id.to_string())])
        .await;
    assert_eq!(removed.status(), 200);
    assert_eq!(removed.header("hx-trigger"), "team-members-changed");
    assert!(
        removed
            .html()
            .text("#alerts")
            .contains("Vera Acme was removed from the team")
    );
    assert_eq!(team_role(&app, research, &acme.vera).await, None);
    assert!(
        app.stored_membership(acme.org, acme.vera.id)
            .await
            .is_some()
    );
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM teams WHERE id = {research}"
        ))
        .await,
        4
    );
    for user in [&acme.mia, &acme.max, &acme.vera] {
        let refused = max
            .post_htmx(&remove, &[("user", &user.id.to_string())])
            .await;
        assert_ne!(refused.status(), 200, "removing {}", user.email);
    }
    assert_eq!(owners_of(&app, research).await, 1);
    assert_eq!(audited(&app, "team.member_removed").await, 1);
}

#[tokio::test]
async fn a_team_budget_takes_only_purchased_tokens_and_only_from_owners_and_admins() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let research = acme.research;
    app.sql(&format!(
        "INSERT INTO token_purchases (org_id, kind, tokens, amount_cents, currency, purchased_on, reference, source) \
         VALUES ({}, 'inference', 1000, 1000, 'EUR', '2026-11-01', 'acme-1', 'manual')",
        acme.org
    ))
    .await;
    let budget = team_path(research, "/budget");
    let ada = signed_in(&app, &acme.admin).await;
    let page = ada.get(&budget).await.html();
    assert!(page.text("#fund").contains("1,000 inference"));
    let funded = ada
        .post_form(&budget, &[("kind", "inference"), ("tokens", "600")])
        .await;
    assert_eq!(funded.status(), 303);
    let assigned_sql = format!(
        "SELECT inference_assigned FROM organizations WHERE id = {}",
        acme.org
    );
    let assigned = || app.number(&assigned_sql);
    assert_eq!(assigned().await, 600);
    for (kind, tokens, message) in [
        ("inference", "500", "left unassigned"),
        ("inference", "-5", "above zero"),
        ("inference", "lots", "whole number"),
        ("gold", "5", "Choose a kind"),
    ] {
        let refused = ada
            .post_form(&budget, &[("kind", kind), ("tokens", tokens)])
            .await;
        assert_eq!(refused.status(), 422, "{kind} {tokens}");
        let errors = refused.html().field_errors("#fund");
        assert!(
            errors.iter().any(|(_, m)| m.contains(message)),
            "{kind} {tokens}: {errors:?}"
        );
    }
    assert_eq!(assigned().await, 600);

    // The team's admin sees the budget but cannot assign; its viewer does not see it.
    let max = signed_in(&app, &acme.max).await;
    let page = max.get(&budget).await.html();
    assert_eq!(
        page.texts("#team-budget tbody td:nth-child(3)"),
        vec!["600"]
    );
    assert!(!page.has("#fund"));
    assert_eq!(
        max.post_form(&budget, &[("kind", "inference"), ("tokens", "1")])
            .await
            .status(),
        403
    );
    let vera = signed_in(&app, &acme.vera).await;
    assert_eq!(vera.get(&budget).await.status(), 403);

    // Twenty assignments at once cannot overshoot what was purchased.
    let posts =
        (0..20).map(|_| ada.post_form(&budget, &[("kind", "inference"), ("tokens", "100")]));
    let statuses: Vec<u16> = futures_util::future::join_all(posts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        4,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 422),
        "{statuses:?}"
    );
    assert_eq!(assigned().await, 1000);

    // Taking an assignment back returns it to the organization; another team's is not found.
    let line = app
        .number(&format!(
            "SELECT max(id) FROM token_assignments WHERE team_id = {research}"
        ))
        .await
        .to_string();
    let withdraw = team_path(research, "/budget/withdraw");
    assert_eq!(
        ada.post_form(&withdraw, &[("assignment", &line)])
            .await
            .status(),
        303
    );
    assert_eq!(assigned().await, 900);
    assert_eq!(
        ada.post_form(&withdraw, &[("assignment", &line)])
            .await
            .status(),
        404
    );
    assert_eq!(audited(&app, "team.tokens_assigned").await, 5);
    assert_eq!(audited(&app, "team.tokens_withdrawn").await, 1);
}

#[tokio::test]
async fn an_invitation_pre_assigns_teams_and_one_deactivated_meanwhile_is_skipped_and_said_so() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
    let acme = acme(&app).await;
    let ops = app
        .team(acme.org, "Ops")
        .owned_by(&acme.owner)
        .create()
        .await;
    let olive = signed_in(&app, &acme.owner).await;
    olive.get("/settings/org/users").await;
    let sent = olive
        .post_htmx(
            "/settings/org/invitations",
            &[
                ("emails", "grace@acme.test"),
                ("role", "member"),
                ("team", &acme.research.to_string()),
                ("team", &ops.to_string()),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(sent.status(), 200);
    let link = sink.wait_for(1).await[0].invitation_link();

    olive.get("/settings/org/teams").await;
    assert_eq!(
        olive
            .post_form(&team_path(ops, "/deactivate"), &[])
            .await
            .status(),
        303
    );

    let grace = app.another_visitor();
    grace.get(&link).await;
    let joined = grace
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
    let welcome = grace.get(joined.location()).await.html();
    assert!(
        welcome.text("main").contains("did not join them: Ops"),
        "{}",
        welcome.text("main")
    );
    let grace_id = app
        .number("SELECT id FROM users WHERE email = 'grace@acme.test'")
        .await;
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM team_members WHERE user_id = {grace_id} AND team_id = {} AND role = 'member'",
            acme.research
        ))
        .await,
        1
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM team_members WHERE user_id = {grace_id} AND team_id = {ops}"
        ))
        .await,
        0
    );
    // She sees the team she joined, and not the other.
    assert_eq!(
        grace
            .get("/settings/org/teams")
            .await
            .html()
            .texts(".team-card-name"),
        vec!["Research"]
    );
}

#[tokio::test]
async fn twenty_transfers_role_changes_and_removals_at_once_leave_exactly_one_owner() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let research = acme.research;
    app.sql(&format!(
        "INSERT INTO team_members (team_id, org_id, user_id, role) VALUES ({research}, {}, {}, 'member')",
        acme.org, acme.nia.id
    ))
    .await;
    let mia = signed_in(&app, &acme.mia).await;
    let max = signed_in(&app, &acme.max).await;
    let transfer = team_path(research, "/transfer");
    let role = team_path(research, "/role");
    let remove = team_path(research, "/remove");
    let targets = [&acme.max, &acme.other_admin, &acme.vera, &acme.nia];
    let mut requests = Vec::new();
    for i in 0..20 {
        let target = targets[i % targets.len()].id.to_string();
        let (visitor, path, fields): (&Visitor, &str, Vec<(&'static str, String)>) = match i % 4 {
            0 => (&mia, &transfer, vec![("user", target)]),
            1 => (
                &max,
                &role,
                vec![("user", target), ("role", "moderator".to_owned())],
            ),
            2 => (
                &mia,
                &role,
                vec![("user", target), ("role", "admin".to_owned())],
            ),
            _ => (&max, &remove, vec![("user", target)]),
        };
        requests.push(async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            visitor.post_form(path, &fields).await.status().as_u16()
        });
    }
    let statuses = futures_util::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|s| [303, 403, 404].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&303), "{statuses:?}");
    assert_eq!(owners_of(&app, research).await, 1);
    assert_eq!(
        app.number(&format!(
            "SELECT (SELECT member_count FROM teams WHERE id = {research}) \
             - (SELECT count(*) FROM team_members WHERE team_id = {research})"
        ))
        .await,
        0,
        "the kept count matches the rows"
    );
}

#[tokio::test]
async fn with_many_teams_the_invite_form_takes_their_names_and_checks_each() {
    let app = spawn_app().await;
    let acme = super::acme(&app).await;
    for n in 0..13 {
        app.team(acme.org, &format!("Team {n:02}"))
            .owned_by(&acme.owner)
            .create()
            .await;
    }
    let olive = signed_in(&app, &acme.owner).await;
    let html = olive.get("/settings/org/users").await.html();
    assert!(html.has("label[for=invite-team-names]"));
    assert_eq!(html.count("input[name=team]"), 0, "no wall of checkboxes");
    let invite = async |names: &str| {
        olive
            .post_htmx(
                "/settings/org/invitations",
                &[
                    ("emails", "new@acme.test"),
                    ("role", "member"),
                    ("team_names", names),
                    ("intent", "send"),
                ],
            )
            .await
    };
    let refused = invite("team 01, Nope").await;
    assert_eq!(refused.status(), 422);
    let error = refused
        .html()
        .field_error("invite-team-names")
        .unwrap_or_default();
    assert!(
        error.contains("No team of this organization is named “nope”"),
        "{error}"
    );
    assert_eq!(refused.html().value("#invite-team-names"), "team 01, Nope");
    assert_eq!(app.number("SELECT count(*) FROM invitations").await, 0);
    assert_eq!(invite("TEAM 01, team 02,").await.status(), 200);
    assert_eq!(
        app.number(
            "SELECT count(*) FROM invitation_teams it JOIN teams t ON t.id = it.team_id \
             WHERE t.name IN ('Team 01', 'Team 02')"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn super_admins_bypass_team_rules_and_oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    // A super administrator who is a plain member of the organization and in no team.
    let root = app
        .user("root@platform.test")
        .super_admin()
        .joins(Membership::new(acme.org, OrgRole::Member))
        .create()
        .await;
    let visitor = signed_in(&app, &root).await;
    let research = acme.research;
    let changed = visitor
        .post_htmx(
            &team_path(research, "/role"),
            &[("user", &acme.max.id.to_string()), ("role", "viewer")],
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        team_role(&app, research, &acme.max).await.as_deref(),
        Some("viewer")
    );
    let handed = visitor
        .post_form(
            &team_path(research, "/transfer"),
            &[("user", &acme.vera.id.to_string())],
        )
        .await;
    assert_eq!(handed.status(), 303);
    assert_eq!(
        team_role(&app, research, &acme.vera).await.as_deref(),
        Some("owner")
    );
    assert_eq!(owners_of(&app, research).await, 1);

    // A 10 MiB description is refused before it is read; nothing is created.
    let ada = signed_in(&app, &acme.admin).await;
    let huge = "x".repeat(10 * 1024 * 1024);
    let refused = ada
        .post_form(
            "/settings/org/teams",
            &[("name", "Huge"), ("description", &huge)],
        )
        .await;
    assert_eq!(refused.status(), 413);
    assert_eq!(
        app.number("SELECT count(*) FROM teams WHERE name = 'Huge'")
            .await,
        0
    );
}

#[tokio::test]
async fn removals_from_the_organization_racing_team_changes_leave_one_owner_and_no_error() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let research = acme.research;
    let olive = signed_in(&app, &acme.owner).await;
    let mia = signed_in(&app, &acme.mia).await;
    let max = signed_in(&app, &acme.max).await;
    let transfer = team_path(research, "/transfer");
    let role = team_path(research, "/role");
    let people = [&acme.mia, &acme.max, &acme.vera, &acme.other_admin];
    let mut requests = Vec::new();
    for i in 0..20 {
        let target = people[i % people.len()].id.to_string();
        let (visitor, path, fields): (&Visitor, &str, Vec<(&'static str, String)>) = match i % 3 {
            // The organization's owner removes people from the organization, the team's owner
            // among them (her team passes to the organization's owner).
            0 => (&olive, "/settings/org/removal", vec![("user", target)]),
            1 => (&mia, &transfer, vec![("user", target)]),
            _ => (
                &max,
                &role,
                vec![("user", target), ("role", "viewer".to_owned())],
            ),
        };
        requests.push(async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            visitor.post_form(path, &fields).await.status().as_u16()
        });
    }
    let statuses = futures_util::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|s| *s < 500),
        "no deadlock, no error: {statuses:?}"
    );
    // Mia (the team's owner) was removed; her team kept exactly one owner.
    assert!(app.stored_membership(acme.org, acme.mia.id).await.is_none());
    assert_eq!(owners_of(&app, research).await, 1);
    assert_eq!(
        app.number(&format!(
            "SELECT (SELECT member_count FROM teams WHERE id = {research}) \
             - (SELECT count(*) FROM team_members WHERE team_id = {research})"
        ))
        .await,
        0
    );
}
