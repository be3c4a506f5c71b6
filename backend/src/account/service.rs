//! Accounts and memberships: create, look at, change roles, remove, leave,
//! transfer ownership. Each function asks `authorize` first, owns its
//! transaction, audits under the person affected and mails them afterwards.

use super::store::{self, Account, Member, Membership};
use super::{may, AccountAction, Role};
use crate::audit::{self, EventKind};
use crate::mail::templates;
use crate::secret::Password;
use crate::sync::outbox::Change;
use crate::user::{self, validate, User};
use crate::{Backend, Error, RequestMeta, Result};

/// Account names: 1 to 100 characters, like people's names.
pub fn check_account_name(raw: &str) -> Result<String> {
    if raw.trim().is_empty() {
        return Err(Error::field("name", "Enter a name for the account."));
    }
    validate::name("name", "account name", raw).map_err(|e| {
        Error::field(
            "name",
            e.message.replace("Your account name", "The account name"),
        )
    })
}

/// What the account page shows.
#[derive(Clone, Debug)]
pub struct AccountDetail {
    pub account: Account,
    pub my_role: Role,
    pub members: Vec<Member>,
    /// Pending invitations; only for those who may invite.
    pub invitations: Option<Vec<super::invitation::SentInvitation>>,
}

impl Backend {
    /// `user`'s role in the account when they may do `action` to it, else
    /// `Forbidden`. An account that does not exist looks the same as one the
    /// person is not in, so ids cannot be probed.
    pub async fn authorize(
        &self,
        user: &User,
        account_id: i64,
        action: AccountAction,
    ) -> Result<Role> {
        permit(
            store::role_in(&self.db.pool, account_id, user.id).await?,
            action,
        )
    }

