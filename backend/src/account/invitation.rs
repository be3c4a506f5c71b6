//! Invitations: an Administrator or the Owner invites an email address with
//! a role; the person with that verified address accepts or declines within
//! 7 days; the inviter may revoke it until then.

use sqlx::{Any, Executor, FromRow};

use super::service::parse_assignable_role;
use super::{store, stored_role, AccountAction, Role};
use crate::audit::{self, EventKind};
use crate::clock::{to_long_date, UnixTime};
use crate::error::unique_violation_as_field;
use crate::mail::templates;
use crate::rate_limit::{self, Limit};
use crate::secret::Token;
use crate::sync::outbox::Change;
use crate::user::{self, validate, User};
use crate::{Backend, Error, RequestMeta, Result};

/// An invitation can be answered for 7 days.
pub const INVITATION_LIFETIME_SECS: i64 = vocab::lifetimes::INVITATION.secs();

/// Invitations sent by one person: 50 per hour.
pub const INVITE_LIMIT: Limit = Limit {
    limit: 50,
    window_secs: 3600,
};

/// A pending invitation as the account page lists it.
#[derive(Clone, Debug)]
pub struct SentInvitation {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// An invitation as its recipient sees it.
#[derive(Clone, Debug)]
pub struct ReceivedInvitation {
    pub id: i64,
    pub account_name: String,
    pub role: Role,
    pub invited_by: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// What the sign-up page shows for an invitation link.
#[derive(Clone, Debug)]
pub struct InvitationPreview {
    pub email: String,
    pub account_name: String,
    pub invited_by: Option<String>,
}

/// An invitation as both lists read it: id, email (sent) or account name
/// (received), role, inviter's first and last name, created, expires.
type ListedInvitationRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

#[derive(FromRow)]
struct InvitationRow {
    id: i64,
    account_id: i64,
    email: String,
    email_normalized: String,
    role: String,
    invited_by: Option<i64>,
    status: String,
    expires_at: i64,
}

pub(crate) async fn pending_for_account<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account_id: i64,
    now: UnixTime,
) -> Result<Vec<SentInvitation>> {
    let rows: Vec<ListedInvitationRow> = sqlx::query_as(
        r#"SELECT i.id, i.email, i.role, u.first_name, u.last_name, i.created_at, i.expires_at
           FROM invitation i LEFT JOIN "user" u ON u.id = i.invited_by
           WHERE i.account_id = $1 AND i.status = 'pending' AND i.expires_at > $2
           ORDER BY i.created_at DESC, i.id DESC"#,
    )
    .bind(account_id)
    .bind(now)
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|(id, email, role, first, last, created_at, expires_at)| {
            Ok(SentInvitation {
                id,
                email,
                role: stored_role(&role)?,
                invited_by: full_name(first, last),
                created_at,
                expires_at,
            })
        })
        .collect()
}

fn full_name(first: Option<String>, last: Option<String>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        _ => None,
    }
}

