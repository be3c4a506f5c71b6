//! Small shared widgets: labelled fields with their errors (`Field`),
//! sections whose data comes from the server (`Loaded`), form alerts, and
//! what pages do with server actions (`actions`).

mod actions;
mod field;
mod form;
mod loaded;

pub use actions::{error_sentence, last_input, on_success, report_errors};
pub use field::{Control, Field, Input};
pub use form::ActionForm;
pub use loaded::Loaded;

use leptos::prelude::*;

use crate::error::AppError;

/// The error of the last submission of a form, as a signal.
pub type LastError = Signal<Option<AppError>>;

/// The error in an action's latest result, if any.
pub fn last_error<T, S>(value: S) -> LastError
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(|r| r.err()))
}

/// A form-level error that is not about one field, announced to screen readers.
#[component]
pub fn FormError(#[prop(into)] error: LastError) -> impl IntoView {
    let text = move || error.get().map(|e: AppError| e.to_string());
    view! {
        <Show when=move || text().is_some()>
            <div class="alert alert-error" role="alert">{text}</div>
        </Show>
    }
}

/// A page-level error (an expired link, an ended sign-in) with the one action
/// that gets the person going again.
#[component]
pub fn ErrorCard(error: AppError, href: &'static str, action: &'static str) -> impl IntoView {
    view! {
        <div class="card">
            <ErrorAlert error=error/>
            <p><a class="button primary" href=href>{action}</a></p>
        </div>
    }
}

/// Once a page has read the token in its URL (it is in the page now), the
/// address bar shows `path` alone: the token stays out of history,
/// bookmarks and screenshots.
pub fn forget_token_in_address_bar(path: &'static str) {
    Effect::new(move |_| crate::dom::replace_address(path));
}

/// A single-use link from a mail, as its page sees it before acting: the
/// address it would confirm (`Ready`), or, after a confirmation posted
/// without JavaScript, the address it confirmed (`Done`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LinkState {
    Ready(String),
    Done(String),
}

/// A refusal or failure said in one alert line, as every page says them.
#[component]
pub fn ErrorAlert(error: AppError) -> impl IntoView {
    view! { <p role="alert" class="alert alert-error">{error.to_string()}</p> }
}

/// What shows while a section's data is on its way: muted text inline, or
/// centred for a whole page (`class="loading"`).
#[component]
pub fn Loading(#[prop(default = "muted")] class: &'static str) -> impl IntoView {
    view! { <p class=class>"Loading…"</p> }
}
