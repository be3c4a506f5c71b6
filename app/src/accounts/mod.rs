//! Accounts (organisations): the list, creating one, and the account page
//! with its members, roles, invitations and ownership transfer.

pub mod api;
pub mod pages;
