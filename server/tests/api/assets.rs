//! Static files and compression: precompressed bundle files by the
//! browser's Accept-Encoding, immutable caching for content-hashed names,
//! on-the-fly compression of pages, the service worker naming this build.
//! Not database-dependent, so SQLite only.

use std::io::Read;

use super::*;
use app::sign_in_bundle::SignInPage;

const HASHED_WASM: &str = "atrium.Jb0Xw1sJ9pL0sTz8Qv2x3A.wasm";

fn get(path: &str, accept_encoding: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path);
    if let Some(enc) = accept_encoding {
        req = req.header(header::ACCEPT_ENCODING, enc);
    }
    req.body(Body::empty()).unwrap()
}

fn header_of(res: &Response<Body>, name: header::HeaderName) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn bytes(res: Response<Body>) -> Vec<u8> {
    res.into_body().collect().await.unwrap().to_bytes().to_vec()
}

/// A site folder as `cargo leptos build --release --precompress` leaves it.
fn built_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join(HASHED_WASM), b"\0asm plain").unwrap();
    std::fs::write(pkg.join(format!("{HASHED_WASM}.br")), b"brotli bytes").unwrap();
    std::fs::write(pkg.join(format!("{HASHED_WASM}.gz")), b"gzip bytes").unwrap();
    std::fs::write(pkg.join("atrium.js"), b"export default 1;").unwrap();
    std::fs::write(dir.path().join("manifest.webmanifest"), b"{}").unwrap();
    std::fs::write(
        dir.path().join("sw.js"),
        b"const ASSETS = \"__ATRIUM_ASSETS__\";\n",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn static_files_are_precompressed_and_cached_by_name() {
    let app = TestApp::sqlite_in(built_site()).await;
    let path = format!("/pkg/{HASHED_WASM}");

    for (accept, encoding, body) in [
        ("br, gzip", "br", &b"brotli bytes"[..]),
        ("gzip", "gzip", &b"gzip bytes"[..]),
    ] {
        let res = app.send(get(&path, Some(accept))).await;
        assert_eq!(res.status(), StatusCode::OK, "{accept}");
        assert_eq!(header_of(&res, header::CONTENT_ENCODING), encoding);
        assert_eq!(
            header_of(&res, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert!(header_of(&res, header::VARY).contains("accept-encoding"));
        assert_eq!(header_of(&res, header::CONTENT_TYPE), "application/wasm");
        assert_eq!(bytes(res).await, body);
    }

    // A client that accepts nothing compressed gets the file as it is.
    let plain = app.send(get(&path, None)).await;
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), "");
    assert!(header_of(&plain, header::VARY).contains("accept-encoding"));
    assert_eq!(bytes(plain).await, b"\0asm plain");

    // Names without a content hash, and the public files, are revalidated.
    for unhashed in ["/pkg/atrium.js", "/manifest.webmanifest"] {
        let res = app.send(get(unhashed, Some("br"))).await;
        assert_eq!(res.status(), StatusCode::OK, "{unhashed}");
        assert_eq!(
            header_of(&res, header::CACHE_CONTROL),
            "no-cache",
            "{unhashed}"
        );
    }

    // A missing bundle file is a 404 that nobody may cache for a year.
    let missing = app
        .send(get("/pkg/atrium.AAAAAAAAAAAAAAAAAAAAAA.wasm", Some("br")))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_ne!(
        header_of(&missing, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );

    // Any other unknown path is still Leptos's "Page not found".
    let page = app.send(get("/no-such-page", None)).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(String::from_utf8(bytes(page).await)
        .unwrap()
        .contains("Page not found"));

    // The service worker lists this build's files and is revalidated.
    let sw = app.send(get("/sw.js", None)).await;
    assert_eq!(header_of(&sw, header::CACHE_CONTROL), "no-cache");
    let sw = String::from_utf8(bytes(sw).await).unwrap();
    assert!(sw.contains("\"/pkg/atrium.wasm\""), "{sw}");
    assert!(!sw.contains("__ATRIUM_ASSETS__"));
    app.finish().await;
}

#[tokio::test]
async fn pages_and_answers_are_compressed_on_the_fly() {
    let app = TestApp::sqlite().await;

    let br = app.send(get("/login", Some("br"))).await;
    assert_eq!(br.status(), StatusCode::OK);
    assert_eq!(header_of(&br, header::CONTENT_ENCODING), "br");
    assert!(header_of(&br, header::VARY).contains("accept-encoding"));
    assert_eq!(header_of(&br, header::CACHE_CONTROL), "no-store");
    let compressed = bytes(br).await;
    let mut html = String::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_string(&mut html)
        .unwrap();
    assert!(html.contains("Sign in"), "decoded page: {html}");
    assert!(
        compressed.len() * 2 < html.len(),
        "compressed to less than half"
    );

    let gz = app.send(get("/login", Some("gzip"))).await;
    assert_eq!(header_of(&gz, header::CONTENT_ENCODING), "gzip");
    let mut html = String::new();
    flate2::read::GzDecoder::new(&bytes(gz).await[..])
        .read_to_string(&mut html)
        .unwrap();
    assert!(html.contains("Sign in"));

    // A server function's JSON answer too.
    let mut req = Request::post("/api/auth/password-strength")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT_ENCODING, "br")
        .body(Body::from("password=password"))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40000))));
    let answer = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(header_of(&answer, header::CONTENT_ENCODING), "br");
    let mut json = String::new();
    brotli::Decompressor::new(&bytes(answer).await[..], 4096)
        .read_to_string(&mut json)
        .unwrap();
    assert!(json.contains("breached"), "{json}");
    app.finish().await;
}

