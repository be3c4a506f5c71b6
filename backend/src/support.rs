//! Global Technical Support: the role (granted from the command line only),
//! the console's look-ups, email changes confirmed from the new address,
//! switching a person's sign-in method to email, and support requests.
//! Every console function starts with `require_support`.

use sqlx::FromRow;

use crate::account::{may_support, store::Membership};
use crate::audit::{self, AuditEvent, EventKind};
use crate::clock::UnixTime;
use crate::error::{unique_violation_as_field, LinkProblem};
use crate::mail::templates;
use crate::rate_limit::{self, Limit};
use crate::secret::Token;
use crate::support_hold::HeldChange;
use crate::sync::outbox::Change;
use crate::user::{self, validate, User};
use crate::{Backend, Error, FieldError, RequestMeta, Result};

/// Support requests one person may file: 5 per hour.
pub const REQUEST_LIMIT: Limit = Limit {
    limit: 5,
    window_secs: 3600,
};

/// What a request is about, as the contact form offers it.
pub const TOPICS: [(&str, &str); 4] = [
    ("email", "Change my email address"),
    ("mfa", "I cannot use my authenticator app"),
    ("roles", "Roles and account ownership"),
    ("other", "Something else"),
];

pub const MESSAGE_MAX_CHARS: usize = 4000;
pub const TICKET_MAX_CHARS: usize = 64;

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

