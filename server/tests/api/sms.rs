//! Text messages: a number proves it reaches the person before it gets
//! sign-in codes, and texts are capped per person, per number and in all.

use super::*;

on_both_databases!(
    a_number_gets_sign_in_codes_only_after_a_texted_code_is_typed_back,
    texts_are_capped_per_person_per_number_and_in_all,
);

const SAM: &str = "sam@example.org";
const SAM_PHONE: &str = "+1 415 555 0132";

async fn start(app: &TestApp, cookie: &str) -> Reply {
    app.call("security/start-sms", &[], Some(cookie)).await
}

async fn confirm(app: &TestApp, cookie: &str, code: &str) -> Reply {
    app.call("security/confirm-sms", &[("code", code)], Some(cookie))
        .await
}

fn last_code(app: &TestApp) -> String {
    code_in_text(app.texts().last().expect("a text was sent"))
}

/// A 6-digit code that is not `code`.
fn other_than(code: &str) -> String {
    if code == "000000" { "000001" } else { "000000" }.to_string()
}

async fn a_number_gets_sign_in_codes_only_after_a_texted_code_is_typed_back(app: &TestApp) {
    let cookie = app.sign_up_with_phone(SAM, SAM_PHONE).await;
    let r = start(app, &cookie).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let texts = app.texts();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].starts_with("To: +14155550132\n"), "{}", texts[0]);
    assert!(texts[0].contains("to turn on sign-in by text message"));
    let code = last_code(app);
    let state = mfa_state(app, &cookie).await;
    assert_eq!(
        (state["method"].as_str(), state["sms_pending"].as_str()),
        (Some("email"), Some("•••• 0132")),
        "the current method stays on meanwhile"
    );

    // Malformed and wrong codes are refused under the field; nothing changes.
    let r = confirm(app, &cookie, "12").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.field_error("code").unwrap(),
        "Enter the 6-digit code from the text message."
    );
    let r = confirm(app, &cookie, &other_than(&code)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("code").unwrap(), "That code is not right.");
    assert_eq!(mfa_state(app, &cookie).await["method"], "email");

    // A new code replaces the old one.
    assert_eq!(start(app, &cookie).await.status, StatusCode::OK);
    let newer = last_code(app);
    if newer != code {
        let r = confirm(app, &cookie, &code).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }

    // The number on the profile changed after the code went out: the code
    // proves nothing about the new one.
    let set_phone = |phone: &'static str| async move {
        sqlx::query(r#"UPDATE "user" SET phone = $1 WHERE email = $2"#)
            .bind(phone)
            .bind(SAM)
            .execute(app.backend.pool())
            .await
            .unwrap();
    };
    set_phone("+1 212 555 0100").await;
    let r = confirm(app, &cookie, &newer).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body.contains("changed since the code was sent"),
        "{}",
        r.body
    );
    assert!(mfa_state(app, &cookie).await["sms_pending"].is_null());
    set_phone(SAM_PHONE).await;

    // Five wrong codes end the confirmation; the right one then fails too.
    assert_eq!(start(app, &cookie).await.status, StatusCode::OK);
    let code = last_code(app);
    for _ in 0..5 {
        let r = confirm(app, &cookie, &other_than(&code)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = confirm(app, &cookie, &code).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Send a new one"), "{}", r.body);
    assert_eq!(mfa_state(app, &cookie).await["method"], "email");

    // The right code, in time: texts become the method; other sessions end.
    let elsewhere = app
        .sign_in(SAM, PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    assert_eq!(start(app, &cookie).await.status, StatusCode::OK);
    let r = confirm(app, &cookie, &last_code(app)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let state = mfa_state(app, &cookie).await;
    assert_eq!(state["method"], "sms");
    assert!(state["sms_pending"].is_null());
    assert!(!signed_in(app, &elsewhere).await);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_event WHERE kind = 'mfa.changed' AND detail LIKE 'sms, chosen by you, number confirmed%'"
        )
        .await,
        1
    );
    let r = start(app, &cookie).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "already on");

    // A code left waiting does not outlive the password window: after ten
    // minutes the password is asked for first.
    app.clock.advance(10 * 60);
    let r = start(app, &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json(), "ReauthRequired");
}

async fn texts_are_capped_per_person_per_number_and_in_all(app: &TestApp) {
    let sam = app.sign_up_with_phone(SAM, SAM_PHONE).await;
    // Someone else puts the same number on their profile.
    let sue = app.sign_up_with_phone("sue@example.org", SAM_PHONE).await;

    // Per person: ten texts an hour.
    for n in 0..10 {
        let r = start(app, &sam).await;
        assert_eq!(r.status, StatusCode::OK, "text {n}: {}", r.body);
    }
    let r = start(app, &sam).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // Per number: the number has had its ten, whoever asks.
    let r = start(app, &sue).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(app.texts().len(), 10);

    // An hour later both may text again; Sam turns texts on.
    app.clock.advance(3600);
    // (The sessions idled out meanwhile: both sign in again.)
    let sign_in = |email: &'static str| async move {
        app.sign_in(email, PASSWORD, None)
            .await
            .session_cookie()
            .unwrap()
    };
    let (sam, sue) = (sign_in(SAM).await, sign_in("sue@example.org").await);
    assert_eq!(start(app, &sue).await.status, StatusCode::OK);
    turn_on_sms(app, &sam).await;

    // Sign-in codes count too (Sam has had 2 texts this hour); once the
    // cap is reached the code is mailed instead, so Sam still signs in.
    let mut texted = 0;
    let last = loop {
        let challenge = app
            .sign_in_password(SAM, PASSWORD)
            .await
            .cookie("atrium_signin")
            .unwrap();
        let info = app.challenge_info(&challenge).await.json();
        if info["method"] == "email" {
            break challenge;
        }
        assert_eq!(info["method"], "sms");
        texted += 1;
        assert!(texted <= 8, "texts never capped");
    };
    assert_eq!(texted, 8, "10 an hour to one number, which had 2 already");
    let code = app.sign_in_code(SAM).await;
    let r = app.verify_code(&last, &code, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // In all: SMS_PER_HOUR caps every text together, whoever it is for.
    let capped = app.backend.clone().with_settings(backend::Settings {
        sms_per_hour: 11,
        ..app.backend.settings().clone()
    });
    let sent_this_hour = app.texts().len() - 10;
    assert_eq!(
        sent_this_hour, 10,
        "Sue's, Sam's confirmation and 8 sign-in codes"
    );
    let ann = app
        .sign_up_with_phone("ann@example.org", "+44 20 7946 0958")
        .await;
    let ann_user = backend::user::store::find_by_email(app.backend.pool(), "ann@example.org")
        .await
        .unwrap()
        .unwrap();
    let ann_token = backend::secret::Token::parse(&ann).unwrap();
    capped.start_sms_setup(&ann_user, &ann_token).await.unwrap();
    let refused = capped.start_sms_setup(&ann_user, &ann_token).await;
    assert!(
        matches!(refused, Err(backend::Error::RateLimited { .. })),
        "{refused:?}"
    );
}
