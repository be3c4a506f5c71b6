//! `POST /oauth/token` and userinfo: codes exchanged with PKCE, refresh
//! tokens rotated, ID and access tokens issued.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::{s256_challenge, session_sid, subject_of, well_formed_verifier};
use crate::clock::UnixTime;
use crate::oidc::platform::Platform;
use crate::oidc::{
    acr_for, PersonClaims, ACCESS_TOKEN_LIFETIME_SECS, CODE_LIFETIME_SECS, ID_TOKEN_LIFETIME_SECS,
    REFRESH_TOKEN_LIFETIME_SECS, SCOPES, TOKEN_REQUESTS_PER_MINUTE,
};
use crate::rate_limit::{self, Limit};
use crate::secret::Token;
use crate::user;
use crate::{Backend, Error};

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
        let session = crate::auth::session::find_by_hash(&mut *tx, &grant.session_hash).await?;
        let idle = self.lifetimes().idle_secs;
        let live = session.is_some_and(|s| s.is_live(idle, now));
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
}
