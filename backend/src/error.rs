//! The one error type of the domain. User-facing variants carry what a person
//! needs to fix their input; internal causes are kept for the log only.

use serde::{Deserialize, Serialize};

/// A message about one input field, shown under that field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("not signed in")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    /// Not allowed, with the reason the person can act on (403).
    #[error("denied: {0}")]
    Denied(String),
    /// Wrong email or password; deliberately says nothing about which.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("rate limited for {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// The second step of a sign-in is gone: expired, too many wrong codes,
    /// or never started. The person signs in again.
    #[error("sign-in expired")]
    SignInExpired,
    /// The password must be entered again (within the last 10 minutes) first.
    #[error("password re-entry required")]
    ReauthRequired,
    /// A link from a mail that is unknown, used or expired.
    #[error("link rejected: {0:?}")]
    LinkRejected(LinkProblem),
    /// An uploaded picture that cannot be used; carries its HTTP status.
    #[error(transparent)]
    Image(#[from] crate::avatar::process::ImageError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("mail: {0}")]
    Mail(String),
    #[error("internal: {0}")]
    Internal(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkProblem {
    Unknown,
    Used,
    Expired,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    /// Whether the database cannot be reached at all (down, restarting, the
    /// pool exhausted): the request may work in a moment, so callers answer
    /// 503 rather than 500.
    pub fn is_unavailable(&self) -> bool {
        let Error::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::Tls(_) => true,
            // PostgreSQL's "connection exception" (08…) and "operator
            // intervention" (57P…: shutting down, cannot connect now).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }

    /// Whether the cause is inside the server (database, disk, mail relay),
    /// as opposed to something the caller can fix.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Error::Database(_)
                | Error::Migration(_)
                | Error::Io(_)
                | Error::Mail(_)
                | Error::Internal(_)
        )
    }
}

/// Turns a unique-constraint violation into a field error. PostgreSQL names the
/// violated constraint and must name `constraint`; SQLite names none, so callers
/// pass only statements that have a single unique constraint besides the key.
pub fn unique_violation_as_field(
    err: sqlx::Error,
    constraint: &str,
    field: &str,
    message: &str,
) -> Error {
    if is_unique_violation(&err, constraint) {
        return Error::field(field, message);
    }
    Error::Database(err)
}

/// Whether `err` is a violation of the unique constraint `constraint` (or of
/// an unnamed one: SQLite does not always name it).
pub fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    matches!(err, sqlx::Error::Database(db)
        if db.kind() == sqlx::error::ErrorKind::UniqueViolation
            && db.constraint().is_none_or(|c| c == constraint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_told_apart_from_other_failures() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(Error::Database(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(Error::Database(sqlx::Error::Io(refused)).is_unavailable());
        assert!(!Error::Database(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!Error::Internal("disk full".into()).is_unavailable());
        assert!(!Error::NotFound.is_unavailable());
    }
}
