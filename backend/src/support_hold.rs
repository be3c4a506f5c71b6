//! Support's changes to someone's sign-in wait: an email change or a switch
//! to emailed codes goes ahead after 24 hours, or at once when the person
//! approves it from the address they sign in with now. That address also
//! gets a "This was not me" link, good for 7 days, that cancels or undoes
//! the change and signs every device out. Someone who talked support into a
//! change cannot take an account over before its owner hears of it.

use sqlx::FromRow;

use crate::audit::{self, EventKind};
use crate::clock::{to_clock_time, to_long_date, UnixTime};
use crate::error::LinkProblem;
use crate::mail::templates;
use crate::secret::Token;
use crate::user::{self, User};
use crate::{Backend, Error, RequestMeta, Result};

/// How long a change waits for the person's approval before it goes ahead.
pub const HOLD_SECS: i64 = vocab::lifetimes::SUPPORT_HOLD.secs();
/// How long "This was not me" works.
pub const UNDO_SECS: i64 = vocab::lifetimes::SUPPORT_UNDO.secs();

/// What support asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeldChange {
    /// Sign in with this address (`(as typed, normalized)`).
    Email(String, String),
    /// Sign in with emailed codes.
    EmailCodes,
}

/// Which of the two mailed links was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldLinkKind {
    Approve,
    Undo,
}

/// Where a held change stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldState {
    Waiting,
    Released,
    Undone,
}

/// What a hold link's page shows before its button is pressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldLink {
    pub link: HoldLinkKind,
    pub state: HoldState,
    /// "change the address you sign in with to new@example.org"
    pub what: String,
    pub ticket: String,
    /// "5 December 2026 at 09:00 UTC": when a waiting change goes ahead.
    pub goes_ahead: String,
}

#[derive(Clone, Debug, FromRow)]
struct HoldRow {
    id: i64,
    user_id: i64,
    kind: String,
    ticket: String,
    requested_by: Option<i64>,
    old_email: String,
    old_email_normalized: String,
    new_email: Option<String>,
    new_email_normalized: Option<String>,
    hold_until: i64,
    undo_until: i64,
    released_at: Option<i64>,
    undone_at: Option<i64>,
    approve_hash: String,
}

/// `SELECT <every HoldRow column> FROM support_hold <rest>`.
macro_rules! select_holds {
    ($rest:literal) => {
        concat!(
            "SELECT id, user_id, kind, ticket, requested_by, old_email, old_email_normalized,
                    new_email, new_email_normalized, hold_until, undo_until, released_at,
                    undone_at, approve_hash
             FROM support_hold ",
            $rest
        )
    };
}

impl HoldRow {
    fn change(&self) -> HeldChange {
        match (&self.new_email, &self.new_email_normalized) {
            (Some(email), Some(normalized)) if self.kind == "email" => {
                HeldChange::Email(email.clone(), normalized.clone())
            }
            _ => HeldChange::EmailCodes,
        }
    }

    fn state(&self) -> HoldState {
        match (self.released_at, self.undone_at) {
            (_, Some(_)) => HoldState::Undone,
            (Some(_), None) => HoldState::Released,
            (None, None) => HoldState::Waiting,
        }
    }
}

fn describe(change: &HeldChange) -> String {
    match change {
        HeldChange::Email(email, _) => {
            format!("change the address you sign in with to {email}")
        }
        HeldChange::EmailCodes => {
            "switch your sign-in to 6-digit codes mailed to you, removing your authenticator app"
                .to_string()
        }
    }
}

fn when(t: UnixTime) -> String {
    format!("{} at {} UTC", to_long_date(t), to_clock_time(t))
}

impl Backend {
    /// Puts support's change on hold and mails the person's current
    /// address the two links. A newer change of the same kind replaces a
    /// waiting one.
    pub(crate) async fn hold_support_change(
        &self,
        user: &User,
        change: HeldChange,
        ticket: &str,
        actor: &User,
    ) -> Result<()> {
        let now = self.clock.now();
        let (approve, undo) = (Token::generate(), Token::generate());
        let (kind, new_email, normalized) = match &change {
            HeldChange::Email(e, n) => ("email", Some(e.as_str()), Some(n.as_str())),
            HeldChange::EmailCodes => ("mfa", None, None),
        };
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "DELETE FROM support_hold WHERE user_id = $1 AND kind = $2 AND released_at IS NULL AND undone_at IS NULL",
        )
        .bind(user.id)
        .bind(kind)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO support_hold (user_id, kind, ticket, requested_by, old_email, old_email_normalized,
                new_email, new_email_normalized, approve_hash, undo_hash, created_at, hold_until, undo_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(user.id)
        .bind(kind)
        .bind(ticket)
        .bind(actor.id)
        .bind(&user.email)
        .bind(&user.email_normalized)
        .bind(new_email)
        .bind(normalized)
        .bind(approve.hash())
        .bind(undo.hash())
        .bind(now)
        .bind(now + HOLD_SECS)
        .bind(now + UNDO_SECS)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::SupportChangeHeld,
            Some(&format!(
                "{}, ticket {ticket}, by {}",
                describe(&change),
                actor.email
            )),
            &RequestMeta::on_behalf("Global Technical Support"),
            now,
        )
        .await?;
        tx.commit().await?;

