//! The camera step: a live preview and "Capture photo".

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::{Editor, Step};

/// Opens the camera and moves the focus to "Capture photo"; a refusal
/// goes back to choosing, saying why.
pub(super) fn start_camera(editor: Editor) {
    editor.error.set(None);
    editor.step.set(Step::Camera);
    let capture_button = editor.capture_button;
    request_animation_frame(move || {
        if let Some(b) = capture_button.get_untracked() {
            let _ = b.focus();
        }
    });
    spawn_local(async move {
        let Some(v) = editor.video.get_untracked() else {
            return;
        };
        if let Err(m) = super::super::browser::start_camera(&v).await {
            editor.camera_ok.set(false);
            editor.camera_note.set(Some(m.clone()));
            editor.error.set(Some(m));
            editor.step.set(Step::Choose);
        }
    });
}

#[component]
pub(super) fn CameraStep(editor: Editor) -> impl IntoView {
    let take_photo = move |_| {
        spawn_local(async move {
            let Some(v) = editor.video.get_untracked() else {
                return;
            };
            match super::super::browser::capture(&v).await {
                Ok(url) => editor.show_picture(url, None),
                Err(m) => editor.error.set(Some(m)),
            }
        });
    };
    view! {
        <div class="avatar-camera" hidden=move || editor.step.get() != Step::Camera>
            <video node_ref=editor.video class="camera" autoplay=true playsinline=true muted=true aria-label="Camera preview"></video>
            <div class="actions">
                <button type="button" class="primary" node_ref=editor.capture_button on:click=take_photo>"Capture photo"</button>
                <button type="button" on:click=move |_| editor.back()>"Back"</button>
            </div>
        </div>
    }
}
