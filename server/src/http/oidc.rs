//! The OpenID Connect provider's HTTP endpoints: discovery, JWKS,
//! authorization (with the detour through Atrium's sign-in), token,
//! userinfo and end-session. The rules live in `backend::oidc`; this module
//! only reads requests and shapes answers as the specifications name them.

use std::collections::HashMap;

use app::ssr::OAuthContinue;
use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backend::oidc::flow::{
    AuthorizeError, AuthorizeParams, ClientAuth, Next, TokenError, TokenParams,
};
use backend::oidc::logout::{EndSessionError, EndSessionParams, EndSessionPlan};
use backend::oidc::SCOPES;
use backend::secret::Token;
use backend::RequestMeta;
use base64::Engine;

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

fn issuer(state: &AppState) -> &str {
    &state.backend.settings.public_url
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

fn cacheable_json(body: serde_json::Value) -> Response {
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
fn problem_page(status: StatusCode, message: &str) -> Response {
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

fn see_other(location: &str, cookie: Option<String>) -> Response {
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

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "OpenID Connect request failed");
    problem_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on Atrium's side. Try again in a moment.",
    )
}

async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    run_authorize(&state, &headers, query.unwrap_or_default(), None).await
}

/// Core 3.1.2.1: the authorization endpoint takes POST (a form) too.
async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = String::from_utf8_lossy(&body).into_owned();
    run_authorize(&state, &headers, query, None).await
}

/// Checks the request and either sends the browser back to the platform
/// or, keeping the request server-side under the id in a cookie, to
/// Atrium's sign-in. `pending` is the request being resumed, if any.
async fn run_authorize(
    state: &AppState,
    headers: &HeaderMap,
    query: String,
    pending: Option<(Token, i64)>,
) -> Response {
    let params: AuthorizeParams = match serde_urlencoded::from_str(&query) {
        Ok(p) => p,
        Err(_) => {
            return problem_page(
                StatusCode::BAD_REQUEST,
                "The sign-in link is malformed (a parameter is repeated or badly encoded).",
            )
        }
    };
    let backend = &state.backend;
    let iss = issuer(state);
    let request = match backend.check_authorize(&params).await {
        Ok(r) => r,
        Err(AuthorizeError::Page(msg)) => return problem_page(StatusCode::BAD_REQUEST, &msg),
        Err(AuthorizeError::Redirect(r)) => return see_other(&r.location(iss), None),
        Err(AuthorizeError::Internal(e)) => return internal(e),
    };
    let session = app::ssr::token_from_headers(headers, &state.cookies);
    let signed_in_since = pending.as_ref().map(|(_, issued_at)| *issued_at);
    let answered =
        |location: &str| see_other(location, Some(OAuthContinue::cookie(None, &state.cookies)));
    let outcome = backend
        .oidc_authorize(&request, session.as_ref(), signed_in_since)
        .await;
    if !matches!(outcome, Ok(Next::SignIn)) {
        if let Some((id, _)) = &pending {
            if let Err(e) = backend.drop_pending_authorization(id).await {
                return internal(e);
            }
        }
    }
    match outcome {
        Ok(Next::Redirect(location)) => answered(&location),
        Ok(Next::SignIn) => {
            if let Some((id, _)) = pending {
                // Resumed without signing in: the same request waits on.
                return see_other(
                    "/login",
                    Some(OAuthContinue::cookie(Some(&id), &state.cookies)),
                );
            }
            if query.len() > 3000 {
                return problem_page(StatusCode::BAD_REQUEST, "The sign-in link is too long.");
            }
            match backend
                .save_pending_authorization(&request.platform.client_id, &query)
                .await
            {
                Ok(id) => see_other(
                    "/login",
                    Some(OAuthContinue::cookie(Some(&id), &state.cookies)),
                ),
                Err(e) => internal(e),
            }
        }
        Err(AuthorizeError::Page(msg)) => problem_page(StatusCode::BAD_REQUEST, &msg),
        Err(AuthorizeError::Redirect(r)) => answered(&r.location(iss)),
        Err(AuthorizeError::Internal(e)) => internal(e),
    }
}

