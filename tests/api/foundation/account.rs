use crate::support::html::Html;
use crate::support::{Role, spawn_app};

#[tokio::test]
async fn a_plain_form_saves_the_profile_and_redirects_with_a_message() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;

    let response = ada
        .post_form(
            "/settings/account/profile",
            &[("first_name", "Ada"), ("last_name", "Lovelace")],
        )
        .await;
    assert_eq!(
        (response.status().as_u16(), response.location()),
        (303, "/settings/account")
    );

    let page = ada.get("/settings/account").await.html();
    assert_eq!(page.texts("#alerts .alert"), ["Your profile was saved."]);
    assert_eq!(
        (
            page.value("#profile-first_name"),
            page.value("#profile-last_name")
        ),
        ("Ada".to_owned(), "Lovelace".to_owned())
    );
    assert!(
        !ada.get_html("/settings/account")
            .await
            .contains("Your profile was saved."),
        "a flash shows once"
    );
}

#[tokio::test]
async fn errors_come_back_beside_their_fields_with_the_input_kept() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;

    let response = ada
        .post_form(
            "/settings/account/profile",
            &[("first_name", "   "), ("last_name", "Kept Value")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text();
    assert!(
        page.contains("<html"),
        "without JavaScript the whole page comes back"
    );
    let html = response.html();
    assert_eq!(
        html.field_errors("#profile"),
        [("profile-first_name".to_owned(), "Enter a name.".to_owned())]
    );
    assert_eq!(html.value("#profile-last_name"), "Kept Value");

    let response = ada
        .post_htmx(
            "/settings/account/profile",
            &[("first_name", &"x".repeat(101)), ("last_name", "Kept")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let fragment = response.text();
    assert!(
        fragment.starts_with("<form id=\"profile\""),
        "htmx gets the form fragment: {fragment}"
    );
    assert_eq!(
        response.html().field_error("profile-first_name").as_deref(),
        Some("Use at most 100 characters.")
    );

    let stored = app.stored_user(ada.user.id).await;
    assert_eq!(
        (stored.first_name.as_str(), stored.last_name.as_str()),
        ("Test", "User")
    );
}

#[tokio::test]
async fn markup_in_a_name_is_shown_as_text() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    ada.post_form(
        "/settings/account/profile",
        &[
            ("first_name", "<script>alert(1)</script>"),
            ("last_name", "\"><img src=x>"),
        ],
    )
    .await;
    let page = ada.get_html("/settings/account").await;
    assert!(!page.contains("<script>alert(1)</script>") && !page.contains("<img src=x>"));
    assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    let html = Html::parse(&page);
    assert_eq!(
        (
            html.value("#profile-first_name"),
            html.value("#profile-last_name")
        ),
        (
            "<script>alert(1)</script>".to_owned(),
            "\"><img src=x>".to_owned()
        ),
        "the fields hold exactly what was typed"
    );
    assert!(!html.has("script:not([src])") && !html.has("img"));
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_a_strong_new_one() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;

    let response = ada
        .post_form(
            "/settings/account/password",
            &[
                ("current_password", "wrong one"),
                ("new_password", "long enough pw"),
                ("confirm_password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.html().field_errors("#password"),
        [(
            "password-current_password".to_owned(),
            "This is not your current password.".to_owned()
        )]
    );

    let response = ada
        .post_htmx(
            "/settings/account/password",
            &[
                ("current_password", &ada.user.password),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response
            .html()
            .field_error("password-new_password")
            .as_deref(),
        Some("Use at least 12 characters.")
    );

    let response = ada
        .post_form(
            "/settings/account/password",
            &[
                ("current_password", &ada.user.password),
                ("new_password", "long enough pw"),
                ("confirm_password", "different pw!!"),
            ],
        )
        .await;
    assert_eq!(
        response
            .html()
            .field_error("password-confirm_password")
            .as_deref(),
        Some("The two passwords differ.")
    );

    ada.logout().await;
    assert_eq!(
        ada.login(&ada.user).await.status(),
        303,
        "the old password still works"
    );
}

#[tokio::test]
async fn members_leave_an_organization_from_the_account_page_and_owners_are_told_why_not() {
    let app = spawn_app().await;
    let acme = crate::org::acme(&app).await;
    let other = app.signed_in_as(Role::OrgOwner).await;
    let other_org = other.org.expect("an organization").0;
    let leave = |org: i64| format!("/settings/account/organizations/{org}/leave");
    let is_member = |user: i64, org: i64| {
        format!("SELECT count(*) FROM memberships WHERE user_id = {user} AND org_id = {org}")
    };

    // The owner sees the button disabled with the reason, and the server refuses too.
    app.login(&acme.owner).await;
    let page = app.get("/settings/account").await.html();
    assert_eq!(page.rows("#my-organizations")[0][0], "Acme");
    let row = format!("#my-org-{}", acme.org.0);
    assert_eq!(page.count(&format!("{row} button[disabled]")), 1);
    assert!(
        page.text(&format!("{row} .hint"))
            .contains("transfer ownership")
    );
    assert_eq!(app.post_form(&leave(acme.org.0), &[]).await.status(), 403);
    assert_eq!(app.number(&is_member(acme.owner.id.0, acme.org.0)).await, 1);

    let mia = crate::policy_api::signed_in(&app, &acme.member).await;
    mia.get("/settings/account").await;
    // Another organization's id is not found, and nothing changes anywhere.
    assert_eq!(mia.post_form(&leave(other_org), &[]).await.status(), 404);
    assert_eq!(
        app.number(&is_member(acme.member.id.0, acme.org.0)).await,
        1
    );
    // Without the form's token nothing happens.
    let forged = mia
        .send(
            mia.client
                .post(mia.url(&leave(acme.org.0)))
                .form(&[("x", "y")]),
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(
        app.number(&is_member(acme.member.id.0, acme.org.0)).await,
        1
    );

    let left = mia.post_form(&leave(acme.org.0), &[]).await;
    assert_eq!(left.status(), 303);
    assert_eq!(left.location(), "/settings/account");
    let page = mia.get("/settings/account").await.html();
    assert!(page.text(".alert-success").contains("You left Acme."));
    assert_eq!(page.count("#my-organizations"), 0);
    assert_eq!(
        app.number(&is_member(acme.member.id.0, acme.org.0)).await,
        0
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'member.left'")
            .await,
        1
    );
    // Gone is gone: a second try is not found.
    assert_eq!(mia.post_form(&leave(acme.org.0), &[]).await.status(), 404);
}
