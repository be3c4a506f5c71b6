//! The people of the load run and what is counted of them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{call, get_page, me};
use crate::PASSWORD;

#[derive(Default)]
pub struct Stats {
    pub latencies: BTreeMap<&'static str, Vec<Duration>>,
    pub errors_5xx: BTreeMap<&'static str, usize>,
    pub failed: BTreeMap<&'static str, usize>,
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

pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// One person's loop; returns the last acknowledged name.
pub async fn person_loop(
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
            0..=5 => (
                "page /profile",
                get_page(&http, &base, "/profile", Some(&session)).await,
            ),
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
            17..=18 => ("page /login", get_page(&http, &base, "/login", None).await),
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
