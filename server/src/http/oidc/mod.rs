//! The OpenID Connect provider's HTTP endpoints: discovery, JWKS,
//! authorization (with the detour through Atrium's sign-in), token,
//! userinfo and end-session. The rules live in `backend::oidc`; this module
//! only reads requests and shapes answers as the specifications name them.

mod authorize;
mod end_session;
mod token;

use authorize::{authorize_get, authorize_post, resume};
use end_session::{end_session_get, end_session_post};
use token::{token, userinfo};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backend::oidc::SCOPES;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth/jwks", get(jwks))
        .route("/oauth/authorize", get(authorize_get).post(authorize_post))
        .route("/oauth/resume", get(resume))
        .route("/oauth/token", axum::routing::post(token))
        .route("/oauth/userinfo", get(userinfo).post(userinfo))
        .route("/oauth/logout", get(end_session_get).post(end_session_post))
}

pub(super) fn issuer(state: &AppState) -> &str {
    &state.backend.settings().public_url
}

/// Discovery 1.0 §3: where everything is and what is supported.
async fn discovery(State(state): State<AppState>) -> Response {
    let iss = issuer(&state);
    let doc = serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "userinfo_endpoint": format!("{iss}/oauth/userinfo"),
        "jwks_uri": format!("{iss}/oauth/jwks"),
        "end_session_endpoint": format!("{iss}/oauth/logout"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": [backend::oidc::ACR_MFA, backend::oidc::ACR_PASSWORD],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "azp", "sid",
            "name", "given_name", "family_name", "picture", "updated_at",
            "email", "email_verified", "phone_number", "phone_number_verified"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    cacheable_json(doc)
}

pub(super) fn cacheable_json(body: serde_json::Value) -> Response {
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "public, max-age={}",
        backend::oidc::keys::JWKS_MAX_AGE_SECS
    )) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res
}

async fn jwks(State(state): State<AppState>) -> Response {
    match state.backend.jwks().await {
        Ok(keys) => cacheable_json(serde_json::to_value(keys).unwrap_or_default()),
        Err(e) => {
            tracing::error!(error = %e, "JWKS unavailable");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Atrium's own page for a request that cannot be sent back to a platform.
pub(super) fn problem_page(status: StatusCode, message: &str) -> Response {
    let escaped = escape_html(message);
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign-in problem · Atrium</title></head><body><main id=\"main\">\
         <h1>This sign-in link does not work</h1><p role=\"alert\">{escaped}</p>\
         <p>Go back to the platform you came from and try again, or <a href=\"/profile\">open Atrium</a>.</p>\
         </main></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

pub(super) fn see_other(location: &str, cookie: Option<String>) -> Response {
    let mut res = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "OpenID Connect request failed");
    problem_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on Atrium's side. Try again in a moment.",
    )
}

pub(super) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
