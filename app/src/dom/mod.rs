//! What pages do to the browser beyond their views: read and set fields,
//! move the focus, the address bar, the clipboard, navigation, the service
//! worker, and the live stream of changes.
//!
//! The browser build (`hydrate`) makes the real calls (`browser.rs`); the
//! server build has a twin with the same functions that do nothing
//! (`server.rs`). Pages call them from effects and event handlers, which
//! never run on the server, so neither side needs a `cfg` of its own.

#[cfg_attr(feature = "hydrate", path = "browser.rs")]
#[cfg_attr(not(feature = "hydrate"), path = "server.rs")]
mod imp;

pub use imp::*;

/// What the live stream of changes (`follow_stream`) calls.
pub struct StreamHandlers {
    /// Something about the person changed.
    pub changed: Box<dyn Fn()>,
    /// The session ended elsewhere.
    pub signed_out: Box<dyn Fn()>,
    /// This tab is about to leave the page (a link opened, an address typed).
    pub leaving: Box<dyn Fn()>,
}
