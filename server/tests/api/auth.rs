//! Signing up, signing in and out, sessions, throttling, the HTTP guards
//! and the mail links.

use super::*;

on_both_databases!(
    sign_up_signs_in_and_mails_a_verification_link,
    duplicate_email_is_refused_in_any_letter_case,
    bad_sign_up_input_names_each_field_and_writes_nothing,
    verification_link_works_once_and_expires,
    sign_in_rotates_the_session_id,
    sign_out_invalidates_the_session,
    sessions_end_after_idle_timeout_and_absolute_lifetime,
    repeated_failures_are_throttled_then_recover,
    parallel_guesses_get_no_more_than_the_allowance,
    someone_elses_failures_do_not_keep_the_owner_out,
    unknown_email_is_indistinguishable_from_wrong_password,
    calls_without_a_valid_session_are_refused,
    resending_the_verification_mail_is_rate_limited,
    http_guards_and_headers,
    sign_ups_are_limited_per_network,
    an_unreachable_database_answers_503_everywhere,
    a_mail_link_opened_confirms_nothing_until_its_button_is_pressed,
);

async fn sign_up_signs_in_and_mails_a_verification_link(app: &TestApp) {
    let r = app
        .sign_up("Zoë", "O'Brien", "Zoe@Example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/profile");
    let cookie = r.session_cookie().expect("session cookie");
    let set_cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/")
    );
    assert!(!set_cookie.contains("Secure"), "plain-HTTP public URL");

    let me = app.me(&cookie).await;
    assert_eq!(me["first_name"], "Zoë");
    assert_eq!(me["last_name"], "O'Brien");
    assert_eq!(me["email"], "Zoe@Example.org");
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["member_since"], "27 November 2026");
    assert!(
        !me.to_string().contains("argon2"),
        "no hash on the wire: {me}"
    );

    let mails = app.mails().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Subject: Atrium: confirm your email address"));
    assert_eq!(app.verification_token("Zoe@Example.org").await.len(), 43);
    assert_eq!(app.audit_count("user.signed_up").await, 1);
    let (ip, ua): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT ip, user_agent FROM audit_event WHERE kind = 'user.signed_up'")
            .fetch_one(app.backend.pool())
            .await
            .unwrap();
    assert_eq!(
        (ip.as_deref(), ua.as_deref()),
        (Some("203.0.113.7"), Some("atrium-tests"))
    );
    // The session row holds a hash of the cookie's token, never the token.
    let stored: Vec<(String,)> = sqlx::query_as("SELECT id_hash FROM session")
        .fetch_all(app.backend.pool())
        .await
        .unwrap();
    let token = backend::secret::Token::parse(&cookie).expect("a 43-character token");
    assert_eq!(stored, vec![(token.hash(),)], "one session, stored hashed");
    assert_ne!(token.hash(), cookie);
}

