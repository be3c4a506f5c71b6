//! My Profile: its tabs (the frame around them is `crate::frame`).

pub mod api;
pub mod details;
pub mod pages;
