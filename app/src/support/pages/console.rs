//! `/support`: the console's search and the open requests. Its pages only
//! make the server's answers readable: every console function refuses
//! (403) anyone without the Support role, whatever the page shows.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::frame::use_me;
use crate::support::api::{
    search_users, support_requests, CloseSupportRequest, RequestItem, UserHit,
};
use crate::ui::{last_error, ActionForm, FormError, Loaded};

/// Shown instead of the console to people without the Support role.
#[component]
pub(super) fn NotStaff() -> impl IntoView {
    view! {
        <div class="card">
            <h2>"This console is for Global Technical Support staff"</h2>
            <p role="alert" class="alert alert-error">
                "Your profile does not have the Support role, so the console shows nobody's details."
            </p>
            <p>"If you need help with your own profile, send a request to Global Technical Support."</p>
            <p class="actions">
                <a class="button primary" href="/support/contact">"Contact Global Technical Support"</a>
                <a class="button" href="/profile">"Back to My Profile"</a>
            </p>
        </div>
    }
}

/// `/support`: find a person, and the open support requests.
#[component]
pub fn SupportConsole() -> impl IntoView {
    let me = use_me();
    let is_support = Memo::new(move |_| me.with(|m| m.is_support));
    view! {
        <div class="support">
            <h1>"Global Technical Support"</h1>
            {move || {
                if is_support.get() {
                    view! {
                        <UserSearch/>
                        <OpenRequests/>
                    }
                        .into_any()
                } else {
                    view! { <NotStaff/> }.into_any()
                }
            }}
        </div>
    }
}

/// A GET form: the search lives in the address (`/support?query=ann`), so it
/// survives a reload and works without JavaScript.
#[component]
fn UserSearch() -> impl IntoView {
    let query = use_query_map();
    let typed = move || query.with(|q| q.get("query").unwrap_or_default());
    let hits = crate::load::blocking(typed, |q| async move {
        if q.is_empty() {
            Ok(None)
        } else {
            search_users(q).await.map(Some)
        }
    });
    view! {
        <section class="card" aria-labelledby="find-person">
            <h2 id="find-person">"Find a person"</h2>
            <Form method="GET" action="/support" attr:class="search-form" attr:role="search">
                <div class="field">
                    <label for="field-query">"Email or name"</label>
                    <input
                        id="field-query"
                        name="query"
                        type="search"
                        value=typed
                        autocomplete="off"
                        aria-describedby="field-query-error"
                    />
                </div>
                <button type="submit" class="primary">"Search"</button>
            </Form>
            <Transition fallback=|| view! { <p class="muted">"Searching…"</p> }>
                {move || Suspend::new(async move {
                    match hits.await {
                        Ok(None) => ().into_any(),
                        Ok(Some(list)) => search_results(list, typed()).into_any(),
                        Err(e) => view! {
                            <p id="field-query-error" role="alert" class="alert alert-error">
                                {e.field("query").unwrap_or_else(|| e.to_string())}
                            </p>
                        }
                            .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn search_results(list: Vec<UserHit>, query: String) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p role="status" class="muted">{format!("Nobody's email or name contains “{query}”.")}</p>
        }
        .into_any();
    }
    view! {
        <ul class="hits" aria-label="People found">
            {list
                .into_iter()
                .map(|h| {
                    view! {
                        <li>
                            <a href=format!("/support/users/{}", h.id)>{h.name}</a>
                            " "
                            <span class="muted">{h.email}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// Open requests, oldest first, each with its person and a Close button.
#[component]
fn OpenRequests() -> impl IntoView {
    let close = ServerAction::<CloseSupportRequest>::new();
    let error = last_error(close.value());
    let requests = crate::load::blocking(move || close.version().get(), |_| support_requests());
    view! {
        <section class="card" aria-labelledby="open-requests">
            <h2 id="open-requests">"Open requests"</h2>
            <FormError error=error/>
            <Loaded resource=requests keep_while_reloading=true let:list>
                {if list.is_empty() {
                    view! { <p class="muted">"No open requests."</p> }.into_any()
                } else {
                    requests_table(list, close).into_any()
                }}
            </Loaded>
        </section>
    }
}

fn requests_table(
    list: Vec<RequestItem>,
    close: ServerAction<CloseSupportRequest>,
) -> impl IntoView {
    view! {
        <table class="events requests">
            <thead>
                <tr>
                    <th scope="col">"Request"</th>
                    <th scope="col">"Who"</th>
                    <th scope="col">"Topic"</th>
                    <th scope="col">"Message"</th>
                    <th scope="col">"Filed"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|r| {
                        view! {
                            <tr>
                                <th scope="row">{format!("#{}", r.id)}</th>
                                <td>
                                    {match r.user_id {
                                        Some(id) => view! { <a href=format!("/support/users/{id}")>{r.name}</a> }.into_any(),
                                        None => view! { <span>{r.name}</span> }.into_any(),
                                    }}
                                    <br/>
                                    <span class="muted">{r.email}</span>
                                    {r.signed_out.then(|| view! {
                                        <br/>
                                        <span class="badge badge-warn" title="The address was typed into the form, not proved by signing in: whoever sent this may not own it.">"Sent signed out"</span>
                                    })}
                                </td>
                                <td>{r.topic}</td>
                                <td class="message">{r.message}</td>
                                <td>{r.filed}</td>
                                <td>
                                    <ActionForm action=close>
                                        <input type="hidden" name="ticket_id" value=r.id/>
                                        <button
                                            type="submit"
                                            aria-label=format!("Close request #{}", r.id)
                                            disabled=move || close.pending().get()
                                        >
                                            "Close"
                                        </button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
