//! Accounts' roles and the one rule table of who may do what to an account.

crate::words! {
    /// A member's role in one account. Exactly one Owner per account.
    pub enum Role {
        Owner = ("owner", "Owner"),
        Admin = ("admin", "Administrator"),
        User = ("user", "User"),
    }
}

impl Role {
    /// The roles an invitation or a role change may give: never Owner,
    /// which only a transfer hands on.
    pub const ASSIGNABLE: [Role; 2] = [Role::Admin, Role::User];

    /// The role in a sentence: "Ann is now an Administrator."
    pub fn with_article(self) -> &'static str {
        match self {
            Role::Owner => "the Owner",
            Role::Admin => "an Administrator",
            Role::User => "a User",
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
/// outside the account, including Support, can do nothing to it. The
/// server enforces it (`Backend::authorize`); pages ask it only to decide
/// what to show.
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
    fn roles_read_plainly() {
        assert_eq!(Role::parse("superuser"), None);
        assert_eq!(Role::Admin.label(), "Administrator");
    }
}