impl Backend {
    /// Invites `email` to the account as `role` (Administrator or User) and
    /// mails them a link: to their invitations if they have a user, else to
    /// sign-up with the address filled in.
    pub async fn invite(
        &self,
        user: &User,
        account_id: i64,
        email: &str,
        role: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.authorize(user, account_id, AccountAction::Invite)
            .await?;
        super::service::require_confirmed(user, "invite people")?;
        let mut errors = Vec::new();
        let email = validate::email_or(email, "Enter the email address to invite.")
            .map_err(|e| errors.push(e))
            .ok();
        let role = parse_assignable_role(role)
            .map_err(|e| {
                if let Error::Validation(v) = e {
                    errors.extend(v);
                }
            })
            .ok();
        let (Some((email, email_normalized)), Some(role)) = (email, role) else {
            return Err(Error::Validation(errors));
        };
        if email_normalized == user.email_normalized {
            return Err(Error::field(
                "email",
                "That is your own address: you are already a member.",
            ));
        }
        let now = self.clock.now();
        rate_limit::hit(
            &self.db.pool,
            &format!("invite:{}", user.id),
            INVITE_LIMIT,
            now,
        )
        .await?;

        let mut tx = self.db.begin().await?;
        self.authorize_in(&mut tx, user, account_id, AccountAction::Invite, None)
            .await?;
        let account = store::find_account(&mut *tx, account_id)
            .await?
            .ok_or(Error::NotFound)?;
        let invitee = user::store::find_by_email(&mut *tx, &email_normalized).await?;
        if let Some(invitee) = &invitee {
            if store::role_in(&mut *tx, account_id, invitee.id)
                .await?
                .is_some()
            {
                return Err(Error::field(
                    "email",
                    format!("{email} is already a member of {}.", account.name),
                ));
            }
        }
        // An older invitation to the same address: a live one stands (revoke
        // it to send another); an expired one is closed so a new one can go.
        let pending: Option<(i64, i64)> = sqlx::query_as(
            "SELECT id, expires_at FROM invitation
             WHERE account_id = $1 AND email_normalized = $2 AND status = 'pending'",
        )
        .bind(account_id)
        .bind(&email_normalized)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id, expires_at)) = pending {
            if expires_at > now {
                return Err(Error::field(
                    "email",
                    format!(
                        "An invitation to {email} is already waiting (it expires on {}). Revoke it to send a new one.",
                        to_long_date(expires_at)
                    ),
                ));
            }
            sqlx::query("UPDATE invitation SET status = 'expired' WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let token = Token::generate();
        sqlx::query(
            "INSERT INTO invitation (account_id, email, email_normalized, role, invited_by, token_hash, status, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
        )
        .bind(account_id)
        .bind(&email)
        .bind(&email_normalized)
        .bind(role.as_str())
        .bind(user.id)
        .bind(token.hash())
        .bind(now)
        .bind(now + INVITATION_LIFETIME_SECS)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique_violation_as_field(
                e,
                "invitation_one_pending_idx",
                "email",
                "An invitation to this address was sent at the same moment.",
            )
        })?;
        let detail = format!("{email} as {} to {}", role.label(), account.name);
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::MemberInvited,
            Some(&detail),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;

        let (link, label) = match &invitee {
            Some(_) => (
                format!("{}/profile/invitations", self.settings.public_url),
                "See your invitations",
            ),
            None => (
                format!(
                    "{}/signup?invitation={}",
                    self.settings.public_url,
                    token.expose()
                ),
                "Create your user and answer",
            ),
        };
        let mail = templates::notice(
            &self.settings.product_name,
            &email,
            invitee.as_ref().map(|u| u.first_name.as_str()),
            &format!("{} invited you to {}", user.full_name(), account.name),
            &[
                format!(
                    "{} ({}) invited you to join {} as {}.",
                    user.full_name(),
                    user.email,
                    account.name,
                    role.label()
                ),
                format!(
                    "The invitation can be accepted or declined until {}. If you did not expect it, ignore this mail.",
                    to_long_date(now + INVITATION_LIFETIME_SECS)
                ),
            ],
            Some((label, &link)),
        );
        self.mailer.send_later(mail);
        Ok(())
    }

    /// Withdraws a pending invitation of the account.
    pub async fn revoke_invitation(
        &self,
        user: &User,
        account_id: i64,
        invitation_id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.authorize(user, account_id, AccountAction::Invite)
            .await?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        self.authorize_in(&mut tx, user, account_id, AccountAction::Invite, None)
            .await?;
        let inv = find(&mut *tx, invitation_id).await?;
        let Some(inv) = inv.filter(|i| i.account_id == account_id) else {
            return Err(Error::NotFound);
        };
        if inv.status != "pending" {
            return Err(Error::Conflict(format!(
                "This invitation was already {}.",
                inv.status
            )));
        }
        sqlx::query("UPDATE invitation SET status = 'revoked', responded_at = $2 WHERE id = $1 AND status = 'pending'")
            .bind(inv.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let account = store::find_account(&mut *tx, account_id)
            .await?
            .ok_or(Error::NotFound)?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::InvitationRevoked,
            Some(&format!("{} to {}", inv.email, account.name)),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many open invitations `received_invitations` would list.
    pub async fn received_invitation_count(&self, user: &User) -> Result<usize> {
        if user.email_verified_at.is_none() {
            return Ok(0);
        }
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM invitation
             WHERE email_normalized = $1 AND status = 'pending' AND expires_at > $2",
        )
        .bind(&user.email_normalized)
        .bind(self.clock.now())
        .fetch_one(&self.db.pool)
        .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Invitations `user` has received and not answered, still open. None
    /// until their address is confirmed: before that, nothing shows that the
    /// person owns the address the invitations went to.
    pub async fn received_invitations(&self, user: &User) -> Result<Vec<ReceivedInvitation>> {
        if user.email_verified_at.is_none() {
            return Ok(vec![]);
        }
        let rows: Vec<ListedInvitationRow> = sqlx::query_as(
            r#"SELECT i.id, a.name, i.role, u.first_name, u.last_name, i.created_at, i.expires_at
               FROM invitation i
               JOIN account a ON a.id = i.account_id
               LEFT JOIN "user" u ON u.id = i.invited_by
               WHERE i.email_normalized = $1 AND i.status = 'pending' AND i.expires_at > $2
               ORDER BY i.created_at DESC, i.id DESC"#,
        )
        .bind(&user.email_normalized)
        .bind(self.clock.now())
        .fetch_all(&self.db.pool)
        .await?;
        rows.into_iter()
            .map(
                |(id, account_name, role, first, last, created_at, expires_at)| {
                    Ok(ReceivedInvitation {
                        id,
                        account_name,
                        role: stored_role(&role)?,
                        invited_by: full_name(first, last),
                        created_at,
                        expires_at,
                    })
                },
            )
            .collect()
    }

    /// Accepts (`accept`) or declines an invitation sent to `user`'s
    /// verified address. Accepting makes the membership at once.
    pub async fn answer_invitation(
        &self,
        user: &User,
        invitation_id: i64,
        accept: bool,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let inv = find(&mut *tx, invitation_id)
            .await?
            .ok_or(Error::NotFound)?;
        if inv.email_normalized != user.email_normalized {
            return Err(Error::Denied(
                "This invitation was sent to another email address. Only its recipient can answer it.".into(),
            ));
        }
        if user.email_verified_at.is_none() {
            return Err(Error::Denied(
                "Confirm your email address first (we sent you a link), then answer the invitation.".into(),
            ));
        }
        match inv.status.as_str() {
            "pending" if inv.expires_at > now => {}
            "pending" | "expired" => return Err(Error::Conflict(
                "This invitation has expired. Ask the account's administrator to invite you again."
                    .into(),
            )),
            "revoked" => {
                return Err(Error::Conflict(
                    "This invitation was withdrawn by the account.".into(),
                ))
            }
            other => {
                return Err(Error::Conflict(format!(
                    "You already {other} this invitation."
                )))
            }
        }
        let account = store::find_account(&mut *tx, inv.account_id)
            .await?
            .ok_or(Error::NotFound)?;
        let role = stored_role(&inv.role)?;
        let status = if accept { "accepted" } else { "declined" };
        let done = sqlx::query(
            "UPDATE invitation SET status = $2, responded_at = $3 WHERE id = $1 AND status = 'pending'",
        )
        .bind(inv.id)
        .bind(status)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Conflict(
                "This invitation was answered meanwhile.".into(),
            ));
        }
        if accept
            && store::role_in(&mut *tx, inv.account_id, user.id)
                .await?
                .is_none()
        {
            store::insert_member(&mut *tx, inv.account_id, user.id, role, now)
                .await
                .map_err(|_| {
                    Error::Conflict(
                        "You joined this account at the same moment; reload the page.".into(),
                    )
                })?;
        }
        let kind = if accept {
            EventKind::InvitationAccepted
        } else {
            EventKind::InvitationDeclined
        };
        let detail = format!("{} as {}", account.name, role.label());
        audit::record(&mut *tx, Some(user.id), kind, Some(&detail), meta, now).await?;
        if accept {
            self.record_change(&mut tx, user.id, Change::Memberships, now)
                .await?;
        }
        tx.commit().await?;
        if let Some(inviter) = inv.invited_by.filter(|id| *id != user.id) {
            self.mail_member(
                inviter,
                &format!("{} {status} your invitation", user.full_name()),
                vec![format!(
                    "{} ({}) {status} your invitation to join {} as {}.",
                    user.full_name(),
                    user.email,
                    account.name,
                    role.label()
                )],
            )
            .await;
        }
        Ok(())
    }

    /// The invitation behind a sign-up link, if it is still open.
    pub async fn invitation_preview(&self, raw_token: &str) -> Result<Option<InvitationPreview>> {
        let Some(token) = Token::parse(raw_token.trim()) else {
            return Ok(None);
        };
        let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            r#"SELECT i.email, a.name, u.first_name, u.last_name
               FROM invitation i
               JOIN account a ON a.id = i.account_id
               LEFT JOIN "user" u ON u.id = i.invited_by
               WHERE i.token_hash = $1 AND i.status = 'pending' AND i.expires_at > $2"#,
        )
        .bind(token.hash())
        .bind(self.clock.now())
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(
            row.map(|(email, account_name, first, last)| InvitationPreview {
                email,
                account_name,
                invited_by: full_name(first, last),
            }),
        )
    }
}

async fn find<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> Result<Option<InvitationRow>> {
    Ok(sqlx::query_as(
        "SELECT id, account_id, email, email_normalized, role, invited_by, status, expires_at
         FROM invitation WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?)
}
