//! Server-side helpers for server functions: the backend from context, who
//! is asking, the session cookie, and turning domain errors into `AppError`.
//! Compiled only with the `ssr` feature.

use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use backend::secret::Token;
use backend::{Backend, RequestMeta};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::{AppError, FieldMessage, LinkIssue};

/// The client's address as the HTTP layer determined it.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

/// A per-request CSP nonce, put into the request by the server's middleware.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Cookie settings derived from the public URL.
#[derive(Clone, Debug)]
pub struct CookieSettings {
    /// True when the public URL is HTTPS: adds `Secure` and the `__Host-` prefix.
    pub secure: bool,
    pub max_age_secs: u64,
}

impl CookieSettings {
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-atrium_session"
        } else {
            "atrium_session"
        }
    }

    /// The cookie of a platform sign-in waiting for Atrium's (10 minutes).
    pub fn oauth_name(&self) -> &'static str {
        if self.secure {
            "__Host-atrium_oauth"
        } else {
            "atrium_oauth"
        }
    }

    /// The cookie of a sign-in whose second step is pending (10 minutes).
    pub fn challenge_name(&self) -> &'static str {
        if self.secure {
            "__Host-atrium_signin"
        } else {
            "atrium_signin"
        }
    }

    /// The cookie that marks a browser that has signed in to an account
    /// before (a year; see `backend::auth::known_device`).
    pub fn device_name(&self) -> &'static str {
        if self.secure {
            "__Host-atrium_device"
        } else {
            "atrium_device"
        }
    }
}

/// The cookie of a sign-in for a platform (OpenID Connect) waiting while
/// the person signs in to Atrium: a random id only. The request itself is
/// kept by the backend (`backend::oidc::pending`), and `/oauth/resume`
/// checks it again from scratch, so the cookie grants nothing by itself.
pub struct OAuthContinue;

impl OAuthContinue {
    /// The id of the pending platform sign-in in `headers`' cookies, if any.
    pub fn from_headers(
        headers: &axum::http::HeaderMap,
        settings: &CookieSettings,
    ) -> Option<Token> {
        named_token(headers, settings.oauth_name())
    }

    /// The Set-Cookie value that keeps `id` (or, with `None`, forgets it).
    pub fn cookie(id: Option<&Token>, settings: &CookieSettings) -> String {
        match id {
            Some(id) => cookie(
                settings.oauth_name(),
                id.expose(),
                backend::oidc::pending::PENDING_LIFETIME_SECS as u64,
                settings.secure,
            ),
            None => cookie(settings.oauth_name(), "", 0, settings.secure),
        }
    }
}

/// The platform sign-in waiting for this browser's sign-in, if any.
pub async fn oauth_request(
) -> Result<Option<backend::oidc::pending::PendingAuthorization>, AppError> {
    let Some(id) =
        parts().and_then(|p| OAuthContinue::from_headers(&p.headers, &cookie_settings()))
    else {
        return Ok(None);
    };
    backend()?
        .pending_authorization(&id)
        .await
        .map_err(to_app_error)
}

pub fn backend() -> Result<Backend, AppError> {
    use_context::<Backend>().ok_or_else(|| internal("backend missing from context"))
}

fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

fn cookie_settings() -> CookieSettings {
    use_context::<CookieSettings>().unwrap_or(CookieSettings {
        secure: false,
        max_age_secs: 12 * 3600,
    })
}

