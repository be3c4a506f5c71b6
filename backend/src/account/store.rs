//! The `account` and `membership` tables.

use sqlx::{Any, Executor, FromRow};

use super::{stored_role, Role};
use crate::clock::UnixTime;
use crate::Result;

#[derive(Clone, Debug, FromRow)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

/// A member of an account as the account page lists them.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub since: UnixTime,
}

/// One of a person's memberships.
#[derive(Clone, Debug)]
pub struct Membership {
    pub account_id: i64,
    pub account_name: String,
    pub role: Role,
    pub since: UnixTime,
}

pub async fn insert_account<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    name: &str,
    now: UnixTime,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO account (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id",
    )
    .bind(name)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(id)
}

pub async fn find_account<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> Result<Option<Account>> {
    Ok(
        sqlx::query_as("SELECT id, name, created_at FROM account WHERE id = $1")
            .bind(id)
            .fetch_optional(ex)
            .await?,
    )
}

pub async fn insert_member<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account_id: i64,
    user_id: i64,
    role: Role,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO membership (account_id, user_id, role, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// `user_id`'s role in `account_id`, if a member.
pub async fn role_in<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account_id: i64,
    user_id: i64,
) -> Result<Option<Role>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT role FROM membership WHERE account_id = $1 AND user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .fetch_optional(ex)
            .await?;
    row.map(|(r,)| stored_role(&r)).transpose()
}

/// `user_id`'s role in the account, read with the membership row locked
/// until the transaction ends (a no-op update: portable, and on PostgreSQL
/// it waits for a concurrent change of that row to commit), so what the
/// transaction then does cannot rest on a role taken away meanwhile.
pub async fn role_in_locked<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account_id: i64,
    user_id: i64,
) -> Result<Option<Role>> {
    let row: Option<(String,)> = sqlx::query_as(
        "UPDATE membership SET role = role WHERE account_id = $1 AND user_id = $2 RETURNING role",
    )
    .bind(account_id)
    .bind(user_id)
    .fetch_optional(ex)
    .await?;
    row.map(|(r,)| stored_role(&r)).transpose()
}

/// Changes a member's role from `from` to `to`; false when their role was
/// no longer `from` (another request changed it first).
pub async fn set_role<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account_id: i64,
    user_id: i64,
    from: Role,
    to: Role,
    now: UnixTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE membership SET role = $4, updated_at = $5
         WHERE account_id = $1 AND user_id = $2 AND role = $3",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Withdraws the pending invitations `user_id` sent for an account (when
/// they lose the right to invite); returns how many.
pub async fn revoke_invitations_by<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account_id: i64,
    user_id: i64,
    now: UnixTime,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE invitation SET status = 'revoked', responded_at = $3
         WHERE account_id = $1 AND invited_by = $2 AND status = 'pending'",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

pub async fn delete_member<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account_id: i64,
    user_id: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM membership WHERE account_id = $1 AND user_id = $2 AND role <> 'owner'",
    )
    .bind(account_id)
    .bind(user_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A member as stored: the role still a word.
#[derive(FromRow)]
struct MemberRow {
    user_id: i64,
    first_name: String,
    last_name: String,
    email: String,
    role: String,
    since: i64,
}

/// A membership as stored: the role still a word.
#[derive(FromRow)]
struct MembershipRow {
    account_id: i64,
    account_name: String,
    role: String,
    since: i64,
}

/// Members of an account: the Owner first, then Administrators, then Users,
/// each by name.
pub async fn members<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account_id: i64,
) -> Result<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        r#"SELECT u.id AS user_id, u.first_name, u.last_name, u.email, m.role, m.created_at AS since
           FROM membership m JOIN "user" u ON u.id = m.user_id
           WHERE m.account_id = $1"#,
    )
    .bind(account_id)
    .fetch_all(ex)
    .await?;
    let mut members = rows
        .into_iter()
        .map(|r| {
            Ok(Member {
                user_id: r.user_id,
                first_name: r.first_name,
                last_name: r.last_name,
                email: r.email,
                role: stored_role(&r.role)?,
                since: r.since,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    members.sort_by(|a, b| {
        (
            a.role,
            a.first_name.to_lowercase(),
            a.last_name.to_lowercase(),
        )
            .cmp(&(
                b.role,
                b.first_name.to_lowercase(),
                b.last_name.to_lowercase(),
            ))
    });
    Ok(members)
}

/// Every account `user_id` belongs to, by account name.
pub async fn memberships_of<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<Vec<Membership>> {
    let rows: Vec<MembershipRow> = sqlx::query_as(
        "SELECT a.id AS account_id, a.name AS account_name, m.role, m.created_at AS since
         FROM membership m JOIN account a ON a.id = m.account_id
         WHERE m.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(ex)
    .await?;
    let mut list = rows
        .into_iter()
        .map(|r| {
            Ok(Membership {
                account_id: r.account_id,
                account_name: r.account_name,
                role: stored_role(&r.role)?,
                since: r.since,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    list.sort_by(|a, b| {
        a.account_name
            .to_lowercase()
            .cmp(&b.account_name.to_lowercase())
            .then(a.account_id.cmp(&b.account_id))
    });
    Ok(list)
}
