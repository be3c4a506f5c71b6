//! "Where you're signed in" on the Security tab: every live session with its
//! browser, system, IP, times and platforms; sign one out, or all but this.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::ui::{last_error, ActionForm, FormError, Loaded};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub id: String,
    pub browser: String,
    pub system: String,
    pub ip: Option<String>,
    /// e.g. "3 December 2026 at 09:41 UTC"
    pub signed_in: String,
    pub last_active: String,
    pub platforms: Vec<String>,
    pub current: bool,
}

#[server(endpoint = "security/devices", input = crate::wire::Form)]
pub async fn devices() -> Result<Vec<DeviceView>, AppError> {
    use crate::ssr::*;
    use backend::clock::{to_clock_time, to_long_date};
    let backend = backend()?;
    let (user, token) = require_session().await?;
    let when = |t: i64| format!("{} at {}", to_long_date(t), to_clock_time(t));
    Ok(backend
        .devices(&user, &token)
        .await
        .map_err(to_app_error)?
        .into_iter()
        .map(|d| DeviceView {
            signed_in: when(d.signed_in_at),
            last_active: when(d.last_active_at),
            id: d.id,
            browser: d.browser,
            system: d.system,
            ip: d.ip,
            platforms: d.platforms,
            current: d.current,
        })
        .collect())
}

/// Signs out one other device (by the id the list shows).
#[server(endpoint = "security/sign-out-device", input = crate::wire::Form)]
pub async fn sign_out_device(id: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    backend
        .sign_out_device(&user, &token, id.trim(), &request_meta())
        .await
        .map_err(to_app_error)
}

/// Signs out every device but this one.
#[server(endpoint = "security/sign-out-other-devices", input = crate::wire::Form)]
pub async fn sign_out_other_devices() -> Result<usize, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    backend
        .sign_out_other_devices(&user, &token, &request_meta())
        .await
        .map_err(to_app_error)
}

#[component]
pub fn Devices() -> impl IntoView {
    let one = ServerAction::<SignOutDevice>::new();
    let others = ServerAction::<SignOutOtherDevices>::new();
    let one_error = last_error(one.value());
    let others_error = last_error(others.value());
    let list = crate::load::blocking(
        move || (one.version().get(), others.version().get()),
        |_| devices(),
    );
    view! {
        <section class="card" aria-labelledby="devices-title">
            <h2 id="devices-title">"Where you're signed in"</h2>
            <p class="note">"Signing a device out here also signs it out of the platforms it opened with Atrium."</p>
            <FormError error=one_error/>
            <FormError error=others_error/>
            <Loaded resource=list let:devices>
                {
                            let several = devices.len() > 1;
                            view! {
                                <ul class="devices">
                                    {devices.into_iter().map(|d| device_item(d, one)).collect_view()}
                                </ul>
                                {several.then(|| view! {
                                    <ActionForm action=others>
                                        <button type="submit" disabled=move || others.pending().get()>"Sign out everywhere else"</button>
                                    </ActionForm>
                                })}
                            }
                }
            </Loaded>
        </section>
    }
}

fn device_item(d: DeviceView, one: ServerAction<SignOutDevice>) -> impl IntoView {
    let label = format!("{} on {}", d.browser, d.system);
    let button_label = format!("Sign out {label}");
    // Each line is one string: adjacent text nodes would merge in the
    // server's HTML and no longer match what hydration expects.
    let times = format!(
        "{}Signed in {} · Last active {}",
        d.ip.map(|ip| format!("{ip} · ")).unwrap_or_default(),
        d.signed_in,
        d.last_active
    );
    let platforms =
        (!d.platforms.is_empty()).then(|| format!("Signed in to {}", d.platforms.join(", ")));
    view! {
        <li class="device">
            <p>
                <strong>{label}</strong>
                {d.current.then(|| view! { <span class="badge">"This device"</span> })}
            </p>
            <p class="muted">{times}</p>
            {platforms.map(|p| view! { <p class="muted">{p}</p> })}
            {(!d.current).then(|| view! {
                <ActionForm action=one>
                    <input type="hidden" name="id" value=d.id/>
                    <button type="submit" class="link" aria-label=button_label>"Sign out"</button>
                </ActionForm>
            })}
        </li>
    }
}
