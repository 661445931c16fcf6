//! Every address of the console, defined once: the route table registers each route's pattern
//! inside its area's scope, and handlers, templates and tests build links from the same value.
//! Also the ids of the regions htmx swaps and the events that refresh them.

use std::fmt::Display;

/// A route: its area's scope and its pattern inside it.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub scope: &'static str,
    pub pattern: &'static str,
}

impl Route {
    const fn new(scope: &'static str, pattern: &'static str) -> Route {
        Route { scope, pattern }
    }

    /// The address of a route without parameters.
    pub fn path(&self) -> String {
        format!("{}{}", self.scope, self.pattern)
    }

    /// The address of a route with one `{id}`, written where it is needed (a page lists many).
    pub fn with_id<T: Display>(&self, id: T) -> Address<T> {
        Address { route: *self, id }
    }
}

/// A route's address with its id filled in.
pub struct Address<T> {
    route: Route,
    id: T,
}

impl<T: Display> Display for Address<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (before, after) = self
            .route
            .pattern
            .split_once("{id}")
            .unwrap_or((self.route.pattern, ""));
        write!(f, "{}{before}{}{after}", self.route.scope, self.id)
    }
}

pub const ADMIN: &str = "/admin";
pub const ORG: &str = "/settings/org";
pub const ACCOUNT: &str = "/settings/account";
pub const API: &str = "/api";

pub const HEALTHZ: Route = Route::new("", "/healthz");
pub const READYZ: Route = Route::new("", "/readyz");
pub const STATIC: Route = Route::new("", "/static/{path:.*}");

pub const API_AUTHORIZE: Route = Route::new(API, "/v1/authorize");
pub const API_USAGE: Route = Route::new(API, "/v1/usage");
pub const API_SHARED_USE: Route = Route::new(API, "/v1/shared-use");
pub const API_OPENAPI: Route = Route::new(API, "/v1/openapi.json");

pub const HOME: Route = Route::new("", "/");
pub const LOGIN: Route = Route::new("", "/login");
/// Asking for a password reset link, and the link (`{id}` is its token).
pub const PASSWORD_RESET: Route = Route::new("", "/password-reset");
pub const SSO: Route = Route::new("", "/login/sso");
pub const SSO_CALLBACK: Route = Route::new("", "/login/sso/callback");
pub const PASSWORD_RESET_LINK: Route = Route::new("", "/password-reset/{id}");
pub const LOGOUT: Route = Route::new("", "/logout");

pub const ACCOUNT_PAGE: Route = Route::new(ACCOUNT, "");
pub const ACCOUNT_PROFILE: Route = Route::new(ACCOUNT, "/profile");
pub const ACCOUNT_PASSWORD: Route = Route::new(ACCOUNT, "/password");
pub const CONFIRM_PASSWORD: Route = Route::new(ACCOUNT, "/confirm");

pub const SWITCH_ORG: Route = Route::new(ACCOUNT, "/switch");
pub const ACCOUNT_ORGANIZATIONS: Route = Route::new(ACCOUNT, "/organizations");
pub const ACCOUNT_LEAVE_ORG: Route = Route::new(ACCOUNT, "/organizations/{id}/leave");
pub const ACCOUNT_API_KEYS: Route = Route::new(ACCOUNT, "/keys");
pub const ACCOUNT_API_KEY: Route = Route::new(ACCOUNT, "/keys/{id}");
pub const ACCOUNT_API_KEY_REVOKE: Route = Route::new(ACCOUNT, "/keys/{id}/revoke");
pub const ACCOUNT_API_KEY_ROTATE: Route = Route::new(ACCOUNT, "/keys/{id}/rotate");

