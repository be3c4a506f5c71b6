//! Signing up, and confirming the address by the mailed link.

use leptos::prelude::*;

use crate::error::AppError;
use crate::ui::LinkState;

#[server(endpoint = "auth/signup", input = crate::wire::Form)]
pub async fn sign_up(
    first_name: String,
    last_name: String,
    email: String,
    #[server(default)] phone: String,
    password: String,
    /// The token of the invitation link that led to sign-up, if any.
    #[server(default)]
    invitation: String,
) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let input = backend::auth::service::SignUp {
        first_name,
        last_name,
        email,
        phone,
        password: backend::secret::Password::new(password),
        invitation: Some(invitation).filter(|t| !t.trim().is_empty()),
    };
    let (_user, token) = backend
        .sign_up(input, &request_meta())
        .await
        .map_err(to_app_error)?;
    set_session_cookie(&token);
    leptos_axum::redirect("/profile");
    Ok(())
}

/// What `/verify-email` shows before its button is pressed: the address the
/// link would confirm, or why it cannot (nothing is written, so a mail
/// scanner that opens links confirms nothing); with no token, the address
/// a confirmation posted without JavaScript just confirmed.
#[server(endpoint = "auth/check-verify-link", input = crate::wire::Form)]
pub async fn check_verify_link(token: String) -> Result<LinkState, AppError> {
    use crate::ssr::*;
    if token.is_empty() {
        return take_link_outcome("/verify-email");
    }
    let backend = backend()?;
    backend
        .check_verification_link(&token)
        .await
        .map(LinkState::Ready)
        .map_err(to_app_error)
}

/// Confirms the address a verification link was sent to (the page's
/// button). Returns the address.
#[server(endpoint = "auth/verify-email", input = crate::wire::Form)]
pub async fn verify_email(token: String) -> Result<String, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let outcome = backend
        .verify_email(&token, &request_meta())
        .await
        .map(|user| user.email)
        .map_err(to_app_error);
    link_outcome("/verify-email", outcome)
}

/// Sends a new verification link; returns the address it went to.
#[server(endpoint = "auth/resend-verification", input = crate::wire::Form)]
pub async fn resend_verification() -> Result<String, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    backend
        .resend_verification(&user, &request_meta())
        .await
        .map_err(to_app_error)?;
    Ok(user.email)
}
