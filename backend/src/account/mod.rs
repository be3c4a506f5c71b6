//! Accounts (organisations), their members and roles, and invitations.
//!
//! Who may do what is decided in one place, [`may`] (in `vocab`, shared
//! with the pages); every service function that reads or changes an account
//! asks it through `Backend::authorize`.

pub mod invitation;
pub mod service;
pub mod store;

pub use vocab::{may, AccountAction, Role};

/// A role read from the database, where the schema's CHECK allows only the
/// three; anything else is an internal error, not a user's mistake.
pub fn stored_role(s: &str) -> crate::Result<Role> {
    Role::parse(s)
        .ok_or_else(|| crate::Error::Internal(format!("unknown role {s:?} in the database")))
}
