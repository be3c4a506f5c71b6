//! The "Edit avatar" button and its dialog: three ways to add a picture
//! (file, camera, generated initials), removal, and the crop-frame editor.
//!
//! Only the button is in the page's own code. The dialog (the editor, its
//! geometry and the browser glue for files, camera and upload) is loaded the
//! first time the button is pressed: under `cargo leptos build --split` it
//! is its own WASM chunk, and it is never rendered on the server, so there is
//! nothing of it to hydrate.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::geometry::{Crop, CropView};
use crate::frame::use_me;
use crate::profile::api::{remove_avatar, use_generated_avatar};
use vocab::AvatarColor;

/// Width of the crop frame and of the top-bar preview, in CSS pixels.
const FRAME: f64 = 256.0;
const PREVIEW: f64 = 40.0;
/// How far one arrow key press moves the picture, in screen pixels.
const KEY_STEP: f64 = 10.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Choose,
    Camera,
    Crop,
}

/// The "Edit avatar" button, the status line that announces what the dialog
/// did, and (once asked for) the dialog itself.
#[component]
pub fn AvatarEditor() -> impl IntoView {
    // How many times the button was pressed: the dialog opens on each change.
    let open_requests = RwSignal::new(0u32);
    let announce = RwSignal::new(None::<String>);
    let opener = NodeRef::<leptos::html::Button>::new();
    view! {
        <button
            type="button"
            node_ref=opener
            class="avatar-edit-button"
            aria-label="Edit avatar"
            on:click=move |_| open_requests.update(|n| *n += 1)
        >
            <span aria-hidden="true">"✎"</span>
        </button>
        <p role="status" class="avatar-status">{move || announce.get()}</p>
        {move || {
            (open_requests.get() > 0)
                .then(|| Suspend::new(async move { avatar_dialog(open_requests, announce, opener).await }))
        }}
    }
}

/// The dialog's code, fetched on first use.
#[lazy]
fn avatar_dialog(
    open_requests: RwSignal<u32>,
    announce: RwSignal<Option<String>>,
    opener: NodeRef<leptos::html::Button>,
) -> AnyView {
    view! { <AvatarDialog open_requests announce opener/> }.into_any()
}

