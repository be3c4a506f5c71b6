//! `/oauth/token` and `/oauth/userinfo`, with errors as RFC 6749 and
//! RFC 6750 name them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use backend::oidc::flow::{ClientAuth, TokenError, TokenParams};
use base64::Engine;

use crate::state::AppState;

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

pub(super) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
pub(super) async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
