//! The crop step: the picture under a round frame, moved by pointer, keys
//! or wheel, zoomed and turned; a preview at top-bar size; Update sends the
//! original with the crop.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::super::geometry::CropView;
use super::state::{Editor, Step};

/// Width of the crop frame and of the top-bar preview, in CSS pixels.
const FRAME: f64 = 256.0;
const PREVIEW: f64 = 40.0;
/// How far one arrow key press moves the picture, in screen pixels.
const KEY_STEP: f64 = 10.0;

#[component]
pub(super) fn CropStep(editor: Editor) -> impl IntoView {
    let Editor {
        me,
        stage,
        step,
        src,
        crop_view,
        error,
        busy,
        pointers,
        ..
    } = editor;
    let change = move |f: &dyn Fn(CropView) -> CropView| editor.change(f);

    let update = move |_| {
        let Some(v) = crop_view.get_untracked() else {
            return;
        };
        let crop = v.crop();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match super::super::browser::upload(crop).await {
                Ok(hash) => {
                    me.update(|m| {
                        m.avatar.hash = Some(hash);
                        m.avatar.crop = Some((crop.x, crop.y, crop.size, crop.rotation));
                    });
                    editor.finish("Your new picture is saved.");
                }
                Err(m) => {
                    busy.set(false);
                    error.set(Some(format!("{m} Your previous picture is unchanged.")));
                }
            }
        });
    };

    let on_image_load = move |ev: leptos::ev::Event| {
        let (w, h) = super::super::browser::natural_size(&ev);
        if w.min(h) < super::super::geometry::MIN_CROP as u32 {
            error.set(Some(super::super::limits::too_small(w, h)));
            step.set(Step::Choose);
            return;
        }
        let view = match editor.reopen.get_untracked() {
            Some(c) => CropView::from_crop(w, h, c),
            None => CropView::new(w, h),
        };
        crop_view.set(Some(view));
        request_animation_frame(move || {
            if let Some(el) = stage.get_untracked() {
                let _ = el.focus();
            }
        });
    };
    let on_image_error = move |_| {
        error.set(Some(
            "This file could not be read as a picture. Choose a JPEG, PNG, WebP or GIF image."
                .into(),
        ));
        step.set(Step::Choose);
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
        super::super::browser::capture_pointer(&ev);
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

    view! {
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
                    <button type="button" on:click=move |_| editor.back()>"Back"</button>
                </div>
            </div>
        </Show>
    }
}
