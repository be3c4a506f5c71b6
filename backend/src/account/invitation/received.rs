//! The invitations a person received: counted, listed, answered, and
//! previewed on the sign-up page their link opens.

use super::{find, full_name, InvitationPreview, ListedInvitationRow, ReceivedInvitation};
use crate::account::{store, stored_role};
use crate::audit::{self, EventKind};
use crate::secret::Token;
use crate::sync::outbox::Change;
use crate::user::User;
use crate::{Backend, Error, RequestMeta, Result};

impl Backend {
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
            r#"SELECT i.id, a.name AS subject, i.role, u.first_name AS inviter_first,
                      u.last_name AS inviter_last, i.created_at, i.expires_at
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
            .map(|r| {
                Ok(ReceivedInvitation {
                    id: r.id,
                    account_name: r.subject,
                    role: stored_role(&r.role)?,
                    invited_by: full_name(r.inviter_first, r.inviter_last),
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                })
            })
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
        let row: Option<PreviewRow> = sqlx::query_as(
            r#"SELECT i.email, a.name AS account_name, u.first_name, u.last_name
               FROM invitation i
               JOIN account a ON a.id = i.account_id
               LEFT JOIN "user" u ON u.id = i.invited_by
               WHERE i.token_hash = $1 AND i.status = 'pending' AND i.expires_at > $2"#,
        )
        .bind(token.hash())
        .bind(self.clock.now())
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(|r| InvitationPreview {
            email: r.email,
            account_name: r.account_name,
            invited_by: full_name(r.first_name, r.last_name),
        }))
    }
}

/// What a sign-up link shows of its invitation, as stored; the inviter may
/// have deleted their account since.
#[derive(sqlx::FromRow)]
struct PreviewRow {
    email: String,
    account_name: String,
    first_name: Option<String>,
    last_name: Option<String>,
}
