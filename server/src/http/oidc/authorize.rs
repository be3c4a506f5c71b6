//! `/oauth/authorize` (GET and POST) and `/oauth/resume`, the way back
//! from Atrium's sign-in.

use app::ssr::OAuthContinue;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use backend::oidc::flow::{AuthorizeError, AuthorizeParams, Next};
use backend::secret::Token;

use super::{internal, issuer, problem_page, see_other};
use crate::state::AppState;

pub(super) async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    run_authorize(&state, &headers, query.unwrap_or_default(), None).await
}

/// Core 3.1.2.1: the authorization endpoint takes POST (a form) too.
pub(super) async fn authorize_post(
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
pub(super) async fn resume(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
