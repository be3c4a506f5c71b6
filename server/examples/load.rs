//! Load and fault run against a release server process (issue 13), by hand:
//!
//! ```text
//! cargo leptos build --release --split && \
//!   cargo run --release -p server --example load -- [--clients 200] [--seconds 60] \
//!     [--database-url postgres://postgres@127.0.0.1:5432/test]
//! ```
//!
//! 1. Load: `--clients` people (each signed up first) for `--seconds`, each
//!    looping over a mix of page loads (`/profile`, `/login`), `session/me`,
//!    profile saves carrying their version, and the password step of
//!    sign-in; `/healthz` is timed every 100 ms alongside. Prints requests/s
//!    and p50/p99 per kind and the 5xx count, then checks that every
//!    person's stored name is the last save the server acknowledged.
//! 2. Crash: 50 people save names and upload pictures while the server is
//!    killed with SIGKILL; after a restart every acknowledged write is
//!    there, and every stored picture is served.
//!
//! 3. With `--stop-postgres` (and a PostgreSQL `--database-url` on this
//!    machine, run as root): the cluster is stopped for 10 s while 20
//!    people keep calling; during the outage every answer is a 503 (never a
//!    500) and `/healthz` says so, and within 5 s of the database coming
//!    back the server answers again by itself.
//!
//! On PostgreSQL (`--database-url` naming a server; a fresh database is
//! made there and dropped) the same runs there. Exits non-zero when a check
//! fails.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const PASSWORD: &str = "violet tractor mango 42";

struct Args {
    clients: usize,
    seconds: u64,
    database_url: Option<String>,
    /// Stop the local PostgreSQL cluster for 10 s under load (root only).
    stop_postgres: bool,
}