async fn duplicate_email_is_refused_in_any_letter_case(app: &TestApp) {
    assert_eq!(
        app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .sign_up("Ann", "Other", "ANN@Example.ORG", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("email").unwrap().contains("already exists"));
    assert!(r.session_cookie().is_none());
    assert_eq!(app.count(r#"SELECT COUNT(*) FROM "user""#).await, 1);
    assert_eq!(app.mails().await.len(), 1);
}

async fn bad_sign_up_input_names_each_field_and_writes_nothing(app: &TestApp) {
    let long = "x".repeat(10_000);
    let cases: Vec<(&str, &str, &str, &str, &str, &str)> = vec![
        // (first, last, email, password, field, message part)
        (
            "",
            "Lee",
            "a@example.org",
            PASSWORD,
            "first_name",
            "Enter your first name",
        ),
        (
            "Ann",
            &long,
            "a@example.org",
            PASSWORD,
            "last_name",
            "at most 100",
        ),
        (
            "Ann\u{1b}[31m",
            "Lee",
            "a@example.org",
            PASSWORD,
            "first_name",
            "control",
        ),
        (
            "Ann",
            "Lee",
            "not-an-email",
            PASSWORD,
            "email",
            "like name@example.com",
        ),
        (
            "Ann",
            "Lee",
            "a@example.org",
            "short",
            "password",
            "at least 8",
        ),
        (
            "Ann",
            "Lee",
            "a@example.org",
            &long,
            "password",
            "at most 128",
        ),
        (
            "Ann",
            "Lee",
            "a@example.org",
            "iloveyou",
            "password",
            "breached",
        ),
    ];
    for (first, last, email, password, field, part) in cases {
        let r = app.sign_up(first, last, email, password).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        let msg = r
            .field_error(field)
            .unwrap_or_else(|| panic!("no error on {field}: {}", r.body));
        assert!(msg.contains(part), "{field}: {msg}");
    }
    // All problems at once.
    let r = app.sign_up(" ", " ", "x", "1").await;
    for field in ["first_name", "last_name", "email", "password"] {
        assert!(r.field_error(field).is_some(), "{field}");
    }
    assert_eq!(app.count(r#"SELECT COUNT(*) FROM "user""#).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 0);
    assert!(app.mails().await.is_empty());
}

async fn verification_link_works_once_and_expires(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let token = app.verification_token("ann@example.org").await;

    let r = app
        .call("auth/verify-email", &[("token", &token)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json(), "ann@example.org");
    assert_eq!(app.me(&cookie).await["email_verified"], true);

    let again = app
        .call("auth/verify-email", &[("token", &token)], None)
        .await;
    assert_eq!(again.status, StatusCode::GONE);
    assert_eq!(again.json()["Link"]["issue"], "Used");

    let bogus = app
        .call("auth/verify-email", &[("token", "nope")], None)
        .await;
    assert_eq!(bogus.status, StatusCode::NOT_FOUND);

    // A second person's link, opened after 24 hours.
    app.sign_up("Bo", "Ng", "bo@example.org", PASSWORD).await;
    let late = app.verification_token("bo@example.org").await;
    app.clock.advance(24 * 3600);
    let r = app
        .call("auth/verify-email", &[("token", &late)], None)
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.json()["Link"]["issue"], "Expired");
    let (verified,): (Option<i64>,) = sqlx::query_as(
        r#"SELECT email_verified_at FROM "user" WHERE email_normalized = 'bo@example.org'"#,
    )
    .fetch_one(app.backend.pool())
    .await
    .unwrap();
    assert_eq!(verified, None);
}

async fn sign_in_rotates_the_session_id(app: &TestApp) {
    let first = app.sign_up_ann().await;
    let r = app.sign_in("ANN@example.org", PASSWORD, Some(&first)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = r.session_cookie().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.me(&first).await,
        Value::Null,
        "the old id no longer works"
    );
    assert_eq!(app.me(&second).await["first_name"], "Ann");
    assert_eq!(app.audit_count("session.signed_in").await, 2);
}

async fn sign_out_invalidates_the_session(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let r = app.call("auth/logout", &[], Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/login");
    let cleared = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cleared.starts_with("atrium_session=;") && cleared.contains("Max-Age=0"));
    assert_eq!(app.me(&cookie).await, Value::Null);
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 0);
    assert_eq!(app.audit_count("session.signed_out").await, 1);
}

async fn sessions_end_after_idle_timeout_and_absolute_lifetime(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    // Active every 29 minutes: the idle timeout (30 min) never fires...
    for _ in 0..10 {
        app.clock.advance(29 * 60);
        assert_eq!(app.me(&cookie).await["first_name"], "Ann");
    }
    // ... but 30 idle minutes do.
    app.clock.advance(30 * 60);
    assert_eq!(app.me(&cookie).await, Value::Null);

    let cookie = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    for _ in 0..24 {
        app.clock.advance(29 * 60);
        assert_eq!(app.me(&cookie).await["first_name"], "Ann");
    }
    // 12 hours after sign-in the session ends however active it was.
    app.clock.advance(25 * 60);
    assert_eq!(app.me(&cookie).await, Value::Null);
}

async fn repeated_failures_are_throttled_then_recover(app: &TestApp) {
    app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD).await;
    for i in 1..=4 {
        let r = app
            .sign_in("ann@example.org", "wrong password!", None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The 5th failure earns a delay; during it even the right password waits.
    assert_eq!(
        app.sign_in("ann@example.org", "wrong password!", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "2");
    assert!(
        r.json()["RateLimited"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            == 2
    );
    assert!(r.session_cookie().is_none());

    // Another failure after the wait doubles it.
    app.clock.advance(2);
    assert_eq!(
        app.sign_in("ann@example.org", "wrong password!", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "4");

    // Never a lockout: once the delay has passed the right password works.
    app.clock.advance(4);
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.audit_count("session.sign_in_failed").await, 6);
    assert!(app.audit_count("session.sign_in_throttled").await >= 2);
    // The counters are rows in the database, shared by every instance.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sign_in_throttle WHERE key = 'ip:203.0.113.7'")
            .await,
        1
    );
}

/// 60 wrong passwords at once for one account from one fresh address: each
/// attempt is claimed before the hash, so only the free allowance is checked.
async fn parallel_guesses_get_no_more_than_the_allowance(app: &TestApp) {
    app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD).await;
    let burst = (0..60)
        .map(|_| app.sign_in_from("198.51.100.60", None, "ann@example.org", "wrong password!"));
    let replies = futures_util::future::join_all(burst).await;
    let checked = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let slowed = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked, 5, "only the allowance is checked");
    assert_eq!(slowed, 55);
    assert_eq!(app.audit_count("session.sign_in_failed").await, 5);
    // The counter agrees: five failures, not sixty.
    assert_eq!(
        app.count(
            "SELECT failures FROM sign_in_throttle WHERE key = 'account-net:ann@example.org|198.51.100.60'"
        )
        .await,
        5
    );
}

/// Wrong guesses from elsewhere never refuse the owner's right password from
/// a browser that signed in to the account before, nor from another network.
async fn someone_elses_failures_do_not_keep_the_owner_out(app: &TestApp) {
    app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD).await;
    app.sign_up("Bob", "Roe", "bob@example.org", PASSWORD).await;
    // Ann's laptop signs in once and keeps a device cookie.
    let first = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let device = first.cookie("atrium_device").expect("a device cookie");
    let set = first
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("atrium_device="))
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("Max-Age=31536000"),
        "{set}"
    );
    let laptop = format!("atrium_device={device}");
    // Bob's browser is known to Bob, not to Ann.
    let bobs = app.sign_in("bob@example.org", PASSWORD, None).await;
    let bobs = format!("atrium_device={}", bobs.cookie("atrium_device").unwrap());

    // An attacker at 192.0.2.66 guesses until slowed down.
    let attacker = "192.0.2.66";
    for _ in 0..5 {
        let r = app
            .sign_in_from(attacker, None, "ann@example.org", "guess guess")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .sign_in_from(attacker, None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's network is slowed"
    );
    // Bob's device cookie does not make that network Ann's.
    let r = app
        .sign_in_from(attacker, Some(&bobs), "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // Ann, on the same network even, with her laptop: let in.
    let r = app
        .sign_in_from(attacker, Some(&laptop), "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // From another network, without the cookie (a new phone): let in too.
    let r = app
        .sign_in_from("198.51.100.20", None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // An IPv6 subscriber's /64 counts as one network.
    for i in 0..5 {
        let ip = format!("2001:db8:aa:bb::{i:x}");
        let r = app
            .sign_in_from(&ip, None, "ann@example.org", "guess guess")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .sign_in_from("2001:db8:aa:bb:ffff::1", None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = app
        .sign_in_from("2001:db8:aa:bc::1", None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Guessing spread over many networks meets the account-wide allowance
    // (50); even then the laptop gets in.
    for n in 0..10 {
        for _ in 0..5 {
            let ip = format!("192.0.2.{}", 100 + n);
            app.sign_in_from(&ip, None, "ann@example.org", "guess guess")
                .await;
        }
    }
    let r = app
        .sign_in_from("198.51.100.21", None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let r = app
        .sign_in_from("198.51.100.21", Some(&laptop), "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The laptop's own wrong guesses slow only the laptop.
    for _ in 0..5 {
        let r = app
            .sign_in_from(
                "198.51.100.21",
                Some(&laptop),
                "ann@example.org",
                "typo typo",
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .sign_in_from("198.51.100.21", Some(&laptop), "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Only the hash of the device token is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM known_device WHERE id_hash = '{device}'"
        ))
        .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM known_device").await, 2);

    // A token planted in a browser never becomes the person's: signing in
    // with one (never seen, or Bob's) hands out a new token.
    // (The codes mailed for the first steps above were never used.)
    let unused = app.mails().await;
    app.seen_mails.lock().unwrap().extend(unused);
    let planted = backend::secret::Token::generate();
    let bobs_token = bobs.trim_start_matches("atrium_device=").to_string();
    for held in [planted.expose().to_string(), bobs_token.clone()] {
        app.clock.advance(RESET_WAIT);
        let first = app.sign_in_password("ann@example.org", PASSWORD).await;
        let challenge = first.cookie("atrium_signin").expect("a pending sign-in");
        let code = app.sign_in_code("ann@example.org").await;
        let r = app
            .call_with_cookies(
                "auth/verify-code",
                &[("code", &code)],
                Some(&format!("atrium_signin={challenge}; atrium_device={held}")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let given = r.cookie("atrium_device").unwrap();
        assert_ne!(given, held);
        assert_ne!(given, device);
    }
    // Ann's laptop signing in again keeps its token.
    let first = app.sign_in_password("ann@example.org", PASSWORD).await;
    let challenge = first.cookie("atrium_signin").unwrap();
    let code = app.sign_in_code("ann@example.org").await;
    let r = app
        .call_with_cookies(
            "auth/verify-code",
            &[("code", &code)],
            Some(&format!("atrium_signin={challenge}; {laptop}")),
        )
        .await;
    assert_eq!(r.cookie("atrium_device").unwrap(), device);
}

/// Long enough for every counter of the test above to start again.
const RESET_WAIT: i64 = backend::auth::throttle::RESET_AFTER_SECS;

async fn unknown_email_is_indistinguishable_from_wrong_password(app: &TestApp) {
    app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD).await;
    let wrong = app
        .sign_in("ann@example.org", "wrong password!", None)
        .await;
    let unknown = app
        .sign_in("nobody@example.org", "wrong password!", None)
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!(wrong.json(), "InvalidCredentials");
    // Throttling treats unknown addresses the same way too.
    for _ in 0..4 {
        app.sign_in("nobody@example.org", "wrong password!", None)
            .await;
    }
    assert_eq!(
        app.sign_in("nobody@example.org", "x", None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn calls_without_a_valid_session_are_refused(app: &TestApp) {
    let r = app.call("auth/resend-verification", &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), "Unauthorized");
    let cookie = app.sign_up_ann().await;
    let mut tampered = cookie.clone();
    tampered.replace_range(0..1, if cookie.starts_with('A') { "B" } else { "A" });
    for bad in [tampered.as_str(), "garbage", "", &format!("{cookie}x")] {
        assert_eq!(app.me(bad).await, Value::Null, "{bad}");
        assert_eq!(
            app.call("auth/resend-verification", &[], Some(bad))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let page = app
        .send(Request::get("/profile").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers().get(header::LOCATION).unwrap(), "/login");
    let page = app
        .send(
            Request::get("/profile/security")
                .header(header::COOKIE, format!("atrium_session={tampered}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

async fn resending_the_verification_mail_is_rate_limited(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let first = app.verification_token("ann@example.org").await;
    let mut newest = first.clone();
    for _ in 0..3 {
        let r = app
            .call("auth/resend-verification", &[], Some(&cookie))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        newest = app.verification_token("ann@example.org").await;
    }
    let r = app
        .call("auth/resend-verification", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.mails().await.len(), 4);
    // Only the newest link works.
    assert_eq!(
        app.call("auth/verify-email", &[("token", &first)], None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call("auth/verify-email", &[("token", &newest)], None)
            .await
            .status,
        StatusCode::OK
    );
    app.clock.advance(15 * 60);
    let r = app
        .call("auth/resend-verification", &[], Some(&cookie))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "already confirmed: {}",
        r.body
    );
}

async fn http_guards_and_headers(app: &TestApp) {
    let health = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(Reply::from(health).await.json()["database"], "ok");

    let cross = app
        .send(
            Request::post("/api/auth/login")
                .header(header::ORIGIN, "https://evil.example")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("email=a%40b.org&password=x"))
                .unwrap(),
        )
        .await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    let get = app
        .send(Request::get("/api/session/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);

    let huge = "a".repeat(100 * 1024);
    let big = app
        .send(
            Request::post("/api/auth/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, huge.len() + 6)
                .body(Body::from(format!("email={huge}")))
                .unwrap(),
        )
        .await;
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let login = app
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let h = login.headers();
    let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("'nonce-")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("referrer-policy").unwrap(), "same-origin");
    assert_eq!(h.get("cross-origin-opener-policy").unwrap(), "same-origin");
    assert!(h.get("x-request-id").is_some());
    let verify = app
        .send(
            Request::get("/verify-email?token=x")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        verify.headers().get("referrer-policy").unwrap(),
        "no-referrer"
    );

    // A plain form post (no JavaScript) is answered with a redirect back that carries the error.
    let location = app
        .post_form_without_javascript(
            "/api/auth/login",
            "http://127.0.0.1:3000/login",
            "email=a%40b.org&password=wrong",
        )
        .await;
    assert!(
        location.starts_with("http://127.0.0.1:3000/login?__path=") && location.contains("__err="),
        "{location}"
    );
}

/// New users per network per hour (`SIGN_UPS_PER_HOUR`, here 3): input that
/// is refused anyway does not count, another network has its own count, and
/// the window passes.
async fn sign_ups_are_limited_per_network(app: &TestApp) {
    use backend::auth::service::SignUp;
    use backend::secret::Password;
    let backend = app.backend.clone().with_settings(backend::Settings {
        sign_ups_per_hour: 3,
        ..app.backend.settings().clone()
    });
    let from = |ip: &str| backend::RequestMeta {
        ip: Some(ip.to_string()),
        ..Default::default()
    };
    let form = |n: &str, password: &str| SignUp {
        first_name: "Sam".into(),
        last_name: "Script".into(),
        email: format!("sam{n}@example.org"),
        phone: String::new(),
        password: Password::new(password),
        invitation: None,
    };
    let script = from("198.51.100.9");
    // A refused form is not a sign-up.
    for n in 0..5 {
        let r = backend
            .sign_up(form(&format!("bad{n}"), "short"), &script)
            .await;
        assert!(matches!(r, Err(backend::Error::Validation(_))), "{r:?}");
    }
    for n in 0..3 {
        backend
            .sign_up(form(&n.to_string(), PASSWORD), &script)
            .await
            .unwrap();
    }
    let r = backend.sign_up(form("3", PASSWORD), &script).await;
    assert!(
        matches!(r, Err(backend::Error::RateLimited { .. })),
        "{r:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM \"user\" WHERE email LIKE 'sam%'")
            .await,
        3
    );
    // An IPv6 /64 is one network; another /64 is another.
    let v6 = |host: &str| from(&format!("2001:db8:5:6::{host}"));
    for n in 0..3 {
        backend
            .sign_up(form(&format!("v6-{n}"), PASSWORD), &v6(&format!("{n}")))
            .await
            .unwrap();
    }
    assert!(backend
        .sign_up(form("v6-3", PASSWORD), &v6("ff"))
        .await
        .is_err());
    backend
        .sign_up(form("v6-other", PASSWORD), &from("2001:db8:5:7::1"))
        .await
        .unwrap();
    // An hour later the network may sign up again.
    app.clock.advance(3600);
    backend.sign_up(form("3", PASSWORD), &script).await.unwrap();
}

/// A mail scanner opens links: the verification page then names the address
/// and offers a button, and only the button's POST confirms. Without
/// JavaScript the outcome comes back to the page once, in a flash cookie.
async fn a_mail_link_opened_confirms_nothing_until_its_button_is_pressed(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let token = app.verification_token("ann@example.org").await;
    let open = |cookies: Option<String>, path: String| async move {
        let mut req = Request::get(path);
        if let Some(c) = cookies {
            req = req.header(header::COOKIE, c);
        }
        Reply::from(app.send(req.body(Body::empty()).unwrap()).await).await
    };
    for _ in 0..3 {
        let page = open(None, format!("/verify-email?token={token}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Confirm email address"), "{}", page.body);
        assert!(page.body.contains("ann@example.org"), "{}", page.body);
    }
    assert_eq!(app.me(&cookie).await["email_verified"], false);
    assert_eq!(app.audit_count("email.verified").await, 0);

    // The button, without JavaScript: a form post, answered with the page.
    let press = || async {
        Reply::from(
            app.send(
                Request::post("/api/auth/verify-email")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "text/html")
                    .header(header::ORIGIN, "http://127.0.0.1:3000")
                    .body(Body::from(format!("token={token}")))
                    .unwrap(),
            )
            .await,
        )
        .await
    };
    let r = press().await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/verify-email");
    let flash = r.cookie("atrium_flash").expect("the outcome for the page");
    assert_eq!(app.me(&cookie).await["email_verified"], true);
    let page = open(
        Some(format!("atrium_flash={flash}")),
        "/verify-email".into(),
    )
    .await;
    assert!(page.body.contains("ann@example.org"), "{}", page.body);
    assert!(page.body.contains("is confirmed"), "{}", page.body);
    // Read once: the page clears it.
    assert!(page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("atrium_flash=;")));

    // Opened again, the link says it was used; pressed again, so does the outcome.
    let page = open(None, format!("/verify-email?token={token}")).await;
    assert!(page.body.contains("already been used"), "{}", page.body);
    assert!(
        !page.body.contains("Confirm email address"),
        "{}",
        page.body
    );
    let r = press().await;
    let flash = r.cookie("atrium_flash").unwrap();
    let page = open(
        Some(format!("atrium_flash={flash}")),
        "/verify-email".into(),
    )
    .await;
    assert!(page.body.contains("already been used"), "{}", page.body);
}

/// With the database out of reach (here: its pool closed), a page, a
/// server function and the avatar endpoint each answer 503 with a message
/// for the person, never 500 and never as if nobody were signed in: the
/// session is resolved once per request, and a failed look-up is not taken
/// for "signed out".
async fn an_unreachable_database_answers_503_everywhere(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    app.backend.pool().close().await;
    let get = |path: &str| {
        Request::get(path)
            .header(header::COOKIE, format!("atrium_session={cookie}"))
            .body(Body::empty())
            .unwrap()
    };

    let page = Reply::from(app.send(get("/profile")).await).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(
        page.body.contains("cannot reach its database"),
        "{}",
        page.body
    );

    let me = app.call("session/me", &[], Some(&cookie)).await;
    assert_eq!(me.status, StatusCode::SERVICE_UNAVAILABLE, "{}", me.body);
    // The app's error as server functions send it: the page says
    // AppError::Unavailable's message.
    assert_eq!(me.json(), Value::from("Unavailable"), "{}", me.body);

    let original = Reply::from(app.send(get("/api/avatar/original")).await).await;
    assert_eq!(
        original.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        original.body
    );
    // The same contract as server functions: the AppError, as JSON.
    assert_eq!(
        original.json(),
        Value::from("Unavailable"),
        "{}",
        original.body
    );
}
