//! The editor's state, shared by the dialog and its three steps: which step
//! shows, the picture and its crop, the camera's availability, what is
//! being sent, and the elements focus moves to. All signals and node
//! references, so it is `Copy` and every handler can hold it.

use leptos::prelude::*;

use super::super::geometry::{Crop, CropView};
use crate::frame::{use_me, MeSignal};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Choose,
    Camera,
    Crop,
}

#[derive(Clone, Copy)]
pub(super) struct Editor {
    pub me: MeSignal,
    /// The status line beside the "Edit avatar" button.
    pub announce: RwSignal<Option<String>>,
    pub dialog: NodeRef<leptos::html::Dialog>,
    pub heading: NodeRef<leptos::html::H2>,
    pub video: NodeRef<leptos::html::Video>,
    pub capture_button: NodeRef<leptos::html::Button>,
    pub stage: NodeRef<leptos::html::Div>,
    pub step: RwSignal<Step>,
    /// The picture being framed (an object URL).
    pub src: RwSignal<Option<String>>,
    pub crop_view: RwSignal<Option<CropView>>,
    /// The crop to reopen the current picture with.
    pub reopen: RwSignal<Option<Crop>>,
    pub error: RwSignal<Option<String>>,
    pub busy: RwSignal<bool>,
    /// Why the camera cannot be offered, when it cannot.
    pub camera_note: RwSignal<Option<String>>,
    pub camera_ok: RwSignal<bool>,
    /// The colour chosen for initials.
    pub color: RwSignal<String>,
    /// Pointers down on the crop stage: (id, x, y).
    pub pointers: StoredValue<Vec<(i32, f64, f64)>>,
}

impl Editor {
    pub fn new(announce: RwSignal<Option<String>>) -> Self {
        let me = use_me();
        let color = me
            .with_untracked(|m| m.avatar.color.clone())
            .unwrap_or_else(|| "slate".into());
        Editor {
            me,
            announce,
            dialog: NodeRef::new(),
            heading: NodeRef::new(),
            video: NodeRef::new(),
            capture_button: NodeRef::new(),
            stage: NodeRef::new(),
            step: RwSignal::new(Step::Choose),
            src: RwSignal::new(None),
            crop_view: RwSignal::new(None),
            reopen: RwSignal::new(None),
            error: RwSignal::new(None),
            busy: RwSignal::new(false),
            camera_note: RwSignal::new(None),
            camera_ok: RwSignal::new(false),
            color: RwSignal::new(color),
            pointers: StoredValue::new(Vec::new()),
        }
    }

    /// Lets go of the camera and the picture, back to the first step.
    pub fn cleanup(self) {
        super::super::browser::stop_camera();
        super::super::browser::forget();
        self.pointers.set_value(Vec::new());
        self.src.set(None);
        self.crop_view.set(None);
        self.reopen.set(None);
        self.busy.set(false);
        self.step.set(Step::Choose);
    }

    pub fn close(self) {
        self.cleanup();
        if let Some(d) = self.dialog.get_untracked() {
            d.close();
        }
    }

    /// Says what was done beside the button, and closes.
    pub fn finish(self, message: &str) {
        self.announce.set(Some(message.to_string()));
        self.close();
    }

    /// Focus follows the step, so keyboard and screen reader users land in it.
    pub fn focus_heading(self) {
        let heading = self.heading;
        request_animation_frame(move || {
            if let Some(h) = heading.get_untracked() {
                let _ = h.focus();
            }
        })
    }

    /// Frames `url`, reopened with `reopen` when it is the current picture.
    pub fn show_picture(self, url: String, reopen: Option<Crop>) {
        self.error.set(None);
        self.reopen.set(reopen);
        self.crop_view.set(None);
        self.src.set(Some(url));
        self.step.set(Step::Crop);
    }

    /// Back to choosing, from the camera or the crop.
    pub fn back(self) {
        super::super::browser::stop_camera();
        self.error.set(None);
        self.step.set(Step::Choose);
        self.focus_heading();
    }

    /// Changes the crop, if a picture is being framed.
    pub fn change(self, f: &dyn Fn(CropView) -> CropView) {
        self.crop_view.update(|v| {
            if let Some(cur) = v {
                *cur = f(*cur);
            }
        })
    }
}
