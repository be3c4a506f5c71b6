//! Benchmarks of the foundation's hot and costly paths, in process against
//! the real router and a fresh SQLite file, with release-grade password
//! hashing (OWASP argon2id). Run: `cargo run --release -p server --example bench`
//! (or `scripts/bench.sh`). Prints figures; README keeps the latest ones.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use clap::Parser;
use server::{app_state, build_backend, router, Config};
use tower::ServiceExt;

const PASSWORD: &str = "violet tractor mango 42";
static NEXT_IP: AtomicU32 = AtomicU32::new(1);

async fn post(
    app: &Router,
    endpoint: &str,
    body: String,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>) {
    let mut req = Request::post(format!("/api/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("atrium_session={c}"));
    }
    let mut req = req.body(Body::from(body)).unwrap();
    // A distinct client address per request keeps the per-IP throttle out of the figures.
    let n = NEXT_IP.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, n[1], n[2], n[3]], 1))));
    let res = app.clone().oneshot(req).await.unwrap();
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("atrium_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_string());
    (res.status(), cookie)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} n={:<5} median {:>8.2} ms  p95 {:>8.2} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.95).as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse_from([
        "atrium",
        "--database-url",
        &format!("sqlite://{}", dir.path().join("bench.db").display()),
        "--mail-outbox-dir",
        dir.path().join("outbox").to_str().unwrap(),
        "--password-hashing",
        "owasp",
        "--site-root",
        dir.path().to_str().unwrap(),
    ]);
    let backend = build_backend(&config, Arc::new(backend::SystemClock))
        .await
        .unwrap();
    let app = router(app_state(&config, backend));

    let signup = format!(
        "first_name=Ann&last_name=Lee&email=ann%40example.org&phone=&password={}",
        PASSWORD.replace(' ', "+")
    );
    let (status, cookie) = post(&app, "auth/signup", signup, None).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = cookie.unwrap();

    // Thirty more people, so that each wrong password and each reset request
    // below hits a fresh account and no throttle or limit enters the figures.
    for i in 0..30 {
        let body = format!(
            "first_name=U&last_name=N&email=u{i}%40example.org&phone=&password={}",
            PASSWORD.replace(' ', "+")
        );
        assert_eq!(
            post(&app, "auth/signup", body, None).await.0,
            StatusCode::OK
        );
    }
    // 1. Sign-in (the password step) with the right password, a wrong one, an unknown email.
    let right = format!(
        "email=ann%40example.org&password={}",
        PASSWORD.replace(' ', "+")
    );
    let mut ok = Vec::new();
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        assert_eq!(
            post(&app, "auth/login", right.clone(), None).await.0,
            StatusCode::OK
        );
        ok.push(t.elapsed());
        let t = Instant::now();
        let s = post(
            &app,
            "auth/login",
            format!("email=u{i}%40example.org&password=wrong+one"),
            None,
        )
        .await
        .0;
        wrong.push(t.elapsed());
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let t = Instant::now();
        let s = post(
            &app,
            "auth/login",
            format!("email=nobody{i}%40example.org&password=wrong+one"),
            None,
        )
        .await
        .0;
        unknown.push(t.elapsed());
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    report("sign-in, right password (argon2id OWASP)", ok);
    report("sign-in, wrong password", wrong);
    report("sign-in, unknown email", unknown);

    // 1b. Forgot password: an address with an account and one without get the
    //     same answer after the same work (the mail goes out afterwards). Each
    //     address is asked once, so the per-address limit stays out of the figures.
    let mut known = Vec::new();
    let mut unknown_reset = Vec::new();
    for i in 0..30 {
        let t = Instant::now();
        let a = post(
            &app,
            "auth/forgot-password",
            format!("email=u{i}%40example.org"),
            None,
        )
        .await
        .0;
        known.push(t.elapsed());
        let t = Instant::now();
        let b = post(
            &app,
            "auth/forgot-password",
            format!("email=nobody{i}%40example.org"),
            None,
        )
        .await
        .0;
        unknown_reset.push(t.elapsed());
        assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
    }
    report("forgot password, address with an account", known);
    report("forgot password, unknown address", unknown_reset);

    // 2. A burst of 16 concurrent sign-ins: hashing is capped at MAX_CONCURRENT_HASHES.
    let t = Instant::now();
    let burst: Vec<_> = (0..16)
        .map(|_| {
            let app = app.clone();
            let body = right.clone();
            tokio::spawn(async move { post(&app, "auth/login", body, None).await.0 })
        })
        .collect();
    for h in burst {
        assert_eq!(h.await.unwrap(), StatusCode::OK);
    }
    println!(
        "{:<44} {:>8.0} ms for 16",
        "burst of concurrent sign-ins",
        t.elapsed().as_secs_f64() * 1e3
    );

    // 3. While that burst hashes, a cheap request must not wait behind it.
    let hashing: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            let body = right.clone();
            tokio::spawn(async move { post(&app, "auth/login", body, None).await.0 })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut during = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        assert_eq!(
            post(&app, "session/me", String::new(), Some(&cookie))
                .await
                .0,
            StatusCode::OK
        );
        during.push(t.elapsed());
    }
    for h in hashing {
        h.await.unwrap();
    }
    report("session/me during a sign-in burst", during);

    // 4. The hot path of every page: who is signed in.
    let n = 2_000;
    let t = Instant::now();
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        assert_eq!(
            post(&app, "session/me", String::new(), Some(&cookie))
                .await
                .0,
            StatusCode::OK
        );
        lat.push(s.elapsed());
    }
    let secs = t.elapsed().as_secs_f64();
    report("session/me (SQLite, sequential)", lat);
    println!(
        "{:<44} {:>8.0} req/s",
        "session/me throughput, one client",
        n as f64 / secs
    );
}
