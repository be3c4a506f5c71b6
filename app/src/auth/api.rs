//! Server functions for signing up, in and out, and verifying an email.
//! Each authenticates where needed, calls one backend service and maps the result.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::ui::LinkState;
pub use vocab::MfaMethod;

/// The signed-in person as pages show them. Contains nothing secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// Stored form, E.164 (`+447700900123`).
    pub phone: Option<String>,
    /// Shown form (`+44 7700 900123`).
    pub phone_display: Option<String>,
    /// The phone's country (ISO 3166), to preselect the picker.
    pub phone_region: Option<String>,
    pub email_verified: bool,
    /// e.g. "27 November 2026"
    pub member_since: String,
    pub password_changed: String,
    /// The active second factor.
    #[serde(with = "crate::wire::word")]
    pub mfa_method: MfaMethod,
    /// The profile version a save must be based on.
    pub version: i64,
    pub avatar: AvatarInfo,
    /// Accounts the person belongs to, with their role in each.
    pub memberships: Vec<crate::accounts::api::MembershipInfo>,
    /// Open invitations waiting for an answer (the menu's badge).
    pub invitation_count: usize,
    /// Has the global Support role (shows the console link).
    pub is_support: bool,
}

/// A person's avatar: a picture (by content hash) or initials on a colour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarInfo {
    pub hash: Option<String>,
    pub color: Option<String>,
    /// The last crop of the picture: x, y, size in upright-original pixels,
    /// rotation in degrees clockwise.
    pub crop: Option<(u32, u32, u32, u16)>,
}

impl AvatarInfo {
    /// The picture at `size` px (512, 128 or 64), if there is one.
    pub fn url(&self, size: u32) -> Option<String> {
        self.hash.as_ref().map(|h| format!("/avatars/{h}/{size}"))
    }
}

impl Me {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Up to two letters: the first of the first and of the last name.
    pub fn initials(&self) -> String {
        [&self.first_name, &self.last_name]
            .iter()
            .filter_map(|n| n.chars().next())
            .flat_map(char::to_uppercase)
            .collect()
    }
}

#[cfg(feature = "ssr")]
impl AvatarInfo {
    pub fn from_view(v: backend::avatar::service::AvatarView) -> Self {
        AvatarInfo {
            hash: v.hash,
            color: v.color,
            crop: v.crop.map(|c| (c.x, c.y, c.size, c.rotation)),
        }
    }
}

#[cfg(feature = "ssr")]
impl Me {
    /// The page view of `u`, with their avatar looked up.
    pub async fn load(backend: &backend::Backend, u: &backend::user::User) -> Result<Me, AppError> {
        use crate::ssr::to_app_error;
        use backend::user::phone;
        let avatar = backend.avatar_view(u.id).await.map_err(to_app_error)?;
        let memberships = backend.memberships(u.id).await.map_err(to_app_error)?;
        let invitation_count = backend
            .received_invitations(u)
            .await
            .map_err(to_app_error)?
            .len();
        let is_support = backend.is_support(u.id).await.map_err(to_app_error)?;
        Ok(Me {
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            phone_display: u.phone.as_deref().map(phone::display),
            phone_region: u.phone.as_deref().and_then(phone::region_of),
            email_verified: u.email_verified_at.is_some(),
            member_since: backend::clock::to_long_date(u.created_at),
            password_changed: backend::clock::to_long_date(u.password_changed_at),
            mfa_method: u.mfa_method,
            version: u.version,
            avatar: AvatarInfo::from_view(avatar),
            memberships: memberships
                .into_iter()
                .map(crate::accounts::api::MembershipInfo::from_backend)
                .collect(),
            invitation_count,
            is_support,
        })
    }
}

/// What the strength meter shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrengthView {
    pub score: u8,
    pub problem: Option<String>,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

/// The signed-in person, or `None` when there is no live session.
#[server(endpoint = "session/me")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let Some(token) = session_token() else {
        return Ok(None);
    };
    match backend.current_user(&token).await.map_err(to_app_error)? {
        Some(user) => Ok(Some(Me::load(&backend, &user).await?)),
        None => Ok(None),
    }
}

#[server(endpoint = "auth/signup")]
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

/// The platform this sign-in continues to, by name ("Sign in to continue
/// to ConnectivityPro"), when a platform sent the person here.
#[server(endpoint = "auth/continue-to")]
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
#[server(endpoint = "auth/login")]
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

#[server(endpoint = "auth/challenge")]
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
#[server(endpoint = "auth/verify-code")]
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
#[server(endpoint = "auth/resend-code")]
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
#[server(endpoint = "auth/cancel-sign-in")]
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

#[server(endpoint = "auth/logout")]
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

/// What `/verify-email` shows before its button is pressed: the address the
/// link would confirm, or why it cannot (nothing is written, so a mail
/// scanner that opens links confirms nothing); with no token, the address
/// a confirmation posted without JavaScript just confirmed.
#[server(endpoint = "auth/check-verify-link")]
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
#[server(endpoint = "auth/verify-email")]
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
#[server(endpoint = "auth/resend-verification")]
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

/// Strength and policy verdict for a password being typed (debounced by the page).
#[server(endpoint = "auth/password-strength")]
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
#[server(endpoint = "auth/forgot-password")]
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
#[server(endpoint = "security/send-reset-link")]
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
#[server(endpoint = "auth/check-reset-link")]
pub async fn check_reset_link(token: String) -> Result<(), AppError> {
    use crate::ssr::*;
    backend()?
        .check_reset_link(&token)
        .await
        .map_err(to_app_error)
}

/// Sets a new password with a reset link, then continues at sign-in.
#[server(endpoint = "auth/reset-password")]
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

/// One line of the Dashboard's recent security activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// RFC 3339 UTC, for `<time datetime>`.
    pub at: String,
    /// e.g. "27 November 2026, 09:45 UTC"
    pub when: String,
    pub what: String,
    pub browser: String,
    pub ip: String,
}

/// The signed-in person's ten most recent security events, newest first.
#[server(endpoint = "security/events")]
pub async fn security_events() -> Result<Vec<SecurityEvent>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let events = backend::audit::recent_for_user(&backend.db.pool, user.id, 10)
        .await
        .map_err(to_app_error)?;
    Ok(events
        .into_iter()
        .map(|e| SecurityEvent {
            at: backend::clock::to_rfc3339(e.created_at),
            when: format!(
                "{}, {}",
                backend::clock::to_long_date(e.created_at),
                backend::clock::to_clock_time(e.created_at)
            ),
            what: backend::audit::describe(&e.kind).to_string(),
            browser: e
                .user_agent
                .as_deref()
                .map(backend::audit::browser_name)
                .unwrap_or_else(|| "Unknown browser".into()),
            ip: e.ip.unwrap_or_else(|| "unknown".into()),
        })
        .collect())
}
