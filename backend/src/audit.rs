//! The audit trail: every security-relevant action writes one row saying who
//! did what, when, and from which IP and browser.

use sqlx::{Any, Executor, FromRow};

use crate::clock::UnixTime;
use crate::{RequestMeta, Result};

/// The kinds of event written; stored as their string form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    SignedUp,
    SignedIn,
    SignInFailed,
    SignInThrottled,
    SignedOut,
    VerificationSent,
    EmailVerified,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SignedUp => "user.signed_up",
            EventKind::SignedIn => "session.signed_in",
            EventKind::SignInFailed => "session.sign_in_failed",
            EventKind::SignInThrottled => "session.sign_in_throttled",
            EventKind::SignedOut => "session.signed_out",
            EventKind::VerificationSent => "email.verification_sent",
            EventKind::EmailVerified => "email.verified",
        }
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub user_id: Option<i64>,
    pub kind: String,
    pub detail: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
}

pub async fn record<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: Option<i64>,
    kind: EventKind,
    detail: Option<&str>,
    meta: &RequestMeta,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_event (user_id, kind, detail, ip, user_agent, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(detail)
    .bind(meta.ip.as_deref())
    .bind(meta.user_agent.as_deref().map(|ua| truncate(ua, 512)))
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The newest events of one user, newest first.
pub async fn recent_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, kind, detail, ip, user_agent, created_at FROM audit_event
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(ex)
    .await?)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
