//! Global Technical Support: the console (`/support`, Support role only),
//! the contact form every signed-in person can use, and the page that
//! confirms an email change from the new address, and the page behind the
//! links of a held support change.

pub mod api;
pub mod held;
pub mod pages;
