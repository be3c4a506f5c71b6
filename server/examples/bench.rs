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
        "--secret-key-file",
        dir.path().join("secret.key").to_str().unwrap(),
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

    sync_bench(&config).await;
}

/// Change events through the outbox to a local webhook receiver: 40 people
/// who use one platform each rename themselves 10 times; prints events per
/// second from the first change to the last delivery, and the delay from
/// each change's commit to its arrival (p50, p99). One worker, as in one
/// server process, on a fresh SQLite file.
async fn sync_bench(config: &Config) {
    use backend::user::profile::ProfileEdit;
    use std::collections::HashMap;
    use std::sync::Mutex;

    let dir = tempfile::tempdir().unwrap();
    let mut config = config.clone();
    config.database_url = format!("sqlite://{}", dir.path().join("sync.db").display());
    config.password_hashing = server::PasswordHashing::InsecureMinimal;
    let backend = build_backend(&config, Arc::new(backend::SystemClock))
        .await
        .unwrap();
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen = arrived.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                let id = headers["webhook-id"].to_str().unwrap_or("").to_string();
                seen.lock().unwrap().insert(id, Instant::now());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let platform = backend
        .add_platform(backend::oidc::platform::NewPlatform {
            name: "Bench".into(),
            redirect_uris: vec!["http://127.0.0.1:1/cb".into()],
            webhook_url: Some(format!("http://{addr}/hook")),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut people = Vec::new();
    for i in 0..40 {
        let (user, _) = backend
            .sign_up(
                backend::auth::service::SignUp {
                    first_name: "P".into(),
                    last_name: format!("{i}"),
                    email: format!("p{i}@example.org"),
                    phone: String::new(),
                    password: backend::secret::Password::new(PASSWORD),
                    invitation: None,
                },
                &backend::RequestMeta::on_behalf("bench"),
            )
            .await
            .unwrap();
        let mut conn = backend.pool().acquire().await.unwrap();
        backend::sync::outbox::subscribe(
            &mut conn,
            &platform.platform.client_id,
            user.id,
            "openid profile",
            0,
        )
        .await
        .unwrap();
        people.push(user);
    }
    let worker = tokio::spawn(backend.clone().run_webhook_worker(Duration::from_millis(5)));
    let start = Instant::now();
    let mut committed: HashMap<(i64, i64), Instant> = HashMap::new();
    for round in 0..10 {
        for user in people.iter_mut() {
            let edit = ProfileEdit {
                first_name: format!("P{round}"),
                last_name: user.last_name.clone(),
                phone: String::new(),
                country: "US".into(),
                version: user.version,
            };
            *user = backend
                .update_profile(user, &edit, &backend::RequestMeta::on_behalf("bench"))
                .await
                .unwrap();
            committed.insert((user.id, round), Instant::now());
        }
    }
    let total = committed.len();
    while arrived.lock().unwrap().len() < total && start.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed();
    worker.abort();
    let events: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT id, user_id, version FROM change_event ORDER BY user_id, version")
            .fetch_all(backend.pool())
            .await
            .unwrap();
    let arrived = arrived.lock().unwrap();
    let mut delays = Vec::new();
    let mut per_person: HashMap<i64, i64> = HashMap::new();
    for (id, user_id, _) in &events {
        let round = per_person.entry(*user_id).or_insert(0);
        if let (Some(at), Some(done)) = (arrived.get(id), committed.get(&(*user_id, *round))) {
            delays.push(at.saturating_duration_since(*done));
        }
        *round += 1;
    }
    println!(
        "{:<44} {:>8.0} events/s ({} of {total} delivered in {:.2} s)",
        "webhooks: outbox → local receiver",
        arrived.len() as f64 / elapsed.as_secs_f64(),
        arrived.len(),
        elapsed.as_secs_f64()
    );
    delays.sort();
    if !delays.is_empty() {
        println!(
            "{:<44} p50 {:>8.2} ms  p99 {:>8.2} ms",
            "webhooks: change committed → received",
            percentile(&delays, 0.5).as_secs_f64() * 1e3,
            percentile(&delays, 0.99).as_secs_f64() * 1e3
        );
    }
}
