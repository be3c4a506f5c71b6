//! The avatar editor: choose a picture (file, drop, paste, camera) or
//! initials on a colour, frame it, and send the original with the crop.
//! The server re-checks and renders everything; these are conveniences.

#[cfg(feature = "hydrate")]
mod browser;
pub mod editor;
pub mod geometry;

/// What the browser checks before uploading, mirroring the server's rules
/// so a person hears at once that a file cannot work.
pub mod limits {
    /// 10 MB, as on the server.
    pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
    pub const NOT_A_PICTURE: &str =
        "This file is not a picture. Choose a JPEG, PNG, WebP or GIF image.";

    pub fn too_large(bytes: f64) -> String {
        format!(
            "This file is {:.1} MB; the limit is 10 MB.",
            bytes / (1024.0 * 1024.0)
        )
    }
}

/// Colours offered for the generated avatar, with their names.
pub const COLORS: [(&str, &str); 8] = [
    ("slate", "Slate"),
    ("blue", "Blue"),
    ("teal", "Teal"),
    ("green", "Green"),
    ("olive", "Olive"),
    ("orange", "Orange"),
    ("rose", "Rose"),
    ("violet", "Violet"),
];
