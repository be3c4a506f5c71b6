//! The Dashboard's recent security activity.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One line of the Dashboard's recent security activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// RFC 3339 UTC, for `<time datetime>`.
    pub at: String,
    /// e.g. "27 November 2026, 09:45 UTC"
    pub when: String,
    pub what: String,
    pub browser: String,
    pub ip: String,
}

/// The signed-in person's ten most recent security events, newest first.
#[server(endpoint = "security/events", input = crate::wire::Form)]
pub async fn security_events() -> Result<Vec<SecurityEvent>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let events = backend
        .recent_events(user.id, 10)
        .await
        .map_err(to_app_error)?;
    Ok(events
        .into_iter()
        .map(|e| SecurityEvent {
            at: backend::clock::to_rfc3339(e.created_at),
            when: format!(
                "{}, {}",
                backend::clock::to_long_date(e.created_at),
                backend::clock::to_clock_time(e.created_at)
            ),
            what: backend::audit::describe(&e.kind).to_string(),
            browser: e
                .user_agent
                .as_deref()
                .map(backend::audit::browser_name)
                .unwrap_or_else(|| "Unknown browser".into()),
            ip: e.ip.unwrap_or_else(|| "unknown".into()),
        })
        .collect())
}
