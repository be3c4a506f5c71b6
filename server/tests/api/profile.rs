//! The Profile tab: names and phone, versions and checks.

use super::*;

on_both_databases!(
    profile_edits_are_checked_saved_and_audited,
    a_save_from_a_stale_version_is_refused,
    a_phone_that_receives_sign_in_codes_cannot_be_changed,
);

async fn update_profile(
    app: &TestApp,
    cookie: &str,
    fields: &[(&str, &str)],
    version: i64,
) -> Reply {
    let version = version.to_string();
    let mut form = fields.to_vec();
    form.push(("version", &version));
    app.call("profile/update", &form, Some(cookie)).await
}

async fn profile_edits_are_checked_saved_and_audited(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let v = app.me(&cookie).await["version"].as_i64().unwrap();

    // Live feedback names the problem and saves nothing.
    let r = app
        .call(
            "profile/check",
            &[
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("phone", "04444 444444"),
                ("country", "GB"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["errors"][0]["field"], "phone");
    assert_eq!(
        r.json()["errors"][0]["message"],
        "This is not a valid number for United Kingdom."
    );
    let r = app
        .call(
            "profile/check",
            &[
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("phone", "07400 123456"),
                ("country", "GB"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(r.json()["phone_formatted"], "+44 7400 123456");

    // Every bad field is reported together, and nothing is written.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "  "),
            ("last_name", "Lee\u{200B}"),
            ("phone", "12"),
            ("country", "GB"),
        ],
        v,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.field_error("first_name").unwrap(),
        "Enter your first name."
    );
    assert!(r.field_error("last_name").unwrap().contains("invisible"));
    assert_eq!(
        r.field_error("phone").unwrap(),
        "This phone number is too short."
    );
    let me = app.me(&cookie).await;
    assert_eq!(
        (me["first_name"].as_str(), me["version"].as_i64()),
        (Some("Ann"), Some(v))
    );

    // A national number with its country is stored in E.164; names in any script.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", " Zoë "),
            ("last_name", "Ñúñez-李"),
            ("phone", "07400 123456"),
            ("country", "GB"),
        ],
        v,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let saved = r.json();
    assert_eq!(saved["first_name"], "Zoë");
    assert_eq!(saved["last_name"], "Ñúñez-李");
    assert_eq!(saved["phone"], "+447400123456");
    assert_eq!(saved["phone_display"], "+44 7400 123456");
    assert_eq!(saved["version"].as_i64(), Some(v + 1));
    assert_eq!(app.audit_count("profile.updated").await, 1);
    let (detail,): (String,) =
        sqlx::query_as("SELECT detail FROM audit_event WHERE kind = 'profile.updated'")
            .fetch_one(app.backend.pool())
            .await
            .unwrap();
    assert_eq!(detail, "first name, last name, phone");

    // Saving the same values again changes nothing and writes no event.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Zoë"),
            ("last_name", "Ñúñez-李"),
            ("phone", "+44 7400 123456"),
            ("country", "US"),
        ],
        v + 1,
    )
    .await;
    assert_eq!(r.json()["version"].as_i64(), Some(v + 1));
    assert_eq!(app.audit_count("profile.updated").await, 1);

    // Markup in a name is text everywhere it is rendered.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "<img src=x onerror=alert(1)>"),
            ("last_name", "Lee"),
            ("phone", ""),
            ("country", "GB"),
        ],
        v + 1,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["phone"], Value::Null);
    for page in ["/profile", "/profile/details"] {
        let res = app
            .send(
                Request::get(page)
                    .header(header::COOKIE, format!("atrium_session={cookie}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let html = Reply::from(res).await.body;
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{page}"
        );
        assert!(!html.contains("<img src=x"), "{page}");
    }

    // Without a session nothing is saved.
    let r = app
        .call(
            "profile/update",
            &[("first_name", "X"), ("last_name", "Y"), ("version", "1")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn a_save_from_a_stale_version_is_refused(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let v = app.me(&cookie).await["version"].as_i64().unwrap();
    // Two tabs opened at version v; the first saves.
    let first = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Annie"),
            ("last_name", "Lee"),
            ("phone", ""),
            ("country", "GB"),
        ],
        v,
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Anna"),
            ("last_name", "Lee"),
            ("phone", ""),
            ("country", "GB"),
        ],
        v,
    )
    .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    assert!(second.json()["Conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("changed in another tab"));
    let me = app.me(&cookie).await;
    assert_eq!(me["first_name"], "Annie");
    assert_eq!(me["version"].as_i64(), Some(v + 1));
    assert_eq!(app.audit_count("profile.updated").await, 1);
}

async fn a_phone_that_receives_sign_in_codes_cannot_be_changed(app: &TestApp) {
    let cookie = app
        .sign_up_with_phone("sam@example.org", "+1 415 555 2671")
        .await;
    sqlx::query(r#"UPDATE "user" SET mfa_method = 'sms'"#)
        .execute(app.backend.pool())
        .await
        .unwrap();
    let v = app.me(&cookie).await["version"].as_i64().unwrap();
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Sam"),
            ("last_name", "Ray"),
            ("phone", "+1 415 555 0199"),
            ("country", "US"),
        ],
        v,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.field_error("phone").unwrap().contains("Security tab"));
    // The names may still change while the number stays.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Samuel"),
            ("last_name", "Ray"),
            ("phone", "(415) 555-2671"),
            ("country", "US"),
        ],
        v,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["first_name"], "Samuel");
}
