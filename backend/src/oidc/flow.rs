//! The authorization code flow: checking an authorization request, issuing
//! the code for a signed-in person, exchanging it (with PKCE) for tokens,
//! rotating refresh tokens, and answering userinfo.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use crate::auth::session::{self, SessionRow};
use crate::clock::UnixTime;
use crate::oidc::platform::{self, Platform};
use crate::oidc::{
    acr_for, PersonClaims, ACCESS_TOKEN_LIFETIME_SECS, CODE_LIFETIME_SECS, ID_TOKEN_LIFETIME_SECS,
    REFRESH_TOKEN_LIFETIME_SECS, SCOPES, TOKEN_REQUESTS_PER_MINUTE,
};
use crate::rate_limit::{self, Limit};
use crate::secret::Token;
use crate::user;
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

/// `base` with the given query pairs appended (None values left out).
fn with_query(base: &str, pairs: &[(&str, Option<&str>)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    if let Some(v) = v {
                        q.append_pair(k, v);
                    }
                }
            }
            url.to_string()
        }
        Err(_) => base.to_string(),
    }
}

/// The public session id in ID and logout tokens (`sid`): derived from the
/// stored hash, so it names the session without being able to open it.
pub fn session_sid(session_hash: &str) -> String {
    hex::encode(Sha256::digest(format!("sid:{session_hash}").as_bytes()))[..32].to_string()
}

/// RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
fn well_formed_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// BASE64URL(SHA256(verifier)), the S256 challenge.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
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

/// The form of `POST /oauth/token`.
#[derive(Clone, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for TokenParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenParams")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's errors (RFC 6749 §5.2).
#[derive(Debug)]
pub enum TokenError {
    InvalidRequest(String),
    /// Unknown platform or wrong secret; `basic` when it came in the
    /// Authorization header (the answer then asks for Basic again).
    InvalidClient {
        basic: bool,
    },
    InvalidGrant(String),
    InvalidScope(String),
    UnsupportedGrantType,
    RateLimited {
        retry_after_secs: u64,
    },
    Internal(Error),
}

impl From<Error> for TokenError {
    fn from(e: Error) -> Self {
        match e {
            Error::RateLimited { retry_after_secs } => TokenError::RateLimited { retry_after_secs },
            e => TokenError::Internal(e),
        }
    }
}

impl From<sqlx::Error> for TokenError {
    fn from(e: sqlx::Error) -> Self {
        TokenError::Internal(e.into())
    }
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient { .. } => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::RateLimited { .. } => "slow_down",
            TokenError::Internal(_) => "server_error",
        }
    }

    pub fn description(&self) -> String {
        match self {
            TokenError::InvalidRequest(s)
            | TokenError::InvalidGrant(s)
            | TokenError::InvalidScope(s) => s.clone(),
            TokenError::InvalidClient { .. } => "Client authentication failed.".into(),
            TokenError::UnsupportedGrantType => {
                "Only authorization_code and refresh_token grants are supported.".into()
            }
            TokenError::RateLimited { retry_after_secs } => {
                format!("Too many token requests; try again in {retry_after_secs} s.")
            }
            TokenError::Internal(_) => "Something went wrong on Atrium's side.".into(),
        }
    }
}

/// A successful token answer (RFC 6749 §5.1, Core 3.1.3.3).
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub id_token: String,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenResponse(<redacted>)")
    }
}

/// How the platform authenticated: the Authorization header (basic) or the form.
pub struct ClientAuth {
    pub client_id: String,
    pub client_secret: String,
    pub basic: bool,
}

#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    azp: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: Vec<&'a str>,
    acr: &'a str,
    sid: String,
    #[serde(flatten)]
    person: PersonClaims,
}

/// What a new set of tokens descends from.
#[derive(Clone, Debug, FromRow)]
struct Grant {
    family: String,
    user_id: i64,
    session_hash: String,
    scope: String,
    auth_time: i64,
    amr: String,
}

#[derive(Clone, Debug, FromRow)]
struct CodeRow {
    user_id: i64,
    session_hash: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: String,
    auth_time: i64,
    amr: String,
}

