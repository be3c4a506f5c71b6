//! The avatar editor: choose a picture (file, drop, paste, camera) or
//! initials on a colour, frame it, and send the original with the crop.
//! The server re-checks and renders everything; these are conveniences.

/// The browser side (files, camera, upload); the server build has a twin
/// that does nothing, so the editor needs no `cfg` of its own.
#[cfg_attr(feature = "hydrate", path = "browser.rs")]
#[cfg_attr(not(feature = "hydrate"), path = "browser_server.rs")]
mod browser;
pub mod editor;
pub mod geometry;

/// What the browser checks before uploading: the server's own limits
/// (`vocab::limits`), so a person hears at once that a file cannot work.
pub mod limits {
    use vocab::limits::{AVATAR_MAX_BYTES, AVATAR_MAX_SIDE, AVATAR_MIN_SIDE};

    const MB: usize = 1024 * 1024;

    pub const MAX_BYTES: u64 = AVATAR_MAX_BYTES as u64;
    pub const NOT_A_PICTURE: &str =
        "This file is not a picture. Choose a JPEG, PNG, WebP or GIF image.";

    pub fn too_large(bytes: f64) -> String {
        format!(
            "This file is {:.1} MB; the limit is {} MB.",
            bytes / MB as f64,
            AVATAR_MAX_BYTES / MB
        )
    }

    pub fn too_small(width: u32, height: u32) -> String {
        format!(
            "This picture is {width} × {height} pixels; use one at least {AVATAR_MIN_SIDE} pixels on each side."
        )
    }

    /// What the chooser accepts, in a sentence.
    pub fn accepted() -> String {
        format!(
            "JPEG, PNG, WebP or GIF, up to {} MB and {AVATAR_MAX_SIDE} pixels on a side.",
            AVATAR_MAX_BYTES / MB
        )
    }
}
