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

mod client;
mod outage;
mod people;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use client::*;
use outage::*;
use people::*;

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
