//! Attacks from the hardening review, each refused: a spoofed client address, control
//! characters in text, a return address with CR/LF, hostile bodies.

use crate::support::{Role, spawn_app_with};

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
