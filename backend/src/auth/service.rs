//! Sign-up, sign-in, sign-out, the current session and email verification.
//! Each function validates, owns its transaction, writes its audit events and
//! sends mail only after the data is committed.

use crate::audit::{self, EventKind};
use crate::auth::{known_device, password, session, throttle, verification};
use crate::clock::UnixTime;
use crate::error::LinkProblem;
use crate::mail::templates;
use crate::rate_limit::{self, Limit};
use crate::secret::{Password, Token};
use crate::sync::outbox::Change;
use crate::user::{self, validate, User};
use crate::{Backend, Error, FieldError, RequestMeta, Result};

/// Resending the verification mail: 3 per 15 minutes per person.
pub const RESEND_LIMIT: Limit = Limit {
    limit: 3,
    window_secs: 15 * 60,
};

#[derive(Debug)]
pub struct SignUp {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub password: Password,
    /// The token of the invitation link that led here, if any: the address
    /// must then be the one invited (the page shows it locked).
    pub invitation: Option<String>,
}

impl Backend {
    pub(crate) fn lifetimes(&self) -> session::Lifetimes {
        session::Lifetimes {
            idle_secs: self.settings.session_idle_timeout.as_secs() as i64,
            absolute_secs: self.settings.session_absolute_lifetime.as_secs() as i64,
        }
    }