/// The stable, opaque subject of `user_id`, made on first use.
pub async fn subject_of(
    ex: &mut sqlx::AnyConnection,
    user_id: i64,
    now: UnixTime,
) -> Result<String> {
    sqlx::query(
        "INSERT INTO oidc_subject (user_id, sub, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(&Token::generate().expose()[..22])
    .bind(now)
    .execute(&mut *ex)
    .await?;
    let (sub,): (String,) = sqlx::query_as("SELECT sub FROM oidc_subject WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *ex)
        .await?;
    Ok(sub)
}

impl Backend {
    /// The token endpoint: authenticates the platform, then exchanges a code
    /// or rotates a refresh token. Each exchange is one transaction: the
    /// code or refresh token is spent only if tokens are issued.
    pub async fn token(
        &self,
        auth: ClientAuth,
        params: TokenParams,
    ) -> std::result::Result<TokenResponse, TokenError> {
        let now = self.clock.now();
        // Client secrets are 256 random bits, so failed attempts need no
        // throttle; counting them per client_id would let anyone lock a
        // platform out. Authenticated platforms are limited.
        let Some(platform) = self
            .authenticate_platform(&auth.client_id, &auth.client_secret)
            .await?
        else {
            return Err(TokenError::InvalidClient { basic: auth.basic });
        };
        rate_limit::hit(
            &self.db.pool,
            &format!("oidc-token:{}", platform.client_id),
            Limit {
                limit: TOKEN_REQUESTS_PER_MINUTE,
                window_secs: 60,
            },
            now,
        )
        .await?;
        // Made before the transaction: on SQLite a key written from another
        // connection would wait for this transaction's write lock.
        self.ensure_signing_key().await?;
        match params.grant_type.as_deref() {
            Some("authorization_code") => self.exchange_code(&platform, params, now).await,
            Some("refresh_token") => self.refresh(&platform, params, now).await,
            None | Some("") => Err(TokenError::InvalidRequest("grant_type is required.".into())),
            Some(_) => Err(TokenError::UnsupportedGrantType),
        }
    }

    async fn exchange_code(
        &self,
        platform: &Platform,
        params: TokenParams,
        now: UnixTime,
    ) -> std::result::Result<TokenResponse, TokenError> {
        let (Some(raw_code), Some(redirect_uri), Some(verifier)) =
            (params.code, params.redirect_uri, params.code_verifier)
        else {
            return Err(TokenError::InvalidRequest(
                "code, redirect_uri and code_verifier are required.".into(),
            ));
        };
        let bad_code =
            || TokenError::InvalidGrant("The code is unknown, expired or already used.".into());
        let code = Token::parse(&raw_code).ok_or_else(bad_code)?;
        let mut tx = self.db.begin().await?;
        // Claimed in one statement, and only by the platform it was issued
        // to: of two requests with one code, one wins, and another
        // platform's attempt leaves it unspent.
        let claimed: Option<CodeRow> = sqlx::query_as(
            "UPDATE oidc_code SET used_at = $2
             WHERE code_hash = $1 AND client_id = $3 AND used_at IS NULL AND expires_at > $2
             RETURNING user_id, session_hash, redirect_uri, scope, nonce, code_challenge,
                       auth_time, amr",
        )
        .bind(code.hash())
        .bind(now)
        .bind(&platform.client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = claimed else {
            drop(tx);
            // A code used twice was probably stolen: what it issued is revoked.
            let revoked =
                sqlx::query("DELETE FROM oidc_token WHERE family = $1 AND client_id = $2")
                    .bind(code.hash())
                    .bind(&platform.client_id)
                    .execute(&self.db.pool)
                    .await?;
            if revoked.rows_affected() > 0 {
                tracing::warn!(client_id = %platform.client_id, "authorization code reused; its tokens are revoked");
            }
            return Err(bad_code());
        };
        // A failed check below rolls the claim back: the code stays usable
        // by the platform that holds the right verifier.
        if row.redirect_uri != redirect_uri {
            return Err(TokenError::InvalidGrant(
                "redirect_uri differs from the authorization request's.".into(),
            ));
        }
        if !well_formed_verifier(&verifier) || s256_challenge(&verifier) != row.code_challenge {
            return Err(TokenError::InvalidGrant(
                "The code_verifier does not match the code_challenge.".into(),
            ));
        }
        let grant = Grant {
            family: code.hash(),
            user_id: row.user_id,
            session_hash: row.session_hash,
            scope: row.scope,
            auth_time: row.auth_time,
            amr: row.amr,
        };
        let scope = grant.scope.clone();
        self.issue_tokens(tx, platform, &grant, &scope, row.nonce.as_deref(), now)
            .await
    }

    async fn refresh(
        &self,
        platform: &Platform,
        params: TokenParams,
        now: UnixTime,
    ) -> std::result::Result<TokenResponse, TokenError> {
        let Some(raw) = params.refresh_token else {
            return Err(TokenError::InvalidRequest(
                "refresh_token is required.".into(),
            ));
        };
        let bad = || {
            TokenError::InvalidGrant(
                "The refresh token is unknown, expired or already used.".into(),
            )
        };
        let token = Token::parse(&raw).ok_or_else(bad)?;
        let mut tx = self.db.begin().await?;
        // A concurrent rotation of the same token waits on this row until
        // this transaction ends, then finds it used.
        let claimed: Option<Grant> = sqlx::query_as(
            "UPDATE oidc_token SET used_at = $2
             WHERE token_hash = $1 AND kind = 'refresh' AND client_id = $3
               AND used_at IS NULL AND expires_at > $2
             RETURNING family, user_id, session_hash, scope, auth_time, amr",
        )
        .bind(token.hash())
        .bind(now)
        .bind(&platform.client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(grant) = claimed else {
            drop(tx);
            // A rotated refresh token came back: one of two holders is not
            // the platform. The whole family ends (RFC 9700 §4.14.2).
            let family: Option<(String,)> = sqlx::query_as(
                "SELECT family FROM oidc_token
                 WHERE token_hash = $1 AND kind = 'refresh' AND client_id = $2 AND used_at IS NOT NULL",
            )
            .bind(token.hash())
            .bind(&platform.client_id)
            .fetch_optional(&self.db.pool)
            .await?;
            if let Some((family,)) = family {
                sqlx::query("DELETE FROM oidc_token WHERE family = $1")
                    .bind(&family)
                    .execute(&self.db.pool)
                    .await?;
                tracing::warn!(client_id = %platform.client_id, "refresh token reused; its family is revoked");
            }
            return Err(bad());
        };
        // A narrower scope applies to this access and ID token only; the new
        // refresh token keeps the whole grant (RFC 6749 §6).
        let mut scope = grant.scope.clone();
        if let Some(asked) = params.scope.as_deref().filter(|s| !s.is_empty()) {
            let granted: Vec<&str> = grant.scope.split(' ').collect();
            if let Some(extra) = asked.split(' ').find(|s| !granted.contains(s)) {
                return Err(TokenError::InvalidScope(format!(
                    "{extra} was not granted to this refresh token."
                )));
            }
            scope = SCOPES
                .iter()
                .filter(|s| asked.split(' ').any(|a| a == **s))
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
        }
        self.issue_tokens(tx, platform, &grant, &scope, None, now)
            .await
    }

    /// Access token, rotated refresh token and ID token for `grant`, only
    /// while the Atrium session it came from is live; commits `tx`, which
    /// has spent the code or refresh token. `scope` is what this access
    /// and ID token carry; the refresh token keeps the grant's.
    async fn issue_tokens(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        platform: &Platform,
        grant: &Grant,
        scope: &str,
        nonce: Option<&str>,
        now: UnixTime,
    ) -> std::result::Result<TokenResponse, TokenError> {
        let session: Option<(i64, i64)> =
            sqlx::query_as("SELECT last_seen_at, expires_at FROM session WHERE id_hash = $1")
                .bind(&grant.session_hash)
                .fetch_optional(&mut *tx)
                .await?;
        let idle = self.lifetimes().idle_secs;
        let live = session.is_some_and(|(seen, expires)| now < expires && now - seen < idle);
        if !live {
            return Err(TokenError::InvalidGrant(
                "The person's Atrium session has ended; sign them in again.".into(),
            ));
        }
        let user = user::store::find_by_id(&mut *tx, grant.user_id)
            .await?
            .ok_or_else(|| TokenError::InvalidGrant("The person no longer exists.".into()))?;
        let access = Token::generate();
        let refresh = Token::generate();
        let sub = subject_of(&mut tx, user.id, now).await?;
        // From now on the platform hears of this person's changes.
        crate::sync::outbox::subscribe(&mut tx, &platform.client_id, user.id, &grant.scope, now)
            .await?;
        for (token, kind, lifetime, scope) in [
            (&access, "access", ACCESS_TOKEN_LIFETIME_SECS, scope),
            (
                &refresh,
                "refresh",
                REFRESH_TOKEN_LIFETIME_SECS,
                grant.scope.as_str(),
            ),
        ] {
            sqlx::query(
                "INSERT INTO oidc_token (token_hash, kind, family, client_id, user_id, session_hash, scope,
                                         auth_time, amr, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(token.hash())
            .bind(kind)
            .bind(&grant.family)
            .bind(&platform.client_id)
            .bind(user.id)
            .bind(&grant.session_hash)
            .bind(scope)
            .bind(grant.auth_time)
            .bind(&grant.amr)
            .bind(now)
            .bind(now + lifetime)
            .execute(&mut *tx)
            .await?;
        }
        // Expired tokens and codes are swept as new ones are made. Used
        // refresh tokens stay until they expire, to recognise their reuse.
        sqlx::query("DELETE FROM oidc_token WHERE expires_at <= $1")
            .bind(now - ACCESS_TOKEN_LIFETIME_SECS)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM oidc_code WHERE expires_at <= $1")
            .bind(now - CODE_LIFETIME_SECS)
            .execute(&mut *tx)
            .await?;
        let avatar = crate::avatar::store::find(&mut *tx, user.id).await?;
        let claims = IdTokenClaims {
            iss: &self.settings.public_url,
            sub: &sub,
            aud: &platform.client_id,
            azp: &platform.client_id,
            exp: now + ID_TOKEN_LIFETIME_SECS,
            iat: now,
            auth_time: grant.auth_time,
            nonce,
            amr: grant.amr.split(' ').collect(),
            acr: acr_for(&grant.amr),
            sid: session_sid(&grant.session_hash),
            person: PersonClaims::of(
                &user,
                avatar.as_ref().map(|a| a.hash.as_str()),
                scope,
                &self.settings.public_url,
            ),
        };
        let id_token = self.sign_jwt(&claims, "JWT").await?;
        tx.commit().await?;
        Ok(TokenResponse {
            access_token: access.expose().to_string(),
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_LIFETIME_SECS,
            refresh_token: refresh.expose().to_string(),
            id_token,
            scope: scope.to_string(),
        })
    }

    /// The userinfo answer for a live access token: `sub` and the claims its
    /// scope allows. `None` for an unknown or expired token.
    pub async fn userinfo(&self, raw_access_token: &str) -> Result<Option<(String, PersonClaims)>> {
        let Some(token) = Token::parse(raw_access_token) else {
            return Ok(None);
        };
        let now = self.clock.now();
        // Only while the Atrium session it came from is live.
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT t.user_id, t.scope FROM oidc_token t JOIN session s ON s.id_hash = t.session_hash
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2
               AND s.expires_at > $2 AND s.last_seen_at > $3",
        )
        .bind(token.hash())
        .bind(now)
        .bind(now - self.lifetimes().idle_secs)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((user_id, scope)) = row else {
            return Ok(None);
        };
        let Some(user) = user::store::find_by_id(&self.db.pool, user_id).await? else {
            return Ok(None);
        };
        let mut conn = self.db.pool.acquire().await?;
        let sub = subject_of(&mut conn, user_id, now).await?;
        let avatar = crate::avatar::store::find(&mut *conn, user_id).await?;
        Ok(Some((
            sub,
            PersonClaims::of(
                &user,
                avatar.as_ref().map(|a| a.hash.as_str()),
                &scope,
                &self.settings.public_url,
            ),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_43_to_128_unreserved_characters() {
        assert!(well_formed_verifier(&"a".repeat(43)));
        assert!(well_formed_verifier(&"a-._~".repeat(26)[..128]));
        assert!(!well_formed_verifier(&"a".repeat(42)));
        assert!(!well_formed_verifier(&"a".repeat(129)));
        assert!(!well_formed_verifier(&format!("{}+", "a".repeat(42))));
    }

    #[test]
    fn error_redirects_keep_the_state_and_name_the_issuer() {
        let e = ErrorRedirect {
            redirect_uri: "https://cp.example/cb?x=1".into(),
            error: "login_required",
            description: "Not signed in.".into(),
            state: Some("s t".into()),
        };
        assert_eq!(
            e.location("https://atrium.example"),
            "https://cp.example/cb?x=1&error=login_required&error_description=Not+signed+in.&state=s+t&iss=https%3A%2F%2Fatrium.example"
        );
    }

    #[test]
    fn sid_names_the_session_without_its_hash() {
        let sid = session_sid("abc");
        assert_eq!(sid.len(), 32);
        assert_ne!(sid, session_sid("abd"));
        assert!(!sid.contains("abc"));
    }
}
