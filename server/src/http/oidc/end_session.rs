//! `/oauth/logout`: RP-Initiated Logout, with a confirmation page unless
//! the request carries an ID token of this very session.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use backend::oidc::logout::{EndSessionError, EndSessionParams, EndSessionPlan};
use backend::RequestMeta;

use super::{escape_html, internal, problem_page, see_other};
use crate::state::AppState;

/// RP-Initiated Logout 1.0, `GET`: signs this browser out of Atrium (and
/// so of every platform, by back-channel logout) and returns to the
/// platform, when the request carries an ID token of this very session;
/// otherwise the person is asked first (§2: the OP asks whether they want
/// to sign out), since any page can send a browser here.
pub(super) async fn end_session_get(
    State(state): State<AppState>,
    ip: Option<axum::Extension<app::ssr::ClientIp>>,
    headers: HeaderMap,
    Query(params): Query<EndSessionParams>,
) -> Response {
    run_end_session(&state, ip, &headers, params, false).await
}

/// The same request as a form (RP-Initiated Logout §2), or the person's
/// answer on the confirmation page (`confirm=yes`, same origin only).
pub(super) async fn end_session_post(
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
