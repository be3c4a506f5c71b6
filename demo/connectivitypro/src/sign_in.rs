//! Signing in through Atrium: the home page, the authorization request
//! (PKCE, state, nonce) and the callback that checks the ID token.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use serde::Deserialize;

use crate::*;

pub(crate) async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Some(p) => {
            let avatar = match &p.picture {
                Some(url) => format!("<img src=\"{}\" alt=\"\" width=\"32\" height=\"32\">", escape(url)),
                None => String::new(),
            };
            let bar = format!(
                "<nav aria-label=\"Account\">{avatar} <span id=\"person\">{}</span> \
                 <a href=\"{}/profile\">Manage your profile</a> <a href=\"/logout\">Sign out</a></nav>",
                escape(&p.name),
                escape(&state.issuer)
            );
            let body = format!(
                "<h1>Welcome, {}</h1><p>Signed in with Atrium as {}.</p>",
                escape(&p.name),
                escape(p.email.as_deref().unwrap_or("(no email shared)"))
            );
            page(&bar, &body).into_response()
        }
        None => page(
            "",
            "<h1>Network monitoring for your sites</h1><p><a href=\"/login\">Sign in with Atrium</a></p>",
        )
        .into_response(),
    }
}

pub(crate) async fn login(State(state): State<AppState>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = state
        .rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let saved = sqlx::query("INSERT INTO pending (state, nonce, verifier) VALUES (?, ?, ?)")
        .bind(csrf.secret())
        .bind(nonce.secret())
        .bind(verifier.secret())
        .execute(&state.db)
        .await;
    match saved {
        Ok(_) => (
            [(
                header::SET_COOKIE,
                format!(
                    "{LOGIN_COOKIE}={}; Path=/callback; HttpOnly; SameSite=Lax; Max-Age=600",
                    csrf.secret()
                ),
            )],
            Redirect::to(url.as_str()),
        )
            .into_response(),
        Err(e) => failure(&format!("could not start the sign-in: {e}")),
    }
}

pub(crate) fn failure(message: &str) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        page(
            "",
            &format!(
                "<h1>Sign-in failed</h1><p role=\"alert\">{}</p><p><a href=\"/\">Back</a></p>",
                escape(message)
            ),
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub(crate) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    if let Some(error) = q.error {
        return failure(&format!(
            "Atrium answered {error}: {}",
            q.error_description.unwrap_or_default()
        ));
    }
    let (Some(code), Some(csrf)) = (q.code, q.state) else {
        return failure("The answer from Atrium is missing its code or state.");
    };
    if cookie(&headers, LOGIN_COOKIE).as_deref() != Some(csrf.as_str()) {
        return failure("This sign-in was started in another browser.");
    }
    let pending: Option<(String, String)> =
        sqlx::query_as("DELETE FROM pending WHERE state = ? RETURNING nonce, verifier")
            .bind(&csrf)
            .fetch_optional(&state.db)
            .await
            .ok()
            .flatten();
    let Some((nonce, verifier)) = pending else {
        return failure("This sign-in was not started here, or was already finished.");
    };
    let request = match state.rp.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(e) => return failure(&e.to_string()),
    };
    let tokens = match request
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&state.http)
        .await
    {
        Ok(t) => t,
        Err(e) => return failure(&format!("the code exchange failed: {e}")),
    };
    let Some(id_token) = tokens.id_token() else {
        return failure("Atrium sent no ID token.");
    };
    let claims = match id_token.claims(&state.rp.id_token_verifier(), &Nonce::new(nonce)) {
        Ok(c) => c.clone(),
        Err(e) => return failure(&format!("the ID token is not valid: {e}")),
    };
    let sub = claims.subject().as_str().to_string();
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string())
        .unwrap_or_else(|| sub.clone());
    let email = claims.email().map(|e| e.as_str().to_string());
    let picture = claims
        .picture()
        .and_then(|p| p.get(None))
        .map(|p| p.as_str().to_string());
    let sid = unverified_claim(&id_token.to_string(), "sid");
    let session = random_id();
    let stored = async {
        sqlx::query(
            "INSERT INTO person (sub, name, email, picture, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (sub) DO UPDATE SET name = excluded.name, email = excluded.email,
                 picture = excluded.picture, updated_at = excluded.updated_at",
        )
        .bind(&sub)
        .bind(&name)
        .bind(&email)
        .bind(&picture)
        .bind(claims.updated_at().map(|t| t.timestamp()))
        .execute(&state.db)
        .await?;
        sqlx::query("INSERT INTO session (id, sub, atrium_sid, id_token) VALUES (?, ?, ?, ?)")
            .bind(&session)
            .bind(&sub)
            .bind(&sid)
            .bind(id_token.to_string())
            .execute(&state.db)
            .await
    };
    if let Err(e) = stored.await {
        return failure(&format!("could not save the sign-in: {e}"));
    }
    let cookie = format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// A claim of a JWT whose signature was already checked.
fn unverified_claim(jwt: &str, name: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(name)?.as_str().map(str::to_string)
}