/// `opener` is the "Edit avatar" button, which gets the focus back when the
/// dialog closes, however it closes (Escape, Close, Update, Remove).
#[component]
fn AvatarDialog(
    open_requests: RwSignal<u32>,
    announce: RwSignal<Option<String>>,
    opener: NodeRef<leptos::html::Button>,
) -> AnyView {
    let me = use_me();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let video = NodeRef::<leptos::html::Video>::new();
    let stage = NodeRef::<leptos::html::Div>::new();
    let heading = NodeRef::<leptos::html::H2>::new();
    let capture_button = NodeRef::<leptos::html::Button>::new();
    let step = RwSignal::new(Step::Choose);
    let src = RwSignal::new(None::<String>);
    let crop_view = RwSignal::new(None::<CropView>);
    let reopen = RwSignal::new(None::<Crop>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let camera_note = RwSignal::new(None::<String>);
    let camera_ok = RwSignal::new(false);
    let pointers = StoredValue::new(Vec::<(i32, f64, f64)>::new());
    let color = RwSignal::new(
        me.with_untracked(|m| m.avatar.color.clone())
            .unwrap_or_else(|| "slate".into()),
    );

    // The camera and the picture's object URL are let go of when the dialog
    // closes and when the page leaves (browser Back with the dialog open).
    #[cfg(feature = "hydrate")]
    on_cleanup(|| {
        super::browser::stop_camera();
        super::browser::forget();
    });
    let cleanup = move || {
        #[cfg(feature = "hydrate")]
        {
            super::browser::stop_camera();
            super::browser::forget();
        }
        pointers.set_value(Vec::new());
        src.set(None);
        crop_view.set(None);
        reopen.set(None);
        busy.set(false);
        step.set(Step::Choose);
    };
    let close = move || {
        cleanup();
        if let Some(d) = dialog.get_untracked() {
            d.close();
        }
    };
    let open = move || {
        error.set(None);
        announce.set(None);
        step.set(Step::Choose);
        if let Some(d) = dialog.get_untracked() {
            let _ = d.show_modal();
        }
        #[cfg(feature = "hydrate")]
        spawn_local(async move {
            let why = super::browser::camera_unavailable().await;
            camera_ok.set(why.is_none());
            camera_note.set(why);
        });
    };
    // Opens now (the first press loaded this code) and on every later press.
    // On the first, the dialog is built before it is in the document, where
    // showModal would fail: wait a frame.
    Effect::new(move |_| {
        if open_requests.get() > 0 {
            request_animation_frame(open);
        }
    });
    // Focus follows the step, so keyboard and screen reader users land in it.
    let focus_heading = move || {
        request_animation_frame(move || {
            if let Some(h) = heading.get_untracked() {
                let _ = h.focus();
            }
        })
    };
    let finish = move |message: &str| {
        announce.set(Some(message.to_string()));
        close();
    };

    #[cfg(feature = "hydrate")]
    let pick = move |blob: web_sys::Blob| match super::browser::pick(blob) {
        Ok(url) => {
            error.set(None);
            reopen.set(None);
            crop_view.set(None);
            src.set(Some(url));
            step.set(Step::Crop);
        }
        Err(m) => {
            error.set(Some(m));
            focus_heading();
        }
    };

    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let input = event_target::<web_sys::HtmlInputElement>(&ev);
            if let Some(blob) = super::browser::first_file(input.files()) {
                pick(blob);
            }
            input.set_value("");
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if let Some(blob) = super::browser::first_file(ev.data_transfer().and_then(|d| d.files())) {
            pick(blob);
        }
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        #[cfg(feature = "hydrate")]
        if step.get_untracked() == Step::Choose {
            if let Some(blob) =
                super::browser::first_file(ev.clipboard_data().and_then(|d| d.files()))
            {
                ev.prevent_default();
                pick(blob);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };

    let start_camera = move |_| {
        error.set(None);
        step.set(Step::Camera);
        request_animation_frame(move || {
            if let Some(b) = capture_button.get_untracked() {
                let _ = b.focus();
            }
        });
        #[cfg(feature = "hydrate")]
        spawn_local(async move {
            let Some(v) = video.get_untracked() else {
                return;
            };
            if let Err(m) = super::browser::start_camera(&v).await {
                camera_ok.set(false);
                camera_note.set(Some(m.clone()));
                error.set(Some(m));
                step.set(Step::Choose);
            }
        });
    };
    let take_photo = move |_| {
        #[cfg(feature = "hydrate")]
        spawn_local(async move {
            let Some(v) = video.get_untracked() else {
                return;
            };
            match super::browser::capture(&v).await {
                Ok(url) => {
                    reopen.set(None);
                    crop_view.set(None);
                    src.set(Some(url));
                    step.set(Step::Crop);
                }
                Err(m) => error.set(Some(m)),
            }
        });
    };
    let back = move |_| {
        #[cfg(feature = "hydrate")]
        super::browser::stop_camera();
        error.set(None);
        step.set(Step::Choose);
        focus_heading();
    };

    let edit_current = move |_| {
        error.set(None);
        let last = me.with_untracked(|m| m.avatar.crop);
        #[cfg(feature = "hydrate")]
        spawn_local(async move {
            match super::browser::pick_original().await {
                Ok(url) => {
                    reopen.set(last.map(|(x, y, size, rotation)| Crop {
                        x,
                        y,
                        size,
                        rotation,
                    }));
                    crop_view.set(None);
                    src.set(Some(url));
                    step.set(Step::Crop);
                }
                Err(m) => error.set(Some(m)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = last;
    };
    let remove = move |_| {
        busy.set(true);
        spawn_local(async move {
            match remove_avatar().await {
                Ok(info) => {
                    me.update(|m| m.avatar = info);
                    finish("Your picture was removed; your initials show instead.");
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e.to_string()));
                }
            }
        });
    };
    let use_initials = move |_| {
        busy.set(true);
        let chosen = color.get_untracked();
        spawn_local(async move {
            match use_generated_avatar(chosen).await {
                Ok(info) => {
                    me.update(|m| m.avatar = info);
                    finish("Your initials are now your avatar.");
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e.to_string()));
                }
            }
        });
    };
    let update = move |_| {
        let Some(v) = crop_view.get_untracked() else {
            return;
        };
        let crop = v.crop();
        busy.set(true);
        error.set(None);
        #[cfg(feature = "hydrate")]
        spawn_local(async move {
            match super::browser::upload(crop).await {
                Ok(hash) => {
                    me.update(|m| {
                        m.avatar.hash = Some(hash);
                        m.avatar.crop = Some((crop.x, crop.y, crop.size, crop.rotation));
                    });
                    finish("Your new picture is saved.");
                }
                Err(m) => {
                    busy.set(false);
                    error.set(Some(m));
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = crop;
    };

    let on_image_load = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let img = event_target::<web_sys::HtmlImageElement>(&ev);
            let (w, h) = (img.natural_width(), img.natural_height());
            if w.min(h) < super::geometry::MIN_CROP as u32 {
                error.set(Some(super::limits::too_small(w, h)));
                step.set(Step::Choose);
                return;
            }
            let view = match reopen.get_untracked() {
                Some(c) => CropView::from_crop(w, h, c),
                None => CropView::new(w, h),
            };
            crop_view.set(Some(view));
            request_animation_frame(move || {
                if let Some(el) = stage.get_untracked() {
                    let _ = el.focus();
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_image_error = move |_| {
        error.set(Some(
            "This file could not be read as a picture. Choose a JPEG, PNG, WebP or GIF image."
                .into(),
        ));
        step.set(Step::Choose);
    };

    let change = move |f: &dyn Fn(CropView) -> CropView| {
        crop_view.update(|v| {
            if let Some(cur) = v {
                *cur = f(*cur);
            }
        })
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        // Leave the browser's own shortcuts (reload, page zoom) alone.
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let fast = if ev.shift_key() { 5.0 } else { 1.0 };
        let d = KEY_STEP * fast;
        match ev.key().as_str() {
            "ArrowLeft" => change(&|v| v.pan(-d, 0.0, FRAME)),
            "ArrowRight" => change(&|v| v.pan(d, 0.0, FRAME)),
            "ArrowUp" => change(&|v| v.pan(0.0, -d, FRAME)),
            "ArrowDown" => change(&|v| v.pan(0.0, d, FRAME)),
            "+" | "=" => change(&|v| v.zoom_to(v.zoom * 1.1)),
            "-" | "_" => change(&|v| v.zoom_to(v.zoom / 1.1)),
            "r" | "R" => change(&|v| v.rotate()),
            _ => return,
        }
        ev.prevent_default();
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        let factor = (-ev.delta_y() * 0.0015).exp();
        change(&|v| v.zoom_to(v.zoom * factor));
    };
    let on_pointer_down = move |ev: leptos::ev::PointerEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(t) = ev.current_target() {
                let _ = t
                    .unchecked_into::<web_sys::Element>()
                    .set_pointer_capture(ev.pointer_id());
            }
        }
        let p = (
            ev.pointer_id(),
            f64::from(ev.client_x()),
            f64::from(ev.client_y()),
        );
        pointers.update_value(|list| list.push(p));
    };
    let on_pointer_move = move |ev: leptos::ev::PointerEvent| {
        let (id, x, y) = (
            ev.pointer_id(),
            f64::from(ev.client_x()),
            f64::from(ev.client_y()),
        );
        let list = pointers.get_value();
        let Some(i) = list.iter().position(|p| p.0 == id) else {
            return;
        };
        let (_, px, py) = list[i];
        match list.len() {
            1 => change(&|v| v.pan(x - px, y - py, FRAME)),
            2 => {
                // Pinch: zoom by how much the two fingers' distance changed.
                let other = list[1 - i];
                let before = ((px - other.1).powi(2) + (py - other.2).powi(2)).sqrt();
                let after = ((x - other.1).powi(2) + (y - other.2).powi(2)).sqrt();
                if before > 1.0 {
                    change(&|v| v.zoom_to(v.zoom * after / before));
                }
            }
            _ => {}
        }
        pointers.update_value(|list| list[i] = (id, x, y));
    };
    let on_pointer_up = move |ev: leptos::ev::PointerEvent| {
        let id = ev.pointer_id();
        pointers.update_value(|list| list.retain(|p| p.0 != id));
    };

    let transform = move |frame: f64| crop_view.get().map(|v| v.css_transform(frame));
    let natural = move |which: usize| {
        crop_view
            .get()
            .map(|v| format!("{}px", if which == 0 { v.w } else { v.h }))
    };
    let has_picture = move || me.with(|m| m.avatar.hash.is_some());

    view! {
        <dialog
            node_ref=dialog
            class="avatar-dialog"
            aria-labelledby="avatar-dialog-title"
            on:close=move |_| {
                cleanup();
                if let Some(button) = opener.get_untracked() {
                    let _ = button.focus();
                }
            }
            on:paste=on_paste
            // A picture dropped anywhere on the dialog is taken, never opened by the browser.
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop
        >
            <div class="dialog-head">
                <h2 id="avatar-dialog-title" tabindex="-1" node_ref=heading>"Profile picture"</h2>
                <button type="button" class="link" aria-label="Close" on:click=move |_| close()>"✕"</button>
            </div>
            <Show when=move || error.get().is_some()>
                <p role="alert" class="alert alert-error">{move || error.get()}</p>
            </Show>

            <div class="avatar-choose" hidden=move || step.get() != Step::Choose>
                <div class="drop-zone">
                    <p>"Drag a picture here, paste one, or"</p>
                    <label class="button primary" for="avatar-file">"Upload from this device"</label>
                    <input
                        type="file"
                        id="avatar-file"
                        class="visually-hidden"
                        accept="image/jpeg,image/png,image/webp,image/gif"
                        on:change=on_file
                    />
                    <p class="hint">{super::limits::accepted()}</p>
                </div>
                <div class="camera-option">
                    <Show
                        when=move || camera_ok.get()
                        fallback=move || {
                            view! { <p class="hint camera-note">{move || camera_note.get()}</p> }
                        }
                    >
                        <button type="button" on:click=start_camera>"Take a photo"</button>
                    </Show>
                </div>
                <fieldset class="generated">
                    <legend>"Or use your initials on a colour"</legend>
                    <div class="swatches">
                        {AvatarColor::ALL
                            .iter()
                            .map(|c| {
                                let key = c.as_str();
                                let name = c.label();
                                view! {
                                    <label class=format!("swatch avatar-color-{key}")>
                                        <input
                                            type="radio"
                                            name="avatar-color"
                                            value=key
                                            prop:checked=move || color.get() == key
                                            on:change=move |_| color.set(key.to_string())
                                        />
                                        <span class="visually-hidden">{name}</span>
                                    </label>
                                }
                            })
                            .collect_view()}
                    </div>
                    <button type="button" on:click=use_initials disabled=move || busy.get()>"Use initials"</button>
                </fieldset>
                <Show when=has_picture>
                    <div class="current-picture">
                        <button type="button" on:click=edit_current>"Edit current picture"</button>
                        <button type="button" class="danger" on:click=remove disabled=move || busy.get()>
                            "Remove picture"
                        </button>
                    </div>
                </Show>
            </div>

            <div class="avatar-camera" hidden=move || step.get() != Step::Camera>
                <video node_ref=video class="camera" autoplay=true playsinline=true muted=true aria-label="Camera preview"></video>
                <div class="actions">
                    <button type="button" class="primary" node_ref=capture_button on:click=take_photo>"Capture photo"</button>
                    <button type="button" on:click=back>"Back"</button>
                </div>
            </div>

            <Show when=move || step.get() == Step::Crop>
                <div class="avatar-crop">
                    <div
                        class="crop-stage"
                        node_ref=stage
                        tabindex="0"
                        role="group"
                        aria-label="Picture position. Drag or use the arrow keys to move, + and - to zoom, R to rotate."
                        aria-describedby="crop-help"
                        on:keydown=on_key
                        on:wheel=on_wheel
                        on:pointerdown=on_pointer_down
                        on:pointermove=on_pointer_move
                        on:pointerup=on_pointer_up
                        on:pointercancel=on_pointer_up
                        on:lostpointercapture=on_pointer_up
                    >
                        <img
                            class="crop-image"
                            src=move || src.get()
                            alt=""
                            draggable="false"
                            on:load=on_image_load
                            on:error=on_image_error
                            style:width=move || natural(0)
                            style:height=move || natural(1)
                            style:transform=move || transform(FRAME)
                        />
                        <div class="crop-frame" aria-hidden="true"></div>
                    </div>
                    <p class="hint" id="crop-help">"The circle shows what others will see."</p>
                    <div class="crop-side">
                        <div class="crop-preview" aria-hidden="true">
                            <img
                                class="crop-image"
                                src=move || src.get()
                                alt=""
                                style:width=move || natural(0)
                                style:height=move || natural(1)
                                style:transform=move || transform(PREVIEW)
                            />
                        </div>
                        <span class="hint">"Preview"</span>
                    </div>
                    <div class="crop-controls">
                        <button type="button" aria-label="Zoom out" on:click=move |_| change(&|v| v.zoom_to(v.zoom / 1.2))>"−"</button>
                        <input
                            type="range"
                            aria-label="Zoom"
                            min="1"
                            step="0.01"
                            max=move || crop_view.get().map(|v| v.max_zoom()).unwrap_or(1.0)
                            prop:value=move || crop_view.get().map(|v| v.zoom).unwrap_or(1.0)
                            on:input=move |ev| {
                                if let Ok(z) = event_target_value(&ev).parse::<f64>() {
                                    change(&|v| v.zoom_to(z));
                                }
                            }
                        />
                        <button type="button" aria-label="Zoom in" on:click=move |_| change(&|v| v.zoom_to(v.zoom * 1.2))>"+"</button>
                        <button type="button" aria-label="Rotate 90 degrees clockwise" on:click=move |_| change(&|v| v.rotate())>"↻ Rotate"</button>
                        <button type="button" on:click=move |_| change(&|v| CropView::new(v.w as u32, v.h as u32))>"Reset"</button>
                    </div>
                    <div class="actions">
                        <button
                            type="button"
                            class="primary"
                            on:click=update
                            disabled=move || busy.get() || crop_view.get().is_none()
                        >
                            {move || if busy.get() { "Updating…" } else { "Update" }}
                        </button>
                        <button type="button" on:click=back>"Back"</button>
                    </div>
                </div>
            </Show>
        </dialog>
    }
    .into_any()
}
