//! Atrium's vocabulary: the words and numbers the server, the wire types
//! and the pages share, defined once. Roles and who may do what to an
//! account, sign-in methods, support topics, avatar colours, limits and
//! lifetimes. No dependencies, so the browser build carries only these few
//! tables; the rules here are callable from pages for display, and the
//! server enforces them.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod span;

pub use account::{may, AccountAction, Role};
pub use span::Span;

/// A closed set of words stored in the database and sent on the wire as
/// their `as_str` form. Each type also has the same three as inherent
/// items, so callers need no import; the trait serves generic code (the
/// wire types' serde helper).
pub trait Word: Sized + Copy + PartialEq + 'static {
    /// Every value, in the order pages list them.
    const ALL: &'static [Self];

    /// The stored and wire form: `"owner"`, `"sms"`.
    fn as_str(self) -> &'static str;

    /// The value whose stored form is `s`, if any.
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|w| w.as_str() == s)
    }
}

/// Defines a `Word` enum: each variant with its stored form and label.
macro_rules! words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = ($stored:literal, $label:literal),)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order pages list them.
            pub const ALL: &'static [Self] = &[$($name::$variant,)+];

            /// The stored and wire form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $stored,)+
                }
            }

            /// The value whose stored form is `s`, if any.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|w| w.as_str() == s)
            }

            /// The words people see.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }
        }

        impl $crate::Word for $name {
            const ALL: &'static [Self] = $name::ALL;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }
    };
}
pub(crate) use words;

words! {
    /// How a person proves it is them at sign-in, after the password.
    pub enum MfaMethod {
        /// A 6-digit code mailed to the person's address (the default).
        Email = ("email", "Code by email"),
        /// A 6-digit code texted to a confirmed phone number.
        Sms = ("sms", "Code by text message"),
        /// A code from an authenticator app enrolled by QR code.
        Authenticator = ("authenticator", "Authenticator app"),
    }
}

words! {
    /// What a message to support is about; the labels are the contact
    /// form's choices.
    pub enum SupportTopic {
        Email = ("email", "Change my email address"),
        Mfa = ("mfa", "I cannot use my authenticator app"),
        Roles = ("roles", "Roles and account ownership"),
        Other = ("other", "Something else"),
    }
}

words! {
    /// The background colour of an avatar made of initials. Each keeps
    /// white initials at a contrast of at least 4.5:1 (the stylesheet's
    /// `--avatar-*` colours).
    pub enum AvatarColor {
        Slate = ("slate", "Slate"),
        Blue = ("blue", "Blue"),
        Teal = ("teal", "Teal"),
        Green = ("green", "Green"),
        Olive = ("olive", "Olive"),
        Orange = ("orange", "Orange"),
        Rose = ("rose", "Rose"),
        Violet = ("violet", "Violet"),
    }
}

/// How long things last. Pages say them with `Display` ("30 minutes").
pub mod lifetimes {
    use crate::Span;

    /// A reset-password link.
    pub const RESET_LINK: Span = Span::minutes(30);
    /// An invitation to an account.
    pub const INVITATION: Span = Span::days(7);
    /// A sign-in waiting for its second step, and the code sent for it.
    pub const SIGN_IN_CHALLENGE: Span = Span::minutes(10);
    /// How long a re-entered password allows changing the sign-in method.
    pub const PASSWORD_REENTRY: Span = Span::minutes(10);
    /// A code texted to confirm a phone number.
    pub const SMS_CONFIRMATION: Span = Span::minutes(10);
    /// A support change waits this long for the person's approval.
    pub const SUPPORT_HOLD: Span = Span::hours(24);
    /// How long "This was not me" undoes a support change.
    pub const SUPPORT_UNDO: Span = Span::days(7);
}

/// How much and how many.
pub mod limits {
    /// Recovery codes made at a time.
    pub const RECOVERY_CODES: usize = 10;
    /// Passwords, in characters.
    pub const PASSWORD_MIN_CHARS: usize = 8;
    pub const PASSWORD_MAX_CHARS: usize = 128;
    /// A first or last name, in characters.
    pub const NAME_MAX_CHARS: usize = 100;
    /// An email address, in characters (RFC 5321's path limit).
    pub const EMAIL_MAX_CHARS: usize = 254;
    /// A message to support, in characters.
    pub const SUPPORT_MESSAGE_MAX_CHARS: usize = 4000;
    /// A ticket reference support acts under, in characters.
    pub const TICKET_MAX_CHARS: usize = 64;
    /// An avatar upload, in bytes (10 MB).
    pub const AVATAR_MAX_BYTES: usize = 10 * 1024 * 1024;
    /// An avatar upload's longer side, in pixels.
    pub const AVATAR_MAX_SIDE: u32 = 8192;
    /// An avatar's shorter side and its crop, in pixels.
    pub const AVATAR_MIN_SIDE: u32 = 32;
    /// An avatar upload's width × height.
    pub const AVATAR_MAX_PIXELS: u64 = 40_000_000;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<W: Word + std::fmt::Debug>() {
        for w in <W as Word>::ALL {
            assert_eq!(<W as Word>::parse(Word::as_str(*w)), Some(*w));
        }
        assert_eq!(<W as Word>::parse(""), None);
        assert_eq!(
            <W as Word>::parse("Owner"),
            None,
            "stored forms are lower case"
        );
    }

    #[test]
    fn every_word_round_trips() {
        round_trips::<Role>();
        round_trips::<MfaMethod>();
        round_trips::<SupportTopic>();
        round_trips::<AvatarColor>();
    }

    #[test]
    fn lifetimes_read_as_people_say_them() {
        assert_eq!(lifetimes::RESET_LINK.to_string(), "30 minutes");
        assert_eq!(lifetimes::INVITATION.to_string(), "7 days");
        assert_eq!(lifetimes::SUPPORT_HOLD.to_string(), "24 hours");
        assert_eq!(lifetimes::SUPPORT_HOLD.secs(), 86_400);
    }
}
