//! The second step of sign-in. After the right password a challenge is
//! opened (a row plus a short-lived cookie token); a session exists only
//! once the second factor is proven. Email codes are the default method.

pub(crate) mod store;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::audit::{self, EventKind};
use crate::auth::{known_device, session, throttle};
use crate::clock::UnixTime;
use crate::mail::templates;
use crate::secret::Token;
use crate::user::{self, User};
use crate::{Backend, Error, FieldError, RequestMeta, Result};
use store::{find, ChallengeRow, NewChallenge};

/// The half-signed-in state lasts 10 minutes; so does a code.
pub const CHALLENGE_LIFETIME_SECS: i64 = vocab::lifetimes::SIGN_IN_CHALLENGE.secs();
/// Five wrong codes end the challenge.
pub const MAX_ATTEMPTS: i64 = 5;
/// A new code can be sent 30 seconds after the last, 5 times in all.
pub const RESEND_AFTER_SECS: i64 = 30;
pub const MAX_SENDS: i64 = 5;

pub use vocab::MfaMethod;

/// A finished sign-in: the session to set, and the device cookie the
/// browser keeps from now on (`known_device`).
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub session: Token,
    pub device: Token,
}

/// What the second-step page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeInfo {
    pub method: MfaMethod,
    /// Where the code went, masked: "a•••@example.org".
    pub sent_to: String,
    pub expires_at: UnixTime,
    /// Seconds until another code may be sent (0 = now).
    pub resend_in: i64,
}

/// "ann@example.org" → "a•••@example.org".
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

/// A uniformly random six-digit code.
pub fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

fn code_hash(challenge: &Token, code: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{}:{code}", challenge.hash()).as_bytes(),
    ))
}

