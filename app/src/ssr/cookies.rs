//! The cookies server functions read and set: the session, the pending
//! sign-in, the device, recovery codes held for the next page, and the
//! one-time flash of an outcome.

use axum::http::{header, HeaderValue};
use backend::secret::Token;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use super::{cookie_settings, is_form_post, parts, CookieSettings};
use crate::error::AppError;

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

pub(super) fn named_token(headers: &axum::http::HeaderMap, name: &str) -> Option<Token> {
    cookie_value(headers, name).and_then(|v| Token::parse(&v))
}

/// The value of cookie `name` in `headers`, if sent.
pub(super) fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
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
pub(super) fn cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

pub(super) fn append_cookie(value: String) {
    if let (Some(res), Ok(v)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&value),
    ) {
        res.append_header(header::SET_COOKIE, v);
    }
}