/// Strict-Transport-Security only when PUBLIC_URL is https: a plain-HTTP
/// deployment (or a test) must not pin browsers to an HTTPS it lacks.
#[tokio::test]
async fn hsts_only_over_https() {
    for (public_url, want) in [
        (
            "https://id.example.org",
            Some("max-age=63072000; includeSubDomains"),
        ),
        ("http://127.0.0.1:3000", None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = test_config(
            dir.path(),
            &format!("sqlite://{}", dir.path().join("atrium.db").display()),
            public_url,
        );
        let clock = Arc::new(TestClock::new(START));
        let backend = build_backend(&config, clock).await.unwrap();
        let app = router(app_state(&config, backend.clone()));
        let res = app.oneshot(get("/login", None)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let hsts = res
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(hsts.as_deref(), want, "{public_url}");
        backend.pool().close().await;
    }
}

#[tokio::test]
async fn sign_in_pages_come_with_their_own_bundle() {
    let site = built_site();
    let pkg = site.path().join("pkg");
    std::fs::write(pkg.join("atrium-signin.js"), b"export default 1;").unwrap();
    std::fs::write(pkg.join("atrium-signin.wasm"), b"\0asm sign-in").unwrap();
    let app = TestApp::sqlite_in(site).await;
    let page = |path: &str, cookie: Option<String>| {
        let path = path.to_string();
        let app = &app;
        async move {
            let mut req = Request::get(&path);
            if let Some(c) = cookie {
                req = req.header(header::COOKIE, format!("atrium_session={c}"));
            }
            let res = app.send(req.body(Body::empty()).unwrap()).await;
            let status = res.status();
            (status, String::from_utf8(bytes(res).await).unwrap())
        }
    };

    // Every sign-in page links the sign-in bundle, and only it, under the
    // page's nonce, and renders its own page (its heading), not a fallback.
    for sign_in_page in SignInPage::ALL {
        let path = sign_in_page.path();
        let (status, html) = page(path, None).await;
        // The second step without a password step, and a reset page without
        // its link's token, say so with their status.
        let expected = match sign_in_page {
            SignInPage::LoginVerify => StatusCode::UNAUTHORIZED,
            SignInPage::ResetPassword => StatusCode::NOT_FOUND,
            _ => StatusCode::OK,
        };
        assert_eq!(status, expected, "{path}");
        assert!(
            html.contains(r#"<link rel="modulepreload" href="/pkg/atrium-signin.js""#),
            "{path}: {html}"
        );
        assert!(html.contains(r#"href="/pkg/atrium-signin.wasm""#), "{path}");
        assert!(
            html.contains(r#"import("/pkg/atrium-signin.js")"#),
            "{path}: {html}"
        );
        assert!(html.contains(r#"<script type="module" nonce=""#), "{path}");
        assert!(!html.contains("/pkg/atrium.js"), "{path}");
        let heading = match sign_in_page {
            SignInPage::Login => "Sign in to Atrium",
            SignInPage::LoginVerify => "Second step",
            SignInPage::SignUp => "Create your Atrium account",
            SignInPage::VerifyEmail => "Confirm your email",
            SignInPage::ForgotPassword => "Reset your password",
            SignInPage::ResetPassword => "Choose a new password",
        };
        assert!(
            html.contains(&format!("<h1>{heading}</h1>")),
            "{path}: {html}"
        );
    }

    // Without JavaScript a refused form comes back with its error in the
    // address; the sign-in page (which has no router to read it) shows it.
    let back = app
        .post_form_without_javascript(
            "/api/auth/login",
            "http://127.0.0.1:3000/login",
            "email=a%40b.org&password=wrong",
        )
        .await;
    let (status, html) = page(back.strip_prefix("http://127.0.0.1:3000").unwrap(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("atrium-signin"), "{html}");
    assert!(
        html.contains("The email or password is incorrect."),
        "{html}"
    );
    // A second refusal from that page appends its error to the address,
    // after the first: the page shows the newer one, as the router would.
    let back = app
        .post_form_without_javascript("/api/auth/login", &back, "email=&password=")
        .await;
    assert_eq!(back.matches("__err=").count(), 2, "{back}");
    let (_, html) = page(back.strip_prefix("http://127.0.0.1:3000").unwrap(), None).await;
    assert!(
        !html.contains("The email or password is incorrect."),
        "{html}"
    );
    assert!(
        html.contains("Please correct the fields marked below."),
        "{html}"
    );

    // Every other page is the console's, with the console's bundle.
    let cookie = app.sign_up_ann().await;
    for (path, cookie) in [("/profile", Some(cookie)), ("/contact", None)] {
        let (status, html) = page(path, cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("/pkg/atrium.js"), "{path}: {html}");
        assert!(!html.contains("atrium-signin"), "{path}");
    }

    // The service worker keeps both bundles for offline use.
    let sw = String::from_utf8(bytes(app.send(get("/sw.js", None)).await).await).unwrap();
    assert!(sw.contains("\"/pkg/atrium-signin.js\""), "{sw}");
    assert!(sw.contains("\"/pkg/atrium-signin.wasm\""), "{sw}");
    app.finish().await;
}

/// The console's bundle holds no sign-in page, so a site built without the
/// sign-in bundle still serves the sign-in pages, as plain forms.
#[tokio::test]
async fn sign_in_pages_without_their_bundle_are_plain_forms() {
    let app = TestApp::sqlite_in(built_site()).await;
    let res = app.send(get("/login", None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = String::from_utf8(bytes(res).await).unwrap();
    assert!(html.contains("<h1>Sign in to Atrium</h1>"), "{html}");
    assert!(html.contains(r#"action="/api/auth/login""#), "{html}");
    assert!(!html.contains(r#"<script type="module""#), "{html}");
    assert!(!html.contains("/pkg/atrium.js"), "{html}");
    assert!(!html.contains(".wasm"), "{html}");
    app.finish().await;
}
