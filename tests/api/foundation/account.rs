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

    let page = ada.get_html("/settings/account").await;
    assert!(page.contains("Your profile was saved."));
    assert!(page.contains("value=\"Lovelace\""));
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
    assert!(page.contains("aria-describedby=\"profile-first_name-error\""));
    assert!(page.contains("id=\"profile-first_name-error\">Enter a name.</p>"));
    assert!(page.contains("value=\"Kept Value\""));

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
    assert!(fragment.contains("Use at most 100 characters."));

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
    assert!(
        response
            .text()
            .contains("This is not your current password.")
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
    assert!(response.text().contains("Use at least 10 characters."));

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
    assert!(response.text().contains("The two passwords differ."));

    ada.logout().await;
    assert_eq!(
        ada.login(&ada.user).await.status(),
        303,
        "the old password still works"
    );
}
