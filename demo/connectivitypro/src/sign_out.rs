//! Signing out: here and at Atrium (RP-initiated logout), and when Atrium
//! says so on the back channel.

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::sign_in::failure;
use crate::*;

/// Signs out here, then at Atrium (RP-initiated logout), and comes back.
pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(id) = session_id(&headers) else {
        return Redirect::to("/").into_response();
    };
    let id_token: Option<(String,)> =
        sqlx::query_as("DELETE FROM session WHERE id = ? RETURNING id_token")
            .bind(&id)
            .fetch_optional(&state.db)
            .await
            .ok()
            .flatten();
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    let Some((id_token,)) = id_token else {
        return ([(header::SET_COOKIE, clear)], Redirect::to("/")).into_response();
    };
    let mut url = match reqwest::Url::parse(&format!("{}/oauth/logout", state.issuer)) {
        Ok(u) => u,
        Err(e) => return failure(&e.to_string()),
    };
    url.query_pairs_mut()
        .append_pair("id_token_hint", &id_token)
        .append_pair(
            "post_logout_redirect_uri",
            &format!("{}/", state.public_url),
        );
    ([(header::SET_COOKIE, clear)], Redirect::to(url.as_str())).into_response()
}

#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    logout_token: String,
}

/// Back-Channel Logout 1.0 §2.6: validate the logout token against Atrium's
/// JWKS, then end the sessions it names.
pub(crate) async fn backchannel_logout(
    State(state): State<AppState>,
    Form(form): Form<LogoutForm>,
) -> Response {
    match verify_logout_token(&state, &form.logout_token).await {
        Ok((sub, sid)) => {
            let ended = match &sid {
                Some(sid) => {
                    sqlx::query("DELETE FROM session WHERE sub = ? AND atrium_sid = ?")
                        .bind(&sub)
                        .bind(sid)
                        .execute(&state.db)
                        .await
                }
                None => {
                    sqlx::query("DELETE FROM session WHERE sub = ?")
                        .bind(&sub)
                        .execute(&state.db)
                        .await
                }
            };
            match ended {
                Ok(r) => {
                    tracing::info!(sessions = r.rows_affected(), "signed out by Atrium");
                    ([(header::CACHE_CONTROL, "no-store")], StatusCode::OK).into_response()
                }
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            }
        }
        Err(why) => (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "error": "invalid_request", "error_description": why })),
        )
            .into_response(),
    }
}

async fn verify_logout_token(
    state: &AppState,
    token: &str,
) -> Result<(String, Option<String>), String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("the logout token names no key")?;
    let jwks: jsonwebtoken::jwk::JwkSet = state
        .http
        .get(format!("{}/oauth/jwks", state.issuer))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let jwk = jwks
        .find(&kid)
        .ok_or("the logout token's key is not published")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[state.client_id.as_str()]);
    validation.set_issuer(&[state.issuer.as_str()]);
    validation.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    if claims
        .get("events")
        .and_then(|e| e.get("http://schemas.openid.net/event/backchannel-logout"))
        .is_none()
    {
        return Err("not a back-channel logout event".into());
    }
    if claims.get("nonce").is_some() {
        return Err("a logout token must not carry a nonce".into());
    }
    let sub = claims
        .get("sub")
        .and_then(|s| s.as_str())
        .ok_or("the logout token names nobody")?
        .to_string();
    let sid = claims
        .get("sid")
        .and_then(|s| s.as_str())
        .map(str::to_string);
    Ok((sub, sid))
}
