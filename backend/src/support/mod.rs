//! Global Technical Support: the role (granted from the command line only),
//! the console's look-ups and support's fallback for a lost authenticator
//! (here), email changes confirmed from the new address (`email_change`),
//! and the requests people send (`requests`). Every console function starts
//! with `require_support`.

mod email_change;
mod requests;
pub(crate) mod store;

pub use requests::{SupportRequest, REQUEST_LIMIT};

use sqlx::FromRow;

use crate::account::store::Membership;
use crate::audit::{self, AuditEvent, EventKind};
use crate::clock::UnixTime;
use crate::support_hold::HeldChange;
use crate::user::{self, User};
use crate::{Backend, Error, RequestMeta, Result};

pub const MESSAGE_MAX_CHARS: usize = vocab::limits::SUPPORT_MESSAGE_MAX_CHARS;
pub const TICKET_MAX_CHARS: usize = vocab::limits::TICKET_MAX_CHARS;

/// A person as the console's search lists them.
#[derive(Clone, Debug, FromRow)]
pub struct UserSummary {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// Everything the console shows about one person. No secrets.
#[derive(Clone, Debug)]
pub struct SupportUserView {
    pub user: User,
    pub memberships: Vec<Membership>,
    pub events: Vec<AuditEvent>,
    /// The address an email change waits to be confirmed at, and until when.
    pub pending_email: Option<(String, UnixTime)>,
    /// Changes support asked for that wait for the person (`support_hold`).
    pub waiting_changes: Vec<String>,
    pub is_support: bool,
}

/// A ticket reference: 1 to 64 visible characters, e.g. `INC-12345`.
pub fn check_ticket(raw: &str) -> Result<String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(Error::field(
            "ticket",
            "Enter the ticket reference this change is made under (for example INC-12345).",
        ));
    }
    if v.chars().count() > TICKET_MAX_CHARS || v.chars().any(|c| c.is_control()) {
        return Err(Error::field(
            "ticket",
            format!(
                "A ticket reference is at most {TICKET_MAX_CHARS} characters, without line breaks."
            ),
        ));
    }
    Ok(v.to_string())
}

/// How support's actions appear in a person's activity: as Global Technical
/// Support, without the staff member's IP address and browser (the detail
/// names the staff member for the audit trail).
fn as_support() -> RequestMeta {
    RequestMeta::on_behalf("Global Technical Support")
}

/// Staff change their own email and sign-in method like everyone else
/// (with their password), not through the console.
fn refuse_own(actor: &User, user_id: i64) -> Result<()> {
    if actor.id == user_id {
        return Err(Error::Denied(
            "Support cannot change their own sign-in details from the console; ask a colleague."
                .into(),
        ));
    }
    Ok(())
}

/// A support member's sign-in details cannot be changed from the console:
/// one member talked into it would hand over another's console.
const SUPPORT_MEMBER_REFUSED: &str = "This person is a Global Technical Support member: their email and sign-in method cannot be changed from the console. They change them themselves, with their password.";

/// The staff member's own address and browser go to the server log instead.
fn log_action(actor: &User, meta: &RequestMeta, action: &str, user_id: i64) {
    tracing::info!(
        staff = actor.id,
        ip = meta.ip.as_deref().unwrap_or("-"),
        user_id,
        action,
        "support action"
    );
}

impl Backend {
    pub async fn is_support(&self, user_id: i64) -> Result<bool> {
        store::is_staff(&self.db.pool, user_id).await
    }

    async fn refuse_support_member(&self, user_id: i64) -> Result<()> {
        if self.is_support(user_id).await? {
            return Err(Error::Denied(SUPPORT_MEMBER_REFUSED.into()));
        }
        Ok(())
    }

    /// `Forbidden` unless `user` has the global Support role: only it opens
    /// the support console and acts on other people's sign-in details.
    pub async fn require_support(&self, user: &User) -> Result<()> {
        if self.is_support(user.id).await? {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Gives the person with `email` the Support role (the server's
    /// `grant-support` command). Granting twice is not an error.
    pub async fn grant_support(&self, email: &str) -> Result<User> {
        let normalized = email.trim().to_lowercase();
        let user = user::store::find_by_email(&self.db.pool, &normalized)
            .await?
            .ok_or(Error::NotFound)?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        if store::grant(&mut *tx, user.id, now).await? {
            audit::record(
                &mut *tx,
                Some(user.id),
                EventKind::SupportGranted,
                None,
                &RequestMeta::on_behalf("server grant-support"),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// People whose email or name contains `query` (at least 2 characters).
    pub async fn support_search(&self, actor: &User, query: &str) -> Result<Vec<UserSummary>> {
        self.require_support(actor).await?;
        let q = query.trim().to_lowercase();
        if q.chars().count() < 2 {
            return Err(Error::field(
                "query",
                "Type at least 2 characters of an email or name.",
            ));
        }
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        store::search(&self.db.pool, &pattern).await
    }

    /// One person's profile, memberships, sign-in method and audit log. The
    /// look-up itself is audited, so people can see when support looked.
    pub async fn support_user(
        &self,
        actor: &User,
        user_id: i64,
        meta: &RequestMeta,
    ) -> Result<SupportUserView> {
        self.require_support(actor).await?;
        log_action(actor, meta, "view", user_id);
        let user = user::store::find_by_id(&self.db.pool, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        let now = self.clock.now();
        if actor.id != user.id {
            audit::record(
                &self.db.pool,
                Some(user.id),
                EventKind::SupportViewed,
                Some(&actor.email),
                &as_support(),
                now,
            )
            .await?;
        }
        let memberships = self.memberships(user.id).await?;
        let events = audit::recent_for_user(&self.db.pool, user.id, 50).await?;
        let pending_email = store::pending_email_change(&self.db.pool, user.id, now).await?;
        let is_support = self.is_support(user.id).await?;
        let waiting_changes = self.waiting_support_changes(user.id).await?;
        Ok(SupportUserView {
            user,
            memberships,
            events,
            pending_email,
            waiting_changes,
            is_support,
        })
    }

    /// The seed's answer to a forgotten authenticator app, under a ticket:
    /// the switch to emailed codes waits 24 hours for the person's
    /// approval from their address (`support_hold`).
    pub async fn support_switch_mfa(
        &self,
        actor: &User,
        user_id: i64,
        ticket: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.require_support(actor).await?;
        log_action(actor, meta, "switch to email codes", user_id);
        refuse_own(actor, user_id)?;
        self.refuse_support_member(user_id).await?;
        let ticket = check_ticket(ticket)?;
        let user = user::store::find_by_id(&self.db.pool, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        self.hold_support_change(&user, HeldChange::EmailCodes, &ticket, actor)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_references_are_required_and_short() {
        assert_eq!(check_ticket("  INC-12345 ").unwrap(), "INC-12345");
        assert!(check_ticket("").is_err());
        assert!(check_ticket(&"x".repeat(65)).is_err());
        assert!(check_ticket("INC-1\nrm").is_err());
    }
}
