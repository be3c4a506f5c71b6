//! Accounts (organisations), their members and roles, and invitations.
//!
//! Who may do what is decided in one place, [`may`]; every service function
//! that reads or changes an account asks it through `Backend::authorize`.

pub mod invitation;
pub mod service;
pub mod store;

use serde::{Deserialize, Serialize};

/// A member's role in one account. Exactly one Owner per account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Owner,
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }

    /// A role read from the database, where the schema's CHECK allows only
    /// the three; anything else is an internal error, not a user's mistake.
    pub fn stored(s: &str) -> crate::Result<Self> {
        Self::parse(s)
            .ok_or_else(|| crate::Error::Internal(format!("unknown role {s:?} in the database")))
    }

    /// The word people see: "Owner", "Administrator", "User".
    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Administrator",
            Role::User => "User",
        }
    }
}

/// Everything that can be done to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountAction {
    /// See the account, its members and their roles.
    View,
    /// Invite an address, or revoke a pending invitation.
    Invite,
    /// Make a member an Administrator or a User (never the Owner).
    ChangeRole,
    /// Remove another member (never the Owner).
    RemoveMember,
    /// Leave the account oneself (the Owner transfers ownership first).
    Leave,
    /// Hand the account to another member.
    TransferOwnership,
}

/// The rule: members see their account; Administrators and the Owner manage
/// its members; only the Owner transfers it; the Owner cannot leave. People
/// outside the account, including Support, can do nothing to it.
pub fn may(role: Option<Role>, action: AccountAction) -> bool {
    use AccountAction::*;
    match (role, action) {
        (None, _) => false,
        (Some(_), View) => true,
        (Some(Role::Owner | Role::Admin), Invite | ChangeRole | RemoveMember) => true,
        (Some(Role::Admin | Role::User), Leave) => true,
        (Some(Role::Owner), TransferOwnership) => true,
        _ => false,
    }
}

/// The global Support role: only it opens the support console and acts on
/// other people's sign-in details.
pub fn may_support(is_support: bool) -> bool {
    is_support
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountAction::*;

    #[test]
    fn the_role_table() {
        let table = [
            (None, [false, false, false, false, false, false]),
            (Some(Role::User), [true, false, false, false, true, false]),
            (Some(Role::Admin), [true, true, true, true, true, false]),
            (Some(Role::Owner), [true, true, true, true, false, true]),
        ];
        let actions = [
            View,
            Invite,
            ChangeRole,
            RemoveMember,
            Leave,
            TransferOwnership,
        ];
        for (role, expected) in table {
            for (action, allowed) in actions.iter().zip(expected) {
                assert_eq!(may(role, *action), allowed, "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn roles_round_trip_and_read_plainly() {
        for r in [Role::Owner, Role::Admin, Role::User] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("superuser"), None);
        assert_eq!(Role::Admin.label(), "Administrator");
    }
}