fn args() -> Args {
    let mut a = Args {
        clients: 200,
        seconds: 60,
        database_url: None,
        stop_postgres: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--stop-postgres" {
            a.stop_postgres = true;
            continue;
        }
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--clients" => a.clients = value.parse().expect("--clients N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--database-url" => a.database_url = Some(value),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

struct Server {
    child: Child,
    base: String,
}

fn start(db: &str, dir: &std::path::Path, port: u16) -> Server {
    let child = Command::new("target/release/server")
        .env("DATABASE_URL", db)
        .env("DATABASE_MAX_CONNECTIONS", "20")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("MAIL_OUTBOX_DIR", dir.join("outbox"))
        .env("SMS_OUTBOX_DIR", dir.join("sms"))
        .env("SECRET_KEY_FILE", dir.join("secret.key"))
        .env("SIGN_UPS_PER_HOUR", "1000000")
        .env("LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("target/release/server runs (build it with cargo leptos build --release --split)");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not answer /healthz within 30 s");
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    b' ' => "+".into(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// POSTs a server function as the app does; (status, body).
async fn call(
    http: &reqwest::Client,
    base: &str,
    endpoint: &str,
    pairs: &[(&str, &str)],
    session: Option<&str>,
) -> reqwest::Result<(u16, String, Option<String>)> {
    let mut req = http
        .post(format!("{base}/api/{endpoint}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("origin", base)
        .body(form(pairs));
    if let Some(s) = session {
        req = req.header("cookie", format!("atrium_session={s}"));
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("atrium_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .filter(|v| !v.is_empty());
    Ok((status, res.text().await?, cookie))
}

async fn sign_up(http: &reqwest::Client, base: &str, n: usize, run: &str) -> String {
    let email = format!("load{n}.{run}@example.org");
    let (status, body, cookie) = call(
        http,
        base,
        "auth/signup",
        &[
            ("first_name", "Load"),
            ("last_name", &format!("Person{n}")),
            ("email", &email),
            ("phone", ""),
            ("password", PASSWORD),
        ],
        None,
    )
    .await
    .expect("sign-up answers");
    cookie.unwrap_or_else(|| panic!("sign-up {n}: {status} {body}"))
}

async fn me(http: &reqwest::Client, base: &str, session: &str) -> Value {
    let (_, body, _) = call(http, base, "session/me", &[], Some(session))
        .await
        .expect("session/me answers");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// One person's writes in the crash phase: the last acknowledged name,
/// every name sent, and whether a picture upload was acknowledged.
type CrashLog = (Option<String>, Vec<String>, bool);

/// When an answer came, to what, and its status (0: none).
type Answer = (Instant, &'static str, u16);

#[derive(Default)]
struct Stats {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors_5xx: BTreeMap<&'static str, usize>,
    failed: BTreeMap<&'static str, usize>,
}

impl Stats {
    fn record(&mut self, kind: &'static str, took: Duration, status: Option<u16>) {
        self.latencies.entry(kind).or_default().push(took);
        match status {
            Some(s) if s >= 500 => *self.errors_5xx.entry(kind).or_default() += 1,
            None => *self.failed.entry(kind).or_default() += 1,
            _ => {}
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// One person's loop; returns the last acknowledged name.
async fn person_loop(
    http: reqwest::Client,
    base: String,
    n: usize,
    session: String,
    until: Instant,
    stats: Arc<Mutex<Stats>>,
    email: String,
) -> Option<String> {
    let mut version = me(&http, &base, &session).await["version"]
        .as_i64()
        .unwrap_or(0);
    let mut acked: Option<String> = None;
    let mut seq = 0u64;
    while Instant::now() < until {
        seq += 1;
        let pick = (seq as usize * 7 + n) % 20;
        let started = Instant::now();
        let (kind, status): (&'static str, Option<u16>) = match pick {
            0..=5 => {
                let r = http
                    .get(format!("{base}/profile"))
                    .header("cookie", format!("atrium_session={session}"))
                    .header("accept-encoding", "br")
                    .send()
                    .await;
                let s = match r {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        Some(s)
                    }
                    Err(_) => None,
                };
                ("page /profile", s)
            }
            6..=11 => (
                "session/me",
                call(&http, &base, "session/me", &[], Some(&session))
                    .await
                    .ok()
                    .map(|r| r.0),
            ),
            12..=16 => {
                let name = format!("N{n}x{seq}");
                let v = version.to_string();
                let r = call(
                    &http,
                    &base,
                    "profile/update",
                    &[
                        ("first_name", &name),
                        ("last_name", &format!("Person{n}")),
                        ("phone", ""),
                        ("version", &v),
                    ],
                    Some(&session),
                )
                .await
                .ok();
                match &r {
                    Some((200, body, _)) => {
                        acked = Some(name);
                        let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                        version = answer["version"].as_i64().unwrap_or(version + 1);
                    }
                    Some((409, _, _)) => {
                        version = me(&http, &base, &session).await["version"]
                            .as_i64()
                            .unwrap_or(version);
                    }
                    _ => {}
                }
                ("profile save", r.map(|r| r.0))
            }
            17..=18 => {
                let r = http.get(format!("{base}/login")).send().await;
                let s = match r {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        Some(s)
                    }
                    Err(_) => None,
                };
                ("page /login", s)
            }
            _ => (
                "sign-in (password step)",
                call(
                    &http,
                    &base,
                    "auth/login",
                    &[("email", &email), ("password", PASSWORD)],
                    None,
                )
                .await
                .ok()
                .map(|r| r.0),
            ),
        };
        stats
            .lock()
            .unwrap()
            .record(kind, started.elapsed(), status);
    }
    acked
}

async fn make_pg_database(admin: &str) -> (String, String) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("atrium_load_{}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(admin)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("database created");
    let url = match admin.rsplit_once('/') {
        Some((head, _)) => format!("{head}/{name}"),
        None => panic!("--database-url must name a database"),
    };
    (url, name)
}

fn small_png(n: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, (n * 37 % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG encodes");
    out.into_inner()
}

async fn upload(http: &reqwest::Client, base: &str, session: &str, png: &[u8]) -> Option<u16> {
    let boundary = "atrium-load-7d3f";
    let mut body = Vec::new();
    for (name, ct, bytes) in [
        ("image", "image/png", png),
        (
            "crop",
            "application/json",
            br#"{"x":0,"y":0,"size":64,"rotation":0}"#.as_slice(),
        ),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\nContent-Type: {ct}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    http.post(format!("{base}/api/avatar"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("origin", base)
        .header("cookie", format!("atrium_session={session}"))
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::main]
async fn main() {
    let a = args();
    let dir = tempfile::tempdir().unwrap();
    let (db, pg) = match &a.database_url {
        Some(admin) => {
            let (url, name) = make_pg_database(admin).await;
            (url, Some((admin.clone(), name)))
        }
        None => (
            format!("sqlite://{}", dir.path().join("load.db").display()),
            None,
        ),
    };
    let port = 3300 + (std::process::id() % 500) as u16;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.clients + 10)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut server = start(&db, dir.path(), port);
    let base = server.base.clone();
    wait_ready(&http, &base).await;
    let mut ok = true;

    // 1. Load.
    let run = std::process::id().to_string();
    println!("signing up {} people…", a.clients);
    let mut sessions = Vec::new();
    for n in 0..a.clients {
        sessions.push(sign_up(&http, &base, n, &run).await);
    }
    let stats = Arc::new(Mutex::new(Stats::default()));
    let until = Instant::now() + Duration::from_secs(a.seconds);
    let health = {
        let (http, base) = (http.clone(), base.clone());
        tokio::spawn(async move {
            let mut times = Vec::new();
            let mut bad = 0;
            while Instant::now() < until {
                let started = Instant::now();
                match http.get(format!("{base}/healthz")).send().await {
                    Ok(r) if r.status().is_success() => times.push(started.elapsed()),
                    _ => bad += 1,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (times, bad)
        })
    };
    println!("{} people for {} s…", a.clients, a.seconds);
    let started = Instant::now();
    let loops: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(n, s)| {
            tokio::spawn(person_loop(
                http.clone(),
                base.clone(),
                n,
                s.clone(),
                until,
                stats.clone(),
                format!("load{n}.{run}@example.org"),
            ))
        })
        .collect();
    let mut acked = Vec::new();
    for l in loops {
        acked.push(l.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (mut health_times, health_bad) = health.await.unwrap();
    health_times.sort();
    let stats = std::mem::take(&mut *stats.lock().unwrap());
    println!("\n| kind | requests | req/s | p50 ms | p99 ms | 5xx | no answer |");
    println!("|---|---|---|---|---|---|---|");
    let mut total_5xx = 0;
    for (kind, lat) in &stats.latencies {
        let mut lat = lat.clone();
        lat.sort();
        let e5 = stats.errors_5xx.get(kind).copied().unwrap_or(0);
        let nf = stats.failed.get(kind).copied().unwrap_or(0);
        total_5xx += e5 + nf;
        println!(
            "| {kind} | {} | {:.0} | {:.1} | {:.1} | {e5} | {nf} |",
            lat.len(),
            lat.len() as f64 / elapsed,
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    let health_p99 = pct(&health_times, 0.99);
    println!(
        "| /healthz (every 100 ms) | {} | | {:.1} | {:.1} | {health_bad} | |",
        health_times.len(),
        pct(&health_times, 0.5),
        health_p99
    );
    if total_5xx + health_bad > 0 {
        println!(
            "FAIL: {} server errors or unanswered requests",
            total_5xx + health_bad
        );
        ok = false;
    }
    if health_p99 >= 50.0 {
        println!("FAIL: /healthz p99 {health_p99:.1} ms (target under 50 ms)");
        ok = false;
    }
    let mut lost = 0;
    for (n, s) in sessions.iter().enumerate() {
        if let Some(name) = &acked[n] {
            let stored = me(&http, &base, s).await["first_name"]
                .as_str()
                .map(str::to_string);
            if stored.as_deref() != Some(name.as_str()) {
                lost += 1;
                println!("person {n}: acknowledged {name}, stored {stored:?}");
            }
        }
    }
    println!(
        "saves: every person's stored name is their last acknowledged save: {}",
        if lost == 0 { "yes" } else { "NO" }
    );
    ok &= lost == 0;

    // 2. SIGKILL during saves and uploads.
    let crashers = sessions.iter().take(50).cloned().collect::<Vec<_>>();
    let acks: Arc<Mutex<Vec<CrashLog>>> =
        Arc::new(Mutex::new(vec![(None, Vec::new(), false); crashers.len()]));
    let stop = Instant::now() + Duration::from_secs(3);
    let writers: Vec<_> = crashers
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let (http, base, s, acks) = (http.clone(), base.clone(), s.clone(), acks.clone());
            tokio::spawn(async move {
                let png = small_png(n);
                let mut version = me(&http, &base, &s).await["version"].as_i64().unwrap_or(0);
                let mut seq = 0;
                while Instant::now() < stop + Duration::from_secs(2) {
                    seq += 1;
                    let name = format!("K{n}x{seq}");
                    acks.lock().unwrap()[n].1.push(name.clone());
                    let v = version.to_string();
                    match call(
                        &http,
                        &base,
                        "profile/update",
                        &[
                            ("first_name", &name),
                            ("last_name", "Crash"),
                            ("phone", ""),
                            ("version", &v),
                        ],
                        Some(&s),
                    )
                    .await
                    {
                        Ok((200, body, _)) => {
                            acks.lock().unwrap()[n].0 = Some(name);
                            let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                            version = answer["version"].as_i64().unwrap_or(version + 1);
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                    if seq % 3 == 0 && upload(&http, &base, &s, &png).await == Some(200) {
                        acks.lock().unwrap()[n].2 = true;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep_until(stop.into()).await;
    println!("\nkill -9 during saves and uploads…");
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    for w in writers {
        let _ = w.await;
    }
    let restarted = Instant::now();
    server = start(&db, dir.path(), port);
    wait_ready(&http, &base).await;
    println!(
        "restarted and healthy in {:.1} s",
        restarted.elapsed().as_secs_f64()
    );
    let acks = acks.lock().unwrap().clone();
    let mut broken = 0;
    for (n, s) in crashers.iter().enumerate() {
        let me = me(&http, &base, s).await;
        let stored = me["first_name"].as_str().unwrap_or("").to_string();
        let (last_acked, attempts, uploaded) = &acks[n];
        // The stored name is the last acknowledged one, or one sent after it
        // whose answer the kill cut off; never an older one.
        let allowed: Vec<&String> = match last_acked {
            Some(a) => attempts.iter().skip_while(|x| *x != a).collect(),
            None => attempts.iter().collect(),
        };
        let fine =
            allowed.iter().any(|x| **x == stored) || (last_acked.is_none() && stored == "Load");
        if !fine {
            broken += 1;
            println!("person {n}: stored {stored:?}, last acknowledged {last_acked:?}");
        }
        if *uploaded {
            let src = me["avatar"]["hash"].as_str().map(str::to_string);
            let served = match &src {
                Some(hash) => http
                    .get(format!("{base}/avatars/{hash}/128"))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0),
                None => 0,
            };
            if served != 200 {
                broken += 1;
                println!("person {n}: an acknowledged picture is not served ({src:?}: {served})");
            }
        }
    }
    println!(
        "after the kill: every acknowledged save and picture is there, nothing half-written: {}",
        if broken == 0 { "yes" } else { "NO" }
    );
    ok &= broken == 0;

    if a.stop_postgres {
        ok &= postgres_outage(&http, &base, &crashers).await;
    }

    server.child.kill().ok();
    let _ = server.child.wait();
    if let Some((admin, name)) = pg {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
    if !ok {
        std::process::exit(1);
    }
}

fn pg_cluster(action: &str) {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .expect("a Debian PostgreSQL cluster in /etc/postgresql");
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", action])
        .status()
        .expect("pg_ctlcluster runs");
    assert!(status.success(), "pg_ctlcluster {action} failed");
}

/// Stops PostgreSQL for 10 s while people call; returns whether the
/// outage was answered with 503s only and the server came back within 5 s.
async fn postgres_outage(http: &reqwest::Client, base: &str, sessions: &[String]) -> bool {
    println!("\nstopping PostgreSQL for 10 s under load…");
    let log: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let until = Instant::now() + Duration::from_secs(25);
    let mut callers = Vec::new();
    for s in sessions.iter().take(20) {
        let (http, base, s, log) = (http.clone(), base.to_string(), s.clone(), log.clone());
        callers.push(tokio::spawn(async move {
            while Instant::now() < until {
                let status = call(&http, &base, "session/me", &[], Some(&s))
                    .await
                    .map(|r| r.0)
                    .unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push((Instant::now(), "session/me", status));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    {
        let (http, base, log) = (http.clone(), base.to_string(), log.clone());
        callers.push(tokio::spawn(async move {
            while Instant::now() < until {
                let status = http
                    .get(format!("{base}/healthz"))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push((Instant::now(), "/healthz", status));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let down = Instant::now();
    tokio::task::spawn_blocking(|| pg_cluster("stop"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    tokio::task::spawn_blocking(|| pg_cluster("start"))
        .await
        .unwrap();
    let up = Instant::now();
    for c in callers {
        let _ = c.await;
    }
    let log = log.lock().unwrap();
    let mut fine = true;
    let during: Vec<_> = log
        .iter()
        .filter(|(t, _, _)| *t > down && *t < up)
        .collect();
    let bad: Vec<_> = during
        .iter()
        .filter(|(_, _, s)| *s != 503 && *s != 200)
        .collect();
    let unavailable = during.iter().filter(|(_, _, s)| *s == 503).count();
    println!(
        "during the outage: {} answers, {unavailable} of them 503, {} other than 200 or 503",
        during.len(),
        bad.len()
    );
    if !bad.is_empty() || unavailable == 0 {
        fine = false;
        for (_, kind, s) in bad.iter().take(5) {
            println!("  {kind}: {s}");
        }
    }
    let healthz_503 = during.iter().any(|(_, k, s)| *k == "/healthz" && *s == 503);
    println!("/healthz said 503 during the outage: {healthz_503}");
    fine &= healthz_503;
    // Back: the first moment after which everything answers 200.
    let last_failure = log
        .iter()
        .filter(|(t, _, s)| *t >= up && *s != 200)
        .map(|(t, _, _)| *t)
        .max();
    let recovered = last_failure
        .map(|t| t.duration_since(up))
        .unwrap_or_default();
    println!(
        "answering again {:.1} s after PostgreSQL was back (target under 5 s)",
        recovered.as_secs_f64()
    );
    fine &= recovered < Duration::from_secs(5);
    fine
}
