//! A section whose data comes from the server, drawn the same way on every
//! page: "Loading…" while it is on its way, the error alert when it cannot
//! come, and the section itself once it is there.

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ErrorAlert, Loading};
use crate::load::Data;

/// Draws `children` with the resource's value once it has come.
#[component]
pub fn Loaded<T, F, V>(
    resource: Data<T>,
    children: F,
    /// Keep showing the last answer while a new one loads (a list fetched
    /// again after an action) instead of "Loading…".
    #[prop(optional)]
    keep_while_reloading: bool,
    /// The loading text's class: `muted` inline, `loading` for a whole page.
    #[prop(default = "muted")]
    loading_class: &'static str,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let body = move || {
        let children = children.clone();
        Suspend::new(async move {
            match resource.await {
                Ok(value) => children(value).into_any(),
                Err(e) => view! { <ErrorAlert error=e/> }.into_any(),
            }
        })
    };
    let fallback = move || view! { <Loading class=loading_class/> };
    if keep_while_reloading {
        view! { <Transition fallback>{body}</Transition> }.into_any()
    } else {
        view! { <Suspense fallback>{body}</Suspense> }.into_any()
    }
}
