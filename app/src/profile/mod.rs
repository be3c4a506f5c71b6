//! My Profile: the shell around the tabs and the tabs themselves.

pub mod api;
pub mod details;
pub mod layout;
pub mod pages;
