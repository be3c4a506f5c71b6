//! Sign-up, sign-in, sessions and email verification.

pub mod password;
pub mod service;
pub mod session;
pub mod throttle;
pub mod verification;
