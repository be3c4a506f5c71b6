//! Server-side helpers for server functions: the backend from context, who
//! is asking, the session cookie, and turning domain errors into `AppError`.
//! Compiled only with the `ssr` feature.

mod cookies;
mod session;

pub use cookies::*;
use cookies::{cookie, named_token};
pub use session::*;

use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use backend::secret::Token;
use backend::{Backend, RequestMeta};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::{AppError, FieldMessage, LinkIssue};

/// The client's address as the HTTP layer determined it.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

/// A per-request CSP nonce, put into the request by the server's middleware.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Cookie settings derived from the public URL.
#[derive(Clone, Debug)]
pub struct CookieSettings {
    /// True when the public URL is HTTPS: adds `Secure` and the `__Host-` prefix.
    pub secure: bool,
    pub max_age_secs: u64,
}

impl CookieSettings {
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-atrium_session"
        } else {
            "atrium_session"
        }
    }

    /// The cookie of a platform sign-in waiting for Atrium's (10 minutes).
    pub fn oauth_name(&self) -> &'static str {
        if self.secure {
            "__Host-atrium_oauth"
        } else {
            "atrium_oauth"
        }
    }

    /// The cookie of a sign-in whose second step is pending (10 minutes).
    pub fn challenge_name(&self) -> &'static str {
        if self.secure {
            "__Host-atrium_signin"
        } else {
            "atrium_signin"
        }
    }

    /// The cookie that marks a browser that has signed in to an account
    /// before (a year; see `backend::auth::known_device`).
    pub fn device_name(&self) -> &'static str {
        if self.secure {
            "__Host-atrium_device"
        } else {
            "atrium_device"
        }
    }
}

/// The cookie of a sign-in for a platform (OpenID Connect) waiting while
/// the person signs in to Atrium: a random id only. The request itself is
/// kept by the backend (`backend::oidc::pending`), and `/oauth/resume`
/// checks it again from scratch, so the cookie grants nothing by itself.
pub struct OAuthContinue;

impl OAuthContinue {
    /// The id of the pending platform sign-in in `headers`' cookies, if any.
    pub fn from_headers(
        headers: &axum::http::HeaderMap,
        settings: &CookieSettings,
    ) -> Option<Token> {
        named_token(headers, settings.oauth_name())
    }

    /// The Set-Cookie value that keeps `id` (or, with `None`, forgets it).
    pub fn cookie(id: Option<&Token>, settings: &CookieSettings) -> String {
        match id {
            Some(id) => cookie(
                settings.oauth_name(),
                id.expose(),
                backend::oidc::pending::PENDING_LIFETIME_SECS as u64,
                settings.secure,
            ),
            None => cookie(settings.oauth_name(), "", 0, settings.secure),
        }
    }
}

/// The platform sign-in waiting for this browser's sign-in, if any.
pub async fn oauth_request(
) -> Result<Option<backend::oidc::pending::PendingAuthorization>, AppError> {
    let Some(id) =
        parts().and_then(|p| OAuthContinue::from_headers(&p.headers, &cookie_settings()))
    else {
        return Ok(None);
    };
    backend()?
        .pending_authorization(&id)
        .await
        .map_err(to_app_error)
}

pub fn backend() -> Result<Backend, AppError> {
    use_context::<Backend>().ok_or_else(|| internal("backend missing from context"))
}

fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

fn cookie_settings() -> CookieSettings {
    use_context::<CookieSettings>().unwrap_or(CookieSettings {
        secure: false,
        max_age_secs: 12 * 3600,
    })
}

pub fn request_id() -> String {
    parts()
        .map(|p| request_id_of(&p.headers))
        .unwrap_or_else(|| "unknown".into())
}

/// The id the server gave the request (`x-request-id`), which logs and
/// error references quote.
pub fn request_id_of(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string()
}