/// After Atrium's sign-in: the waiting request, checked again from scratch.
/// The fresh sign-in satisfies its prompt=login or max_age.
async fn resume(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(id) = OAuthContinue::from_headers(&headers, &state.cookies) else {
        return see_other("/profile", None);
    };
    let pending = match state.backend.pending_authorization(&id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            let mut res = problem_page(
                StatusCode::BAD_REQUEST,
                "The sign-in for the platform took too long. Go back to it and start again.",
            );
            if let Ok(v) = HeaderValue::from_str(&OAuthContinue::cookie(None, &state.cookies)) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            return res;
        }
        Err(e) => return internal(e),
    };
    run_authorize(
        &state,
        &headers,
        pending.query,
        Some((id, pending.issued_at)),
    )
    .await
}

fn token_error(e: TokenError) -> Response {
    let status = match &e {
        TokenError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
        TokenError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        TokenError::Internal(cause) => {
            tracing::error!(error = %cause, "token request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let mut res = (
        status,
        Json(serde_json::json!({ "error": e.code(), "error_description": e.description() })),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match e {
        TokenError::InvalidClient { basic: true } => {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"atrium\""),
            );
        }
        TokenError::RateLimited { retry_after_secs } => {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                h.insert(header::RETRY_AFTER, v);
            }
        }
        _ => {}
    }
    res
}

/// RFC 6749 §2.3.1: the id and secret, each form-urlencoded, in Basic.
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decode = |part: &str| -> String {
        url::form_urlencoded::parse(part.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default()
    };
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| pair.split_once(':').map(|(i, s)| (decode(i), decode(s))))
            .ok_or(()),
    )
}

async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return token_error(TokenError::InvalidRequest(
            "Send the parameters as application/x-www-form-urlencoded.".into(),
        ));
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut map = HashMap::new();
    for (k, v) in pairs {
        if map.insert(k.clone(), v).is_some() {
            return token_error(TokenError::InvalidRequest(format!(
                "{k} is given more than once."
            )));
        }
    }
    let Ok(params) = serde_json::from_value::<TokenParams>(serde_json::json!(map)) else {
        return token_error(TokenError::InvalidRequest("The form is malformed.".into()));
    };
    let auth = match (basic_credentials(&headers), &params.client_secret) {
        (Some(Err(())), _) => return token_error(TokenError::InvalidClient { basic: true }),
        (Some(Ok(_)), Some(_)) => {
            return token_error(TokenError::InvalidRequest(
                "Use one client authentication method, not both.".into(),
            ))
        }
        (Some(Ok((client_id, client_secret))), None) => {
            if params.client_id.as_deref().is_some_and(|c| c != client_id) {
                return token_error(TokenError::InvalidRequest(
                    "client_id differs from the authenticated client.".into(),
                ));
            }
            ClientAuth {
                client_id,
                client_secret,
                basic: true,
            }
        }
        (None, Some(secret)) => ClientAuth {
            client_id: params.client_id.clone().unwrap_or_default(),
            client_secret: secret.clone(),
            basic: false,
        },
        (None, None) => return token_error(TokenError::InvalidClient { basic: false }),
    };
    match state.backend.token(auth, params).await {
        Ok(tokens) => {
            let mut res = Json(tokens).into_response();
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            res
        }
        Err(e) => token_error(e),
    }
}

fn bearer_error(error: Option<&str>) -> Response {
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"atrium\", error=\"{e}\""),
        None => "Bearer realm=\"atrium\"".into(),
    };
    let mut res = StatusCode::UNAUTHORIZED.into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// Core 5.3: the claims the access token's scope allows.
