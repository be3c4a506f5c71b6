//! The browser side of the avatar editor: the picked picture, the camera
//! and the upload. Compiled only into the WASM build.

use std::cell::RefCell;

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, ClipboardEvent, DragEvent, Event, FormData, MediaStream, PointerEvent, RequestInit,
    Response,
};

use super::geometry::Crop;
use super::limits;
use crate::error::AppError;

thread_local! {
    /// The picture being edited and its object URL. Kept out of signals
    /// because DOM handles cannot cross threads.
    static PICKED: RefCell<Option<(Blob, String)>> = const { RefCell::new(None) };
    static CAMERA: RefCell<Option<MediaStream>> = const { RefCell::new(None) };
    /// Counts `stop_camera` calls, so a camera that starts only after it was
    /// stopped (the dialog closed while the browser was still asking for
    /// it) is stopped at once instead of staying on.
    static CAMERA_STOPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn stop_tracks(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
}

fn message(v: JsValue) -> String {
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| "The browser refused.".into())
}

/// Holds `blob` as the picture being edited; returns a URL the page can show.
/// Refuses what cannot be a picture or is too large, before any upload.
fn pick(blob: Blob) -> Result<String, String> {
    let kind = blob.type_();
    if !kind.is_empty() && !kind.starts_with("image/") {
        return Err(limits::NOT_A_PICTURE.into());
    }
    let size = blob.size();
    if size > limits::MAX_BYTES as f64 {
        return Err(limits::too_large(size));
    }
    if size == 0.0 {
        return Err("This file is empty.".into());
    }
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(message)?;
    forget();
    PICKED.with(|p| *p.borrow_mut() = Some((blob, url.clone())));
    Ok(url)
}

/// Lets go of the picked picture and its URL.
pub fn forget() {
    PICKED.with(|p| {
        if let Some((_, url)) = p.borrow_mut().take() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    });
}

/// The first file of a file input, drop or paste.
fn first_file(files: Option<web_sys::FileList>) -> Option<Blob> {
    files.and_then(|f| f.get(0)).map(Blob::from)
}

/// Picks the file chosen in the file input `ev` came from (see `pick`),
/// then empties the input so that the same file can be chosen again.
pub fn pick_from_input(ev: &Event) -> Option<Result<String, String>> {
    let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let picked = first_file(input.files()).map(pick);
    input.set_value("");
    picked
}

/// Picks the first file dropped (see `pick`).
pub fn pick_from_drop(ev: &DragEvent) -> Option<Result<String, String>> {
    first_file(ev.data_transfer().and_then(|d| d.files())).map(pick)
}

/// Picks the first file pasted (see `pick`); `None` when the paste holds
/// none, so that text pastes go on as usual.
pub fn pick_from_paste(ev: &ClipboardEvent) -> Option<Result<String, String>> {
    first_file(ev.clipboard_data().and_then(|d| d.files())).map(pick)
}

/// The natural size of the image whose `load` event this is.
pub fn natural_size(ev: &Event) -> (u32, u32) {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlImageElement>().ok())
        .map(|img| (img.natural_width(), img.natural_height()))
        .unwrap_or_default()
}

/// Keeps sending the pointer's moves to the element it went down on, even
/// outside it (dragging the picture past the frame's edge).
pub fn capture_pointer(ev: &PointerEvent) {
    if let Some(t) = ev.current_target() {
        let _ = t
            .unchecked_into::<web_sys::Element>()
            .set_pointer_capture(ev.pointer_id());
    }
}

/// Sends the picked picture and `crop`; returns the new picture's hash, or
/// the server's message.
pub async fn upload(crop: Crop) -> Result<String, String> {
    let blob = PICKED
        .with(|p| p.borrow().as_ref().map(|(b, _)| b.clone()))
        .ok_or("Choose a picture first.")?;
    let form = FormData::new().map_err(message)?;
    form.append_with_blob_and_filename("image", &blob, "picture")
        .map_err(message)?;
    let json = format!(
        r#"{{"x":{},"y":{},"size":{},"rotation":{}}}"#,
        crop.x, crop.y, crop.size, crop.rotation
    );
    form.append_with_str("crop", &json).map_err(message)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&form);
    let response = fetch("/api/avatar", &init).await?;
    let text = JsFuture::from(response.text().map_err(message)?)
        .await
        .map_err(message)?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        // Refusals come as server functions send theirs: an `AppError`.
        // Read as bytes, as server functions' answers are (`crate::load`).
        return Err(match serde_json::from_slice::<AppError>(text.as_bytes()) {
            Ok(e) => crate::ui::error_sentence(&e),
            Err(_) => format!("The upload failed ({}).", response.status()),
        });
    }
    serde_json::from_slice::<serde_json::Value>(text.as_bytes())
        .ok()
        .and_then(|v| v.get("hash")?.as_str().map(str::to_string))
        .ok_or_else(|| "The server's answer was not understood.".into())
}

