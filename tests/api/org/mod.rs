//! The organization pages under /settings/org.

mod browser;
mod invitations;
mod members;
mod overview;
mod provider_keys;
mod subscription;
mod subscription_browser;
mod teams;
mod teams_browser;

use crate::support::{Membership, OrgRole, TestApp, TestUser};

/// Acme, where most stories start: its owner Olive, admins Ada and Otto, members Mia and Max
/// (owner@, admin@, other-admin@, member@ and other-member@acme.test).
pub struct Acme {
    pub org: crate::support::OrgId,
    pub owner: TestUser,
    pub admin: TestUser,
    pub other_admin: TestUser,
    pub member: TestUser,
    pub other_member: TestUser,
}

pub async fn acme(app: &TestApp) -> Acme {
    let owner = app
        .user("owner@acme.test")
        .named("Olive", "Owner")
        .create()
        .await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    let with = |email: &'static str, first: &'static str, role| {
        app.user(email)
            .named(first, "Acme")
            .joins(Membership::new(org, role))
            .create()
    };
    Acme {
        admin: with("admin@acme.test", "Ada", OrgRole::Admin).await,
        other_admin: with("other-admin@acme.test", "Otto", OrgRole::Admin).await,
        member: with("member@acme.test", "Mia", OrgRole::Member).await,
        other_member: with("other-member@acme.test", "Max", OrgRole::Member).await,
        owner,
        org,
    }
}