    /// Creates the account, signs it in and mails a verification link.
    /// Every field is checked and all problems are reported at once.
    pub async fn sign_up(&self, input: SignUp, meta: &RequestMeta) -> Result<(User, Token)> {
        let mut errors: Vec<FieldError> = Vec::new();
        let first = validate::name("first_name", "first name", &input.first_name)
            .map_err(|e| errors.push(e))
            .ok();
        let last = validate::name("last_name", "last name", &input.last_name)
            .map_err(|e| errors.push(e))
            .ok();
        let email = validate::email(&input.email)
            .map_err(|e| errors.push(e))
            .ok();
        // International numbers are stored in E.164 at once; a national
        // number (no country picker here) is kept as typed until the
        // Profile tab, which has one, saves it.
        let phone = validate::phone(&input.phone)
            .map(|typed| {
                typed.map(|t| match user::phone::parse(&t, "") {
                    Ok(Some(p)) => p.e164,
                    _ => t,
                })
            })
            .map_err(|e| errors.push(e))
            .ok();
        let personal: Vec<&str> = [
            input.email.trim(),
            input.first_name.trim(),
            input.last_name.trim(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
        if let Err(msg) = password::check_policy(input.password.expose(), &personal) {
            errors.push(FieldError::new("password", msg));
        }
        if let (Some((_, normalized)), Some(raw)) = (&email, input.invitation.as_deref()) {
            if let Some(inv) = self.invitation_preview(raw).await? {
                if inv.email.to_lowercase() != *normalized {
                    errors.push(FieldError::new(
                        "email",
                        format!(
                            "This invitation was sent to {}. Sign up with that address to answer it.",
                            inv.email
                        ),
                    ));
                }
            }
        }
        let (Some(first), Some(last), Some((email, email_normalized)), Some(phone), true) =
            (first, last, email, phone, errors.is_empty())
        else {
            return Err(Error::Validation(errors));
        };

        let now = self.clock.now();
        // Only well-formed sign-ups count, per network: a script cannot mint
        // users (and the mails they send) by the thousand.
        if let Some(ip) = &meta.ip {
            rate_limit::hit(
                &self.db.pool,
                &format!("sign-up:{}", throttle::network(ip)),
                Limit {
                    limit: self.settings.sign_ups_per_hour,
                    window_secs: 3600,
                },
                now,
            )
            .await?;
        }
        let hash = self.passwords.hash(&input.password).await?;
        let mut tx = self.db.begin().await?;
        let new = user::store::NewUser {
            email: &email,
            email_normalized: &email_normalized,
            first_name: &first,
            last_name: &last,
            phone: phone.as_deref(),
            password_hash: &hash,
        };
        let user_id = user::store::insert(&mut *tx, &new, now).await?;
        let token = session::create(
            &mut *tx,
            user_id,
            self.lifetimes(),
            meta,
            now,
            crate::oidc::amr_for(None),
            now,
        )
        .await?;
        let link_token = verification::issue(
            &mut tx,
            user_id,
            &email_normalized,
            self.settings.verification_link_lifetime.as_secs() as i64,
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(user_id),
            EventKind::SignedUp,
            None,
            meta,
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(user_id),
            EventKind::SignedIn,
            Some("after sign-up"),
            meta,
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(user_id),
            EventKind::VerificationSent,
            None,
            meta,
            now,
        )
        .await?;
        let user = user::store::find_by_id(&mut *tx, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        tx.commit().await?;

        self.send_verification_mail(&user, &link_token).await;
        Ok((user, token))
    }

    async fn send_verification_mail(&self, user: &User, token: &Token) {
        let link = format!(
            "{}/verify-email?token={}",
            self.settings.public_url,
            token.expose()
        );
        let hours = (self.settings.verification_link_lifetime.as_secs() / 3600).max(1) as i64;
        let mail = templates::verify_email(
            &self.settings.product_name,
            &user.email,
            &user.first_name,
            &link,
            hours,
        );
        // The account exists either way; a failed send is logged and the
        // banner's resend button recovers from it.
        if let Err(e) = self.mailer.send(mail).await {
            tracing::error!(user_id = user.id, error = %e, "verification mail not sent");
        }
    }

    /// Checks email and password under per-account and per-IP throttling and
    /// opens the second step (see `challenge`): the returned token identifies the
    /// pending sign-in, not a session. Unknown email and wrong password give
    /// the same error after the same work.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &Password,
        meta: &RequestMeta,
    ) -> Result<(User, Token)> {
        let mut errors = Vec::new();
        if email.trim().is_empty() {
            errors.push(FieldError::new("email", "Enter your email address."));
        }
        if password.expose().is_empty() {
            errors.push(FieldError::new("password", "Enter your password."));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let email_normalized = email.trim().to_lowercase();
        let now = self.clock.now();
        let found = user::store::find_by_email(&self.db.pool, &email_normalized).await?;
        // The attempt is counted before the password is hashed, so parallel
        // guesses cannot all find a clean record; a right one gives it back.
        let (_, claim) = self
            .claim_sign_in_step(&email_normalized, found.as_ref(), None, meta, now)
            .await?;

        let verified = match &found {
            Some(user) => self.passwords.verify(password, &user.password_hash).await?,
            None => {
                self.passwords.verify_dummy(password).await?;
                false
            }
        };
        let now = self.clock.now();
        match (found, verified) {
            (Some(user), true) => {
                throttle::release(&mut *self.db.pool.acquire().await?, claim).await?;
                let challenge = self.open_challenge(&user, meta).await?;
                Ok((user, challenge))
            }
            (found, _) => {
                claim.keep();
                audit::record(
                    &self.db.pool,
                    found.map(|u| u.id),
                    EventKind::SignInFailed,
                    None,
                    meta,
                    now,
                )
                .await?;
                Err(Error::InvalidCredentials)
            }
        }
    }

    /// Counts one attempt at a sign-in step for `email_normalized` in its
    /// throttle buckets (the browser's own when it has signed in to that
    /// person before), or refuses it, audited (`step` says which), with the
    /// wait. Returns the buckets and the claim.
    pub(crate) async fn claim_sign_in_step(
        &self,
        email_normalized: &str,
        found: Option<&User>,
        step: Option<&str>,
        meta: &RequestMeta,
        now: UnixTime,
    ) -> Result<(Vec<throttle::Bucket>, throttle::Claim)> {
        let device = match (found, &meta.device) {
            (Some(user), Some(token)) => {
                known_device::known(&self.db.pool, token, user.id, now).await?
            }
            _ => None,
        };
        let buckets =
            throttle::for_sign_in(email_normalized, meta.ip.as_deref(), device.as_deref());
        match throttle::claim(&self.db, &buckets, now).await? {
            Ok(claim) => Ok((buckets, claim)),
            Err(wait) => {
                audit::record(
                    &self.db.pool,
                    found.map(|u| u.id),
                    EventKind::SignInThrottled,
                    step,
                    meta,
                    now,
                )
                .await?;
                Err(Error::RateLimited {
                    retry_after_secs: wait as u64,
                })
            }
        }
    }

    /// Ends the session behind `token`; signing out twice is not an error.
    pub async fn sign_out(&self, token: &Token, meta: &RequestMeta) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let ended = session::find(&mut *tx, token).await?;
        if let Some(row) = &ended {
            session::delete(&mut *tx, token).await?;
            audit::record(
                &mut *tx,
                Some(row.user_id),
                EventKind::SignedOut,
                None,
                meta,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if let Some(row) = ended {
            // Platforms this browser signed in to through Atrium sign out too.
            self.sessions_ended(row.user_id, &[token.hash()]).await;
        }
        Ok(())
    }

    /// The person signed in with `token`, if the session is still live.
    pub async fn current_user(&self, token: &Token) -> Result<Option<User>> {
        let now = self.clock.now();
        let Some(row) = session::find(&self.db.pool, token).await? else {
            return Ok(None);
        };
        if !row.is_live(self.lifetimes().idle_secs, now) {
            session::delete(&self.db.pool, token).await?;
            return Ok(None);
        }
        if now - row.last_seen_at >= session::TOUCH_EVERY_SECS {
            session::touch(&self.db.pool, token, now).await?;
        }
        user::store::find_by_id(&self.db.pool, row.user_id).await
    }

    /// Confirms the email address a verification link was sent to.
    pub async fn verify_email(&self, raw_token: &str, meta: &RequestMeta) -> Result<User> {
        let token =
            Token::parse(raw_token.trim()).ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let row = verification::find(&mut *tx, &token)
            .await?
            .ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        row.check(now).map_err(Error::LinkRejected)?;
        if !verification::mark_used(&mut *tx, &token, now).await? {
            return Err(Error::LinkRejected(LinkProblem::Used));
        }
        let user = user::store::find_by_id(&mut *tx, row.user_id)
            .await?
            .ok_or(Error::NotFound)?;
        if user.email_normalized != row.email_normalized {
            // The address changed since the mail was sent: this link proves nothing now.
            return Err(Error::LinkRejected(LinkProblem::Expired));
        }
        user::store::mark_email_verified(&mut *tx, user.id, now).await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::EmailVerified,
            None,
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::Email, now)
            .await?;
        let user = user::store::find_by_id(&mut *tx, user.id)
            .await?
            .ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok(user)
    }

    /// The address a verification link would confirm, or why it cannot.
    /// Writes nothing: opening the link (a mail scanner does) confirms
    /// nothing; the page's button does (`verify_email`).
    pub async fn check_verification_link(&self, raw_token: &str) -> Result<String> {
        let token =
            Token::parse(raw_token.trim()).ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let row = verification::find(&self.db.pool, &token)
            .await?
            .ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        row.check(self.clock.now()).map_err(Error::LinkRejected)?;
        let user = user::store::find_by_id(&self.db.pool, row.user_id)
            .await?
            .ok_or(Error::NotFound)?;
        if user.email_normalized != row.email_normalized {
            return Err(Error::LinkRejected(LinkProblem::Expired));
        }
        Ok(user.email)
    }

    /// Sends a fresh verification link (the earlier one stops working).
    pub async fn resend_verification(&self, user: &User, meta: &RequestMeta) -> Result<()> {
        if user.email_verified_at.is_some() {
            return Err(Error::Conflict(
                "Your email address is already confirmed.".into(),
            ));
        }
        let now = self.clock.now();
        rate_limit::hit(
            &self.db.pool,
            &format!("verify-resend:{}", user.id),
            RESEND_LIMIT,
            now,
        )
        .await?;
        let mut tx = self.db.begin().await?;
        let token = verification::issue(
            &mut tx,
            user.id,
            &user.email_normalized,
            self.settings.verification_link_lifetime.as_secs() as i64,
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::VerificationSent,
            Some("resent"),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        self.send_verification_mail(user, &token).await;
        Ok(())
    }
}