pub const ORG_OVERVIEW: Route = Route::new(ORG, "");
pub const MEMBERS: Route = Route::new(ORG, "/users");
pub const MEMBER: Route = Route::new(ORG, "/users/{id}");
pub const MEMBER_ROLE: Route = Route::new(ORG, "/users/{id}/role");
pub const MEMBER_DETAILS: Route = Route::new(ORG, "/users/{id}/details");
pub const MEMBER_REMOVAL: Route = Route::new(ORG, "/removal");
pub const INVITE: Route = Route::new(ORG, "/invitations");
pub const INVITATION_RESEND: Route = Route::new(ORG, "/invitations/{id}/resend");
pub const INVITATION_CANCEL: Route = Route::new(ORG, "/invitations/{id}/cancel");
pub const TEAMS: Route = Route::new(ORG, "/teams");
pub const NEW_TEAM: Route = Route::new(ORG, "/teams/new");
pub const TEAM: Route = Route::new(ORG, "/teams/{id}");
/// Members of the organization one may add to the team (`?q=`).
pub const TEAM_CANDIDATES: Route = Route::new(ORG, "/teams/{id}/candidates");
/// Adds the member the form names (`user`).
pub const TEAM_ADD: Route = Route::new(ORG, "/teams/{id}/add");
pub const TEAM_ROLE: Route = Route::new(ORG, "/teams/{id}/role");
pub const TEAM_REMOVE: Route = Route::new(ORG, "/teams/{id}/remove");
pub const TEAM_TRANSFER: Route = Route::new(ORG, "/teams/{id}/transfer");
pub const TEAM_DEACTIVATE: Route = Route::new(ORG, "/teams/{id}/deactivate");
pub const TEAM_REACTIVATE: Route = Route::new(ORG, "/teams/{id}/reactivate");
pub const TEAM_BUDGET: Route = Route::new(ORG, "/teams/{id}/budget");
pub const TEAM_WITHDRAW: Route = Route::new(ORG, "/teams/{id}/budget/withdraw");
/// The Subscription tab (`?seats_page=` pages the seat holders).
pub const SUBSCRIPTION: Route = Route::new(ORG, "/subscription");
pub const SUBSCRIPTION_PLAN: Route = Route::new(ORG, "/subscription/plan");
/// GET `?email=&grant=` previews a seat change and its cost; POST confirms it.
pub const SUBSCRIPTION_SEAT: Route = Route::new(ORG, "/subscription/seat");
/// POST `user`, `admin=yes|no`: the owner names or withdraws a subscription admin.
pub const SUBSCRIPTION_ADMIN: Route = Route::new(ORG, "/subscription/admin");
/// Any month's statement: `?month=2026-05` (the form) answers with the CSV's address.
pub const SUBSCRIPTION_STATEMENTS: Route = Route::new(ORG, "/subscription/statements");
/// A month's statement as CSV; the id is the month (`2026-11`).
pub const SUBSCRIPTION_STATEMENT: Route = Route::new(ORG, "/subscription/statements/{id}");
pub const SUBSCRIPTION_CANCEL: Route = Route::new(ORG, "/subscription/cancel");
pub const PROVIDER_KEYS: Route = Route::new(ORG, "/keys");
pub const PROVIDER_KEY_ROTATE: Route = Route::new(ORG, "/keys/{id}/rotate");
pub const PROVIDER_KEY_REMOVE: Route = Route::new(ORG, "/keys/{id}/remove");
pub const USAGE: Route = Route::new(ORG, "/usage");
pub const USAGE_CSV: Route = Route::new(ORG, "/usage.csv");
pub const ORG_AUDIT: Route = Route::new(ORG, "/audit");
pub const ORG_AUDIT_CSV: Route = Route::new(ORG, "/audit.csv");
pub const ORG_AUDIT_VERIFY: Route = Route::new(ORG, "/audit/verify");
pub const ORG_AUDIT_VERIFICATION: Route = Route::new(ORG, "/audit/verifications/{id}");
pub const USAGE_ALERTS: Route = Route::new(ORG, "/usage/alerts");
pub const SECURITY: Route = Route::new(ORG, "/security");
pub const SECURITY_EXPLAIN: Route = Route::new(ORG, "/security/explain");
pub const SECURITY_IP: Route = Route::new(ORG, "/security/ip");
pub const SECURITY_SSO: Route = Route::new(ORG, "/security/sso");
pub const SECURITY_IP_REMOVE: Route = Route::new(ORG, "/security/ip/{id}/remove");
pub const SECURITY_IP_ENFORCE: Route = Route::new(ORG, "/security/ip/{id}/enforce");
pub const SECURITY_RESTRICTIONS: Route = Route::new(ORG, "/security/restrictions");
pub const SECURITY_RESTRICTION_REMOVE: Route =
    Route::new(ORG, "/security/restrictions/{id}/remove");
pub const SECURITY_RESTRICTION_ENFORCE: Route =
    Route::new(ORG, "/security/restrictions/{id}/enforce");
pub const SERVICE_ACCOUNTS: Route = Route::new(ORG, "/service-accounts");
pub const ORG_API_KEYS: Route = Route::new(ORG, "/keys/api");
pub const ORG_API_KEY: Route = Route::new(ORG, "/keys/api/{id}");
pub const ORG_API_KEY_REVOKE: Route = Route::new(ORG, "/keys/api/{id}/revoke");
pub const ORG_API_KEY_ROTATE: Route = Route::new(ORG, "/keys/api/{id}/rotate");
pub const LEAVE_ORG: Route = Route::new(ORG, "/leave");
pub const TRANSFER_OWNERSHIP: Route = Route::new(ORG, "/transfer");

/// The page an invitation link opens (`{id}` is the token), and its three ways to join.
pub const INVITATION: Route = Route::new("", "/invitations/{id}");
pub const INVITATION_JOIN: Route = Route::new("", "/invitations/{id}/join");
pub const INVITATION_REGISTER: Route = Route::new("", "/invitations/{id}/register");
pub const INVITATION_SIGN_IN: Route = Route::new("", "/invitations/{id}/sign-in");

