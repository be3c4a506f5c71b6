//! The "Edit avatar" button and its dialog: three ways to add a picture
//! (file, camera, generated initials), removal, and the crop-frame editor.
//!
//! Only the button is in the page's own code. The dialog (the editor, its
//! geometry and the browser glue for files, camera and upload) is loaded the
//! first time the button is pressed: under `cargo leptos build --split` it
//! is its own WASM chunk, and it is never rendered on the server, so there is
//! nothing of it to hydrate.

mod camera;
mod choose;
mod crop;
mod state;

use leptos::prelude::*;
use leptos::task::spawn_local;

use camera::CameraStep;
use choose::ChooseStep;
use crop::CropStep;
use state::{Editor, Step};

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

/// The dialog's code, fetched on first use. Not lazy in the sign-in bundle,
/// which has no lazy code and never shows the dialog (`sign_in_bundle`).
#[cfg_attr(not(feature = "signin"), lazy)]
async fn avatar_dialog(
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
    let editor = Editor::new(announce);
    let Editor {
        dialog,
        heading,
        step,
        error,
        camera_note,
        camera_ok,
        ..
    } = editor;

    // The camera and the picture's object URL are let go of when the dialog
    // closes and when the page leaves (browser Back with the dialog open).
    on_cleanup(|| {
        super::browser::stop_camera();
        super::browser::forget();
    });
    let open = move || {
        error.set(None);
        announce.set(None);
        step.set(Step::Choose);
        if let Some(d) = dialog.get_untracked() {
            let _ = d.show_modal();
        }
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

    // A picture dropped anywhere on the dialog, or pasted while choosing,
    // is taken.
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if let Some(picked) = super::browser::pick_from_drop(&ev) {
            choose::show_picked(editor, picked);
        }
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        if step.get_untracked() == Step::Choose {
            if let Some(picked) = super::browser::pick_from_paste(&ev) {
                ev.prevent_default();
                choose::show_picked(editor, picked);
            }
        }
    };

    view! {
        <dialog
            node_ref=dialog
            class="avatar-dialog"
            aria-labelledby="avatar-dialog-title"
            on:close=move |_| {
                editor.cleanup();
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
                <button type="button" class="link" aria-label="Close" on:click=move |_| editor.close()>"✕"</button>
            </div>
            <Show when=move || error.get().is_some()>
                <p role="alert" class="alert alert-error">{move || error.get()}</p>
            </Show>
            <ChooseStep editor/>
            <CameraStep editor/>
            <CropStep editor/>
        </dialog>
    }
    .into_any()
}
