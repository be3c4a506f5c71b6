//! [`ActionForm`]: Leptos's `ActionForm`, lighter in the browser.
//!
//! Leptos's reads the submitted fields into the server function's
//! arguments with `serde_qs`, whose parser of nested fields
//! (`a[b][0]=…`) every page then carries. Atrium's forms post flat fields
//! only, so this one reads them with `serde_urlencoded`. Otherwise it works
//! as Leptos's does: a real `<form>` posting to the server function's URL
//! (it works before the WASM loads, and without JavaScript), which, once
//! hydrated, dispatches the action instead, with the pressed button's name
//! and value among the fields. Unlike Leptos's, it sets no redirect hook of
//! its own: the console's router and `SignInApp` set it, and a form drawn
//! outside them would not follow a server function's redirect.

use leptos::ev::SubmitEvent;
use leptos::html::Form;
use leptos::prelude::*;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Http, ServerFn};
use serde::de::DeserializeOwned;

/// A form that runs `action` with its fields (see the module's text).
#[component]
pub fn ActionForm<S, O>(
    action: ServerAction<S>,
    /// Where to keep the `<form>` element.
    #[prop(optional)]
    node_ref: Option<NodeRef<Form>>,
    children: Children,
) -> impl IntoView
where
    S: ServerFn<Protocol = Http<crate::wire::Form, O>>
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    // Only this part depends on the function: the rest is one copy for
    // every form in the bundle.
    let submit = move |fields: Result<String, String>| match fields
        .and_then(|f| serde_urlencoded::from_str::<S>(&f).map_err(|e| e.to_string()))
    {
        Ok(input) => {
            action.dispatch(input);
        }
        Err(message) => {
            action.value().set(Some(Err(S::Error::from_server_fn_error(
                ServerFnErrorErr::Serialization(message),
            ))));
            action.version().update(|n| *n += 1);
        }
    };
    form(
        S::url(),
        node_ref.unwrap_or_default(),
        children,
        Box::new(submit),
    )
}

/// The `<form>` of an [`ActionForm`]: a submission is handed to `submit`
/// as its URL-encoded fields (or why they could not be read).
fn form(
    url: &'static str,
    node_ref: NodeRef<Form>,
    children: Children,
    submit: Box<dyn Fn(Result<String, String>)>,
) -> impl IntoView {
    let on_submit = move |ev: SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        ev.prevent_default();
        submit(crate::dom::submitted_fields(&ev));
    };
    view! {
        <form action=url method="post" on:submit=on_submit node_ref=node_ref>
            {children()}
        </form>
    }
}