/// Keeps only digits, so "123 456" and "123-456" are accepted as typed.
fn normalize_code(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

impl Backend {
    /// Opens the second step for `user` whose password was just verified,
    /// sending a code by the active method. Returns the challenge token.
    pub(crate) async fn open_challenge(&self, user: &User, meta: &RequestMeta) -> Result<Token> {
        let now = self.clock.now();
        let token = Token::generate();
        let method = user.mfa_method;
        let method = self.method_for_a_code(user, method, now).await?;

        // An authenticator app makes its own codes; email and SMS get one now.
        let code = (method != MfaMethod::Authenticator).then(new_code);
        let mut tx = self.db.begin().await?;
        // One pending sign-in per person at a time.
        store::clear_for(&mut *tx, user.id, now).await?;
        let new = NewChallenge {
            token: &token,
            user_id: user.id,
            method: method.as_str(),
            code_hash: code.as_ref().map(|c| code_hash(&token, c)),
            now,
            expires_at: now + CHALLENGE_LIFETIME_SECS,
        };
        store::insert(&mut *tx, &new).await?;
        if code.is_some() {
            audit::record(
                &mut *tx,
                Some(user.id),
                EventKind::MfaCodeSent,
                Some(method.as_str()),
                meta,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if let Some(code) = code {
            self.send_code(user, method, &code).await;
        }
        Ok(token)
    }

    /// How a code for `user` goes out now: by text only while the phone is
    /// in an allowed region and the hourly text caps allow one more; by
    /// email otherwise, so that a capped person still signs in.
    async fn method_for_a_code(
        &self,
        user: &User,
        method: MfaMethod,
        now: UnixTime,
    ) -> Result<MfaMethod> {
        if method != MfaMethod::Sms {
            return Ok(method);
        }
        let Some(number) = self.sms_number(user) else {
            // The phone left the allowed regions.
            return Ok(MfaMethod::Email);
        };
        match self.claim_text(user.id, &number, now).await {
            Ok(()) => Ok(MfaMethod::Sms),
            Err(Error::RateLimited { .. }) => Ok(MfaMethod::Email),
            Err(e) => Err(e),
        }
    }

    /// The phone number sign-in codes may be texted to, if SMS is available.
    pub(crate) fn sms_number(&self, user: &User) -> Option<String> {
        match crate::sms::availability(user.phone.as_deref(), &self.settings.sms_regions) {
            crate::sms::SmsAvailability::Available { e164 } => Some(e164),
            _ => None,
        }
    }

    async fn send_code(&self, user: &User, method: MfaMethod, code: &str) {
        if method == MfaMethod::Sms {
            if let Some(to) = self.sms_number(user) {
                let body = format!(
                    "{} sign-in code: {code}. It works once, for {}. Never share it.",
                    self.settings.product_name,
                    vocab::lifetimes::SIGN_IN_CHALLENGE,
                );
                if let Err(e) = self.sms.send(&to, &body).await {
                    tracing::error!(user_id = user.id, error = %e, "sign-in code not texted");
                }
                return;
            }
        }
        let mail = templates::sign_in_code(
            &self.settings.product_name,
            &user.email,
            &user.first_name,
            code,
            10,
        );
        if let Err(e) = self.mailer.send(mail).await {
            tracing::error!(user_id = user.id, error = %e, "sign-in code not sent");
        }
    }

    async fn live_challenge(&self, token: &Token) -> Result<(ChallengeRow, User)> {
        let now = self.clock.now();
        let row = find(&self.db.pool, token)
            .await?
            .ok_or(Error::SignInExpired)?;
        if now >= row.expires_at || row.attempts >= MAX_ATTEMPTS {
            return Err(Error::SignInExpired);
        }
        let user = user::store::find_by_id(&self.db.pool, row.user_id)
            .await?
            .ok_or(Error::SignInExpired)?;
        Ok((row, user))
    }

    fn info(&self, row: &ChallengeRow, user: &User, now: UnixTime) -> ChallengeInfo {
        let method = MfaMethod::parse(&row.method).unwrap_or(MfaMethod::Email);
        ChallengeInfo {
            method,
            sent_to: match method {
                MfaMethod::Authenticator => String::new(),
                MfaMethod::Sms => self
                    .sms_number(user)
                    .map(|n| crate::sms::mask_phone(&n))
                    .unwrap_or_default(),
                MfaMethod::Email => mask_email(&user.email),
            },
            expires_at: row.expires_at,
            resend_in: row
                .last_sent_at
                .map(|t| (t + RESEND_AFTER_SECS - now).max(0))
                .unwrap_or(0),
        }
    }

    /// The pending second step behind `token`, for the page that asks for the code.
    pub async fn challenge_info(&self, token: &Token) -> Result<ChallengeInfo> {
        let (row, user) = self.live_challenge(token).await?;
        Ok(self.info(&row, &user, self.clock.now()))
    }

    /// Sends a fresh code (the earlier one stops working), at most every 30
    /// seconds and 5 times per sign-in.
    pub async fn resend_code(&self, token: &Token, meta: &RequestMeta) -> Result<ChallengeInfo> {
        let (row, user) = self.live_challenge(token).await?;
        let now = self.clock.now();
        let wait = row
            .last_sent_at
            .map(|t| t + RESEND_AFTER_SECS - now)
            .unwrap_or(0);
        if wait > 0 {
            return Err(Error::RateLimited {
                retry_after_secs: wait as u64,
            });
        }
        if row.sends >= MAX_SENDS {
            return Err(Error::RateLimited {
                retry_after_secs: (row.expires_at - now).max(1) as u64,
            });
        }
        let code = new_code();
        let method = MfaMethod::parse(&row.method).unwrap_or(MfaMethod::Email);
        if method == MfaMethod::Authenticator {
            return Err(Error::Conflict(
                "Your authenticator app makes the codes; nothing is sent.".into(),
            ));
        }
        let method = self.method_for_a_code(&user, method, now).await?;
        let mut tx = self.db.begin().await?;
        // The limits are checked again in the update itself, so parallel
        // requests cannot send more than allowed.
        let claimed = store::claim_resend(
            &mut *tx,
            token,
            &code_hash(token, &code),
            method.as_str(),
            MAX_SENDS,
            now - RESEND_AFTER_SECS,
            now,
        )
        .await?;
        if !claimed {
            return Err(Error::RateLimited {
                retry_after_secs: RESEND_AFTER_SECS as u64,
            });
        }
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::MfaCodeSent,
            Some("resent"),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        self.send_code(&user, method, &code).await;
        let (row, user) = self.live_challenge(token).await?;
        Ok(self.info(&row, &user, now))
    }

    /// Checks the code of the pending sign-in and, when right, starts the
    /// session. Wrong codes count towards the challenge's 5 tries and the
    /// account's sign-in throttle.
    pub async fn verify_second_factor(
        &self,
        token: &Token,
        raw_code: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn> {
        let (row, user) = self.live_challenge(token).await?;
        let method = MfaMethod::parse(&row.method).unwrap_or(MfaMethod::Email);
        let code = normalize_code(raw_code);
        let well_formed = code.len() == 6
            || (method == MfaMethod::Authenticator
                && crate::auth::authenticator::looks_like_recovery_code(raw_code));
        if !well_formed {
            let msg = if method == MfaMethod::Authenticator {
                "Enter the 6-digit code from your app, or a recovery code."
            } else {
                "Enter the 6-digit code."
            };
            return Err(Error::Validation(vec![FieldError::new("code", msg)]));
        }
        let now = self.clock.now();
        let (buckets, claim) = self
            .claim_sign_in_step(
                &user.email_normalized,
                Some(&user),
                Some("second factor"),
                meta,
                now,
            )
            .await?;

        // Claim one of the five tries before looking at the code, in one
        // statement, so parallel guesses cannot get more than five between them.
        let claimed = store::claim_attempt(&self.db.pool, token, MAX_ATTEMPTS, now).await?;
        let Some(tries_used) = claimed else {
            throttle::release(&mut *self.db.pool.acquire().await?, claim).await?;
            return Err(Error::SignInExpired);
        };

        let mut tx = self.db.begin().await?;
        let proof: Option<&'static str> = match method {
            MfaMethod::Authenticator => {
                self.check_authenticator_factor(&mut tx, &user, raw_code, meta, now)
                    .await?
            }
            MfaMethod::Email | MfaMethod::Sms => (row.code_hash.as_deref()
                == Some(code_hash(token, &code).as_str())
                && now < row.last_sent_at.unwrap_or(row.created_at) + CHALLENGE_LIFETIME_SECS)
                .then_some(if method == MfaMethod::Sms {
                    "text message code"
                } else {
                    "email code"
                }),
        };
        let Some(proof) = proof else {
            claim.keep();
            audit::record(
                &mut *tx,
                Some(user.id),
                EventKind::MfaFailed,
                Some(&row.method),
                meta,
                now,
            )
            .await?;
            tx.commit().await?;
            let left = MAX_ATTEMPTS - tries_used;
            if left <= 0 {
                return Err(Error::SignInExpired);
            }
            let tries = if left == 1 {
                "1 try".to_string()
            } else {
                format!("{left} tries")
            };
            let what = if method == MfaMethod::Authenticator {
                "That code is not right or was already used."
            } else {
                "That code is not right."
            };
            return Err(Error::Validation(vec![FieldError::new(
                "code",
                format!("{what} {tries} left."),
            )]));
        };
        if !store::delete(&mut *tx, token).await? {
            // Another submission of this right code finished first.
            drop(tx);
            throttle::release(&mut *self.db.pool.acquire().await?, claim).await?;
            return Err(Error::SignInExpired);
        }
        throttle::release(&mut tx, claim).await?;
        throttle::clear_account(&mut tx, &buckets).await?;
        let device = known_device::remember(&mut tx, meta.device.as_ref(), user.id, now).await?;
        let session = session::create(
            &mut *tx,
            user.id,
            self.lifetimes(),
            meta,
            row.created_at,
            crate::oidc::amr_for(Some(proof)),
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::SignedIn,
            Some(proof),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SignedIn {
            user,
            session,
            device,
        })
    }

    /// Abandons a pending sign-in ("Start over").
    pub async fn cancel_challenge(&self, token: &Token) -> Result<()> {
        store::delete(&self.db.pool, token).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
