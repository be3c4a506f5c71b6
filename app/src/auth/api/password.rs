//! Passwords: the strength meter's verdict, and the reset link.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the strength meter shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrengthView {
    pub score: u8,
    pub problem: Option<String>,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

/// Strength and policy verdict for a password being typed (debounced by the page).
#[server(endpoint = "auth/password-strength", input = crate::wire::Form)]
pub async fn password_strength(
    password: String,
    #[server(default)] email: String,
    #[server(default)] first_name: String,
    #[server(default)] last_name: String,
) -> Result<StrengthView, AppError> {
    let personal: Vec<&str> = [email.as_str(), first_name.as_str(), last_name.as_str()]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    let s = backend::auth::password::strength(&password, &personal);
    Ok(StrengthView {
        score: s.score,
        problem: s.problem,
        warning: s.warning,
        suggestions: s.suggestions,
    })
}

/// Mails a reset link if the address has an account; the answer is the same
/// either way. Continues at `/forgot-password?sent=…` with the expiry time.
#[server(endpoint = "auth/forgot-password", input = crate::wire::Form)]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let sent = backend
        .send_reset_link(&email, &request_meta())
        .await
        .map_err(to_app_error)?;
    leptos_axum::redirect(&format!(
        "/forgot-password?sent={}",
        backend::clock::to_clock_time(sent.expires_at).replace(' ', "+")
    ));
    Ok(())
}

/// The Security tab's "Send reset password link", for the signed-in person.
#[server(endpoint = "security/send-reset-link", input = crate::wire::Form)]
pub async fn send_reset_link() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let sent = backend
        .send_reset_link(&user.email, &request_meta())
        .await
        .map_err(to_app_error)?;
    leptos_axum::redirect(&format!(
        "/profile/security?reset_sent={}",
        backend::clock::to_clock_time(sent.expires_at).replace(' ', "+")
    ));
    Ok(())
}

/// Whether a reset link can still be used (the page asks before showing the form).
#[server(endpoint = "auth/check-reset-link", input = crate::wire::Form)]
pub async fn check_reset_link(token: String) -> Result<(), AppError> {
    use crate::ssr::*;
    backend()?
        .check_reset_link(&token)
        .await
        .map_err(to_app_error)
}

/// Sets a new password with a reset link, then continues at sign-in.
#[server(endpoint = "auth/reset-password", input = crate::wire::Form)]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let password = backend::secret::Password::new(password);
    let current = session_token();
    match backend
        .reset_password(&token, &password, current.as_ref(), &request_meta())
        .await
    {
        Ok(_) => {
            leptos_axum::redirect(if current.is_some() {
                "/profile/security?password=changed"
            } else {
                "/login?password=changed"
            });
            Ok(())
        }
        Err(e) => {
            let err = to_app_error(e);
            let page = format!("/reset-password?token={}", keep_url_safe_chars(&token));
            return_to_page_on_error(
                &page,
                <ResetPassword as leptos::server_fn::ServerFn>::PATH,
                &err,
            );
            Err(err)
        }
    }
}

#[cfg(feature = "ssr")]
fn keep_url_safe_chars(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
