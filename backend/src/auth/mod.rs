//! Sign-up, sign-in, sessions and email verification.

pub mod authenticator;
pub mod challenge;
pub mod devices;
pub mod known_device;
pub mod password;
pub mod reset;
pub mod service;
pub mod session;
pub mod sms_setup;
pub mod throttle;
pub mod totp;
pub mod totp_store;
pub mod verification;

use crate::clock::UnixTime;
use crate::error::LinkProblem;

/// A link from a mail is usable once, until (not at) its expiry time.
pub fn check_link(
    used_at: Option<UnixTime>,
    expires_at: UnixTime,
    now: UnixTime,
) -> Result<(), LinkProblem> {
    if used_at.is_some() {
        Err(LinkProblem::Used)
    } else if now >= expires_at {
        Err(LinkProblem::Expired)
    } else {
        Ok(())
    }
}
