//! Signing in and out: the password, the second step (`ChallengeView`),
//! and where a platform's sign-in continues.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use vocab::MfaMethod;

/// The platform this sign-in continues to, by name ("Sign in to continue
/// to ConnectivityPro"), when a platform sent the person here.
#[server(endpoint = "auth/continue-to", input = crate::wire::Form)]
pub async fn continue_to() -> Result<Option<String>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let Some(pending) = oauth_request().await? else {
        return Ok(None);
    };
    backend
        .platform_name(&pending.client_id)
        .await
        .map_err(to_app_error)
}

/// First step of sign-in: the password. Continues at `/login/verify`, where
/// the second factor is asked for; no session exists until then.
#[server(endpoint = "auth/login", input = crate::wire::Form)]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let password = backend::secret::Password::new(password);
    let (_user, challenge) = backend
        .sign_in(&email, &password, &request_meta())
        .await
        .map_err(to_app_error)?;
    set_challenge_cookie(&challenge);
    leptos_axum::redirect("/login/verify");
    Ok(())
}

/// What the second-step page shows about the pending sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeView {
    #[serde(with = "crate::wire::word")]
    pub method: MfaMethod,
    pub sent_to: String,
    /// e.g. "09:45 UTC"
    pub expires: String,
    pub resend_in_secs: i64,
}

#[server(endpoint = "auth/challenge", input = crate::wire::Form)]
pub async fn pending_sign_in() -> Result<ChallengeView, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let token = challenge_token().ok_or_else(|| to_app_error(backend::Error::SignInExpired))?;
    let info = backend.challenge_info(&token).await.map_err(to_app_error)?;
    Ok(ChallengeView {
        method: info.method,
        sent_to: info.sent_to,
        expires: backend::clock::to_clock_time(info.expires_at),
        resend_in_secs: info.resend_in,
    })
}

/// Second step of sign-in: the code. A new session id is issued only now.
/// Answers `Some(url)` when the browser must leave the app for `url` with a
/// full page load (back to a platform through `/oauth/resume`, which the
/// app's router does not know); without JavaScript that is a redirect.
#[server(endpoint = "auth/verify-code", input = crate::wire::Form)]
pub async fn verify_code(code: String) -> Result<Option<String>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let token = challenge_token().ok_or_else(|| to_app_error(backend::Error::SignInExpired))?;
    let meta = request_meta();
    let backend::auth::challenge::SignedIn {
        user,
        session,
        device,
    } = match backend.verify_second_factor(&token, &code, &meta).await {
        Ok(done) => done,
        Err(e) => {
            if matches!(e, backend::Error::SignInExpired) {
                clear_challenge_cookie();
            }
            return Err(to_app_error(e));
        }
    };
    // An earlier session of this browser ends.
    if let Some(old) = session_token() {
        backend.sign_out(&old, &meta).await.map_err(to_app_error)?;
    }
    clear_challenge_cookie();
    set_session_cookie(&session);
    set_device_cookie(&device);
    // As the seed describes, a sign-in after choosing an authenticator app
    // shows its QR code: once the current method has proven who this is.
    let unfinished = backend
        .has_unfinished_setup(&user)
        .await
        .map_err(to_app_error)?;
    if !unfinished && oauth_request().await?.is_some() {
        // Signing in for a platform: back to it, through the request's checks.
        const RESUME: &str = "/oauth/resume";
        if is_form_post() {
            leptos_axum::redirect(RESUME);
            return Ok(None);
        }
        return Ok(Some(RESUME.to_string()));
    }
    leptos_axum::redirect(if unfinished {
        "/profile/security?finish_setup=1"
    } else {
        "/profile"
    });
    Ok(None)
}

/// Sends a new code for the pending sign-in.
#[server(endpoint = "auth/resend-code", input = crate::wire::Form)]
pub async fn resend_code() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let token = challenge_token().ok_or_else(|| to_app_error(backend::Error::SignInExpired))?;
    backend
        .resend_code(&token, &request_meta())
        .await
        .map_err(to_app_error)?;
    leptos_axum::redirect("/login/verify?resent=1");
    Ok(())
}

/// Abandons the pending sign-in.
#[server(endpoint = "auth/cancel-sign-in", input = crate::wire::Form)]
pub async fn cancel_sign_in() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    if let Some(token) = challenge_token() {
        backend
            .cancel_challenge(&token)
            .await
            .map_err(to_app_error)?;
    }
    clear_challenge_cookie();
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "auth/logout", input = crate::wire::Form)]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    if let Some(token) = session_token() {
        backend
            .sign_out(&token, &request_meta())
            .await
            .map_err(to_app_error)?;
    }
    clear_session_cookie();
    leptos_axum::redirect("/login");
    Ok(())
}
