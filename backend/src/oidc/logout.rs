//! Signing out everywhere: RP-initiated logout (a platform sends the person
//! to Atrium's end-session endpoint) and Back-Channel Logout 1.0 (Atrium
//! tells each platform a session signed in to when that session ends).

use serde::{Deserialize, Serialize};

use crate::oidc::flow::{session_sid, subject_of};
use crate::oidc::platform::{self, Platform};
use crate::secret::Token;
use crate::{Backend, Error, Result};

/// How long a logout token is accepted (Back-Channel Logout §2.4: short).
pub const LOGOUT_TOKEN_LIFETIME_SECS: i64 = 2 * 60;
/// A platform's back-channel endpoint gets this long to answer.
pub const BACKCHANNEL_TIMEOUT_SECS: u64 = 5;
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The query of `GET /oauth/logout` (or the form of a POST).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EndSessionParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug)]
pub enum EndSessionError {
    /// Shown on Atrium's own page; nothing is redirected.
    Page(String),
    Internal(Error),
}

impl From<Error> for EndSessionError {
    fn from(e: Error) -> Self {
        EndSessionError::Internal(e)
    }
}

#[derive(Deserialize)]
struct HintClaims {
    aud: String,
    #[serde(default)]
    sid: Option<String>,
}

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    sid: String,
    events: serde_json::Value,
}

/// A back-channel logout to send: where, and the signed token.
pub struct LogoutNotice {
    pub platform: String,
    pub uri: String,
    pub logout_token: String,
}

/// What an end-session request asks, once checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndSessionPlan {
    /// The platform's registered post-logout URI (with its state), or
    /// `None` for Atrium's sign-in page.
    pub next: Option<String>,
    /// The platform's name, when the request says which it is.
    pub platform: Option<String>,
    /// The request carries an ID token of this very session (its `sid`):
    /// only then is it acted on without asking the person, since anyone
    /// can link a browser to the end-session endpoint.
    pub names_this_session: bool,
}

impl Backend {
    /// Checks a platform's end-session request for the browser holding
    /// `session_token`; nothing is changed.
    pub async fn check_end_session(
        &self,
        params: &EndSessionParams,
        session_token: Option<&Token>,
    ) -> std::result::Result<EndSessionPlan, EndSessionError> {
        let mut client_id = params.client_id.clone().filter(|c| !c.is_empty());
        let mut hint_sid = None;
        if let Some(hint) = params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            let Some(claims) = self.verify_own_jwt::<HintClaims>(hint).await? else {
                return Err(EndSessionError::Page(
                    "The sign-out link carries an ID token Atrium did not issue.".into(),
                ));
            };
            if client_id.as_deref().is_some_and(|c| c != claims.aud) {
                return Err(EndSessionError::Page(
                    "The sign-out link's client_id and ID token name different platforms.".into(),
                ));
            }
            client_id = Some(claims.aud);
            hint_sid = claims.sid;
        }
        let platform = match &client_id {
            Some(id) => platform::find(&self.db.pool, id).await?,
            None => None,
        };
        let mut next = None;
        if let Some(uri) = params
            .post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            let Some(platform) = &platform else {
                return Err(EndSessionError::Page(
                    "The sign-out link does not say which platform it comes from.".into(),
                ));
            };
            if !platform.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Err(EndSessionError::Page(format!(
                    "The sign-out link asks to return to an address {} did not register.",
                    platform.name
                )));
            }
            let mut url = url::Url::parse(uri)
                .map_err(|_| EndSessionError::Page("The return address is not a URL.".into()))?;
            if let Some(state) = &params.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            next = Some(url.to_string());
        }
        let names_this_session = match (session_token, hint_sid) {
            (Some(token), Some(sid)) => session_sid(&token.hash()) == sid,
            _ => false,
        };
        Ok(EndSessionPlan {
            next,
            platform: platform.map(|p| p.name),
            names_this_session,
        })
    }

    /// Called after sessions of `user_id` ended (signed out, revoked, or
    /// ended by a password reset or a change of sign-in method): revokes the
    /// platforms' tokens from those sessions and sends each platform with a
    /// back-channel logout URI a signed logout token, in the background.
    pub async fn sessions_ended(&self, user_id: i64, session_hashes: &[String]) {
        // Their open tabs go to sign-in.
        self.announce(user_id).await;
        match self.logout_notices(user_id, session_hashes).await {
            Ok(notices) => {
                for notice in notices {
                    tokio::spawn(send_logout(notice));
                }
            }
            Err(e) => tracing::error!(user_id, error = %e, "back-channel logout not prepared"),
        }
    }

    async fn logout_notices(
        &self,
        user_id: i64,
        session_hashes: &[String],
    ) -> Result<Vec<LogoutNotice>> {
        let now = self.clock.now();
        let mut notices = Vec::new();
        for hash in session_hashes {
            let clients: Vec<(String,)> = sqlx::query_as(
                "SELECT DISTINCT client_id FROM oidc_token WHERE session_hash = $1 ORDER BY client_id",
            )
            .bind(hash)
            .fetch_all(&self.db.pool)
            .await?;
            if clients.is_empty() {
                continue;
            }
            sqlx::query("DELETE FROM oidc_token WHERE session_hash = $1")
                .bind(hash)
                .execute(&self.db.pool)
                .await?;
            let mut conn = self.db.pool.acquire().await?;
            let sub = subject_of(&mut conn, user_id, now).await?;
            drop(conn);
            for (client_id,) in clients {
                let Some(Platform {
                    name,
                    backchannel_logout_uri: Some(uri),
                    ..
                }) = platform::find(&self.db.pool, &client_id).await?
                else {
                    continue;
                };
                let claims = LogoutClaims {
                    iss: &self.settings.public_url,
                    aud: &client_id,
                    iat: now,
                    exp: now + LOGOUT_TOKEN_LIFETIME_SECS,
                    jti: Token::generate().expose().to_string(),
                    sub: &sub,
                    sid: session_sid(hash),
                    events: serde_json::json!({ BACKCHANNEL_EVENT: {} }),
                };
                notices.push(LogoutNotice {
                    platform: name,
                    uri,
                    logout_token: self.sign_jwt(&claims, "logout+jwt").await?,
                });
            }
        }
        Ok(notices)
    }
}

/// Posts one logout token (Back-Channel Logout §2.5); failures are logged,
/// the session is over either way.
async fn send_logout(notice: LogoutNotice) {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(BACKCHANNEL_TIMEOUT_SECS))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for back-channel logout");
            return;
        }
    };
    let sent = client
        .post(&notice.uri)
        .form(&[("logout_token", notice.logout_token.as_str())])
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => {
            tracing::info!(platform = %notice.platform, "back-channel logout delivered")
        }
        Ok(r) => {
            tracing::warn!(platform = %notice.platform, status = %r.status(), "back-channel logout refused")
        }
        Err(e) => {
            tracing::warn!(platform = %notice.platform, error = %e, "back-channel logout not delivered")
        }
    }
}
