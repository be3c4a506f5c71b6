//! HTTP concerns around the Leptos app: security headers with a per-request
//! CSP nonce, the cross-origin check on server functions, the client IP,
//! the sign-in guard for pages, and the health probe.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use base64::Engine;
use rand::RngCore;
use std::net::SocketAddr;

use app::error::AppError;
use app::ssr::{ClientIp, CspNonce, ResolvedSession};

use crate::state::AppState;

pub mod assets;
pub mod avatar;
pub mod events;
pub mod oidc;

/// Pages whose URL carries a secret token: no Referer leaves them at all.
const TOKEN_PAGES: [&str; 3] = ["/verify-email", "/reset-password", "/confirm-email-change"];

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Adds the security headers to every response. Scripts run only from our
/// origin or with this response's nonce (the hydration script); WASM needs
/// 'wasm-unsafe-eval'. Nothing may frame the app. HSTS when served over HTTPS.
pub async fn security_headers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = new_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let path = req.uri().path().to_string();
    let mut res = next.run(req).await;
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
         worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let referrer = if TOKEN_PAGES.contains(&path.as_str()) {
        "no-referrer"
    } else {
        "same-origin"
    };
    let h = res.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("content-security-policy", &csp);
    if state.cookies.secure {
        // Served over HTTPS (PUBLIC_URL): browsers must never fall back to
        // plain HTTP, where the session cookie could be taken.
        set(
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        );
    }
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", referrer);
    set("cross-origin-opener-policy", "same-origin");
    set(
        "permissions-policy",
        "geolocation=(), microphone=(), payment=()",
    );
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html || path.starts_with("/api/") {
        // Pages and answers about a person must not be kept by shared caches.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Records the client's address for audit events and throttling.
pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let forwarded = state
        .trust_proxy_headers
        .then(|| forwarded_for(req.headers()))
        .flatten();
    if let Some(ip) = forwarded.or(peer) {
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// The last X-Forwarded-For entry: the one our own proxy appended.
fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .next_back()
        .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_string)
}

/// An error answered as server functions answer theirs: the JSON of an
/// `AppError`, with `status` (or the error's own) and `Retry-After` when it
/// says to wait.
pub(crate) fn refuse(status: Option<StatusCode>, error: AppError) -> Response {
    let status = status
        .or_else(|| StatusCode::from_u16(error.status()).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let wait = match error {
        AppError::RateLimited { retry_after_secs } => Some(retry_after_secs),
        _ => None,
    };
    let mut res = (status, Json(error)).into_response();
    if let Some(v) = wait.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Largest body a server function accepts.
pub const API_BODY_LIMIT: usize = 64 * 1024;

/// Server functions (everything under /api/) refuse requests that a browser
/// marks as coming from another site, and bodies over 64 KiB, answering as
/// they answer their own refusals (the JSON of an `AppError`). Only POST is
/// routed to them, so other methods get 405 from the router.
pub async fn api_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    if req.method() == Method::POST && !is_same_origin(req.headers(), &state.public_origin) {
        tracing::warn!(path = %req.uri().path(), "cross-origin server function call refused");
        return refuse(
            None,
            AppError::Denied {
                message: "Cross-origin requests are not accepted.".into(),
            },
        );
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let avatar = req.uri().path() == "/api/avatar";
    let limit = if avatar {
        avatar::UPLOAD_BODY_LIMIT
    } else {
        API_BODY_LIMIT
    };
    if declared.is_some_and(|n| n > limit) {
        // Refused as the endpoint itself would refuse it: the JSON of an
        // AppError, about the image for an upload.
        return if avatar {
            avatar::refuse_too_large()
        } else {
            refuse(
                Some(StatusCode::PAYLOAD_TOO_LARGE),
                AppError::Request("the request is too large (64 KiB at most).".into()),
            )
        };
    }
    // A body without a declared length is cut off at the limit as it streams.
    let (parts, body) = req.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, limited)).await
}

