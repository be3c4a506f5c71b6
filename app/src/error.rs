//! `AppError`: what a server function may tell the browser. It mirrors the
//! user-facing variants of `backend::Error`; internal causes become
//! `Internal { request_id }` and are logged on the server, never sent.

use std::fmt;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::de::{self, Deserializer, MapAccess, Unexpected, Visitor};
use serde::{Deserialize, Serialize};

/// A message about one input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

/// Why a link from a mail was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LinkIssue {
    Unknown,
    Used,
    Expired,
}

/// Travels as serde writes an enum by default ("externally tagged"): a
/// variant without fields as its name (`"NotFound"`), any other as an
/// object with one key (`{"RateLimited": {"retry_after_secs": 120}}`,
/// `{"Request": "text"}`). It is read by hand (below).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
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

// Read by hand, not derived: the browser decodes an error from every
// server function, so this is in the console's main module, where serde's
// derive took 10 KB (one visitor per variant, README "Delivery"). The same
// JSON as the derived `Serialize` writes; the tests read back every variant.
impl<'de> Deserialize<'de> for AppError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AppErrorVisitor)
    }
}

struct AppErrorVisitor;

/// Every field a variant of [`AppError`] carries, each one optional.
#[derive(Default, Deserialize)]
#[serde(default)]
struct AppErrorFields {
    fields: Option<Vec<FieldMessage>>,
    message: Option<String>,
    retry_after_secs: Option<u64>,
    issue: Option<String>,
    request_id: Option<String>,
}

impl AppErrorVisitor {
    fn unit(name: &str) -> Option<AppError> {
        Some(match name {
            "NotFound" => AppError::NotFound,
            "Unauthorized" => AppError::Unauthorized,
            "Forbidden" => AppError::Forbidden,
            "InvalidCredentials" => AppError::InvalidCredentials,
            "SignInExpired" => AppError::SignInExpired,
            "ReauthRequired" => AppError::ReauthRequired,
            "Unavailable" => AppError::Unavailable,
            _ => return None,
        })
    }
}

fn required<T, E: de::Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(field))
}

impl<'de> Visitor<'de> for AppErrorVisitor {
    type Value = AppError;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an Atrium error")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<AppError, E> {
        Self::unit(name).ok_or_else(|| E::invalid_value(Unexpected::Str(name), &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AppError, A::Error> {
        let Some(name) = map.next_key::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        if name == "Request" {
            return Ok(AppError::Request(map.next_value()?));
        }
        let f: AppErrorFields = map.next_value()?;
        Ok(match name.as_str() {
            "Validation" => AppError::Validation {
                fields: required(f.fields, "fields")?,
            },
            "Conflict" => AppError::Conflict {
                message: required(f.message, "message")?,
            },
            "Denied" => AppError::Denied {
                message: required(f.message, "message")?,
            },
            "RateLimited" => AppError::RateLimited {
                retry_after_secs: required(f.retry_after_secs, "retry_after_secs")?,
            },
            "Link" => AppError::Link {
                issue: match required(f.issue, "issue")?.as_str() {
                    "Unknown" => LinkIssue::Unknown,
                    "Used" => LinkIssue::Used,
                    "Expired" => LinkIssue::Expired,
                    other => return Err(de::Error::invalid_value(Unexpected::Str(other), &self)),
                },
            },
            "Internal" => AppError::Internal {
                request_id: required(f.request_id, "request_id")?,
            },
            other => return Err(de::Error::invalid_value(Unexpected::Str(other), &self)),
        })
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
    fn every_error_reads_back_as_written() {
        let all = [
            AppError::Validation {
                fields: vec![FieldMessage {
                    field: "email".into(),
                    message: "Enter \"it\".".into(),
                }],
            },
            AppError::Conflict {
                message: "Taken.".into(),
            },
            AppError::NotFound,
            AppError::Unauthorized,
            AppError::Forbidden,
            AppError::Denied {
                message: "No.".into(),
            },
            AppError::InvalidCredentials,
            AppError::SignInExpired,
            AppError::ReauthRequired,
            AppError::RateLimited {
                retry_after_secs: 120,
            },
            AppError::Link {
                issue: LinkIssue::Unknown,
            },
            AppError::Link {
                issue: LinkIssue::Used,
            },
            AppError::Link {
                issue: LinkIssue::Expired,
            },
            AppError::Internal {
                request_id: "r1".into(),
            },
            AppError::Unavailable,
            AppError::Request("bad body".into()),
        ];
        for e in all {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(
                serde_json::from_str::<AppError>(&json).unwrap(),
                e,
                "{json}"
            );
        }
        // The forms on the wire, as API callers read them.
        assert_eq!(
            serde_json::to_string(&AppError::NotFound).unwrap(),
            r#""NotFound""#
        );
        assert_eq!(
            serde_json::to_string(&AppError::Link {
                issue: LinkIssue::Used
            })
            .unwrap(),
            r#"{"Link":{"issue":"Used"}}"#
        );
    }

    #[test]
    fn a_malformed_error_is_refused_with_a_reason() {
        let refused = |json: &str| {
            serde_json::from_str::<AppError>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(refused(r#""Teapot""#).contains("Teapot"));
        assert!(refused(r#"{"Teapot":{}}"#).contains("Teapot"));
        assert!(refused(r#"{"Conflict":{}}"#).contains("missing field `message`"));
        assert!(refused(r#"{"Link":{"issue":"Lost"}}"#).contains("Lost"));
        assert!(refused(r#"{}"#).contains("an Atrium error"));
        assert!(refused("7").contains("an Atrium error"));
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
