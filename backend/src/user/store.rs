//! The `user` table.

use sqlx::{Any, Executor, FromRow};

use crate::clock::UnixTime;
use crate::error::{is_unique_violation, unique_violation_as_field};
use crate::secret::PasswordHash;
use crate::Result;
use vocab::MfaMethod;

/// A stored person. Holds the password hash, so it never leaves the server:
/// pages get their own view types built from it.
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub email_normalized: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub password_hash: PasswordHash,
    pub password_changed_at: UnixTime,
    pub email_verified_at: Option<UnixTime>,
    /// The active second factor.
    pub mfa_method: MfaMethod,
    pub version: i64,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(FromRow)]
struct UserRow {
    id: i64,
    email: String,
    email_normalized: String,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    password_hash: String,
    password_changed_at: i64,
    email_verified_at: Option<i64>,
    mfa_method: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            email: r.email,
            email_normalized: r.email_normalized,
            first_name: r.first_name,
            last_name: r.last_name,
            phone: r.phone,
            password_hash: PasswordHash(r.password_hash),
            password_changed_at: r.password_changed_at,
            email_verified_at: r.email_verified_at,
            // The schema's CHECK allows only the three methods.
            mfa_method: MfaMethod::parse(&r.mfa_method).unwrap_or(MfaMethod::Email),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// `SELECT` of a whole person `WHERE` the given condition, as one string
/// literal.
macro_rules! select_user_where {
    ($condition:literal) => {
        concat!(
            r#"SELECT id, email, email_normalized, first_name, last_name, phone, password_hash,
                      password_changed_at, email_verified_at, mfa_method, version, created_at,
                      updated_at
               FROM "user" WHERE "#,
            $condition
        )
    };
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone: Option<&'a str>,
    pub password_hash: &'a PasswordHash,
}

/// When support moves someone to an address another person signs in with.
pub const EMAIL_TAKEN_BY_OTHER: &str = "Another person already signs in with this address.";

pub const EMAIL_TAKEN: &str =
    "An account with this email already exists. Sign in instead, or use another email.";

/// Inserts a person; a second account for the same email (in any letter case)
/// becomes a field error on `email`.
pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    new: &NewUser<'_>,
    now: UnixTime,
) -> Result<i64> {
    let row: (i64,) = sqlx::query_as(
        r#"INSERT INTO "user" (email, email_normalized, first_name, last_name, phone, password_hash,
                              password_changed_at, created_at, updated_at, name_search)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8) RETURNING id"#,
    )
    .bind(new.email)
    .bind(new.email_normalized)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.phone)
    .bind(new.password_hash.as_phc())
    .bind(now)
    .bind(name_search(new.first_name, new.last_name))
    .fetch_one(ex)
    .await
    .map_err(|e| unique_violation_as_field(e, "user_email_normalized_key", "email", EMAIL_TAKEN))?;
    Ok(row.0)
}

pub async fn find_by_id<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(select_user_where!("id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(User::from))
}

pub async fn find_by_email<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    email_normalized: &str,
) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(select_user_where!("email_normalized = $1"))
        .bind(email_normalized)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(User::from))
}

pub async fn mark_email_verified<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        r#"UPDATE "user" SET email_verified_at = $2, updated_at = $2
           WHERE id = $1 AND email_verified_at IS NULL"#,
    )
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Replaces the password hash and records when.
pub async fn set_password<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    hash: &PasswordHash,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        r#"UPDATE "user" SET password_hash = $2, password_changed_at = $3, updated_at = $3
           WHERE id = $1"#,
    )
    .bind(id)
    .bind(hash.as_phc())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Makes `method` the person's way of proving it is them at sign-in.
pub async fn set_mfa_method<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    method: MfaMethod,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(r#"UPDATE "user" SET mfa_method = $2, updated_at = $3 WHERE id = $1"#)
        .bind(id)
        .bind(method.as_str())
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// How an address came to be the person's, for `set_email`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailProof {
    /// A link mailed to it was opened just now: it counts as verified.
    LinkOpened,
    /// It was theirs before (support's change undone): verification stays
    /// as it is.
    Restored,
}

/// Gives the person a new sign-in address. Returns false, writing nothing,
/// when another person has it. The refused statement has then aborted the
/// caller's transaction on PostgreSQL (not on SQLite): drop it, do not go on.
pub async fn set_email<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    email: &str,
    email_normalized: &str,
    proof: EmailProof,
    now: UnixTime,
) -> Result<bool> {
    let sql = match proof {
        EmailProof::LinkOpened => {
            r#"UPDATE "user" SET email = $2, email_normalized = $3, email_verified_at = $4, updated_at = $4 WHERE id = $1"#
        }
        EmailProof::Restored => {
            r#"UPDATE "user" SET email = $2, email_normalized = $3, updated_at = $4 WHERE id = $1"#
        }
    };
    let done = sqlx::query(sql)
        .bind(id)
        .bind(email)
        .bind(email_normalized)
        .bind(now)
        .execute(ex)
        .await;
    match done {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e, "user_email_normalized_key") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Writes names and phone if the row is still at `expected_version`, and
/// bumps the version. Returns false when another save got there first.
pub async fn update_profile<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    expected_version: i64,
    first_name: &str,
    last_name: &str,
    phone: Option<&str>,
    now: UnixTime,
) -> Result<bool> {
    let done = sqlx::query(
        r#"UPDATE "user" SET first_name = $3, last_name = $4, phone = $5, updated_at = $6,
                             name_search = $7, version = version + 1
           WHERE id = $1 AND version = $2"#,
    )
    .bind(id)
    .bind(expected_version)
    .bind(first_name)
    .bind(last_name)
    .bind(phone)
    .bind(now)
    .bind(name_search(first_name, last_name))
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What support's name search matches: "first last", lower-cased in Rust so
/// both databases compare the same text.
pub fn name_search(first_name: &str, last_name: &str) -> String {
    format!("{first_name} {last_name}").to_lowercase()
}