pub fn request_id() -> String {
    parts()
        .and_then(|p| {
            p.headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into())
}

pub fn request_meta() -> RequestMeta {
    let parts = parts();
    RequestMeta {
        ip: parts
            .as_ref()
            .and_then(|p| p.extensions.get::<ClientIp>().map(|ip| ip.0.clone())),
        user_agent: parts.as_ref().and_then(|p| {
            p.headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        }),
        device: parts
            .as_ref()
            .and_then(|p| named_token(&p.headers, cookie_settings().device_name())),
    }
}

/// The request's `Accept-Language` header, if any.
pub fn accept_language() -> Option<String> {
    parts()?
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The session token from the request's cookie. A cookie that is not one of
/// our tokens (tampered, truncated) counts as no session.
pub fn session_token() -> Option<Token> {
    token_from_headers(&parts()?.headers, &cookie_settings())
}

/// The token of the pending sign-in (second step), if any.
pub fn challenge_token() -> Option<Token> {
    named_token(&parts()?.headers, cookie_settings().challenge_name())
}

/// The session token in `headers`' cookies, if one of ours is there.
pub fn token_from_headers(
    headers: &axum::http::HeaderMap,
    settings: &CookieSettings,
) -> Option<Token> {
    named_token(headers, settings.name())
}

fn named_token(headers: &axum::http::HeaderMap, name: &str) -> Option<Token> {
    cookie_value(headers, name).and_then(|v| Token::parse(&v))
}

/// The value of cookie `name` in `headers`, if sent.
fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn set_session_cookie(token: &Token) {
    let s = cookie_settings();
    append_cookie(cookie(s.name(), token.expose(), s.max_age_secs, s.secure));
}

/// Keeps the device cookie (see `CookieSettings::device_name`).
pub fn set_device_cookie(token: &Token) {
    let s = cookie_settings();
    let max_age = backend::auth::known_device::LIFETIME_SECS as u64;
    append_cookie(cookie(s.device_name(), token.expose(), max_age, s.secure));
}

pub fn clear_session_cookie() {
    let s = cookie_settings();
    append_cookie(cookie(s.name(), "", 0, s.secure));
}

pub fn set_challenge_cookie(token: &Token) {
    let s = cookie_settings();
    let max_age = backend::auth::challenge::CHALLENGE_LIFETIME_SECS as u64;
    append_cookie(cookie(
        s.challenge_name(),
        token.expose(),
        max_age,
        s.secure,
    ));
}

pub fn clear_challenge_cookie() {
    let s = cookie_settings();
    append_cookie(cookie(s.challenge_name(), "", 0, s.secure));
}

/// Without JavaScript a form post is answered with a redirect, so new
/// recovery codes cannot ride in the answer. They wait in a short-lived
/// HttpOnly cookie scoped to the Security tab, which shows them once and
/// clears it. With JavaScript (an API call) nothing is stored.
const CODES_COOKIE: &str = "atrium_new_codes";

pub fn hold_codes_for_next_page(codes: &[String]) {
    if is_form_post() {
        let secure = if cookie_settings().secure {
            "; Secure"
        } else {
            ""
        };
        append_cookie(format!(
            "{CODES_COOKIE}={}; Path=/profile/security; HttpOnly; SameSite=Strict; Max-Age=120{secure}",
            codes.join(".")
        ));
    }
}

/// The codes held by `hold_codes_for_next_page`, taken (the cookie is cleared).
pub fn take_held_codes() -> Option<Vec<String>> {
    let value = cookie_value(&parts()?.headers, CODES_COOKIE)?;
    let codes: Vec<String> = value
        .split('.')
        .filter(|c| {
            c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                && backend::auth::authenticator::looks_like_recovery_code(c)
        })
        .map(str::to_string)
        .collect();
    append_cookie(format!(
        "{CODES_COOKIE}=; Path=/profile/security; HttpOnly; SameSite=Strict; Max-Age=0"
    ));
    (!codes.is_empty()).then_some(codes)
}

/// A line for the page a form post (without JavaScript) is redirected to:
/// it waits in a one-minute HttpOnly cookie scoped to `path`, hex encoded,
/// and `take_flash` reads it there once. With JavaScript nothing is stored.
const FLASH_COOKIE: &str = "atrium_flash";

pub fn flash_for(path: &str, text: &str) {
    if is_form_post() {
        let secure = if cookie_settings().secure {
            "; Secure"
        } else {
            ""
        };
        let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
        append_cookie(format!(
            "{FLASH_COOKIE}={hex}; Path={path}; HttpOnly; SameSite=Lax; Max-Age=60{secure}"
        ));
    }
}

/// The line `flash_for(path, …)` left, taken (the cookie is cleared).
pub fn take_flash(path: &str) -> Option<String> {
    let hex = cookie_value(&parts()?.headers, FLASH_COOKIE)?;
    append_cookie(format!(
        "{FLASH_COOKIE}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0"
    ));
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    String::from_utf8(bytes?).ok().filter(|s| !s.is_empty())
}

/// The answer of a mail link's button (`path`'s form). Without JavaScript
/// the browser goes back to `path` and the outcome waits there in the
/// flash cookie (the page sends no Referer, so an error cannot ride back in
/// the address); with JavaScript the outcome is the answer.
pub fn link_outcome(
    path: &'static str,
    outcome: Result<String, AppError>,
) -> Result<String, AppError> {
    if !is_form_post() {
        return outcome;
    }
    let text = match &outcome {
        Ok(email) => format!("ok:{email}"),
        Err(e) => format!("no:{e}"),
    };
    flash_for(path, &text);
    leptos_axum::redirect(path);
    Ok(String::new())
}

/// What `link_outcome` left for `path`: the address, or why not.
pub fn take_link_outcome(path: &str) -> Result<crate::ui::LinkState, AppError> {
    let text = take_flash(path).unwrap_or_default();
    if let Some(email) = text.strip_prefix("ok:") {
        Ok(crate::ui::LinkState::Done(email.to_string()))
    } else if let Some(message) = text.strip_prefix("no:") {
        Err(AppError::Denied {
            message: message.to_string(),
        })
    } else {
        Err(AppError::Link {
            issue: crate::error::LinkIssue::Unknown,
        })
    }
}

/// HttpOnly, SameSite=Lax, whole site; `Secure` when served over HTTPS.
fn cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

fn append_cookie(value: String) {
    if let (Some(res), Ok(v)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&value),
    ) {
        res.append_header(header::SET_COOKIE, v);
    }
}

/// The session a request carries and its person, resolved once per
/// request by the server's `resolve_session` middleware and kept in the
/// request's extensions: the page guard, the pages' server functions and
/// the avatar handlers of that request all read it instead of asking the
/// database again.
#[derive(Clone, Debug)]
pub struct ResolvedSession(pub Option<(backend::user::User, Token)>);

impl ResolvedSession {
    /// Looks up the session named by the request's cookie (touching it, as
    /// every look-up does); empty without a cookie or a live session.
    pub async fn resolve(
        backend: &Backend,
        headers: &axum::http::HeaderMap,
        settings: &CookieSettings,
    ) -> Result<Self, backend::Error> {
        let Some(token) = token_from_headers(headers, settings) else {
            return Ok(ResolvedSession(None));
        };
        let user = backend.current_user(&token).await?;
        Ok(ResolvedSession(user.map(|u| (u, token))))
    }
}

/// The signed-in person and their session token, if any: as the middleware
/// resolved them, or (for a request it left alone, such as one it could not
/// resolve when the database was away) looked up now.
pub async fn signed_in() -> Result<Option<(backend::user::User, Token)>, AppError> {
    if let Some(resolved) = parts().and_then(|p| p.extensions.get::<ResolvedSession>().cloned()) {
        return Ok(resolved.0);
    }
    let backend = backend()?;
    let Some(token) = session_token() else {
        return Ok(None);
    };
    let user = backend.current_user(&token).await.map_err(to_app_error)?;
    Ok(user.map(|u| (u, token)))
}

/// The signed-in person, or `Unauthorized`.
pub async fn require_user() -> Result<backend::user::User, AppError> {
    require_session().await.map(|(user, _)| user)
}

/// The signed-in person and their session token, or `Unauthorized`.
pub async fn require_session() -> Result<(backend::user::User, Token), AppError> {
    signed_in()
        .await?
        .ok_or_else(|| to_app_error(backend::Error::Unauthorized))
}

fn internal(cause: &str) -> AppError {
    let request_id = request_id();
    tracing::error!(%request_id, cause, "internal error");
    AppError::Internal { request_id }
}

/// For a plain form post that failed on a page whose Referer is withheld
/// (`Referrer-Policy: no-referrer`), sends the browser back to `page` with
/// the error encoded the way `ActionForm` reads it. API callers are unaffected.
pub fn return_to_page_on_error(page: &str, server_fn_path: &str, err: &AppError) {
    if !is_form_post() {
        return;
    }
    let base = use_context::<backend::Backend>()
        .map(|b| b.settings.public_url.clone())
        .unwrap_or_default();
    if let Ok(url) = leptos::server_fn::error::ServerFnUrlError::new(server_fn_path, err.clone())
        .to_url(&format!("{base}{page}"))
    {
        leptos_axum::redirect(url.as_str());
    }
}

/// A plain HTML form post (no JavaScript) is answered with a redirect that
/// carries the error; setting a status would break that redirect.
pub fn is_form_post() -> bool {
    parts()
        .and_then(|p| {
            p.headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|a| a.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Maps a domain error to what the browser may see, sets the HTTP status for
/// API callers, and logs internal causes with the request id (never sent).
pub fn to_app_error(err: backend::Error) -> AppError {
    use backend::error::LinkProblem;
    let app = match err {
        backend::Error::Validation(fields) => AppError::Validation {
            fields: fields
                .into_iter()
                .map(|f| FieldMessage {
                    field: f.field,
                    message: f.message,
                })
                .collect(),
        },
        backend::Error::Conflict(message) => AppError::Conflict { message },
        backend::Error::NotFound => AppError::NotFound,
        backend::Error::Unauthorized => AppError::Unauthorized,
        backend::Error::Forbidden => AppError::Forbidden,
        backend::Error::Denied(message) => AppError::Denied { message },
        backend::Error::InvalidCredentials => AppError::InvalidCredentials,
        backend::Error::SignInExpired => AppError::SignInExpired,
        backend::Error::ReauthRequired => AppError::ReauthRequired,
        backend::Error::RateLimited { retry_after_secs } => {
            if let Some(res) = use_context::<ResponseOptions>() {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    res.insert_header(header::RETRY_AFTER, v);
                }
            }
            AppError::RateLimited { retry_after_secs }
        }
        backend::Error::Image(e) => AppError::Validation {
            fields: vec![FieldMessage {
                field: "image".into(),
                message: e.to_string(),
            }],
        },
        backend::Error::LinkRejected(p) => AppError::Link {
            issue: match p {
                LinkProblem::Unknown => LinkIssue::Unknown,
                LinkProblem::Used => LinkIssue::Used,
                LinkProblem::Expired => LinkIssue::Expired,
            },
        },
        other if other.is_unavailable() => {
            tracing::error!(error = %other, "database unreachable");
            AppError::Unavailable
        }
        other => {
            let request_id = request_id();
            tracing::error!(%request_id, error = %other, "internal error");
            AppError::Internal { request_id }
        }
    };
    if !is_form_post() {
        if let (Some(res), Ok(status)) = (
            use_context::<ResponseOptions>(),
            StatusCode::from_u16(app.status()),
        ) {
            res.set_status(status);
        }
    }
    app
}
