//! Invitations: an Administrator or the Owner invites an email address with
//! a role; the person with that verified address accepts or declines within
//! 7 days; the inviter may revoke it until then.

mod received;

use sqlx::{Any, Executor, FromRow};

use super::service::parse_assignable_role;
use super::{store, stored_role, AccountAction, Role};
use crate::audit::{self, EventKind};
use crate::clock::{to_long_date, UnixTime};
use crate::error::unique_violation_as_field;
use crate::mail::templates;
use crate::rate_limit::{self, Limit};
use crate::secret::Token;
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
/// A pending invitation as the lists read it. `subject` is what the list
/// is about: the address invited (an account's sent invitations) or the
/// account (a person's received ones).
#[derive(FromRow)]
struct ListedInvitationRow {
    id: i64,
    subject: String,
    role: String,
    inviter_first: Option<String>,
    inviter_last: Option<String>,
    created_at: i64,
    expires_at: i64,
}

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
        r#"SELECT i.id, i.email AS subject, i.role, u.first_name AS inviter_first,
                  u.last_name AS inviter_last, i.created_at, i.expires_at
           FROM invitation i LEFT JOIN "user" u ON u.id = i.invited_by
           WHERE i.account_id = $1 AND i.status = 'pending' AND i.expires_at > $2
           ORDER BY i.created_at DESC, i.id DESC"#,
    )
    .bind(account_id)
    .bind(now)
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(SentInvitation {
                id: r.id,
                email: r.subject,
                role: stored_role(&r.role)?,
                invited_by: full_name(r.inviter_first, r.inviter_last),
                created_at: r.created_at,
                expires_at: r.expires_at,
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
