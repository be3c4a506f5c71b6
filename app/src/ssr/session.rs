//! Who is asking: the session and person resolved once per request.

use backend::secret::Token;
use backend::Backend;

use super::{backend, cookie_settings, parts, to_app_error, token_from_headers, CookieSettings};
use crate::error::AppError;

/// The session a request carries and its person, resolved once per
/// request by the server's `resolve_session` middleware and kept in the
/// request's extensions: the page guard, the pages' server functions and
/// the avatar handlers of that request all read it instead of asking the
/// database again.
#[derive(Clone, Debug)]
pub struct ResolvedSession(pub Option<(backend::user::User, Token)>);

impl ResolvedSession {
    /// Looks up the session named by the request's cookie (touching it, as
    /// every look-up does); empty without a cookie or a live session.
    pub async fn resolve(
        backend: &Backend,
        headers: &axum::http::HeaderMap,
        settings: &CookieSettings,
    ) -> Result<Self, backend::Error> {
        let Some(token) = token_from_headers(headers, settings) else {
            return Ok(ResolvedSession(None));
        };
        let user = backend.current_user(&token).await?;
        Ok(ResolvedSession(user.map(|u| (u, token))))
    }
}

/// The signed-in person and their session token, if any: as the middleware
/// resolved them, or (for a request it left alone, such as one it could not
/// resolve when the database was away) looked up now.
pub async fn signed_in() -> Result<Option<(backend::user::User, Token)>, AppError> {
    let Some(parts) = parts() else {
        return Ok(None);
    };
    if let Some(resolved) = parts.extensions.get::<ResolvedSession>() {
        return Ok(resolved.0.clone());
    }
    let resolved = ResolvedSession::resolve(&backend()?, &parts.headers, &cookie_settings())
        .await
        .map_err(to_app_error)?;
    Ok(resolved.0)
}

/// The signed-in person, or `Unauthorized`.
pub async fn require_user() -> Result<backend::user::User, AppError> {
    require_session().await.map(|(user, _)| user)
}

/// The signed-in person and their session token, or `Unauthorized`.
pub async fn require_session() -> Result<(backend::user::User, Token), AppError> {
    signed_in()
        .await?
        .ok_or_else(|| to_app_error(backend::Error::Unauthorized))
}
