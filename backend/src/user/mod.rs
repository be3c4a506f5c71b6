//! People: their profile fields, how those are validated and stored.

pub mod phone;
pub mod profile;
pub mod store;
pub mod validate;

pub use store::User;
