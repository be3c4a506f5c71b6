//! The avatar: upload, crop, orientation, removal and limits.

use super::*;

on_both_databases!(
    avatar_is_cropped_stored_and_served_immutably,
    avatar_respects_exif_orientation,
    bad_avatar_uploads_change_nothing,
    avatar_can_be_removed_or_replaced_by_initials,
    avatar_uploads_are_rate_limited_per_person,
);

/// A multipart body with the given parts: (name, content type, bytes).
fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "atrium-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload_avatar(app: &TestApp, cookie: Option<&str>, image: &[u8], crop: &str) -> Reply {
    let (content_type, body) = multipart(&[
        ("image", "image/png", image),
        ("crop", "application/json", crop.as_bytes()),
    ]);
    let mut req = Request::post("/api/avatar")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ORIGIN, "http://127.0.0.1:3000");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("atrium_session={c}"));
    }
    Reply::from(app.send(req.body(Body::from(body)).unwrap()).await).await
}

/// The message of an upload refused for what was sent: the endpoint answers
/// as server functions do, with the JSON of an `AppError::Validation` naming
/// the part at fault (`image` or `crop`).
fn refusal(r: &Reply) -> String {
    let fields = &r.json()["Validation"]["fields"];
    let field = &fields[0]["field"];
    assert!(
        field == "image" || field == "crop",
        "a refusal names the image or the crop: {}",
        r.body
    );
    fields[0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn get(
    app: &TestApp,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    let res = app.send(req.body(Body::empty()).unwrap()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, bytes)
}

/// The colour at the centre of an encoded square image.
fn centre_colour(bytes: &[u8], side: u32) -> [u8; 3] {
    let img = image::load_from_memory(bytes).expect("decodes").to_rgb8();
    assert_eq!(img.dimensions(), (side, side));
    img.get_pixel(side / 2, side / 2).0
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 24)
}

async fn avatar_is_cropped_stored_and_served_immutably(app: &TestApp) {
    use backend::avatar::process::testing::{quadrants_png, BLUE, GREEN};
    let cookie = app.sign_up_ann().await;
    let png = quadrants_png(200);
    // The top-right quadrant is green.
    let r = upload_avatar(
        app,
        Some(&cookie),
        &png,
        r#"{"x":100,"y":0,"size":100,"rotation":0}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hash = r.json()["hash"].as_str().unwrap().to_string();
    let me = app.me(&cookie).await;
    assert_eq!(me["avatar"]["hash"].as_str(), Some(hash.as_str()));
    assert_eq!(me["avatar"]["crop"], serde_json::json!([100, 0, 100, 0]));

    for size in [512, 128, 64] {
        let (status, headers, bytes) = get(app, &format!("/avatars/{hash}/{size}"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("image/"));
        assert!(near(centre_colour(&bytes, size), GREEN), "{size}");
    }
    let (_, headers, _) = get(app, &format!("/avatars/{hash}/128"), &[]).await;
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let (status, _, body) = get(
        app,
        &format!("/avatars/{hash}/128"),
        &[(header::IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(
        get(app, &format!("/avatars/{hash}/100"), &[]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(app, "/avatars/../etc/128", &[]).await.0,
        StatusCode::NOT_FOUND
    );

    // The original comes back unchanged, to its owner only.
    let (status, _, original) = get(
        app,
        "/api/avatar/original",
        &[(header::COOKIE, &format!("atrium_session={cookie}"))],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(original, png);
    assert_eq!(
        get(app, "/api/avatar/original", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A new crop (bottom-left, turned a half) gets a new URL; the old one is gone.
    let r = upload_avatar(
        app,
        Some(&cookie),
        &png,
        r#"{"x":0,"y":100,"size":100,"rotation":180}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new_hash = r.json()["hash"].as_str().unwrap().to_string();
    assert_ne!(new_hash, hash);
    let (_, _, bytes) = get(app, &format!("/avatars/{new_hash}/128"), &[]).await;
    assert!(near(centre_colour(&bytes, 128), BLUE));
    assert_eq!(
        get(app, &format!("/avatars/{hash}/128"), &[]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.audit_count("avatar.changed").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM avatar").await, 1);
}

async fn avatar_respects_exif_orientation(app: &TestApp) {
    use backend::avatar::process::testing::{jpeg_with_orientation, BLUE, RED};
    let cookie = app.sign_up_ann().await;
    // Stored 200 × 100 with red on the left and blue on the right; EXIF
    // orientation 6 says "turn 90° clockwise to view", so upright it is
    // 100 × 200 with red on top.
    let stored = image::RgbImage::from_fn(200, 100, |x, _| {
        image::Rgb(if x < 100 { RED } else { BLUE })
    });
    let jpeg = jpeg_with_orientation(&stored, 6);
    let r = upload_avatar(
        app,
        Some(&cookie),
        &jpeg,
        r#"{"x":0,"y":0,"size":100,"rotation":0}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hash = r.json()["hash"].as_str().unwrap().to_string();
    let (_, _, bytes) = get(app, &format!("/avatars/{hash}/128"), &[]).await;
    assert!(near(centre_colour(&bytes, 128), RED));
    // The bottom square of the upright picture is blue; outside it (y = 101) is refused.
    let r = upload_avatar(
        app,
        Some(&cookie),
        &jpeg,
        r#"{"x":0,"y":100,"size":100,"rotation":0}"#,
    )
    .await;
    let hash = r.json()["hash"].as_str().unwrap().to_string();
    let (_, _, bytes) = get(app, &format!("/avatars/{hash}/64"), &[]).await;
    assert!(near(centre_colour(&bytes, 64), BLUE));
    let r = upload_avatar(
        app,
        Some(&cookie),
        &jpeg,
        r#"{"x":0,"y":101,"size":100,"rotation":0}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn bad_avatar_uploads_change_nothing(app: &TestApp) {
    use backend::avatar::process::testing::{png_claiming, quadrants_png};
    let cookie = app.sign_up_ann().await;
    let good = quadrants_png(200);
    let r = upload_avatar(
        app,
        Some(&cookie),
        &good,
        r#"{"x":0,"y":0,"size":200,"rotation":0}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hash = r.json()["hash"].as_str().unwrap().to_string();

    let jpeg = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image::RgbImage::new(300, 300))
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .unwrap();
        out.into_inner()
    };
    let tiny = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image::RgbImage::new(1, 1))
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let whole = r#"{"x":0,"y":0,"size":200,"rotation":0}"#;
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode, &str)> = vec![
        (
            "text renamed .png",
            b"just some text, not a picture".to_vec(),
            whole,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a JPEG, PNG, WebP or GIF",
        ),
        (
            "truncated JPEG",
            jpeg[..jpeg.len() / 2].to_vec(),
            whole,
            StatusCode::UNPROCESSABLE_ENTITY,
            "could not be read",
        ),
        (
            "1 × 1 image",
            tiny,
            r#"{"x":0,"y":0,"size":1,"rotation":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "1 × 1",
        ),
        (
            "20000 × 20000 PNG",
            png_claiming(20_000, 20_000),
            whole,
            StatusCode::PAYLOAD_TOO_LARGE,
            "20000 × 20000",
        ),
        (
            "zero-size crop",
            good.clone(),
            r#"{"x":0,"y":0,"size":0,"rotation":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "crop",
        ),
        (
            "crop outside",
            good.clone(),
            r#"{"x":150,"y":150,"size":100,"rotation":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "inside the image",
        ),
        (
            "absurd zoom",
            good.clone(),
            r#"{"x":0,"y":0,"size":4000000000,"rotation":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "inside the image",
        ),
        (
            "negative crop",
            good.clone(),
            r#"{"x":-5,"y":0,"size":100,"rotation":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed",
        ),
        (
            "45° rotation",
            good.clone(),
            r#"{"x":0,"y":0,"size":200,"rotation":45}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "90, 180 or 270",
        ),
        (
            "no crop",
            good.clone(),
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
            "crop",
        ),
    ];
    for (what, bytes, crop, status, message) in cases {
        let r = upload_avatar(app, Some(&cookie), &bytes, crop).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert!(refusal(&r).contains(message), "{what}: {}", r.body);
    }

    // 11 MB: refused by size, before anything is read or decoded.
    let big = vec![0u8; 11 * 1024 * 1024];
    let r = upload_avatar(app, Some(&cookie), &big, whole).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(refusal(&r).contains("10 MB"), "{}", r.body);

    // Without a session, and with a body that is not multipart.
    let r = upload_avatar(app, None, &good, whole).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), Value::from("Unauthorized"), "{}", r.body);
    let req = Request::post("/api/avatar")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::COOKIE, format!("atrium_session={cookie}"))
        .body(Body::from(r#"{"image":"x"}"#))
        .unwrap();
    let r = Reply::from(app.send(req).await).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(refusal(&r).contains("multipart/form-data"), "{}", r.body);

    // From another site: refused before reading.
    let (content_type, body) = multipart(&[
        ("image", "image/png", &good),
        ("crop", "application/json", whole.as_bytes()),
    ]);
    let req = Request::post("/api/avatar")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, format!("atrium_session={cookie}"))
        .body(Body::from(body))
        .unwrap();
    let r = Reply::from(app.send(req).await).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let message = &r.json()["Denied"]["message"];
    assert_eq!(
        message, "Cross-origin requests are not accepted.",
        "{}",
        r.body
    );

    // A declared length over the limit: refused before reading, about the image.
    let req = Request::post("/api/avatar")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .header(header::CONTENT_LENGTH, (11 * 1024 * 1024).to_string())
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::COOKIE, format!("atrium_session={cookie}"))
        .body(Body::empty())
        .unwrap();
    let r = Reply::from(app.send(req).await).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(refusal(&r).contains("10 MB"), "{}", r.body);

    // The first picture is still the one shown, and only its upload was recorded.
    assert_eq!(
        app.me(&cookie).await["avatar"]["hash"].as_str(),
        Some(hash.as_str())
    );
    assert_eq!(
        get(app, &format!("/avatars/{hash}/64"), &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(app.audit_count("avatar.changed").await, 1);
}

async fn avatar_can_be_removed_or_replaced_by_initials(app: &TestApp) {
    use backend::avatar::process::testing::quadrants_png;
    let cookie = app.sign_up_ann().await;
    let r = upload_avatar(
        app,
        Some(&cookie),
        &quadrants_png(64),
        r#"{"x":0,"y":0,"size":64,"rotation":0}"#,
    )
    .await;
    let hash = r.json()["hash"].as_str().unwrap().to_string();

    let r = app.call("avatar/remove", &[], Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["hash"], Value::Null);
    assert_eq!(
        get(app, &format!("/avatars/{hash}/128"), &[]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.audit_count("avatar.removed").await, 1);
    // Removing again is harmless and not recorded twice.
    app.call("avatar/remove", &[], Some(&cookie)).await;
    assert_eq!(app.audit_count("avatar.removed").await, 1);

    let r = app
        .call("avatar/generated", &[("color", "pink")], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("color").unwrap().contains("teal"));
    upload_avatar(
        app,
        Some(&cookie),
        &quadrants_png(64),
        r#"{"x":0,"y":0,"size":64,"rotation":0}"#,
    )
    .await;
    let r = app
        .call("avatar/generated", &[("color", "teal")], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let me = app.me(&cookie).await;
    assert_eq!(me["avatar"]["hash"], Value::Null);
    assert_eq!(me["avatar"]["color"], "teal");
    assert_eq!(
        app.call("avatar/generated", &[("color", "teal")], None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn avatar_uploads_are_rate_limited_per_person(app: &TestApp) {
    use backend::avatar::process::testing::quadrants_png;
    let cookie = app.sign_up_ann().await;
    let png = quadrants_png(32);
    let crop = r#"{"x":0,"y":0,"size":32,"rotation":0}"#;
    for _ in 0..30 {
        let r = upload_avatar(app, Some(&cookie), &png, crop).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = upload_avatar(app, Some(&cookie), &png, crop).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    let wait = &r.json()["RateLimited"]["retry_after_secs"];
    assert!(wait.as_u64().is_some_and(|s| s > 0), "{}", r.body);
    // Someone else is not affected, and the hour passes.
    let other = app
        .sign_up("Bo", "Kim", "bo@example.org", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    assert_eq!(
        upload_avatar(app, Some(&other), &png, crop).await.status,
        StatusCode::OK
    );
    app.clock.advance(3600);
    let cookie = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .expect("signed in again after the idle timeout");
    assert_eq!(
        upload_avatar(app, Some(&cookie), &png, crop).await.status,
        StatusCode::OK
    );
}
