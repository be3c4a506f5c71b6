//! Server functions of the support console and the contact form. Every
//! console function is refused (403) unless the caller has the Support role;
//! the backend checks it, not the page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::api::MembershipInfo;
use crate::error::AppError;
use crate::ui::LinkState;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserHit {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub what: String,
    pub detail: String,
    pub when: String,
    pub ip: String,
}

/// One person as the console shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportUserView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub member_since: String,
    #[serde(with = "crate::wire::word")]
    pub mfa_method: vocab::MfaMethod,
    pub password_changed: String,
    pub memberships: Vec<MembershipInfo>,
    pub events: Vec<AuditLine>,
    /// "new@example.org (until 28 November 2026)"
    pub pending_email: Option<String>,
    /// Changes on hold (`vocab::lifetimes::SUPPORT_HOLD`) for the person's approval.
    pub waiting_changes: Vec<String>,
    pub is_support: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestItem {
    pub id: i64,
    /// The person with the request's address; `None` when nobody has it.
    pub user_id: Option<i64>,
    pub name: String,
    pub email: String,
    pub topic: String,
    pub message: String,
    pub filed: String,
    /// Filed signed out: the address was typed, not proved.
    pub signed_out: bool,
}

#[server(endpoint = "support/search", input = crate::wire::Form)]
pub async fn search_users(query: String) -> Result<Vec<UserHit>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let actor = require_user().await?;
    let hits = backend
        .support_search(&actor, &query)
        .await
        .map_err(to_app_error)?;
    Ok(hits
        .into_iter()
        .map(|u| UserHit {
            id: u.id,
            name: format!("{} {}", u.first_name, u.last_name),
            email: u.email,
        })
        .collect())
}

#[server(endpoint = "support/user", input = crate::wire::Form)]
pub async fn support_user(user_id: i64) -> Result<SupportUserView, AppError> {
    use crate::ssr::*;
    use backend::clock::{to_clock_time, to_long_date};
    let backend = backend()?;
    let actor = require_user().await?;
    let v = backend
        .support_user(&actor, user_id, &request_meta())
        .await
        .map_err(to_app_error)?;
    Ok(SupportUserView {
        id: v.user.id,
        name: v.user.full_name(),
        email: v.user.email.clone(),
        email_verified: v.user.email_verified_at.is_some(),
        phone: v.user.phone.as_deref().map(backend::user::phone::display),
        member_since: to_long_date(v.user.created_at),
        mfa_method: v.user.mfa_method,
        password_changed: to_long_date(v.user.password_changed_at),
        memberships: v
            .memberships
            .into_iter()
            .map(MembershipInfo::from_backend)
            .collect(),
        events: v
            .events
            .into_iter()
            .map(|e| AuditLine {
                what: backend::audit::describe(&e.kind).into(),
                detail: e.detail.unwrap_or_default(),
                when: format!(
                    "{}, {}",
                    to_long_date(e.created_at),
                    to_clock_time(e.created_at)
                ),
                ip: e.ip.unwrap_or_default(),
            })
            .collect(),
        pending_email: v.pending_email.map(|(email, until)| {
            format!(
                "{email} (link valid until {}, {})",
                to_long_date(until),
                to_clock_time(until)
            )
        }),
        waiting_changes: v.waiting_changes,
        is_support: v.is_support,
    })
}

/// Starts an email change; the link goes to the new address.
#[server(endpoint = "support/change-email", input = crate::wire::Form)]
pub async fn support_change_email(
    user_id: i64,
    email: String,
    ticket: String,
) -> Result<String, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let actor = require_user().await?;
    backend
        .support_change_email(&actor, user_id, &email, &ticket, &request_meta())
        .await
        .map_err(to_app_error)?;
    Ok(email.trim().to_string())
}

/// Switches a person's sign-in method to emailed codes.
#[server(endpoint = "support/switch-mfa", input = crate::wire::Form)]
pub async fn support_switch_mfa(user_id: i64, ticket: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let actor = require_user().await?;
    backend
        .support_switch_mfa(&actor, user_id, &ticket, &request_meta())
        .await
        .map_err(to_app_error)
}

