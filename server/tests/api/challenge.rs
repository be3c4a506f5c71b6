//! The sign-in challenge (emailed codes, authenticator apps, texts) and
//! changing how a person signs in.

use super::*;

on_both_databases!(
    sign_in_needs_the_emailed_code,
    five_wrong_codes_end_the_sign_in,
    pending_sign_in_expires_after_10_minutes,
    a_new_code_replaces_the_old_one_after_30_seconds,
    wrong_codes_count_towards_sign_in_throttling,
    changing_the_method_needs_the_password_within_10_minutes,
    authenticator_enrolment_sign_in_replay_and_recovery_codes,
    back_to_email_codes_and_the_support_fallback,
    text_messages_only_for_phones_in_allowed_regions,
    an_unfinished_setup_is_finished_at_the_next_sign_in,
);

/// Signs up Ann, signs out, and enters the right password: returns the
/// pending sign-in token and the code mailed for it.
async fn password_step(app: &TestApp) -> (String, String) {
    app.sign_up_ann().await;
    let r = app.sign_in_password("ann@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/login/verify");
    assert!(
        r.session_cookie().is_none(),
        "no session before the second factor"
    );
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("Max-Age=600"),
        "{set}"
    );
    let challenge = r.cookie("atrium_signin").expect("pending sign-in cookie");
    (challenge, app.sign_in_code("ann@example.org").await)
}

async fn sign_in_needs_the_emailed_code(app: &TestApp) {
    let (challenge, code) = password_step(app).await;
    // The pending sign-in is not a session.
    assert_eq!(app.me(&challenge).await, Value::Null);
    let info = app.challenge_info(&challenge).await;
    assert_eq!(info.json()["sent_to"], "a•••@example.org");
    assert_eq!(info.json()["method"], "email");

    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = app.verify_code(&challenge, wrong, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.field_error("code").unwrap(),
        "That code is not right. 4 tries left."
    );
    let r = app.verify_code(&challenge, "12", None).await;
    assert_eq!(r.field_error("code").unwrap(), "Enter the 6-digit code.");

    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let r = app.verify_code(&challenge, &spaced, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/profile");
    let session = r.session_cookie().expect("session after the second factor");
    assert_eq!(app.me(&session).await["first_name"], "Ann");
    assert!(r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("atrium_signin=;")));

    // The code and the pending sign-in are used up.
    let again = app.verify_code(&challenge, &code, None).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(again.json(), "SignInExpired");
    assert_eq!(app.audit_count("mfa.failed").await, 1);
}

async fn five_wrong_codes_end_the_sign_in(app: &TestApp) {
    let (challenge, code) = password_step(app).await;
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for left in (1..=4).rev() {
        let r = app.verify_code(&challenge, wrong, None).await;
        let tries = if left == 1 {
            "1 try".to_string()
        } else {
            format!("{left} tries")
        };
        assert_eq!(
            r.field_error("code").unwrap(),
            format!("That code is not right. {tries} left.")
        );
    }
    let fifth = app.verify_code(&challenge, wrong, None).await;
    assert_eq!(fifth.json(), "SignInExpired");
    let right = app.verify_code(&challenge, &code, None).await;
    assert_eq!(
        right.json(),
        "SignInExpired",
        "even the right code is refused now"
    );
    assert!(right.session_cookie().is_none());
}

async fn pending_sign_in_expires_after_10_minutes(app: &TestApp) {
    let (challenge, code) = password_step(app).await;
    app.clock.advance(10 * 60);
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), "SignInExpired");
    let missing = app.call("auth/verify-code", &[("code", &code)], None).await;
    assert_eq!(missing.json(), "SignInExpired");
}

