//! The server's twin of the avatar editor's browser side: the same
//! functions, doing nothing. They run from event handlers and tasks the
//! editor starts in the browser, never on the server; the twin lets the
//! editor compile the same on both sides.

use leptos::ev::{ClipboardEvent, DragEvent, Event, PointerEvent};

use super::geometry::Crop;

const BROWSER_ONLY: &str = "The avatar editor works in the browser.";

pub fn forget() {}

pub fn pick_from_input(_ev: &Event) -> Option<Result<String, String>> {
    None
}

pub fn pick_from_drop(_ev: &DragEvent) -> Option<Result<String, String>> {
    None
}

pub fn pick_from_paste(_ev: &ClipboardEvent) -> Option<Result<String, String>> {
    None
}

pub fn natural_size(_ev: &Event) -> (u32, u32) {
    (0, 0)
}

pub fn capture_pointer(_ev: &PointerEvent) {}

pub async fn upload(_crop: Crop) -> Result<String, String> {
    Err(BROWSER_ONLY.into())
}

pub async fn pick_original() -> Result<String, String> {
    Err(BROWSER_ONLY.into())
}

pub async fn camera_unavailable() -> Option<String> {
    Some(BROWSER_ONLY.into())
}

pub async fn start_camera(_video: &leptos::web_sys::HtmlVideoElement) -> Result<(), String> {
    Err(BROWSER_ONLY.into())
}

pub fn stop_camera() {}

pub async fn capture(_video: &leptos::web_sys::HtmlVideoElement) -> Result<String, String> {
    Err(BROWSER_ONLY.into())
}
