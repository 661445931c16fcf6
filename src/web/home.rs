//! `/`: send each visitor where they work.

use actix_web::HttpResponse;

use crate::web::context::SignedInUser;
use crate::web::errors::AppError;

pub async fn index(signed_in: Result<SignedInUser, AppError>) -> Result<HttpResponse, AppError> {
    let location = match signed_in {
        Err(AppError::Unauthenticated) => "/login",
        Err(other) => return Err(other),
        Ok(signed_in) if signed_in.user.is_super_admin() => "/admin/organizations",
        Ok(signed_in) if !signed_in.organizations.is_empty() => "/settings/org",
        Ok(_) => "/settings/account",
    };
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish())
}
