//! Resetting a forgotten password: the link, its lifetime, its limits.

use super::*;

on_both_databases!(
    reset_link_sets_a_new_password_once,
    reset_link_expires_after_30_minutes_and_is_superseded,
    reset_signs_out_every_other_session,
    forgot_password_answers_alike_for_unknown_addresses,
    reset_requests_are_rate_limited,
    security_tab_sends_the_link_to_the_signed_in_person,
    dashboard_lists_recent_security_events,
);

const NEW_PASSWORD: &str = "quiet harbour lantern 7";

/// The status lines after a reset link is sent show only a clock time from
/// the address, never other words put there by whoever made the link.
#[tokio::test]
async fn a_sent_time_in_the_address_is_shown_only_when_it_is_a_time() {
    let app = TestApp::sqlite().await;
    let page = |path: &str| {
        let path = path.to_string();
        let app = &app;
        async move {
            let res = app
                .send(Request::get(path.as_str()).body(Body::empty()).unwrap())
                .await;
            // Without Leptos's markers between text nodes.
            Reply::from(res).await.body.replace("<!>", "")
        }
    };
    let shown = page("/forgot-password?sent=00:30+UTC").await;
    assert!(
        shown.contains("expires in 30 minutes (at 00:30 UTC)"),
        "{shown}"
    );
    let forged = page("/forgot-password?sent=00:30+UTC.+Call+555-0100+to+keep+your+account").await;
    assert!(!forged.contains("555-0100"), "{forged}");
    assert!(
        forged.contains("The link expires in 30 minutes."),
        "{forged}"
    );

    let cookie = app.sign_up_ann().await;
    let security = |query: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            let req = Request::get(format!("/profile/security?reset_sent={query}"))
                .header(header::COOKIE, format!("atrium_session={cookie}"))
                .body(Body::empty())
                .unwrap();
            Reply::from(app.send(req).await)
                .await
                .body
                .replace("<!>", "")
        }
    };
    let shown = security("00:30+UTC").await;
    assert!(shown.contains("at 00:30 UTC"), "{shown}");
    let forged = security("00:30+UTC.+Call+555-0100").await;
    assert!(!forged.contains("555-0100"), "{forged}");
    assert!(forged.contains("in 30 minutes"), "{forged}");
    app.finish().await;
}

async fn reset_link_sets_a_new_password_once(app: &TestApp) {
    app.sign_up_ann().await;
    let r = app.forgot("Ann@Example.org").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/forgot-password?sent=00:30+UTC"
    );
    assert_eq!(
        app.mails_with_subject("Atrium: reset your password").await,
        1
    );
    let token = app.reset_token("ann@example.org").await;
    assert_eq!(
        app.call("auth/check-reset-link", &[("token", &token)], None)
            .await
            .status,
        StatusCode::OK
    );

    // The new password follows the password rules; a refusal does not use the link up.
    let weak = app.reset(&token, "password", None).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.field_error("password").unwrap().contains("breached"));

    let r = app.reset(&token, NEW_PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/login?password=changed"
    );
    assert_eq!(
        app.sign_in("ann@example.org", PASSWORD, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in("ann@example.org", NEW_PASSWORD, None)
            .await
            .status,
        StatusCode::OK
    );

    let again = app.reset(&token, "another fine passphrase", None).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert_eq!(again.json()["Link"]["issue"], "Used");
    assert_eq!(
        app.mails_with_subject("Atrium: your password was changed")
            .await,
        1
    );
    assert_eq!(app.audit_count("password.reset_link_sent").await, 1);
    assert_eq!(app.audit_count("password.changed").await, 1);
}

async fn reset_link_expires_after_30_minutes_and_is_superseded(app: &TestApp) {
    app.sign_up_ann().await;
    app.forgot("ann@example.org").await;
    let first = app.reset_token("ann@example.org").await;
    app.clock.advance(60);
    app.forgot("ann@example.org").await;
    let second = app.reset_token("ann@example.org").await;
    assert_ne!(first, second);
    // Sending a new link voids the earlier one.
    assert_eq!(
        app.reset(&first, NEW_PASSWORD, None).await.status,
        StatusCode::NOT_FOUND
    );

    app.clock.advance(30 * 60 - 1);
    let check = app
        .call("auth/check-reset-link", &[("token", &second)], None)
        .await;
    assert_eq!(
        check.status,
        StatusCode::OK,
        "29:59 after sending it still works"
    );
    app.clock.advance(2);
    let late = app.reset(&second, NEW_PASSWORD, None).await;
    assert_eq!(late.status, StatusCode::GONE, "30:01 after sending");
    assert_eq!(late.json()["Link"]["issue"], "Expired");
    assert_eq!(
        app.sign_in("ann@example.org", PASSWORD, None).await.status,
        StatusCode::OK
    );
}