async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return bearer_error(None);
    };
    match state.backend.userinfo(token.trim()).await {
        Ok(Some((sub, claims))) => {
            let mut body = serde_json::to_value(claims).unwrap_or_default();
            if let Some(map) = body.as_object_mut() {
                map.insert("sub".into(), sub.into());
            }
            let mut res = Json(body).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Ok(None) => bearer_error(Some("invalid_token")),
        Err(e) => {
            tracing::error!(error = %e, "userinfo failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// RP-Initiated Logout 1.0, `GET`: signs this browser out of Atrium (and
/// so of every platform, by back-channel logout) and returns to the
/// platform, when the request carries an ID token of this very session;
/// otherwise the person is asked first (§2: the OP asks whether they want
/// to sign out), since any page can send a browser here.
async fn end_session_get(
    State(state): State<AppState>,
    ip: Option<axum::Extension<app::ssr::ClientIp>>,
    headers: HeaderMap,
    Query(params): Query<EndSessionParams>,
) -> Response {
    run_end_session(&state, ip, &headers, params, false).await
}

/// The same request as a form (RP-Initiated Logout §2), or the person's
/// answer on the confirmation page (`confirm=yes`, same origin only).
async fn end_session_post(
    State(state): State<AppState>,
    ip: Option<axum::Extension<app::ssr::ClientIp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) else {
        return problem_page(StatusCode::BAD_REQUEST, "The sign-out form is malformed.");
    };
    let confirmed = form.get("confirm").is_some_and(|v| v == "yes")
        && crate::http::is_same_origin(&headers, &state.public_origin);
    let params = EndSessionParams {
        id_token_hint: form.get("id_token_hint").cloned(),
        post_logout_redirect_uri: form.get("post_logout_redirect_uri").cloned(),
        state: form.get("state").cloned(),
        client_id: form.get("client_id").cloned(),
    };
    run_end_session(&state, ip, &headers, params, confirmed).await
}

async fn run_end_session(
    state: &AppState,
    ip: Option<axum::Extension<app::ssr::ClientIp>>,
    headers: &HeaderMap,
    params: EndSessionParams,
    confirmed: bool,
) -> Response {
    let session = app::ssr::token_from_headers(headers, &state.cookies);
    let plan = match state
        .backend
        .check_end_session(&params, session.as_ref())
        .await
    {
        Ok(plan) => plan,
        Err(EndSessionError::Page(msg)) => return problem_page(StatusCode::BAD_REQUEST, &msg),
        Err(EndSessionError::Internal(e)) => return internal(e),
    };
    let next = plan.next.clone().unwrap_or_else(|| "/login".into());
    let Some(token) = session else {
        // Nobody is signed in here: nothing to end.
        return see_other(&next, None);
    };
    if !(confirmed || plan.names_this_session) {
        return confirm_sign_out_page(&plan, &params);
    }
    let meta = RequestMeta {
        ip: ip.map(|axum::Extension(ip)| ip.0),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        device: None,
    };
    if let Err(e) = state.backend.sign_out(&token, &meta).await {
        return internal(e);
    }
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        state.cookies.name(),
        if state.cookies.secure { "; Secure" } else { "" }
    );
    see_other(&next, Some(clear))
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// "Sign out of Atrium?": the request's parameters go back in a form that
/// only this origin can submit with `confirm=yes`.
fn confirm_sign_out_page(plan: &EndSessionPlan, params: &EndSessionParams) -> Response {
    let asker = match &plan.platform {
        Some(name) => format!("{} asks to sign you out.", escape_html(name)),
        None => "A page asks to sign you out.".to_string(),
    };
    let mut fields = String::new();
    for (name, value) in [
        ("id_token_hint", &params.id_token_hint),
        ("post_logout_redirect_uri", &params.post_logout_redirect_uri),
        ("state", &params.state),
        ("client_id", &params.client_id),
    ] {
        if let Some(v) = value {
            fields.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape_html(v)
            ));
        }
    }
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign out? · Atrium</title>\
         </head>\
         <body><main id=\"main\"><h1>Sign out of Atrium?</h1><p>{asker} You will be signed out of Atrium \
         and of every platform you signed in to through it, on this device.</p>\
         <form method=\"post\" action=\"/oauth/logout\">{fields}\
         <input type=\"hidden\" name=\"confirm\" value=\"yes\">\
         <button type=\"submit\" id=\"confirm-sign-out\">Sign out</button>\
         <a class=\"button\" href=\"/profile\">Stay signed in</a></form></main></body></html>"
    );
    let mut res = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
