//! Talking to the server under test: starting it, server functions as
//! the app calls them, pages, sign-up, uploads, a PostgreSQL database.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::PASSWORD;

pub struct Server {
    pub child: Child,
    pub base: String,
}

pub fn start(db: &str, dir: &std::path::Path, port: u16) -> Server {
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

pub async fn wait_ready(http: &reqwest::Client, base: &str) {
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

/// GETs a page (with the session, if any) and reads it whole; its status.
pub async fn get_page(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    session: Option<&str>,
) -> Option<u16> {
    let mut req = http
        .get(format!("{base}{path}"))
        .header("accept-encoding", "br");
    if let Some(s) = session {
        req = req.header("cookie", format!("atrium_session={s}"));
    }
    let res = req.send().await.ok()?;
    let status = res.status().as_u16();
    let _ = res.bytes().await;
    Some(status)
}

/// POSTs a server function as the app does; (status, body).
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    endpoint: &str,
    pairs: &[(&str, &str)],
    session: Option<&str>,
) -> reqwest::Result<(u16, String, Option<String>)> {
    let mut req = http
        .post(format!("{base}/api/{endpoint}"))
        .header("accept", "application/json")
        .header("origin", base)
        .form(pairs);
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

pub async fn sign_up(http: &reqwest::Client, base: &str, n: usize, run: &str) -> String {
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

pub async fn me(http: &reqwest::Client, base: &str, session: &str) -> Value {
    let (_, body, _) = call(http, base, "session/me", &[], Some(session))
        .await
        .expect("session/me answers");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// One person's writes in the crash phase: the last acknowledged name,
/// every name sent, and whether a picture upload was acknowledged.
pub type CrashLog = (Option<String>, Vec<String>, bool);

/// When an answer came, to what, and its status (0: none).
pub type Answer = (Instant, &'static str, u16);

pub async fn make_pg_database(admin: &str) -> (String, String) {
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

pub fn small_png(n: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, (n * 37 % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG encodes");
    out.into_inner()
}

pub async fn upload(http: &reqwest::Client, base: &str, session: &str, png: &[u8]) -> Option<u16> {
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
