//! The support pages: the console (`console`, `person`), the contact form
//! (`contact`) and the email-change confirmation (`email_change`).

mod console;
mod contact;
mod email_change;
mod person;

pub use console::SupportConsole;
pub use contact::{PublicContactPage, SupportContactPage};
pub use email_change::ConfirmEmailChangePage;
pub use person::SupportUserPage;