pub fn request_meta() -> RequestMeta {
    let parts = parts();
    RequestMeta {
        ip: parts
            .as_ref()
            .and_then(|p| p.extensions.get::<ClientIp>().map(|ip| ip.0.clone())),
        user_agent: parts.as_ref().and_then(|p| {
            p.headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        }),
        device: parts
            .as_ref()
            .and_then(|p| named_token(&p.headers, cookie_settings().device_name())),
    }
}

/// The request's `Accept-Language` header, if any.
pub fn accept_language() -> Option<String> {
    parts()?
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn internal(cause: &str) -> AppError {
    let request_id = request_id();
    tracing::error!(%request_id, cause, "internal error");
    AppError::Internal { request_id }
}

/// For a plain form post that failed on a page whose Referer is withheld
/// (`Referrer-Policy: no-referrer`), sends the browser back to `page` with
/// the error encoded the way `ActionForm` reads it. API callers are unaffected.
pub fn return_to_page_on_error(page: &str, server_fn_path: &str, err: &AppError) {
    if !is_form_post() {
        return;
    }
    let base = use_context::<backend::Backend>()
        .map(|b| b.settings().public_url.clone())
        .unwrap_or_default();
    if let Ok(url) = leptos::server_fn::error::ServerFnUrlError::new(server_fn_path, err.clone())
        .to_url(&format!("{base}{page}"))
    {
        leptos_axum::redirect(url.as_str());
    }
}

/// A plain HTML form post (no JavaScript) is answered with a redirect that
/// carries the error; setting a status would break that redirect.
pub fn is_form_post() -> bool {
    parts()
        .and_then(|p| {
            p.headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|a| a.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Maps a domain error to what the browser may see, sets the HTTP status for
/// API callers, and logs internal causes with the request id (never sent).
pub fn to_app_error(err: backend::Error) -> AppError {
    let app = app_error_for(err, &request_id());
    if let AppError::RateLimited { retry_after_secs } = app {
        if let Some(res) = use_context::<ResponseOptions>() {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                res.insert_header(header::RETRY_AFTER, v);
            }
        }
    }
    if !is_form_post() {
        if let (Some(res), Ok(status)) = (
            use_context::<ResponseOptions>(),
            StatusCode::from_u16(app.status()),
        ) {
            res.set_status(status);
        }
    }
    app
}

/// Maps a domain error to what the browser may see, outside any server
/// function (the avatar endpoint): internal causes are logged with
/// `request_id`, never sent.
pub fn app_error_for(err: backend::Error, request_id: &str) -> AppError {
    use backend::error::LinkProblem;
    match err {
        backend::Error::Validation(fields) => AppError::Validation {
            fields: fields
                .into_iter()
                .map(|f| FieldMessage {
                    field: f.field,
                    message: f.message,
                })
                .collect(),
        },
        backend::Error::Conflict(message) => AppError::Conflict { message },
        backend::Error::NotFound => AppError::NotFound,
        backend::Error::Unauthorized => AppError::Unauthorized,
        backend::Error::Forbidden => AppError::Forbidden,
        backend::Error::Denied(message) => AppError::Denied { message },
        backend::Error::InvalidCredentials => AppError::InvalidCredentials,
        backend::Error::SignInExpired => AppError::SignInExpired,
        backend::Error::ReauthRequired => AppError::ReauthRequired,
        backend::Error::RateLimited { retry_after_secs } => {
            AppError::RateLimited { retry_after_secs }
        }
        backend::Error::Image(e) => AppError::Validation {
            fields: vec![FieldMessage {
                field: "image".into(),
                message: e.to_string(),
            }],
        },
        backend::Error::LinkRejected(p) => AppError::Link {
            issue: match p {
                LinkProblem::Unknown => LinkIssue::Unknown,
                LinkProblem::Used => LinkIssue::Used,
                LinkProblem::Expired => LinkIssue::Expired,
            },
        },
        other if other.is_unavailable() => {
            tracing::error!(error = %other, "database unreachable");
            AppError::Unavailable
        }
        other => {
            tracing::error!(%request_id, error = %other, "internal error");
            AppError::Internal {
                request_id: request_id.to_string(),
            }
        }
    }
}