    /// `authorize` again inside the transaction that acts, with the actor's
    /// membership locked: the first check answers quickly, this one holds.
    /// `member` (the person acted on) is locked too, both in the order of
    /// their ids, so two people acting on each other at once wait for one
    /// another instead of deadlocking.
    pub(crate) async fn authorize_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        user: &User,
        account_id: i64,
        action: AccountAction,
        member: Option<i64>,
    ) -> Result<Role> {
        let mut own = None;
        let mut ids = vec![user.id];
        ids.extend(member.filter(|m| *m != user.id));
        ids.sort_unstable();
        for id in ids {
            let role = store::role_in_locked(&mut *tx, account_id, id).await?;
            if id == user.id {
                own = role;
            }
        }
        permit(own, action)
    }

    /// A new account with `user` as its Owner.
    pub async fn create_account(&self, user: &User, name: &str, meta: &RequestMeta) -> Result<i64> {
        require_confirmed(user, "create an account")?;
        let name = check_account_name(name)?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let id = store::insert_account(&mut *tx, &name, now).await?;
        store::insert_member(&mut *tx, id, user.id, Role::Owner, now).await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::AccountCreated,
            Some(&name),
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::Memberships, now)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn memberships(&self, user_id: i64) -> Result<Vec<Membership>> {
        store::memberships_of(&self.db.pool, user_id).await
    }

    pub async fn account_detail(&self, user: &User, account_id: i64) -> Result<AccountDetail> {
        let my_role = self
            .authorize(user, account_id, AccountAction::View)
            .await?;
        let account = store::find_account(&self.db.pool, account_id)
            .await?
            .ok_or(Error::NotFound)?;
        let members = store::members(&self.db.pool, account_id).await?;
        let invitations = if may(Some(my_role), AccountAction::Invite) {
            Some(
                super::invitation::pending_for_account(&self.db.pool, account_id, self.clock.now())
                    .await?,
            )
        } else {
            None
        };
        Ok(AccountDetail {
            account,
            my_role,
            members,
            invitations,
        })
    }

    /// Makes a member an Administrator or a User. The Owner's role is not
    /// changed here, and nobody becomes Owner except by transfer.
    pub async fn change_role(
        &self,
        user: &User,
        account_id: i64,
        member_id: i64,
        role: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.authorize(user, account_id, AccountAction::ChangeRole)
            .await?;
        let role = parse_assignable_role(role)?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        self.authorize_in(
            &mut tx,
            user,
            account_id,
            AccountAction::ChangeRole,
            Some(member_id),
        )
        .await?;
        let (account, current) = account_and_role(&mut tx, account_id, member_id).await?;
        if current == Role::Owner {
            return Err(Error::Conflict(
                "The Owner's role cannot be changed. The Owner can transfer ownership to another member, and then becomes an Administrator.".into(),
            ));
        }
        if current == role {
            return Ok(());
        }
        tracing::info!(
            actor = user.id,
            ip = meta.ip.as_deref().unwrap_or("-"),
            account_id,
            member_id,
            "role change"
        );
        if !store::set_role(&mut *tx, account_id, member_id, current, role, now).await? {
            return Err(changed_meanwhile());
        }
        if role == Role::User {
            // Invitations they sent as an Administrator no longer stand.
            store::revoke_invitations_by(&mut *tx, account_id, member_id, now).await?;
        }
        let detail = format!(
            "{}: {} → {}, by {}",
            account.name,
            current.label(),
            role.label(),
            user.email
        );
        audit::record(
            &mut *tx,
            Some(member_id),
            EventKind::RoleChanged,
            Some(&detail),
            &RequestMeta::on_behalf(BY_MEMBER),
            now,
        )
        .await?;
        self.record_change(&mut tx, member_id, Change::Memberships, now)
            .await?;
        tx.commit().await?;
        self.mail_member(
            member_id,
            "your role was changed",
            vec![format!(
                "{} changed your role in {} from {} to {}.",
                user.full_name(),
                account.name,
                current.label(),
                role.label()
            )],
        )
        .await;
        Ok(())
    }

    /// Removes someone from an account, or lets a person leave one. The
    /// Owner can be neither removed nor leave: ownership is transferred first,
    /// so an account never loses its last owner.
    pub async fn remove_member(
        &self,
        user: &User,
        account_id: i64,
        member_id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        let leaving = member_id == user.id;
        let own_role = store::role_in(&self.db.pool, account_id, user.id).await?;
        if leaving && own_role == Some(Role::Owner) {
            return Err(Error::Conflict(
                "You are the Owner of this account. Transfer ownership to another member before you leave.".into(),
            ));
        }
        let action = if leaving {
            AccountAction::Leave
        } else {
            AccountAction::RemoveMember
        };
        permit(own_role, action)?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        self.authorize_in(&mut tx, user, account_id, action, Some(member_id))
            .await?;
        let (account, current) = account_and_role(&mut tx, account_id, member_id).await?;
        if current == Role::Owner {
            return Err(Error::Conflict(
                "The Owner cannot be removed: every account keeps its Owner. The Owner can transfer ownership first.".into(),
            ));
        }
        if !store::delete_member(&mut *tx, account_id, member_id).await? {
            return Err(changed_meanwhile());
        }
        store::revoke_invitations_by(&mut *tx, account_id, member_id, now).await?;
        let (kind, detail) = if leaving {
            (EventKind::MemberLeft, account.name.clone())
        } else {
            (
                EventKind::MemberRemoved,
                format!("{}, by {}", account.name, user.email),
            )
        };
        let by_member = RequestMeta::on_behalf(BY_MEMBER);
        let meta = if leaving { meta } else { &by_member };
        audit::record(&mut *tx, Some(member_id), kind, Some(&detail), meta, now).await?;
        self.record_change(&mut tx, member_id, Change::Memberships, now)
            .await?;
        tx.commit().await?;
        if !leaving {
            self.mail_member(
                member_id,
                "you were removed from an account",
                vec![format!(
                    "{} removed you from {}. You no longer have access to it.",
                    user.full_name(),
                    account.name
                )],
            )
            .await;
        }
        Ok(())
    }

    /// Hands the account to another member, confirmed with the Owner's
    /// password. The old Owner becomes an Administrator.
    pub async fn transfer_ownership(
        &self,
        user: &User,
        account_id: i64,
        new_owner_id: i64,
        password: &Password,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.authorize(user, account_id, AccountAction::TransferOwnership)
            .await?;
        if password.expose().is_empty() {
            return Err(Error::field(
                "password",
                "Enter your password to confirm the transfer.",
            ));
        }
        if new_owner_id == user.id {
            return Err(Error::field(
                "member",
                "You already own this account. Choose another member.",
            ));
        }
        let target_role = store::role_in(&self.db.pool, account_id, new_owner_id).await?;
        if target_role.is_none() {
            return Err(Error::field(
                "member",
                "Ownership can only go to a member of this account. Invite them first.",
            ));
        }
        self.check_password(user, password, "password for an ownership transfer", meta)
            .await?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let account = store::find_account(&mut *tx, account_id)
            .await?
            .ok_or(Error::NotFound)?;
        // Re-read inside the transaction: the target may have left meanwhile.
        let Some(target_role) = store::role_in(&mut *tx, account_id, new_owner_id).await? else {
            return Err(not_a_member());
        };
        // The old Owner steps down first: one owner per account at every
        // moment. Either update finding its row changed means another request
        // got there first; returning drops the transaction, undoing both.
        if !store::set_role(&mut *tx, account_id, user.id, Role::Owner, Role::Admin, now).await?
            || !store::set_role(
                &mut *tx,
                account_id,
                new_owner_id,
                target_role,
                Role::Owner,
                now,
            )
            .await?
        {
            return Err(changed_meanwhile());
        }
        let new_owner = user::store::find_by_id(&mut *tx, new_owner_id)
            .await?
            .ok_or(Error::NotFound)?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::OwnershipTransferred,
            Some(&format!("{}: to {}", account.name, new_owner.email)),
            meta,
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(new_owner_id),
            EventKind::OwnershipTransferred,
            Some(&format!("{}: from {}", account.name, user.email)),
            &RequestMeta::on_behalf(BY_MEMBER),
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::Memberships, now)
            .await?;
        self.record_change(&mut tx, new_owner_id, Change::Memberships, now)
            .await?;
        tx.commit().await?;
        self.mail_member(
            new_owner_id,
            "you are now the owner of an account",
            vec![format!(
                "{} transferred ownership of {} to you. They are now an Administrator of it.",
                user.full_name(),
                account.name
            )],
        )
        .await;
        Ok(())
    }

    /// Mails a notice to a member by id; a failure is logged, not returned,
    /// because the change it reports is already made.
    pub(crate) async fn mail_member(&self, user_id: i64, subject: &str, paragraphs: Vec<String>) {
        let user = match user::store::find_by_id(&self.db.pool, user_id).await {
            Ok(Some(u)) => u,
            _ => return,
        };
        let link = format!("{}/profile", self.settings.public_url);
        let mail = templates::notice(
            &self.settings.product_name,
            &user.email,
            Some(&user.first_name),
            subject,
            &paragraphs,
            Some(("Open My Profile", &link)),
        );
        self.mailer.send_later(mail);
    }
}