        let product = &self.settings.product_name;
        let link = |token: &Token| {
            format!(
                "{}/support-change?token={}",
                self.settings.public_url,
                token.expose()
            )
        };
        let (approve_link, undo_link) = (link(&approve), link(&undo));
        self.mailer.send_later(templates::notice_with_actions(
            product,
            &user.email,
            Some(&user.first_name),
            "Global Technical Support is changing how you sign in",
            &[
                format!(
                    "Global Technical Support was asked to {} (ticket {ticket}).",
                    describe(&change)
                ),
                format!(
                    "If you asked for this, approve it below and it goes ahead at once. Otherwise it goes ahead on {}.",
                    when(now + HOLD_SECS)
                ),
                format!(
                    "If you did not ask for this, open \"This was not me\": the change is cancelled, or undone if it already went ahead, and every device signed in to your account is signed out. That link works for {}.",
                    vocab::lifetimes::SUPPORT_UNDO
                ),
            ],
            &[
                ("Yes, I asked for this: go ahead now", &approve_link),
                ("This was not me", &undo_link),
            ],
        ));
        Ok(())
    }

    async fn hold_by_link(&self, raw_token: &str) -> Result<(HoldRow, HoldLinkKind)> {
        let token =
            Token::parse(raw_token.trim()).ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let hash = token.hash();
        let row: Option<HoldRow> =
            sqlx::query_as(select_holds!("WHERE approve_hash = $1 OR undo_hash = $1"))
                .bind(&hash)
                .fetch_optional(&self.db.pool)
                .await?;
        let row = row.ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let kind = if row.approve_hash == hash {
            HoldLinkKind::Approve
        } else {
            HoldLinkKind::Undo
        };
        Ok((row, kind))
    }

    fn link_view(&self, row: &HoldRow, link: HoldLinkKind) -> HoldLink {
        HoldLink {
            link,
            state: row.state(),
            what: describe(&row.change()),
            ticket: row.ticket.clone(),
            goes_ahead: when(row.hold_until),
        }
    }

    /// What a link from the hold mail would do. Writes nothing.
    pub async fn check_support_change_link(&self, raw_token: &str) -> Result<HoldLink> {
        let (row, link) = self.hold_by_link(raw_token).await?;
        if link == HoldLinkKind::Undo && self.clock.now() >= row.undo_until {
            return Err(Error::LinkRejected(LinkProblem::Expired));
        }
        Ok(self.link_view(&row, link))
    }

    /// Presses the button of a hold link's page: approves (the change goes
    /// ahead now) or undoes it.
    pub async fn answer_support_change(
        &self,
        raw_token: &str,
        meta: &RequestMeta,
    ) -> Result<HoldLink> {
        let (row, link) = self.hold_by_link(raw_token).await?;
        match (link, row.state()) {
            (_, HoldState::Undone) => return Err(Error::LinkRejected(LinkProblem::Used)),
            (HoldLinkKind::Approve, HoldState::Released) => {
                return Err(Error::LinkRejected(LinkProblem::Used))
            }
            (HoldLinkKind::Approve, HoldState::Waiting) => {
                self.release(&row, "approved from the current address", meta)
                    .await?;
            }
            (HoldLinkKind::Undo, _) => self.undo(&row, meta).await?,
        }
        let (row, link) = self.hold_by_link(raw_token).await?;
        Ok(self.link_view(&row, link))
    }

    /// Lets every change whose 24 hours are over go ahead; the server's
    /// sweeper runs it every ten minutes. Returns how many went ahead.
    pub async fn release_due_support_changes(&self) -> Result<usize> {
        let rows: Vec<HoldRow> = sqlx::query_as(select_holds!(
            "WHERE released_at IS NULL AND undone_at IS NULL AND hold_until <= $1"
        ))
        .bind(self.clock.now())
        .fetch_all(&self.db.pool)
        .await?;
        let mut released = 0;
        for row in rows {
            let meta = RequestMeta::on_behalf("Global Technical Support");
            match self
                .release(
                    &row,
                    &format!("after {}", vocab::lifetimes::SUPPORT_HOLD),
                    &meta,
                )
                .await
            {
                Ok(()) => released += 1,
                Err(e) => {
                    tracing::error!(hold = row.id, error = %e, "a held support change did not go ahead")
                }
            }
        }
        Ok(released)
    }

    /// Lets a held change go ahead, once: an email change mails its link to
    /// the new address; a switch to emailed codes happens now.
    async fn release(&self, row: &HoldRow, how: &str, meta: &RequestMeta) -> Result<()> {
        let now = self.clock.now();
        let claimed = sqlx::query(
            "UPDATE support_hold SET released_at = $2 WHERE id = $1 AND released_at IS NULL AND undone_at IS NULL",
        )
        .bind(row.id)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(());
        }
        let user = user::store::find_by_id(&self.db.pool, row.user_id)
            .await?
            .ok_or(Error::NotFound)?;
        let done = match row.change() {
            HeldChange::Email(email, normalized) => {
                self.start_email_change(&user, &email, &normalized, &row.ticket, row.requested_by)
                    .await
            }
            HeldChange::EmailCodes => {
                self.support_switch_mfa_to_email(
                    user.id,
                    &format!("ticket {}, {how}", row.ticket),
                    meta,
                )
                .await
            }
        };
        if let Err(e) = done {
            // Not gone ahead after all: it may be tried again.
            sqlx::query("UPDATE support_hold SET released_at = NULL WHERE id = $1")
                .bind(row.id)
                .execute(&self.db.pool)
                .await?;
            return Err(e);
        }
        audit::record(
            &self.db.pool,
            Some(user.id),
            EventKind::SupportChangeReleased,
            Some(&format!("{}, {how}", describe(&row.change()))),
            meta,
            now,
        )
        .await?;
        Ok(())
    }

    /// "This was not me": cancels the change, or undoes an email change
    /// that went ahead, and signs every device out.
    async fn undo(&self, row: &HoldRow, meta: &RequestMeta) -> Result<()> {
        let now = self.clock.now();
        if now >= row.undo_until {
            return Err(Error::LinkRejected(LinkProblem::Expired));
        }
        let mut tx = self.db.begin().await?;
        let claimed = sqlx::query(
            "UPDATE support_hold SET undone_at = $2 WHERE id = $1 AND undone_at IS NULL",
        )
        .bind(row.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return Err(Error::LinkRejected(LinkProblem::Used));
        }
        let mut restored = false;
        if row.kind == "email" {
            // A link mailed to the new address stops working.
            crate::support::store::void_email_changes(&mut *tx, row.user_id).await?;
            let current = user::store::find_by_id(&mut *tx, row.user_id)
                .await?
                .ok_or(Error::NotFound)?;
            if current.email_normalized != row.old_email_normalized {
                let taken = user::store::find_by_email(&mut *tx, &row.old_email_normalized)
                    .await?
                    .is_some();
                if !taken {
                    let proof = user::store::EmailProof::Restored;
                    let (email, normalized) = (&row.old_email, &row.old_email_normalized);
                    if !user::store::set_email(&mut *tx, row.user_id, email, normalized, proof, now)
                        .await?
                    {
                        return Err(Error::Conflict(
                            "Another person started using the old address meanwhile, so it was not restored. Contact Global Technical Support.".into(),
                        ));
                    }
                    self.record_change(
                        &mut tx,
                        row.user_id,
                        crate::sync::outbox::Change::Email,
                        now,
                    )
                    .await?;
                    restored = true;
                }
            }
        }
        let ended = crate::auth::session::delete_others(&mut *tx, row.user_id, None).await?;
        audit::record(
            &mut *tx,
            Some(row.user_id),
            EventKind::SupportChangeUndone,
            Some(&format!(
                "{}, ticket {}; {} session(s) signed out{}",
                describe(&row.change()),
                row.ticket,
                ended.len(),
                if restored { "; address restored" } else { "" }
            )),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        self.sessions_ended(row.user_id, &ended).await;
        let user = user::store::find_by_id(&self.db.pool, row.user_id).await?;
        self.mailer.send_later(templates::notice(
            &self.settings.product_name,
            &row.old_email,
            user.as_ref().map(|u| u.first_name.as_str()),
            "the change to how you sign in was undone",
            &[
                format!(
                    "You told us you did not ask Global Technical Support to {} (ticket {}). It was {}, and every device signed in to your account was signed out.",
                    describe(&row.change()),
                    row.ticket,
                    if row.released_at.is_some() { "undone" } else { "cancelled" }
                ),
                "Sign in again, and consider choosing a new password and an authenticator app on the Security tab. Someone may have pretended to be you.".to_string(),
            ],
            None,
        ));
        Ok(())
    }

    /// Support's view of a waiting change, e.g. "Email change to x on hold
    /// until 5 December 2026 at 09:00 UTC".
    pub async fn waiting_support_changes(&self, user_id: i64) -> Result<Vec<String>> {
        let rows: Vec<HoldRow> = sqlx::query_as(select_holds!(
            "WHERE user_id = $1 AND released_at IS NULL AND undone_at IS NULL ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let what = match row.change() {
                    HeldChange::Email(email, _) => format!("Email change to {email}"),
                    HeldChange::EmailCodes => "Switch to emailed codes".to_string(),
                };
                format!(
                    "{what} (ticket {}) waits for the person's approval, or until {}",
                    row.ticket,
                    when(row.hold_until)
                )
            })
            .collect())
    }
}
