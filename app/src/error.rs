//! `AppError`: what a server function may tell the browser. It mirrors the
//! user-facing variants of `backend::Error`; internal causes become
//! `Internal { request_id }` and are logged on the server, never sent.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A message about one input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

/// Why a link from a mail was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkIssue {
    Unknown,
    Used,
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please correct the fields marked below.")]
    Validation { fields: Vec<FieldMessage> },
    #[error("{message}")]
    Conflict { message: String },
    #[error("We could not find that.")]
    NotFound,
    #[error("Your session has ended. Please sign in again.")]
    Unauthorized,
    #[error("You are not allowed to do that.")]
    Forbidden,
    /// Not allowed, with the reason.
    #[error("{message}")]
    Denied { message: String },
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    #[error("This sign-in has expired or had too many wrong codes. Please sign in again.")]
    SignInExpired,
    #[error("For your security, enter your password again before changing how you sign in.")]
    ReauthRequired,
    #[error("Too many attempts. Please try again in {}.", human_wait(*retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    #[error("{}", link_message(*issue))]
    Link { issue: LinkIssue },
    #[error("Something went wrong on our side. Please try again; if it keeps happening, contact support and quote reference {request_id}.")]
    Internal { request_id: String },
    /// The database cannot be reached for now (503).
    #[error("Atrium cannot reach its database right now. Nothing was changed; please try again in a moment.")]
    Unavailable,
    /// The request itself was malformed or never reached the server.
    #[error("The request could not be completed: {0}")]
    Request(String),
}

impl AppError {
    /// The message for `field`, if the error names it.
    pub fn field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { fields } => fields
                .iter()
                .find(|f| f.field == field)
                .map(|f| f.message.clone()),
            _ => None,
        }
    }

    /// HTTP status when the error is answered to an API caller.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation { .. } => 422,
            AppError::Conflict { .. } => 409,
            AppError::NotFound => 404,
            AppError::Unauthorized | AppError::InvalidCredentials | AppError::SignInExpired => 401,
            AppError::Forbidden | AppError::Denied { .. } | AppError::ReauthRequired => 403,
            AppError::RateLimited { .. } => 429,
            AppError::Link {
                issue: LinkIssue::Unknown,
            } => 404,
            AppError::Link { .. } => 410,
            AppError::Internal { .. } => 500,
            AppError::Unavailable => 503,
            AppError::Request(_) => 400,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Request(value.to_string())
    }
}

fn link_message(issue: LinkIssue) -> &'static str {
    match issue {
        LinkIssue::Unknown => {
            "This link is not valid. Check that you opened the whole link from the mail."
        }
        LinkIssue::Used => "This link has already been used. Each link works once.",
        LinkIssue::Expired => "This link has expired. Request a new one.",
    }
}

/// "45 seconds", "3 minutes", "1 hour".
pub fn human_wait(secs: u64) -> String {
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    match secs {
        0..=59 => plural(secs.max(1), "second"),
        60..=3599 => plural(secs.div_ceil(60), "minute"),
        _ => plural(secs.div_ceil(3600), "hour"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(human_wait(0), "1 second");
        assert_eq!(human_wait(45), "45 seconds");
        assert_eq!(human_wait(61), "2 minutes");
        assert_eq!(human_wait(900), "15 minutes");
        assert_eq!(human_wait(3601), "2 hours");
    }

    #[test]
    fn messages_and_statuses() {
        let e = AppError::RateLimited {
            retry_after_secs: 120,
        };
        assert_eq!(
            e.to_string(),
            "Too many attempts. Please try again in 2 minutes."
        );
        assert_eq!(e.status(), 429);
        let v = AppError::Validation {
            fields: vec![FieldMessage {
                field: "email".into(),
                message: "Enter it.".into(),
            }],
        };
        assert_eq!(v.field("email").as_deref(), Some("Enter it."));
        assert_eq!(v.field("password"), None);
        // The whole text a person sees for a fault on our side: a fixed
        // sentence and the reference, nothing from the cause.
        assert_eq!(
            AppError::Internal {
                request_id: "r1".into()
            }
            .to_string(),
            "Something went wrong on our side. Please try again; if it keeps \
             happening, contact support and quote reference r1."
        );
    }
}
