//! Secrets at rest: authenticator secrets sealed under SECRET_KEY_FILE,
//! plain ones from before sealing sealed at the next start, key rotation;
//! recovery codes of 99 bits, with the short ones from before still
//! working and flagged.

use sha2::Digest;

use super::*;

on_both_databases!(
    authenticator_secrets_are_sealed_at_rest_and_follow_key_rotation,
    short_recovery_codes_from_before_still_work_and_are_flagged,
);

async fn stored_secret(app: &TestApp) -> String {
    let (secret,): (String,) = sqlx::query_as(
        r#"SELECT a.secret FROM mfa_authenticator a JOIN "user" u ON u.id = a.user_id
           WHERE u.email = 'ann@example.org'"#,
    )
    .fetch_one(app.backend.pool())
    .await
    .unwrap();
    secret
}

/// Signs ann in with the app's current code; the status of the second step.
async fn sign_in_with_app(app: &TestApp, secret: &TotpSecret) -> StatusCode {
    app.clock.advance(30);
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let code = totp::code_at(secret, 6, app.clock.now()).unwrap();
    app.verify_code(&challenge, &code, None).await.status
}

/// A second backend on the same database and key file, as a restart makes.
async fn restart(app: &TestApp) -> Backend {
    let config = test_config(app._dir.path(), &app.database_url, "http://127.0.0.1:3000");
    build_backend(&config, app.clock.clone()).await.unwrap()
}

async fn authenticator_secrets_are_sealed_at_rest_and_follow_key_rotation(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let (secret, _) = enrol_authenticator(app, &cookie).await;
    let plain = secret.to_base32();

    // Sealed, under the key file's only key; the database alone gives
    // nothing away.
    let stored = stored_secret(app).await;
    let first_key = app.backend.secret_key_ids()[0].clone();
    assert!(stored.starts_with(&format!("s1.{first_key}.")), "{stored}");
    assert!(!stored.contains(&plain));
    assert_eq!(sign_in_with_app(app, &secret).await, StatusCode::OK);

    // A row from before sealing (plain text) still signs in, and the next
    // start seals it.
    sqlx::query("UPDATE mfa_authenticator SET secret = $1")
        .bind(&plain)
        .execute(app.backend.pool())
        .await
        .unwrap();
    assert_eq!(sign_in_with_app(app, &secret).await, StatusCode::OK);
    restart(app).await;
    let resealed = stored_secret(app).await;
    assert!(
        resealed.starts_with(&format!("s1.{first_key}.")),
        "{resealed}"
    );
    assert_ne!(resealed, stored, "a fresh nonce");
    assert_eq!(sign_in_with_app(app, &secret).await, StatusCode::OK);

    // Rotation (what `server secret-key rotate` runs): a new key seals the
    // secret, the old key leaves the file, and the running server, which
    // has not seen the rotation, reads the new key from the file.
    let other = restart(app).await;
    let (new_key, retired) = other.rotate_secret_key().await.unwrap();
    assert_eq!(retired, vec![first_key.clone()]);
    let rotated = stored_secret(app).await;
    assert!(rotated.starts_with(&format!("s1.{new_key}.")), "{rotated}");
    let file = std::fs::read_to_string(app.key_file()).unwrap();
    assert!(
        file.contains(&new_key) && !file.contains(&first_key),
        "{file}"
    );
    assert_eq!(sign_in_with_app(app, &secret).await, StatusCode::OK);
    assert_eq!(app.backend.secret_key_ids(), vec![new_key]);

    // A sealed value moved into another person's row does not open there:
    // the second step fails loudly instead of taking any code.
    let cookie_bo = app
        .sign_up("Bo", "Lind", "bo@example.org", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    enrol_authenticator(app, &cookie_bo).await;
    sqlx::query(
        r#"UPDATE mfa_authenticator SET secret = $1
           WHERE user_id = (SELECT id FROM "user" WHERE email = 'bo@example.org')"#,
    )
    .bind(&rotated)
    .execute(app.backend.pool())
    .await
    .unwrap();
    app.clock.advance(30);
    let challenge = app
        .sign_in_password("bo@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let code = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert!(!r.body.contains(&plain));
}

async fn short_recovery_codes_from_before_still_work_and_are_flagged(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let (_, codes) = enrol_authenticator(app, &cookie).await;
    for code in &codes {
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!((groups.len(), groups[0].len()), (4, 5), "{code}");
    }
    let state = mfa_state(app, &cookie).await;
    assert_eq!(state["recovery_codes_short"], false);

    // A code made before codes had 20 letters: stored as the SHA-256 of its
    // letters, 49 bits (the migration's default).
    let old = "abcde-fgh23";
    sqlx::query(
        r#"INSERT INTO recovery_code (user_id, code_hash, created_at)
           SELECT id, $1, $2 FROM "user" WHERE email = 'ann@example.org'"#,
    )
    .bind(hex::encode(sha2::Sha256::digest(b"abcdefgh23")))
    .bind(START)
    .execute(app.backend.pool())
    .await
    .unwrap();
    let state = mfa_state(app, &cookie).await;
    assert_eq!(state["recovery_codes_short"], true, "{state}");
    assert_eq!(state["recovery_codes_left"], 11);

    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let r = app.verify_code(&challenge, old, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(mfa_state(app, &cookie).await["recovery_codes_short"], false);

    // New codes replace every old one, short ones included.
    sqlx::query(
        r#"INSERT INTO recovery_code (user_id, code_hash, created_at)
           SELECT id, 'x', $1 FROM "user" WHERE email = 'ann@example.org'"#,
    )
    .bind(START)
    .execute(app.backend.pool())
    .await
    .unwrap();
    assert_eq!(mfa_state(app, &cookie).await["recovery_codes_short"], true);
    let r = app
        .call("security/regenerate-recovery-codes", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let state = mfa_state(app, &cookie).await;
    assert_eq!(
        (
            state["recovery_codes_short"].as_bool(),
            state["recovery_codes_left"].as_i64()
        ),
        (Some(false), Some(10))
    );
}
