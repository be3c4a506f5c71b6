//! `GET /oauth/authorize`: the request checked, then a code for the
//! signed-in person (or the sign-in page first).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::with_query;
use crate::auth::session::{self, SessionRow};
use crate::clock::UnixTime;
use crate::oidc::platform::{self, Platform};
use crate::oidc::{CODE_LIFETIME_SECS, SCOPES};
use crate::secret::Token;
use crate::{Backend, Error, Result};

/// The query of `GET /oauth/authorize`, as sent. Every field is optional
/// here so that each missing one gets its own error.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub response_mode: Option<String>,
}

/// An error sent back to the platform's (registered) redirect URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: &'static str,
    pub description: String,
    pub state: Option<String>,
}

impl ErrorRedirect {
    pub fn location(&self, issuer: &str) -> String {
        with_query(
            &self.redirect_uri,
            &[
                ("error", Some(self.error)),
                ("error_description", Some(&self.description)),
                ("state", self.state.as_deref()),
                ("iss", Some(issuer)),
            ],
        )
    }
}

#[derive(Debug)]
pub enum AuthorizeError {
    /// Unknown platform, or a redirect URI it did not register: shown on
    /// Atrium's own page and never redirected (an open redirector otherwise).
    Page(String),
    /// Sent back to the platform.
    Redirect(ErrorRedirect),
    Internal(Error),
}

impl From<Error> for AuthorizeError {
    fn from(e: Error) -> Self {
        AuthorizeError::Internal(e)
    }
}

/// A checked authorization request.
#[derive(Clone, Debug)]
pub struct AuthorizeRequest {
    pub platform: Platform,
    pub redirect_uri: String,
    /// The granted scopes, space-separated, in a fixed order.
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub max_age: Option<i64>,
}

impl AuthorizeRequest {
    fn error(&self, error: &'static str, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.into(),
            state: self.state.clone(),
        })
    }
}

/// What the browser does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Sign in on Atrium first, then come back to this request.
    SignIn,
    /// Back to the platform (with a code or an error).
    Redirect(String),
}

impl Backend {
    /// Checks an authorization request. Problems with the platform or its
    /// redirect URI are for Atrium's page; the rest go back to the platform.
    pub async fn check_authorize(
        &self,
        p: &AuthorizeParams,
    ) -> std::result::Result<AuthorizeRequest, AuthorizeError> {
        let Some(client_id) = p.client_id.as_deref().filter(|s| !s.is_empty()) else {
            return Err(AuthorizeError::Page(
                "The sign-in link is missing the platform's client_id.".into(),
            ));
        };
        let Some(platform) = platform::find(&self.db.pool, client_id).await? else {
            return Err(AuthorizeError::Page(
                "The sign-in link names a platform that is not registered with Atrium.".into(),
            ));
        };
        let redirect_uri = match p.redirect_uri.as_deref() {
            None | Some("") => {
                return Err(AuthorizeError::Page(
                    "The sign-in link is missing its redirect_uri.".into(),
                ))
            }
            Some(uri) if platform.redirect_uris.iter().any(|r| r == uri) => uri.to_string(),
            Some(_) => {
                return Err(AuthorizeError::Page(format!(
                    "The sign-in link asks to return to an address {} did not register. Nothing was sent to it.",
                    platform.name
                )))
            }
        };
        let mut req = AuthorizeRequest {
            platform,
            redirect_uri,
            scope: String::new(),
            state: p.state.clone(),
            nonce: p.nonce.clone().filter(|n| !n.is_empty()),
            code_challenge: String::new(),
            prompt_none: false,
            prompt_login: false,
            max_age: None,
        };
        if p.request.is_some() {
            return Err(req.error(
                "request_not_supported",
                "Request objects are not supported.",
            ));
        }
        if p.request_uri.is_some() {
            return Err(req.error("request_uri_not_supported", "request_uri is not supported."));
        }
        match p.response_type.as_deref() {
            Some("code") => {}
            None | Some("") => {
                return Err(req.error("invalid_request", "response_type is required."))
            }
            Some(_) => {
                return Err(req.error(
                    "unsupported_response_type",
                    "Only the authorization code flow (response_type=code) is supported.",
                ))
            }
        }
        if let Some(mode) = p.response_mode.as_deref() {
            if mode != "query" {
                return Err(req.error("invalid_request", "Only response_mode=query is supported."));
            }
        }
        let asked: Vec<&str> = p.scope.as_deref().unwrap_or("").split(' ').collect();
        if !asked.contains(&"openid") {
            return Err(req.error("invalid_scope", "The scope must include openid."));
        }
        // Unknown scopes are ignored (Core 3.1.2.1); the granted set is listed.
        req.scope = SCOPES
            .iter()
            .filter(|s| asked.contains(s))
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        match (
            p.code_challenge.as_deref().filter(|c| !c.is_empty()),
            p.code_challenge_method.as_deref(),
        ) {
            (None, _) => {
                return Err(req.error(
                    "invalid_request",
                    "PKCE is required: send code_challenge with code_challenge_method=S256.",
                ))
            }
            (Some(c), Some("S256")) if c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok() => {
                req.code_challenge = c.to_string();
            }
            (Some(_), Some("S256")) => {
                return Err(req.error(
                    "invalid_request",
                    "code_challenge must be the base64url SHA-256 of the verifier (43 characters).",
                ))
            }
            (Some(_), _) => {
                return Err(req.error(
                    "invalid_request",
                    "code_challenge_method must be S256 (plain is not accepted).",
                ))
            }
        }
        let mut interactive = false;
        for prompt in p.prompt.as_deref().unwrap_or("").split(' ') {
            match prompt {
                "" => {}
                "none" => req.prompt_none = true,
                "login" => {
                    req.prompt_login = true;
                    interactive = true;
                }
                // First-party platforms: consent is given by registration,
                // and a browser holds one Atrium session at a time.
                "consent" | "select_account" => interactive = true,
                other => {
                    return Err(req.error(
                        "invalid_request",
                        format!("prompt={other} is not supported."),
                    ))
                }
            }
        }
        if req.prompt_none && interactive {
            return Err(req.error(
                "invalid_request",
                "prompt=none cannot be combined with other values.",
            ));
        }
        if let Some(raw) = p.max_age.as_deref().filter(|s| !s.is_empty()) {
            match raw.parse::<i64>() {
                Ok(v) if v >= 0 => req.max_age = Some(v),
                _ => {
                    return Err(req.error("invalid_request", "max_age must be a number of seconds."))
                }
            }
        }
        Ok(req)
    }