async fn a_new_code_replaces_the_old_one_after_30_seconds(app: &TestApp) {
    let (challenge, first) = password_step(app).await;
    let cookies = format!("atrium_signin={challenge}");
    let soon = app
        .call_with_cookies("auth/resend-code", &[], Some(&cookies))
        .await;
    assert_eq!(soon.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(30);
    let r = app
        .call_with_cookies("auth/resend-code", &[], Some(&cookies))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = app.sign_in_code("ann@example.org").await;
    if first != second {
        let old = app.verify_code(&challenge, &first, None).await;
        assert_eq!(
            old.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the earlier code stops working"
        );
    }
    assert_eq!(
        app.verify_code(&challenge, &second, None).await.status,
        StatusCode::OK
    );
}

async fn wrong_codes_count_towards_sign_in_throttling(app: &TestApp) {
    let (challenge, code) = password_step(app).await;
    let wrong = if code == "111111" { "111112" } else { "111111" };
    for _ in 0..4 {
        app.verify_code(&challenge, wrong, None).await;
    }
    // A fifth failure, this time a wrong password, earns a delay for the account.
    assert_eq!(
        app.sign_in_password("ann@example.org", "wrong password!")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.sign_in_password("ann@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(2);
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.session_cookie().is_some());
}

async fn changing_the_method_needs_the_password_within_10_minutes(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    assert_eq!(
        mfa_state(app, &cookie).await["password_recent"],
        true,
        "just typed at sign-up"
    );
    app.clock.advance(10 * 60);
    assert_eq!(mfa_state(app, &cookie).await["password_recent"], false);
    let r = app
        .call("security/start-authenticator", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json(), "ReauthRequired");
    // A setup started within the window is not shown after it: its secret
    // is as good as the app.
    let confirm = |password: &'static str| {
        let cookie = cookie.clone();
        async move {
            app.call(
                "security/confirm-password",
                &[("password", password)],
                Some(&cookie),
            )
            .await
        }
    };
    assert_eq!(confirm(PASSWORD).await.status, StatusCode::OK);
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert!(mfa_state(app, &cookie).await["setup"]["key"].is_string());
    app.clock.advance(10 * 60);
    let state = mfa_state(app, &cookie).await;
    assert_eq!(state["password_recent"], false);
    assert!(state["setup"].is_null(), "{state}");
    let wrong = app
        .call(
            "security/confirm-password",
            &[("password", "not it at all")],
            Some(&cookie),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong.field_error("password").unwrap(),
        "That password is not right."
    );
    let right = app
        .call(
            "security/confirm-password",
            &[("password", PASSWORD)],
            Some(&cookie),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("security/mfa", &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn authenticator_enrolment_sign_in_replay_and_recovery_codes(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    let shown = mfa_state(app, &cookie).await;
    // The pending secret stays the same across reloads; email stays active meanwhile.
    let reloaded = mfa_state(app, &cookie).await;
    assert_eq!(shown["setup"]["key"], reloaded["setup"]["key"]);
    // Starting setup again makes a new secret: a key seen before stops working.
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    let first = mfa_state(app, &cookie).await;
    assert_ne!(shown["setup"]["key"], first["setup"]["key"]);
    let again = mfa_state(app, &cookie).await;
    assert_eq!(first["setup"]["key"], again["setup"]["key"]);
    assert_eq!(again["method"], "email");
    assert!(again["setup"]["qr"]
        .as_str()
        .unwrap()
        .starts_with("data:image/svg+xml;base64,"));
    let key = first["setup"]["key"].as_str().unwrap();
    assert_eq!(
        key.split(' ').count(),
        8,
        "32 base32 letters in groups of four: {key}"
    );

    let wrong = app
        .call(
            "security/confirm-authenticator",
            &[("code", "000000")],
            Some(&cookie),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (secret, codes) = enrol_authenticator(app, &cookie).await;
    assert_eq!(codes.len(), 10);
    let state = mfa_state(app, &cookie).await;
    assert_eq!(
        (
            state["method"].as_str(),
            state["recovery_codes_left"].as_i64()
        ),
        (Some("authenticator"), Some(10))
    );
    assert!(state["setup"].is_null());
    assert_eq!(
        app.mails_with_subject("Atrium: your sign-in method was changed")
            .await,
        1
    );

    // Sign-in: no code is mailed; the app's code is asked for.
    app.clock.advance(30);
    let step1 = app.sign_in_password("ann@example.org", PASSWORD).await;
    let challenge = step1.cookie("atrium_signin").unwrap();
    let info = app.challenge_info(&challenge).await;
    assert_eq!(info.json()["method"], "authenticator");
    assert_eq!(app.mails_with_subject("Atrium: your sign-in code").await, 0);
    let code = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.session_cookie().is_some());

    // The same code, again in the same 30 seconds: refused.
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let replay = app.verify_code(&challenge, &code, None).await;
    assert_eq!(replay.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(replay.field_error("code").unwrap().contains("already used"));
    // A recovery code works, once.
    let r = app
        .verify_code(&challenge, &codes[3].to_uppercase(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.audit_count("mfa.recovery_code_used").await, 1);
    assert_eq!(
        app.mails_with_subject("Atrium: a recovery code was used")
            .await,
        1
    );
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    assert_eq!(
        app.verify_code(&challenge, &codes[3], None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The next step's code works.
    app.clock.advance(30);
    let next = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    assert_eq!(
        app.verify_code(&challenge, &next, None).await.status,
        StatusCode::OK
    );
    assert_eq!(mfa_state(app, &cookie).await["recovery_codes_left"], 9);

    // New recovery codes replace the old ones.
    let r = app
        .call("security/regenerate-recovery-codes", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(mfa_state(app, &cookie).await["recovery_codes_left"], 10);
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    assert_eq!(
        app.verify_code(&challenge, &codes[0], None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// A second browser's session for Ann (who signs in with emailed codes).
async fn another_session(app: &TestApp) -> String {
    app.sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .expect("signed in")
}

async fn back_to_email_codes_and_the_support_fallback(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let laptop = another_session(app).await;
    enrol_authenticator(app, &cookie).await;
    // A change of sign-in method ends the other sessions, not this one.
    assert!(!signed_in(app, &laptop).await, "enrolment ends the others");
    assert!(signed_in(app, &cookie).await);
    app.clock.advance(10 * 60);
    assert_eq!(
        app.call("security/use-email", &[], Some(&cookie))
            .await
            .json(),
        "ReauthRequired"
    );
    app.call(
        "security/confirm-password",
        &[("password", PASSWORD)],
        Some(&cookie),
    )
    .await;
    assert_eq!(
        app.call("security/use-email", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(mfa_state(app, &cookie).await["method"], "email");
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_code").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM mfa_authenticator").await, 0);
    let phone = another_session(app).await;
    assert_eq!(
        app.call("security/use-email", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert!(
        !signed_in(app, &phone).await,
        "a switch to codes ends the others"
    );
    assert!(signed_in(app, &cookie).await);

    // Support's fallback for a lost phone: switch to email without the password.
    enrol_authenticator(app, &cookie).await;
    let (user_id,): (i64,) = sqlx::query_as(r#"SELECT id FROM "user""#)
        .fetch_one(app.backend.pool())
        .await
        .unwrap();
    app.backend
        .support_switch_mfa_to_email(user_id, "ticket T-1", &backend::RequestMeta::default())
        .await
        .unwrap();
    // Support's switch ends every session of the person.
    assert!(!signed_in(app, &cookie).await);
    assert_eq!(
        app.mails_with_subject("Atrium: your sign-in method was changed")
            .await,
        5
    );
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "an emailed code signs in again: {}",
        r.body
    );
    let fresh = r.session_cookie().unwrap();
    assert_eq!(mfa_state(app, &fresh).await["method"], "email");
}

async fn text_messages_only_for_phones_in_allowed_regions(app: &TestApp) {
    let us = app
        .sign_up_with_phone("sam@example.org", "+1 415 555 0132")
        .await;
    let de = app
        .sign_up_with_phone("dora@example.org", "+49 30 901820")
        .await;
    let none = app.sign_up_ann().await;
    assert_eq!(mfa_state(app, &us).await["sms_unavailable"], Value::Null);
    assert_eq!(
        mfa_state(app, &de).await["sms_unavailable"],
        "Not available in your area (DE)."
    );
    assert_eq!(
        mfa_state(app, &none).await["sms_unavailable"],
        "No phone number on your profile."
    );
    let refused = app.call("security/start-sms", &[], Some(&de)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.json()["Conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("(DE)"));

    assert!(app.texts().is_empty(), "nothing texted to a refused number");
    turn_on_sms(app, &us).await;
    assert_eq!(mfa_state(app, &us).await["method"], "sms");

    // Sign-in: the code is texted, not mailed.
    let challenge = app
        .sign_in_password("sam@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let info = app.challenge_info(&challenge).await.json();
    assert_eq!(
        (info["method"].as_str(), info["sent_to"].as_str()),
        (Some("sms"), Some("•••• 0132"))
    );
    let texts = app.texts();
    assert_eq!(texts.len(), 2, "the confirmation, then the sign-in code");
    assert!(texts[1].starts_with("To: +14155550132\n"), "{}", texts[1]);
    assert!(texts[1].contains("sign-in code"), "{}", texts[1]);
    let code = code_in_text(&texts[1]);
    assert_eq!(app.mails_with_subject("Atrium: your sign-in code").await, 0);
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.session_cookie().is_some());
}

/// A stand-in for a Twilio-compatible Messages API on a local port: records
/// each request and answers with the given status.
async fn fake_sms_provider(
    status: StatusCode,
) -> (String, Arc<std::sync::Mutex<Vec<(String, String, String)>>>) {
    use axum::routing::post;
    let seen: Arc<std::sync::Mutex<Vec<(String, String, String)>>> = Default::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        post(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
                let record = record.clone();
                async move {
                    let auth = headers
                        .get(header::AUTHORIZATION)
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default();
                    record
                        .lock()
                        .unwrap()
                        .push((uri.path().to_string(), auth, body));
                    (status, "{\"sid\":\"SM1\"}")
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn sms_provider_is_called_like_twilio() {
    use base64::Engine;
    let (base, seen) = fake_sms_provider(StatusCode::CREATED).await;
    let sender = backend::sms::SmsSender::http(&base, "AC123", "tok-secret", "+15005550006");
    sender
        .send("+14155550132", "Atrium sign-in code: 123456")
        .await
        .unwrap();
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let (path, auth, body) = &calls[0];
    assert_eq!(path, "/2010-04-01/Accounts/AC123/Messages.json");
    let expected = base64::engine::general_purpose::STANDARD.encode("AC123:tok-secret");
    assert_eq!(auth, &format!("Basic {expected}"));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        form,
        vec![
            ("To".to_string(), "+14155550132".to_string()),
            ("From".to_string(), "+15005550006".to_string()),
            (
                "Body".to_string(),
                "Atrium sign-in code: 123456".to_string()
            ),
        ]
    );

    let (failing, _) = fake_sms_provider(StatusCode::INTERNAL_SERVER_ERROR).await;
    let sender = backend::sms::SmsSender::http(&failing, "AC123", "tok-secret", "+15005550006");
    assert!(sender.send("+14155550132", "x").await.is_err());
}

async fn an_unfinished_setup_is_finished_at_the_next_sign_in(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    let key = mfa_state(app, &cookie).await["setup"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = TotpSecret::from_base32(&key).unwrap();

    // The next sign-in still needs the current method (an email code): the
    // pending secret is never shown to someone who has only the password.
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let info = app.challenge_info(&challenge).await;
    assert_eq!(info.json()["method"], "email");
    assert!(
        !info.body.contains(&key.replace(' ', "")),
        "no secret before the second factor"
    );
    let pending_code = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    assert_eq!(
        app.verify_code(&challenge, &pending_code, None)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the unfinished app's code is no second factor"
    );

    // Then it leads straight to the setup, with the same key, ready to finish.
    let code = app.sign_in_code("ann@example.org").await;
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/profile/security?finish_setup=1"
    );
    let session = r.session_cookie().unwrap();
    let state = mfa_state(app, &session).await;
    assert_eq!(state["setup"]["key"].as_str(), Some(key.as_str()));
    assert_eq!(
        state["password_recent"], true,
        "the password was just typed"
    );
    assert_eq!(state["method"], "email");
    app.clock.advance(30);
    let code = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    let r = app
        .call(
            "security/confirm-authenticator",
            &[("code", &code)],
            Some(&session),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(mfa_state(app, &session).await["method"], "authenticator");
}