/// `role` (the caller's in the account) when the rule table lets it do
/// `action`, else `Forbidden`; what `Backend::authorize` decides with.
/// Accounts and invitations carry the person's address to others: it must
/// be theirs first.
pub(crate) fn require_confirmed(user: &User, what: &str) -> Result<()> {
    if user.email_verified_at.is_none() {
        return Err(Error::Denied(format!(
            "Confirm your email address first (we sent you a link), then {what}."
        )));
    }
    Ok(())
}

fn permit(role: Option<Role>, action: AccountAction) -> Result<Role> {
    match role {
        Some(role) if may(Some(role), action) => Ok(role),
        _ => Err(Error::Forbidden),
    }
}

/// A role that can be given: Administrator or User.
pub fn parse_assignable_role(raw: &str) -> Result<Role> {
    match Role::parse(raw.trim()) {
        Some(Role::Owner) => Err(Error::field(
            "role",
            "Nobody is made Owner directly: the Owner transfers ownership to a member.",
        )),
        Some(role) => Ok(role),
        None => Err(Error::field("role", "Choose Administrator or User.")),
    }
}

/// How another member's action on a person appears in that person's
/// activity (the detail names them; their IP address is not shown).
const BY_MEMBER: &str = "Another member of the account";

/// The account and `member_id`'s role in it, read inside `tx`.
async fn account_and_role(
    tx: &mut sqlx::AnyConnection,
    account_id: i64,
    member_id: i64,
) -> Result<(Account, Role)> {
    let account = store::find_account(&mut *tx, account_id)
        .await?
        .ok_or(Error::NotFound)?;
    let role = store::role_in(&mut *tx, account_id, member_id)
        .await?
        .ok_or_else(not_a_member)?;
    Ok((account, role))
}

fn changed_meanwhile() -> Error {
    Error::Conflict(
        "Someone changed this account's members at the same moment. Reload the page and try again."
            .into(),
    )
}

fn not_a_member() -> Error {
    Error::Conflict(
        "That person is not a member of this account (any more). Reload the page.".into(),
    )
}
