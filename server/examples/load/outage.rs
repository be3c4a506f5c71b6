//! Stopping PostgreSQL under load.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::client::{call, Answer};

pub fn pg_cluster(action: &str) {
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
pub async fn postgres_outage(http: &reqwest::Client, base: &str, sessions: &[String]) -> bool {
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