async fn fetch(url: &str, init: &RequestInit) -> Result<Response, String> {
    let promise = web_sys::window()
        .ok_or("No window.")?
        .fetch_with_str_and_init(url, init);
    JsFuture::from(promise)
        .await
        .map_err(|_| "The connection failed. Check your network and try again.".to_string())?
        .dyn_into::<Response>()
        .map_err(message)
}

/// Fetches the person's original upload and picks it, for re-editing.
pub async fn pick_original() -> Result<String, String> {
    let init = RequestInit::new();
    let response = fetch("/api/avatar/original", &init).await?;
    if !response.ok() {
        return Err("Your original picture could not be loaded. Upload it again.".into());
    }
    let blob = JsFuture::from(response.blob().map_err(message)?)
        .await
        .map_err(message)?
        .dyn_into::<Blob>()
        .map_err(message)?;
    pick(blob)
}

/// Why the camera option is not offered here, if it is not.
pub async fn camera_unavailable() -> Option<String> {
    let devices = match web_sys::window()?.navigator().media_devices() {
        Ok(d) if !JsValue::from(&d).is_undefined() => d,
        _ => {
            return Some(
                "This browser does not offer a camera to web pages here (it needs a secure connection)."
                    .into(),
            )
        }
    };
    let list = match devices.enumerate_devices() {
        Ok(p) => JsFuture::from(p).await.ok()?,
        Err(_) => return Some("This browser does not list its cameras.".into()),
    };
    let has_camera = js_sys::Array::from(&list).iter().any(|d| {
        d.dyn_into::<web_sys::MediaDeviceInfo>()
            .is_ok_and(|d| d.kind() == web_sys::MediaDeviceKind::Videoinput)
    });
    (!has_camera).then(|| "No camera was found on this device.".into())
}

/// Starts the camera into `video`. The error says why it could not.
pub async fn start_camera(video: &web_sys::HtmlVideoElement) -> Result<(), String> {
    let devices = web_sys::window()
        .ok_or("No window.")?
        .navigator()
        .media_devices()
        .map_err(message)?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_video(&JsValue::TRUE);
    constraints.set_audio(&JsValue::FALSE);
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(message)?;
    let stops = CAMERA_STOPS.with(|s| s.get());
    let stream = JsFuture::from(promise).await.map_err(|e| {
        let name = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.name()))
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "SecurityError" => {
                "Camera access was refused. Allow the camera for this site in your browser's settings to take a photo.".to_string()
            }
            "NotFoundError" | "OverconstrainedError" => "No camera was found on this device.".into(),
            "NotReadableError" => "The camera is in use by another program.".into(),
            _ => format!("The camera could not start: {}", message(e)),
        }
    })?;
    let stream: MediaStream = stream.dyn_into().map_err(message)?;
    if CAMERA_STOPS.with(|s| s.get()) != stops {
        stop_tracks(&stream);
        return Ok(());
    }
    video.set_src_object(Some(&stream));
    CAMERA.with(|c| *c.borrow_mut() = Some(stream));
    let _ = video.play();
    Ok(())
}

pub fn stop_camera() {
    CAMERA_STOPS.with(|s| s.set(s.get() + 1));
    CAMERA.with(|c| {
        if let Some(stream) = c.borrow_mut().take() {
            stop_tracks(&stream);
        }
    });
}

/// Takes the current camera frame as a PNG and picks it.
pub async fn capture(video: &web_sys::HtmlVideoElement) -> Result<String, String> {
    let (w, h) = (video.video_width(), video.video_height());
    if w == 0 || h == 0 {
        return Err("The camera has not started yet; try again in a moment.".into());
    }
    let canvas = document()
        .create_element("canvas")
        .map_err(message)?
        .dyn_into::<web_sys::HtmlCanvasElement>()
        .map_err(|_| "No canvas.".to_string())?;
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx = canvas
        .get_context("2d")
        .map_err(message)?
        .ok_or("No canvas.")?
        .dyn_into::<web_sys::CanvasRenderingContext2d>()
        .map_err(|_| "No canvas.".to_string())?;
    ctx.draw_image_with_html_video_element(video, 0.0, 0.0)
        .map_err(message)?;
    let blob = JsFuture::from(js_sys::Promise::new(&mut |resolve, _reject| {
        let cb = Closure::once_into_js(move |blob: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &blob);
        });
        // JPEG: a camera frame as PNG can exceed the 10 MB limit.
        let _ = canvas.to_blob_with_type_and_encoder_options(
            cb.unchecked_ref(),
            "image/jpeg",
            &JsValue::from_f64(0.92),
        );
    }))
    .await
    .map_err(message)?
    .dyn_into::<Blob>()
    .map_err(|_| "The photo could not be taken.".to_string())?;
    stop_camera();
    pick(blob)
}

fn document() -> web_sys::Document {
    leptos::prelude::document()
}
