//! The sign-in, sign-up and email verification pages. Every form is an
//! `ActionForm`: it posts and works before hydration and without JavaScript.

mod password;
mod sign_in;
mod sign_up;
mod verify_email;

use password::NewPasswordField;
pub use password::{ForgotPasswordPage, ResetPasswordPage};
pub use sign_in::{LoginPage, LoginVerifyPage};
pub use sign_up::SignUpPage;
pub use verify_email::VerifyEmailPage;

/// `HH:MM UTC` as the forgot-password answer writes it into the address
/// (`?sent=`), or None for anything else.
pub fn clock_time(s: &str) -> Option<&str> {
    let (hm, zone) = s.split_once(' ')?;
    let (h, m) = hm.split_once(':')?;
    let two_digits = |x: &str, max: u8| {
        x.len() == 2
            && x.bytes().all(|b| b.is_ascii_digit())
            && x.parse::<u8>().is_ok_and(|n| n <= max)
    };
    (zone == "UTC" && two_digits(h, 23) && two_digits(m, 59)).then_some(s)
}

/// The note that sits next to every password change (from the seed's Security table).
pub const SHARED_PASSWORD_NOTE: &str = "This password is shared by every platform that uses this email (for example ConnectivityPro and SecurityPro): changing it here changes it there too.";

#[cfg(test)]
mod tests {
    use super::clock_time;

    #[test]
    fn only_a_clock_time_is_taken_from_the_address() {
        assert_eq!(clock_time("14:05 UTC"), Some("14:05 UTC"));
        assert_eq!(clock_time("00:00 UTC"), Some("00:00 UTC"));
        assert_eq!(clock_time("24:00 UTC"), None);
        assert_eq!(clock_time("12:60 UTC"), None);
        assert_eq!(clock_time("1:05 UTC"), None);
        assert_eq!(clock_time("14:05 CET"), None);
        assert_eq!(
            clock_time("14:05 UTC. Call +1 555 0100 to keep your account"),
            None
        );
        assert_eq!(clock_time(""), None);
    }
}
