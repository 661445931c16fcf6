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