pub const ORGANIZATIONS: Route = Route::new(ADMIN, "/organizations");
pub const ORGANIZATIONS_CSV: Route = Route::new(ADMIN, "/organizations.csv");
pub const NEW_ORGANIZATION: Route = Route::new(ADMIN, "/organizations/new");
pub const MANAGE: Route = Route::new(ADMIN, "/organizations/{id}/manage");
pub const DETAILS: Route = Route::new(ADMIN, "/organizations/{id}/details");
pub const ASSIGN_USERS: Route = Route::new(ADMIN, "/organizations/{id}/assign");
pub const MODEL_ACCESS: Route = Route::new(ADMIN, "/organizations/{id}/models");
pub const OAUTH: Route = Route::new(ADMIN, "/organizations/{id}/oauth");
pub const PURCHASES: Route = Route::new(ADMIN, "/organizations/{id}/purchases");
pub const TOKEN_ASSIGNMENTS: Route = Route::new(ADMIN, "/organizations/{id}/assignments");
pub const SALES_IMPORT: Route = Route::new(ADMIN, "/sales-import");
pub const USERS: Route = Route::new(ADMIN, "/users");
pub const USER_STATUS: Route = Route::new(ADMIN, "/users/{id}/status");
pub const SETTINGS: Route = Route::new(ADMIN, "/settings");
pub const ADMIN_AUDIT: Route = Route::new(ADMIN, "/audit");
pub const ADMIN_AUDIT_CSV: Route = Route::new(ADMIN, "/audit.csv");
pub const ADMIN_AUDIT_VERIFY: Route = Route::new(ADMIN, "/audit/verify");
pub const ADMIN_AUDIT_VERIFICATION: Route = Route::new(ADMIN, "/audit/verifications/{id}");
pub const SETTINGS_PLANS: Route = Route::new(ADMIN, "/settings/plans");
pub const SETTINGS_MODELS: Route = Route::new(ADMIN, "/settings/models");
pub const SETTINGS_ENDPOINTS: Route = Route::new(ADMIN, "/settings/endpoints");

/// Ids of the regions htmx swaps (`id="…"` in templates, `#…` in `hx-target`).
pub mod targets {
    pub const ALERTS: &str = "alerts";
    pub const MODAL_ROOT: &str = "modal-root";
    pub const ORG_TABLE: &str = "org-table";
    pub const MANAGE_BODY: &str = "manage-body";
    pub const MEMBER_TABLE: &str = "member-table";
    /// The Members page's side panel: a member's details, a removal preview, its receipt.
    pub const MEMBER_PANEL: &str = "member-panel";
    pub const INVITE_FORM: &str = "invite-form";
    pub const INVITATION_LIST: &str = "invitation-list";
    pub const TEAM_GRID: &str = "team-grid";
    pub const AUDIT_ENTRIES: &str = "audit-entries";
    pub const AUDIT_VERDICT: &str = "audit-verdict";
    pub const TEAM_MEMBER_TABLE: &str = "team-member-table";
    /// The add-member search's results on a team's page.
    pub const TEAM_CANDIDATES: &str = "team-candidates";
}

/// Events a response sends (`HX-Trigger`) so regions listening for them refresh themselves.
pub mod events {
    /// An organization was created or changed: the Organizations table reloads.
    pub const ORGS_CHANGED: &str = "orgs-changed";
    /// Members were changed or removed: the Members table reloads.
    pub const MEMBERS_CHANGED: &str = "members-changed";
    /// Invitations were sent, resent or cancelled: their list reloads.
    pub const INVITATIONS_CHANGED: &str = "invitations-changed";
    /// A team's members changed: its member table reloads.
    pub const TEAM_MEMBERS_CHANGED: &str = "team-members-changed";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_links_in_emails_are_the_keys_pages() {
        use crate::services::outbox::key_page_path;
        assert_eq!(key_page_path(true, 7), ORG_API_KEY.with_id(7).to_string());
        assert_eq!(
            key_page_path(false, 7),
            ACCOUNT_API_KEY.with_id(7).to_string()
        );
    }

    #[test]
    fn the_password_reset_link_in_emails_is_its_page() {
        use crate::services::outbox::password_reset_path;
        assert_eq!(
            password_reset_path("abc-_1"),
            PASSWORD_RESET_LINK.pattern.replace("{id}", "abc-_1")
        );
        assert_eq!(crate::services::outbox::SSO_SIGN_IN_PATH, SSO.path());
    }

    #[test]
    fn addresses_join_scope_and_pattern() {
        assert_eq!(ORGANIZATIONS.path(), "/admin/organizations");
        assert_eq!(
            MANAGE.with_id(42).to_string(),
            "/admin/organizations/42/manage"
        );
        assert_eq!(ACCOUNT_PAGE.path(), "/settings/account");
    }
}
