//! Who is asking: the signed-in user loaded from the database on every request (so a removal
//! or a disabled account bites at once), and the layout data every page shows.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::domain::OrgId;
use crate::models::memberships::{self, UserOrganization};
use crate::models::users::User;
use crate::web::AppState;
use crate::web::errors::AppError;
use crate::web::session::{AppSession, Flash, SignedIn};

pub struct SignedInUser {
    pub user: User,
    pub organizations: Vec<UserOrganization>,
    pub session: Session,
}

impl SignedInUser {
    /// The organization chosen in the header, or the first one the user belongs to.
    pub fn current_org(&self) -> Option<&UserOrganization> {
        let chosen = self.session.chosen_org();
        self.organizations
            .iter()
            .find(|org| Some(org.org_id.0) == chosen)
            .or_else(|| self.organizations.first())
    }

    /// Refuses anyone but a super administrator.
    pub fn require_super_admin(&self) -> Result<(), AppError> {
        if self.user.is_super_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "Only super administrators can open this page.",
            ))
        }
    }
}

impl FromRequest for SignedInUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<SignedInUser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))?;
            let now = chrono::Utc::now().timestamp();
            let user_id = match session.signed_in(now) {
                SignedIn::Yes(user_id) => user_id,
                SignedIn::No => return Err(AppError::Unauthenticated),
                SignedIn::Expired => {
                    session.purge();
                    return Err(AppError::Unauthenticated);
                }
            };
            let mut conn = state.pool.get().await?;
            let Some((user, organizations)) =
                memberships::active_user_with_organizations(&mut conn, user_id).await?
            else {
                session.purge();
                return Err(AppError::Unauthenticated);
            };
            session.touch(now)?;
            Ok(SignedInUser {
                user,
                organizations,
                session,
            })
        })
    }
}

/// Everything the shared layout shows: header, organization switcher, sidebar, flashes.
pub struct Chrome {
    pub csrf_token: String,
    pub user_name: String,
    pub user_email: String,
    pub is_super_admin: bool,
    pub organizations: Vec<UserOrganization>,
    pub current_org: Option<OrgId>,
    pub flashes: Vec<Flash>,
    /// The sidebar entry to mark as the current page.
    pub section: &'static str,
}

impl Chrome {
    pub fn new(signed_in: &SignedInUser, section: &'static str) -> Result<Chrome, AppError> {
        Ok(Chrome {
            csrf_token: signed_in.session.csrf_token()?,
            user_name: signed_in.user.display_name(),
            user_email: signed_in.user.email.clone(),
            is_super_admin: signed_in.user.is_super_admin(),
            organizations: signed_in.organizations.clone(),
            current_org: signed_in.current_org().map(|org| org.org_id),
            flashes: signed_in.session.take_flashes(),
            section,
        })
    }

    pub fn is_current_org(&self, org_id: &OrgId) -> bool {
        self.current_org.as_ref() == Some(org_id)
    }
}