pub(crate) fn is_same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    // Current browsers say where a request comes from; trust that first. It
    // also covers pages with `Referrer-Policy: no-referrer`, whose form posts
    // carry `Origin: null`.
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Browsers send Origin with every POST; a client without one is not a
        // browser and carries no ambient cookies to abuse.
        return true;
    };
    if origin == public_origin {
        return true;
    }
    // Same host as the request, whichever name the person used (127.0.0.1 vs localhost).
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (scheme, rest) = origin.split_once("://").unwrap_or(("", ""));
    !host.is_empty() && rest == host && public_origin.starts_with(&format!("{scheme}://"))
}

/// Whether a request to `path` may act for the signed-in person: pages,
/// server functions, the avatar upload and the live stream. Static files,
/// the public avatar renditions and the health check never do, and are
/// served without asking the database who is signed in.
fn acts_for_a_person(path: &str) -> bool {
    let static_file = path.starts_with("/pkg/")
        || path.starts_with("/avatars/")
        || path == "/healthz"
        || path == "/sw.js"
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'));
    !static_file
}

/// Resolves the request's session and person once (`ResolvedSession` in
/// the request's extensions) for everything after it: the page guard, the
/// pages and server functions, the avatar handlers. When the database
/// cannot be asked, nothing is put there and each reader answers 503 as it
/// would on its own.
pub async fn resolve_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if acts_for_a_person(req.uri().path()) {
        match ResolvedSession::resolve(&state.backend, req.headers(), &state.cookies).await {
            Ok(resolved) => {
                req.extensions_mut().insert(resolved);
            }
            Err(e) => tracing::error!(error = %e, "session lookup failed"),
        }
    }
    next.run(req).await
}

/// Pages of My Profile, accounts and support need a session; the sign-in pages do not make sense
/// with one; `/` leads to whichever applies. Checked before rendering so a redirect is a plain 303.
pub async fn page_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let home = path == "/";
    let needs_session = ["/profile", "/accounts", "/support"].iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    });
    let for_guests =
        path == "/login" || path == "/login/verify" || path == "/signup" || path == "/contact";
    if req.method() != Method::GET || !(home || needs_session || for_guests) {
        return next.run(req).await;
    }
    let signed_in = match req.extensions().get::<ResolvedSession>() {
        Some(resolved) => resolved.0.is_some(),
        // `resolve_session` could not ask the database.
        None => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Atrium cannot reach its database right now.",
            )
                .into_response()
        }
    };
    // A platform asked for a fresh sign-in (prompt=login, max_age): the
    // sign-in pages stay open to a signed-in person then.
    let continuing_for_platform =
        app::ssr::OAuthContinue::from_headers(req.headers(), &state.cookies).is_some();
    let target = if home {
        Some(if signed_in { "/profile" } else { "/login" })
    } else if needs_session && !signed_in {
        Some("/login")
    } else if path == "/contact" && signed_in {
        Some("/support/contact")
    } else if for_guests && signed_in && !continuing_for_platform {
        Some("/profile")
    } else {
        None
    };
    match target {
        Some(to) => Redirect::to(to).into_response(),
        None => next.run(req).await,
    }
}

/// Readiness: 200 when the database answers, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.backend.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "database": "unreachable" })),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn origin_check() {
        let public = "http://127.0.0.1:3000";
        assert!(is_same_origin(&headers(&[("origin", public)]), public));
        assert!(is_same_origin(&headers(&[]), public));
        assert!(is_same_origin(
            &headers(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ]),
            public
        ));
        assert!(!is_same_origin(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:3000")
            ]),
            public
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            public
        ));
    }

    #[test]
    fn forwarded_for_takes_the_proxy_appended_entry() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 10.0.0.7")]);
        assert_eq!(forwarded_for(&h).as_deref(), Some("10.0.0.7"));
        assert_eq!(
            forwarded_for(&headers(&[("x-forwarded-for", "junk")])),
            None
        );
    }
}
