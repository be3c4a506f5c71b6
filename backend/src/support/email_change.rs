//! Changing a person's email address for them: held for their approval
//! (`support_hold`), then confirmed from the new address by a link, the
//! old address told.

use crate::audit::{self, EventKind};
use crate::error::LinkProblem;
use crate::mail::templates;
use crate::secret::Token;
use crate::support_hold::HeldChange;
use crate::sync::outbox::Change;
use crate::user::{self, validate, User};
use crate::{Backend, Error, FieldError, RequestMeta, Result};

use super::{as_support, check_ticket, log_action, refuse_own, store};

impl Backend {
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
        store::replace_email_change(
            &mut tx,
            store::NewEmailChange {
                token: &token,
                user_id: user.id,
                new_email: email,
                new_email_normalized: normalized,
                ticket,
                requested_by,
                now,
                expires_at: now + lifetime,
            },
        )
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
        let change = store::find_email_change(&self.db.pool, &token)
            .await?
            .ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        crate::auth::check_link(change.used_at, change.expires_at, self.clock.now())
            .map_err(Error::LinkRejected)?;
        Ok(change.new_email)
    }

    /// Applies an email change when its page's button is pressed (the link
    /// was mailed to the new address).
    pub async fn confirm_email_change(&self, raw_token: &str, meta: &RequestMeta) -> Result<User> {
        let token =
            Token::parse(raw_token.trim()).ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let change = store::find_email_change(&mut *tx, &token)
            .await?
            .ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        crate::auth::check_link(change.used_at, change.expires_at, now)
            .map_err(Error::LinkRejected)?;
        let store::EmailChangeRow {
            user_id,
            new_email: email,
            new_email_normalized: normalized,
            ticket,
            ..
        } = change;
        let old = user::store::find_by_id(&mut *tx, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        if !store::claim_email_change(&mut *tx, &token, now).await? {
            return Err(Error::LinkRejected(LinkProblem::Used));
        }
        let proof = user::store::EmailProof::LinkOpened;
        if !user::store::set_email(&mut *tx, user_id, &email, &normalized, proof, now).await? {
            return Err(Error::Conflict(
                "Another person started using this address meanwhile, so the change was not made. Contact Global Technical Support.".into(),
            ));
        }
        // Whatever was mailed to the old address stops working: verification
        // and reset links, and sign-in codes waiting to be typed.
        crate::auth::verification::void_unused(&mut *tx, user_id).await?;
        crate::auth::reset::void_unused(&mut *tx, user_id).await?;
        crate::auth::challenge::store::delete_for_user(&mut *tx, user_id).await?;
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
}