async fn reset_signs_out_every_other_session(app: &TestApp) {
    let laptop = app.sign_up_ann().await;
    let phone = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    let tablet = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    app.forgot("ann@example.org").await;
    let token = app.reset_token("ann@example.org").await;
    // Reset from the tablet: the tablet stays signed in, the others end.
    // Someone who got past the old password is waiting at the second step.
    let pending = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let pending_code = app.sign_in_code("ann@example.org").await;
    let r = app.reset(&token, NEW_PASSWORD, Some(&tablet)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.verify_code(&pending, &pending_code, None).await.json(),
        "SignInExpired"
    );
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/profile/security?password=changed"
    );
    assert_eq!(app.me(&laptop).await, Value::Null);
    assert_eq!(app.me(&phone).await, Value::Null);
    assert_eq!(app.me(&tablet).await["first_name"], "Ann");
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 1);
}

async fn forgot_password_answers_alike_for_unknown_addresses(app: &TestApp) {
    app.sign_up_ann().await;
    let mails_before = app.mails().await.len();
    let known = app.forgot("ann@example.org").await;
    let unknown = app.forgot("nobody@example.org").await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body, unknown.body);
    assert_eq!(
        known.headers.get(header::LOCATION),
        unknown.headers.get(header::LOCATION)
    );
    assert_eq!(
        app.mails().await.len(),
        mails_before + 1,
        "only the known address gets mail"
    );
    assert_eq!(
        app.audit_count("password.reset_requested_unknown_email")
            .await,
        1
    );
    let bad = app.forgot("not an email").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn reset_requests_are_rate_limited(app: &TestApp) {
    app.sign_up_ann().await;
    for _ in 0..3 {
        assert_eq!(app.forgot("ann@example.org").await.status, StatusCode::OK);
    }
    let r = app.forgot("ANN@example.org").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.json()["RateLimited"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            <= 15 * 60
    );
    // The same limit applies to unknown addresses, so it tells nothing either.
    for _ in 0..3 {
        app.forgot("nobody@example.org").await;
    }
    assert_eq!(
        app.forgot("nobody@example.org").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Per IP: 10 per 15 minutes, across addresses (3 + 3 + 1 + 1 used so far).
    for i in 0..2 {
        assert_eq!(
            app.forgot(&format!("x{i}@example.org")).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.forgot("x9@example.org").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(15 * 60);
    assert_eq!(app.forgot("ann@example.org").await.status, StatusCode::OK);
}

async fn security_tab_sends_the_link_to_the_signed_in_person(app: &TestApp) {
    assert_eq!(
        app.call("security/send-reset-link", &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let cookie = app.sign_up_ann().await;
    let r = app
        .call("security/send-reset-link", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/profile/security?reset_sent=00:30+UTC"
    );
    assert_eq!(app.reset_token("ann@example.org").await.len(), 43);
}

async fn dashboard_lists_recent_security_events(app: &TestApp) {
    assert_eq!(
        app.call("security/events", &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let cookie = app.sign_up_ann().await;
    for _ in 0..12 {
        app.clock.advance(1);
        app.sign_in("ann@example.org", "wrong password!", None)
            .await;
        app.clock.advance(1);
        app.sign_in("ann@example.org", PASSWORD, None).await;
    }
    let events = app.call("security/events", &[], Some(&cookie)).await.json();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 10);
    assert_eq!(events[0]["what"], "Signed in");
    assert_eq!(events[1]["what"], "Sign-in code sent");
    assert_eq!(events[2]["what"], "Failed sign-in attempt");
    assert_eq!(events[0]["ip"], "203.0.113.7");
    assert_eq!(events[0]["browser"], "Unknown browser");
    assert!(events[0]["when"]
        .as_str()
        .unwrap()
        .starts_with("27 November 2026, 00:00 UTC"));
}
