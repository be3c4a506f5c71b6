//! Invitations the signed-in person received: the list with Accept and
//! Decline, and what the sign-up page shows for an invitation link.

pub mod api;
pub mod pages;