#[server(endpoint = "support/requests", input = crate::wire::Form)]
pub async fn support_requests() -> Result<Vec<RequestItem>, AppError> {
    use crate::ssr::*;
    use backend::clock::{to_clock_time, to_long_date};
    let backend = backend()?;
    let actor = require_user().await?;
    let list = backend
        .open_support_requests(&actor)
        .await
        .map_err(to_app_error)?;
    Ok(list
        .into_iter()
        .map(|r| RequestItem {
            id: r.id,
            user_id: r.user_id,
            name: match (r.first_name, r.last_name) {
                (Some(first), Some(last)) => format!("{first} {last}"),
                _ => "No user with this address".into(),
            },
            email: r.email,
            topic: vocab::SupportTopic::parse(&r.topic)
                .map(|t| t.label().to_string())
                .unwrap_or(r.topic),
            message: r.message,
            signed_out: r.signed_in == 0,
            filed: format!(
                "{}, {}",
                to_long_date(r.created_at),
                to_clock_time(r.created_at)
            ),
        })
        .collect())
}

#[server(endpoint = "support/close-request", input = crate::wire::Form)]
pub async fn close_support_request(ticket_id: i64) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let actor = require_user().await?;
    backend
        .close_support_request(&actor, ticket_id, &request_meta())
        .await
        .map_err(to_app_error)
}

/// Files a request from the contact form; returns its number. Signed in,
/// the answer goes to the person's address; signed out (locked out of the
/// account), to `email`.
#[server(endpoint = "support/contact", input = crate::wire::Form)]
pub async fn contact_support(
    topic: String,
    message: String,
    #[server(default)] email: String,
) -> Result<i64, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = match session_token() {
        Some(token) => backend.current_user(&token).await.map_err(to_app_error)?,
        None => None,
    };
    backend
        .file_support_request(user.as_ref(), &email, &topic, &message, &request_meta())
        .await
        .map_err(to_app_error)
}

/// What `/confirm-email-change` shows before its button is pressed: the
/// new address, or why the link cannot be used (nothing is written); with
/// no token, the address a change posted without JavaScript just applied.
#[server(endpoint = "email/check-change-link", input = crate::wire::Form)]
pub async fn check_email_change_link(token: String) -> Result<LinkState, AppError> {
    use crate::ssr::*;
    if token.is_empty() {
        return take_link_outcome("/confirm-email-change");
    }
    let backend = backend()?;
    backend
        .check_email_change_link(&token)
        .await
        .map(LinkState::Ready)
        .map_err(to_app_error)
}

/// Applies an email change from the link mailed to the new address (the
/// page's button).
#[server(endpoint = "email/confirm-change", input = crate::wire::Form)]
pub async fn confirm_email_change(token: String) -> Result<String, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let outcome = backend
        .confirm_email_change(&token, &request_meta())
        .await
        .map(|user| user.email)
        .map_err(to_app_error);
    link_outcome("/confirm-email-change", outcome)
}

/// A link from the mail support's held change sends to the person: which
/// one, where the change stands, and what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldChangeView {
    /// True for "go ahead now", false for "This was not me".
    pub approve: bool,
    /// "waiting", "released" or "undone".
    pub state: String,
    pub what: String,
    pub ticket: String,
    pub goes_ahead: String,
}

#[cfg(feature = "ssr")]
fn held_view(link: backend::support_hold::HoldLink) -> HeldChangeView {
    use backend::support_hold::{HoldLinkKind, HoldState};
    HeldChangeView {
        approve: link.link == HoldLinkKind::Approve,
        state: match link.state {
            HoldState::Waiting => "waiting",
            HoldState::Released => "released",
            HoldState::Undone => "undone",
        }
        .into(),
        what: link.what,
        ticket: link.ticket,
        goes_ahead: link.goes_ahead,
    }
}

/// What `/support-change` shows before its button is pressed. Writes nothing.
#[server(endpoint = "support/check-held-change", input = crate::wire::Form)]
pub async fn check_held_change(token: String) -> Result<HeldChangeView, AppError> {
    use crate::ssr::*;
    backend()?
        .check_support_change_link(&token)
        .await
        .map(held_view)
        .map_err(to_app_error)
}

/// The button of `/support-change`: lets the change go ahead now, or
/// undoes it ("This was not me"), as the link says.
#[server(endpoint = "support/answer-held-change", input = crate::wire::Form)]
pub async fn answer_held_change(token: String) -> Result<HeldChangeView, AppError> {
    use crate::ssr::*;
    backend()?
        .answer_support_change(&token, &request_meta())
        .await
        .map(held_view)
        .map_err(to_app_error)
}
