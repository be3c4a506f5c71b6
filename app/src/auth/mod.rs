//! Sign-up, sign-in, sign-out and email verification.

pub mod api;
pub mod pages;