#[derive(Clone, Debug, FromRow)]
pub struct SupportRequest {
    pub id: i64,
    /// The person with the request's address, if anyone has it.
    pub user_id: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Where to answer.
    pub email: String,
    pub topic: String,
    pub message: String,
    pub created_at: i64,
    /// 1 when filed signed in; 0 when the address was only typed.
    pub signed_in: i64,
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
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT user_id FROM support_staff WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.is_some())
    }

    async fn refuse_support_member(&self, user_id: i64) -> Result<()> {
        if self.is_support(user_id).await? {
            return Err(Error::Denied(SUPPORT_MEMBER_REFUSED.into()));
        }
        Ok(())
    }

    /// `Forbidden` unless `user` has the Support role.
    pub async fn require_support(&self, user: &User) -> Result<()> {
        if may_support(self.is_support(user.id).await?) {
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
        let done = sqlx::query(
            "INSERT INTO support_staff (user_id, granted_at) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
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
        Ok(sqlx::query_as(
            r#"SELECT id, first_name, last_name, email FROM "user"
               WHERE email_normalized LIKE $1 ESCAPE '\'
                  OR name_search LIKE $1 ESCAPE '\'
               ORDER BY email_normalized LIMIT 25"#,
        )
        .bind(pattern)
        .fetch_all(&self.db.pool)
        .await?)
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
        let pending_email: Option<(String, i64)> = sqlx::query_as(
            "SELECT new_email, expires_at FROM email_change
             WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(user.id)
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await?;
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

    /// Starts changing a person's email under a ticket. It waits 24 hours
    /// for the person's approval from the old address (`support_hold`);
    /// then a link goes to the new address and the change applies when it
    /// is opened there.
    pub async fn support_change_email(
        &self,
        actor: &User,
        user_id: i64,
        new_email: &str,
        ticket: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.require_support(actor).await?;
        log_action(actor, meta, "change email", user_id);
        refuse_own(actor, user_id)?;
        self.refuse_support_member(user_id).await?;
        let mut errors: Vec<FieldError> = Vec::new();
        let email = validate::email_or(new_email, "Enter the new email address.")
            .map_err(|e| errors.push(e))
            .ok();
        let ticket = check_ticket(ticket)
            .map_err(|e| {
                if let Error::Validation(v) = e {
                    errors.extend(v)
                }
            })
            .ok();
        let (Some((email, normalized)), Some(ticket)) = (email, ticket) else {
            return Err(Error::Validation(errors));
        };
        let user = user::store::find_by_id(&self.db.pool, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        if normalized == user.email_normalized {
            return Err(Error::field(
                "email",
                "That is already this person's email address.",
            ));
        }
        if user::store::find_by_email(&self.db.pool, &normalized)
            .await?
            .is_some()
        {
            return Err(Error::field("email", user::store::EMAIL_TAKEN_BY_OTHER));
        }
        self.hold_support_change(&user, HeldChange::Email(email, normalized), &ticket, actor)
            .await
    }

    /// Mails the link that makes `email` the person's sign-in address once
    /// opened there (an email change support asked for, gone ahead after
    /// its hold). The old address is told.
    pub(crate) async fn start_email_change(
        &self,
        user: &User,
        email: &str,
        normalized: &str,
        ticket: &str,
        requested_by: Option<i64>,
    ) -> Result<()> {
        if user::store::find_by_email(&self.db.pool, normalized)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(user::store::EMAIL_TAKEN_BY_OTHER.into()));
        }
        let now = self.clock.now();
        let lifetime = self.settings.verification_link_lifetime.as_secs() as i64;
        let token = Token::generate();
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM email_change WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO email_change (token_hash, user_id, new_email, new_email_normalized, ticket, requested_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.hash())
        .bind(user.id)
        .bind(email)
        .bind(normalized)
        .bind(ticket)
        .bind(requested_by)
        .bind(now)
        .bind(now + lifetime)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::EmailChangeRequested,
            Some(&format!("to {email}, ticket {ticket}")),
            &as_support(),
            now,
        )
        .await?;
        tx.commit().await?;

        let product = &self.settings.product_name;
        let link = format!(
            "{}/confirm-email-change?token={}",
            self.settings.public_url,
            token.expose()
        );
        let hours = (lifetime / 3600).max(1);
        self.mailer.send_later(templates::notice(
            product,
            email,
            Some(&user.first_name),
            "confirm your new email address",
            &[
                format!(
                    "Global Technical Support is changing the email address you sign in to {product} with to this one (ticket {ticket})."
                ),
                format!("Open the link below to confirm it. It works once and expires in {hours} hours. Until then, your old address stays in use."),
            ],
            Some(("Confirm my new email address", &link)),
        ));
        self.mailer.send_later(templates::notice(
            product,
            &user.email,
            Some(&user.first_name),
            "your email address is being changed",
            &[
                format!(
                    "Global Technical Support started changing the email address of your {product} account to {email} (ticket {ticket})."
                ),
                "The change applies only when the link sent to the new address is opened. If you did not ask for this, open \"This was not me\" in our earlier mail, or contact Global Technical Support at once.".to_string(),
            ],
            None,
        ));
        Ok(())
    }

    /// The address an email-change link would make the person's, or why it
    /// cannot. Writes nothing: the page's button applies it.
    pub async fn check_email_change_link(&self, raw_token: &str) -> Result<String> {
        let token =
            Token::parse(raw_token.trim()).ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let row: Option<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT new_email, expires_at, used_at FROM email_change WHERE token_hash = $1",
        )
        .bind(token.hash())
        .fetch_optional(&self.db.pool)
        .await?;
        let (email, expires_at, used_at) = row.ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        crate::auth::check_link(used_at, expires_at, self.clock.now())
            .map_err(Error::LinkRejected)?;
        Ok(email)
    }

    /// Applies an email change when its page's button is pressed (the link
    /// was mailed to the new address).
    pub async fn confirm_email_change(&self, raw_token: &str, meta: &RequestMeta) -> Result<User> {
        let token =
            Token::parse(raw_token.trim()).ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let row: Option<(i64, String, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT user_id, new_email, new_email_normalized, ticket, expires_at, used_at
             FROM email_change WHERE token_hash = $1",
        )
        .bind(token.hash())
        .fetch_optional(&mut *tx)
        .await?;
        let (user_id, email, normalized, ticket, expires_at, used_at) =
            row.ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        crate::auth::check_link(used_at, expires_at, now).map_err(Error::LinkRejected)?;
        let old = user::store::find_by_id(&mut *tx, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        let done = sqlx::query(
            "UPDATE email_change SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(token.hash())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::LinkRejected(LinkProblem::Used));
        }
        sqlx::query(
            r#"UPDATE "user" SET email = $2, email_normalized = $3, email_verified_at = $4, updated_at = $4 WHERE id = $1"#,
        )
        .bind(user_id)
        .bind(&email)
        .bind(&normalized)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            match unique_violation_as_field(e, "user_email_normalized_key", "email", "") {
                Error::Validation(_) => Error::Conflict(
                    "Another person started using this address meanwhile, so the change was not made. Contact Global Technical Support.".into(),
                ),
                other => other,
            }
        })?;
        // Whatever was mailed to the old address stops working: verification
        // and reset links, and sign-in codes waiting to be typed.
        for table in ["email_verification", "password_reset"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE user_id = $1 AND used_at IS NULL"
            ))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM mfa_challenge WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // Every session ends: whoever signed in under the old address signs
        // in again with the new one.
        let ended_sessions = crate::auth::session::delete_others(&mut *tx, user_id, None).await?;
        let ended = ended_sessions.len();
        audit::record(
            &mut *tx,
            Some(user_id),
            EventKind::EmailChanged,
            Some(&format!(
                "from {} to {email}, ticket {ticket}; {ended} session(s) signed out",
                old.email
            )),
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user_id, Change::Email, now)
            .await?;
        let user = user::store::find_by_id(&mut *tx, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        tx.commit().await?;
        self.sessions_ended(user_id, &ended_sessions).await;
        self.mailer.send_later(templates::notice(
            &self.settings.product_name,
            &old.email,
            Some(&old.first_name),
            "your email address was changed",
            &[format!(
                "The email address of your {} account is now {email}. Sign in with it from now on. If you did not ask for this, contact Global Technical Support at once.",
                self.settings.product_name
            )],
            None,
        ));
        Ok(user)
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

    /// Files a request from the "Contact Global Technical Support" form.
    /// Signed in (`user`), it is answered at their address; signed out
    /// (someone locked out of their account), at the `email` typed, and the
    /// answer looks the same whether or not anyone has that address. Five
    /// per hour per person, and per address and per IP when signed out.
    pub async fn file_support_request(
        &self,
        user: Option<&User>,
        email: &str,
        topic: &str,
        message: &str,
        meta: &RequestMeta,
    ) -> Result<i64> {
        let mut errors = Vec::new();
        let typed = match user {
            Some(_) => None,
            None => validate::email_or(email, "Enter the email address we should answer.")
                .map_err(|e| errors.push(e))
                .ok(),
        };
        if !TOPICS.iter().any(|(t, _)| *t == topic) {
            errors.push(FieldError::new(
                "topic",
                "Choose what your request is about.",
            ));
        }
        let message = message.trim();
        let n = message.chars().count();
        if n == 0 {
            errors.push(FieldError::new("message", "Describe what you need."));
        } else if n > MESSAGE_MAX_CHARS {
            errors.push(FieldError::new(
                "message",
                format!("Please keep it to {MESSAGE_MAX_CHARS} characters ({n} given)."),
            ));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let now = self.clock.now();
        let (person, answer_to) = match (user, typed) {
            (Some(u), _) => (Some(u.clone()), u.email.clone()),
            (None, Some((email, normalized))) => {
                for key in [
                    format!("support-request-email:{normalized}"),
                    format!("support-request-ip:{}", meta.ip.as_deref().unwrap_or("-")),
                ] {
                    rate_limit::hit(&self.db.pool, &key, REQUEST_LIMIT, now).await?;
                }
                (
                    user::store::find_by_email(&self.db.pool, &normalized).await?,
                    email,
                )
            }
            (None, None) => return Err(Error::field("email", "Enter your email address.")),
        };
        if let Some(u) = user {
            rate_limit::hit(
                &self.db.pool,
                &format!("support-request:{}", u.id),
                REQUEST_LIMIT,
                now,
            )
            .await?;
        }
        let mut tx = self.db.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO support_request (user_id, email, topic, message, status, created_at, signed_in)
             VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
        )
        .bind(person.as_ref().map(|p| p.id))
        .bind(&answer_to)
        .bind(topic)
        .bind(message)
        .bind(now)
        .bind(i64::from(user.is_some()))
        .fetch_one(&mut *tx)
        .await?;
        let detail = if user.is_some() {
            format!("#{id}")
        } else {
            format!("#{id}, sent without signing in")
        };
        audit::record(
            &mut *tx,
            person.as_ref().map(|p| p.id),
            EventKind::SupportRequestFiled,
            Some(&detail),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        self.mailer.send_later(templates::notice(
            &self.settings.product_name,
            &answer_to,
            person.as_ref().map(|p| p.first_name.as_str()),
            &format!("we received your support request #{id}"),
            &[
                "Global Technical Support received your request and will answer by email."
                    .to_string(),
                format!("Quote #{id} if you write to us about it. If you did not send it, ignore this mail."),
            ],
            None,
        ));
        Ok(id)
    }

    /// Open support requests, oldest first.
    pub async fn open_support_requests(&self, actor: &User) -> Result<Vec<SupportRequest>> {
        self.require_support(actor).await?;
        Ok(sqlx::query_as(
            r#"SELECT r.id, r.user_id, u.first_name, u.last_name, r.email, r.topic, r.message, r.created_at, r.signed_in
               FROM support_request r LEFT JOIN "user" u ON u.id = r.user_id
               WHERE r.status = 'open' ORDER BY r.created_at, r.id"#,
        )
        .fetch_all(&self.db.pool)
        .await?)
    }

    pub async fn close_support_request(
        &self,
        actor: &User,
        id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.require_support(actor).await?;
        log_action(actor, meta, "close request", id);
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let row: Option<(Option<i64>, String)> =
            sqlx::query_as("SELECT user_id, status FROM support_request WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let (user_id, status) = row.ok_or(Error::NotFound)?;
        let closed = || Error::Conflict("This request is already closed.".into());
        if status != "open" {
            return Err(closed());
        }
        let done = sqlx::query(
            "UPDATE support_request SET status = 'closed', closed_at = $2, closed_by = $3
             WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(now)
        .bind(actor.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(closed());
        }
        audit::record(
            &mut *tx,
            user_id,
            EventKind::SupportRequestClosed,
            Some(&format!("#{id}, by {}", actor.email)),
            &as_support(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
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
