//! My Profile: the shell around the tabs and the tabs themselves.

pub mod layout;
pub mod pages;
