//! The Security tab's sign-in method: email codes or an authenticator app,
//! changed only after the password was re-entered within 10 minutes.

pub mod api;
pub mod devices;
pub mod method;