    /// The live session behind `token`, touched like any request.
    pub async fn live_session(&self, token: &Token) -> Result<Option<SessionRow>> {
        let now = self.clock.now();
        let Some(row) = session::find(&self.db.pool, token).await? else {
            return Ok(None);
        };
        if !row.is_live(self.lifetimes().idle_secs, now) {
            return Ok(None);
        }
        if now - row.last_seen_at >= session::TOUCH_EVERY_SECS {
            session::touch(&self.db.pool, token, now).await?;
        }
        Ok(Some(row))
    }

    /// Answers a checked request for the browser holding `session_token`:
    /// straight back to the platform with a code when the session will do,
    /// otherwise to Atrium's sign-in (or `login_required` for prompt=none).
    /// `signed_in_since` is when this request was first sent to sign-in: a
    /// session at least that new satisfies prompt=login.
    pub async fn oidc_authorize(
        &self,
        req: &AuthorizeRequest,
        session_token: Option<&Token>,
        signed_in_since: Option<UnixTime>,
    ) -> std::result::Result<Next, AuthorizeError> {
        let now = self.clock.now();
        let session = match session_token {
            Some(t) => self.live_session(t).await?.map(|row| (t, row)),
            None => None,
        };
        let fresh = |row: &SessionRow| signed_in_since.is_some_and(|t| row.created_at >= t);
        let usable = session.as_ref().filter(|(_, row)| {
            (!req.prompt_login || fresh(row))
                && req
                    .max_age
                    .is_none_or(|max| now - row.created_at <= max || fresh(row))
        });
        let Some((token, row)) = usable else {
            if req.prompt_none {
                return Err(req.error("login_required", "The person is not signed in to Atrium."));
            }
            return Ok(Next::SignIn);
        };
        let code = Token::generate();
        sqlx::query(
            "INSERT INTO oidc_code (code_hash, client_id, user_id, session_hash, redirect_uri, scope, nonce,
                                    code_challenge, auth_time, amr, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(code.hash())
        .bind(&req.platform.client_id)
        .bind(row.user_id)
        .bind(token.hash())
        .bind(&req.redirect_uri)
        .bind(&req.scope)
        .bind(req.nonce.as_deref())
        .bind(&req.code_challenge)
        .bind(row.created_at)
        .bind(&row.amr)
        .bind(now)
        .bind(now + CODE_LIFETIME_SECS)
        .execute(&self.db.pool)
        .await
        .map_err(Error::from)?;
        Ok(Next::Redirect(with_query(
            &req.redirect_uri,
            &[
                ("code", Some(code.expose())),
                ("state", req.state.as_deref()),
                ("iss", Some(&self.settings.public_url)),
            ],
        )))
    }
}
