//! Keeping platforms in sync (issue 12): the transactional outbox, signed
//! webhooks verified with the `standardwebhooks` crate (a verifier we did
//! not write), per-person ordering, retries on the test clock,
//! dead-lettering and redelivery.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use super::oidc::{code_exchange, code_for, real_now, signed_in_person, CALLBACK};
use super::*;

on_both_databases!(
    changes_reach_the_platform_signed_and_in_order,
    failing_deliveries_retry_with_backoff_then_die,
    no_change_without_its_event_and_no_event_without_its_change,
    a_delivery_cut_off_by_kill_9_is_sent_after_a_restart,
    two_server_processes_share_the_deliveries_without_sending_twice,
    open_tabs_hear_of_changes_and_of_the_end_of_their_session,
    a_tab_served_by_another_process_hears_of_a_change_made_here,
);

/// A platform's webhook endpoint: keeps what it receives and answers with
/// the status in `status`; with 0, it never answers.
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
}

impl Receiver {
    async fn start() -> Self {
        let status = Arc::new(AtomicU16::new(200));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (status.clone(), received.clone());
        let app = axum::Router::new().route(
            "/webhooks",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (s, r) = (s.clone(), r.clone());
                async move {
                    r.lock().unwrap().push((headers, body));
                    let status = s.load(Ordering::SeqCst);
                    if status == 0 {
                        std::future::pending::<()>().await;
                    }
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/webhooks"),
            status,
            received,
        }
    }

    fn take(&self) -> Vec<(axum::http::HeaderMap, String)> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

/// Registers a platform with a webhook at `receiver`; Ann (signed in) uses
/// it with `scope`. Returns (client_id, webhook_secret, Ann's session).
async fn platform_with_webhook(
    app: &TestApp,
    receiver: &Receiver,
    scope: &str,
) -> (String, String, String) {
    let registered = app
        .backend
        .add_platform(backend::oidc::platform::NewPlatform {
            name: "ConnectivityPro".into(),
            redirect_uris: vec![CALLBACK.into()],
            webhook_url: Some(receiver.url.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let secret = registered.webhook_secret.clone().expect("a webhook secret");
    let client_id = registered.platform.client_id.clone();
    let session = signed_in_person(app).await;
    let verifier = "w".repeat(43);
    let code = code_for(
        app,
        &client_id,
        &format!("atrium_session={session}"),
        &verifier,
    )
    .await;
    let r = code_exchange(app, &code, &verifier, &client_id, &registered.client_secret).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["scope"].as_str().unwrap().contains("profile"));
    if scope != "openid profile" {
        sqlx::query("UPDATE oidc_platform_user SET scope = $1 WHERE client_id = $2")
            .bind(scope)
            .bind(&client_id)
            .execute(app.backend.pool())
            .await
            .unwrap();
    }
    (client_id, secret, session)
}

async fn rename(app: &TestApp, session: &str, first: &str) {
    let v = app.me(session).await["version"].as_i64().unwrap();
    let r = app
        .call(
            "profile/update",
            &[
                ("first_name", first),
                ("last_name", "Lee"),
                ("phone", ""),
                ("version", &v.to_string()),
            ],
            Some(session),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

fn verify(secret: &str, headers: &axum::http::HeaderMap, body: &str) -> Value {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    wh.verify(body.as_bytes(), headers)
        .unwrap_or_else(|e| panic!("the signature verifies: {e:?}"));
    serde_json::from_str(body).unwrap()
}

async fn changes_reach_the_platform_signed_and_in_order(app: &TestApp) {
    // The verifier checks the timestamp against the real clock.
    app.clock.set(real_now());
    let receiver = Receiver::start().await;
    let (client_id, secret, session) =
        platform_with_webhook(app, &receiver, "openid profile").await;

    rename(app, &session, "Annie").await;
    rename(app, &session, "Anna").await;
    // A person's events go in version order: the second waits for the first.
    assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 1);
    assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 1);
    assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 0);
    let got = receiver.take();
    assert_eq!(got.len(), 2);
    let bodies: Vec<Value> = got.iter().map(|(h, b)| verify(&secret, h, b)).collect();
    assert_eq!(bodies[0]["type"], "person.updated");
    assert_eq!(bodies[0]["data"]["claims"]["given_name"], "Annie");
    assert_eq!(bodies[1]["data"]["claims"]["given_name"], "Anna");
    assert_eq!(bodies[1]["data"]["claims"]["name"], "Anna Lee");
    let (v0, v1) = (
        bodies[0]["data"]["version"].as_i64().unwrap(),
        bodies[1]["data"]["version"].as_i64().unwrap(),
    );
    assert_eq!(v1, v0 + 1, "versions increase per person");
    assert!(bodies[0]["data"]["sub"].as_str().unwrap().len() >= 22);
    // The phone is not this platform's to know (no phone scope).
    assert!(bodies[0]["data"]["claims"].get("phone_number").is_none());
    // The webhook-id is the event's, the same on every attempt.
    assert!(got[0].0["webhook-id"].to_str().unwrap().starts_with("msg_"));

    // A tampered body or another secret does not verify: the check is real.
    let wh = standardwebhooks::Webhook::new(&secret).unwrap();
    let h = &got[0].0;
    let tampered = got[0].1.replace("Annie", "Eve");
    assert!(wh.verify(tampered.as_bytes(), h).is_err());
    let other = backend::sync::webhook::new_secret();
    assert!(standardwebhooks::Webhook::new(&other)
        .unwrap()
        .verify(got[0].1.as_bytes(), h)
        .is_err());

    // Initials instead of a picture: the picture is sent as null.
    let r = app
        .call("avatar/generated", &[("color", "teal")], Some(&session))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    while app.backend.deliver_webhooks().await.unwrap() > 0 {}
    let got = receiver.take();
    assert_eq!(got.len(), 1);
    let body = verify(&secret, &got[0].0, &got[0].1);
    assert!(body["data"]["claims"]["picture"].is_null());

    // Confirming the address (needed to create an account) is a change the
    // platform does not hear of: it was granted no `email` scope.
    let token = app.verification_token("ann@example.org").await;
    let r = app
        .call("auth/verify-email", &[("token", &token)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    while app.backend.deliver_webhooks().await.unwrap() > 0 {}
    assert!(receiver.take().is_empty());

    // Joining an account: the person's memberships, whatever the scopes.
    let r = app
        .call("accounts/create", &[("name", "Lee Labs")], Some(&session))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    while app.backend.deliver_webhooks().await.unwrap() > 0 {}
    let got = receiver.take();
    assert_eq!(got.len(), 1);
    let body = verify(&secret, &got[0].0, &got[0].1);
    assert_eq!(body["type"], "person.memberships_changed");
    assert_eq!(body["data"]["memberships"][0]["account"], "Lee Labs");
    assert_eq!(body["data"]["memberships"][0]["role"], "owner");
    assert!(body["data"].get("claims").is_none());
    assert!(app.backend.deliveries(&client_id).await.unwrap().is_empty());
}

async fn failing_deliveries_retry_with_backoff_then_die(app: &TestApp) {
    use backend::sync::{FIRST_RETRY_SECS, MAX_RETRY_SECS, RETRY_FOR_SECS};
    app.clock.set(real_now());
    let receiver = Receiver::start().await;
    let (client_id, secret, session) =
        platform_with_webhook(app, &receiver, "openid profile").await;
    receiver.status.store(503, Ordering::SeqCst);
    rename(app, &session, "Annie").await;

    assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 1);
    let pending = app.backend.deliveries(&client_id).await.unwrap();
    assert_eq!(pending.len(), 1);
    let d = &pending[0];
    assert_eq!((d.status.as_str(), d.attempts), ("pending", 1));
    assert_eq!(d.last_status, Some(503));
    let wait = d.next_attempt_at - app.backend.now();
    assert!(
        (FIRST_RETRY_SECS / 2..=FIRST_RETRY_SECS).contains(&wait),
        "first retry in {wait} s"
    );
    // The Profile tab's Platforms card says so.
    let card = app
        .call("profile/platforms", &[], Some(&session))
        .await
        .json();
    assert_eq!(card[0]["name"], "ConnectivityPro");
    assert!(
        card[0]["status"]
            .as_str()
            .unwrap()
            .starts_with("Retrying since "),
        "{card}"
    );
    assert_eq!(card[0]["behind"], true);
    // Not due yet: nothing is sent.
    assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 0);
    app.clock.advance(wait);
    assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 1);
    let second = app.backend.deliveries(&client_id).await.unwrap()[0].clone();
    let wait2 = second.next_attempt_at - app.backend.now();
    assert!(
        (FIRST_RETRY_SECS..=2 * FIRST_RETRY_SECS).contains(&wait2),
        "backoff doubles: {wait2} s"
    );
    // Retries go on, never more than an hour apart, until 24 hours have
    // passed since the change; then the delivery is dead.
    let mut tries = 2;
    loop {
        let d = app.backend.deliveries(&client_id).await.unwrap()[0].clone();
        if d.status == "dead" {
            break;
        }
        let wait = d.next_attempt_at - app.backend.now();
        assert!(wait <= MAX_RETRY_SECS, "{wait}");
        app.clock.advance(wait.max(0));
        assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 1);
        tries += 1;
        assert!(tries < 100, "dies within 24 hours");
    }
    let dead = app.backend.deliveries(&client_id).await.unwrap()[0].clone();
    assert_eq!(dead.attempts, tries);
    assert!(dead.last_error.as_deref().unwrap().contains("503"));
    assert!(app.backend.now() >= dead.created_at + RETRY_FOR_SECS);
    assert_eq!(receiver.take().len() as i64, tries);
    // A dead delivery does not hold back the person's next change (made
    // in a new session: the first one has expired by now).
    assert!(app.me(&session).await.is_null());
    let session = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    // Back to the real time, which the verifier checks timestamps against.
    app.clock.set(real_now());
    rename(app, &session, "Anna").await;
    receiver.status.store(200, Ordering::SeqCst);
    assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 1);
    let got = receiver.take();
    assert_eq!(
        verify(&secret, &got[0].0, &got[0].1)["data"]["claims"]["given_name"],
        "Anna"
    );
    let card = app
        .call("profile/platforms", &[], Some(&session))
        .await
        .json();
    assert_eq!(card[0]["status"], "Up to date", "{card}");
    assert_eq!(card[0]["behind"], false);

    // An operator queues the dead one again; it goes out at once.
    assert_eq!(app.backend.redeliver(&dead.event_id).await.unwrap(), 1);
    assert_eq!(app.backend.deliver_webhooks().await.unwrap(), 1);
    assert!(app.backend.deliveries(&client_id).await.unwrap().is_empty());
    let got = receiver.take();
    assert_eq!(got[0].0["webhook-id"].to_str().unwrap(), dead.event_id);
    assert_eq!(app.backend.redeliver(&dead.event_id).await.unwrap(), 0);
}

async fn no_change_without_its_event_and_no_event_without_its_change(app: &TestApp) {
    let receiver = Receiver::start().await;
    let (_client_id, _secret, session) =
        platform_with_webhook(app, &receiver, "openid profile").await;
    let events = || app.count("SELECT COUNT(*) FROM change_event");
    let before = events().await;
    rename(app, &session, "Annie").await;
    assert_eq!(events().await, before + 1, "one change, one event");

    // The transaction fails after the event is written (its delivery row
    // cannot be inserted): the change is gone with it.
    match app.backend.db().kind {
        backend::db::DbKind::Sqlite => {
            sqlx::query(
                "CREATE TRIGGER refuse_delivery BEFORE INSERT ON webhook_delivery
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            )
            .execute(app.backend.pool())
            .await
            .unwrap();
        }
        backend::db::DbKind::Postgres => {
            for sql in [
                "CREATE FUNCTION refuse_delivery() RETURNS trigger AS $$
                 BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_delivery BEFORE INSERT ON webhook_delivery
                 FOR EACH ROW EXECUTE FUNCTION refuse_delivery()",
            ] {
                sqlx::query(sql).execute(app.backend.pool()).await.unwrap();
            }
        }
    }
    let v = app.me(&session).await["version"].as_i64().unwrap();
    let r = app
        .call(
            "profile/update",
            &[
                ("first_name", "Eve"),
                ("last_name", "Lee"),
                ("phone", ""),
                ("version", &v.to_string()),
            ],
            Some(&session),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert_eq!(app.me(&session).await["first_name"], "Annie", "no change");
    assert_eq!(events().await, before + 1, "no event");
    let (version,): (i64,) = sqlx::query_as(
        r#"SELECT sync_version FROM "user" WHERE email_normalized = 'ann@example.org'"#,
    )
    .fetch_one(app.backend.pool())
    .await
    .unwrap();
    assert_eq!(version, 1);
}

/// The server binary on `app`'s database, its worker leasing a delivery for
/// `lease` seconds; everything else in `dir`.
fn start_server(app: &TestApp, dir: &std::path::Path, lease: &str) -> std::process::Child {
    start_server_on(app, dir, lease, "127.0.0.1:0")
}

fn start_server_on(
    app: &TestApp,
    dir: &std::path::Path,
    lease: &str,
    addr: &str,
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--database-url", &app.database_url])
        .args(["--password-hashing", "insecure-minimal"])
        .args(["--site-addr", addr])
        .args(["--site-root", dir.to_str().unwrap()])
        .args(["--mail-outbox-dir", dir.join("outbox").to_str().unwrap()])
        .args(["--sms-outbox-dir", dir.join("sms").to_str().unwrap()])
        // The same keys as the test's own backend: each opens the other's secrets.
        .args(["--secret-key-file", app.key_file().to_str().unwrap()])
        .env("WEBHOOK_LEASE_SECS", lease)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server binary starts")
}

async fn received_within(receiver: &Receiver, n: usize, secs: u64) -> bool {
    for _ in 0..secs * 10 {
        if receiver.received.lock().unwrap().len() >= n {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

async fn a_delivery_cut_off_by_kill_9_is_sent_after_a_restart(app: &TestApp) {
    app.clock.set(real_now());
    let receiver = Receiver::start().await;
    let (client_id, secret, session) =
        platform_with_webhook(app, &receiver, "openid profile").await;
    // The platform takes the request and never answers.
    receiver.status.store(0, Ordering::SeqCst);
    rename(app, &session, "Annie").await;

    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(app, dir.path(), "2");
    assert!(
        received_within(&receiver, 1, 30).await,
        "the worker sends it"
    );
    server.kill().unwrap(); // SIGKILL: no shutdown, the lease stays behind
    server.wait().unwrap();
    let stuck = app.backend.deliveries(&client_id).await.unwrap();
    assert_eq!(stuck.len(), 1);
    assert_eq!(
        (stuck[0].status.as_str(), stuck[0].attempts),
        ("pending", 0)
    );

    // Restarted, the server finds the lease expired and sends it again.
    receiver.status.store(200, Ordering::SeqCst);
    let mut server = start_server(app, dir.path(), "2");
    let mut delivered = received_within(&receiver, 2, 30).await;
    if delivered {
        // The server records the 2xx right after the platform answers.
        delivered = false;
        for _ in 0..100 {
            if app.backend.deliveries(&client_id).await.unwrap().is_empty() {
                delivered = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(delivered, "sent again after the restart, and recorded");
    let got = receiver.take();
    assert_eq!(
        got[0].0["webhook-id"], got[1].0["webhook-id"],
        "the same event"
    );
    let body = verify(&secret, &got[1].0, &got[1].1);
    assert_eq!(body["data"]["claims"]["given_name"], "Annie");
}

async fn two_server_processes_share_the_deliveries_without_sending_twice(app: &TestApp) {
    app.clock.set(real_now());
    let receiver = Receiver::start().await;
    let (client_id, secret, session) =
        platform_with_webhook(app, &receiver, "openid profile").await;
    for i in 0..10 {
        rename(app, &session, &format!("Ann{i}")).await;
    }
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut servers: Vec<_> = dirs
        .iter()
        .map(|d| start_server(app, d.path(), "60"))
        .collect();
    let mut all_done = false;
    if received_within(&receiver, 10, 60).await {
        for _ in 0..100 {
            if app.backend.deliveries(&client_id).await.unwrap().is_empty() {
                all_done = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    // A moment more, for a duplicate to show up if there were one.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for server in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }
    assert!(all_done, "every event delivered");
    let got = receiver.take();
    assert_eq!(got.len(), 10, "each event once");
    let versions: Vec<i64> = got
        .iter()
        .map(|(h, b)| verify(&secret, h, b)["data"]["version"].as_i64().unwrap())
        .collect();
    let mut sorted = versions.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(versions, sorted, "in version order, none twice");
}

/// An open `/api/events` stream, read event by event.
struct Stream {
    body: Body,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, session: &str, last_id: Option<i64>) -> Result<Self, StatusCode> {
        let mut req = Request::get("/api/events")
            .header(header::COOKIE, format!("atrium_session={session}"))
            .header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_id {
            req = req.header("last-event-id", id.to_string());
        }
        let res = app.send(req.body(Body::empty()).unwrap()).await;
        if res.status() != StatusCode::OK {
            return Err(res.status());
        }
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
        assert!(
            res.headers().get(header::CONTENT_ENCODING).is_none(),
            "not compressed"
        );
        Ok(Stream {
            body: res.into_body(),
            buffer: String::new(),
        })
    }

    /// The next event's (name, id), skipping keep-alive comments; `None`
    /// when none comes within `secs` or the stream ends.
    async fn next(&mut self, secs: u64) -> Option<(String, Option<i64>)> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut id = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    }
                }
                if let Some(name) = name {
                    return Some((name, id));
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??;
            if let Ok(data) = frame.ok()?.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

async fn open_tabs_hear_of_changes_and_of_the_end_of_their_session(app: &TestApp) {
    let session = signed_in_person(app).await;
    let laptop = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    assert_eq!(
        Stream::open(app, "nobody", None).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );

    let mut tab = Stream::open(app, &session, None).await.unwrap();
    let (name, first) = tab.next(5).await.expect("the stream opens");
    assert_eq!(name, "ready");
    let first = first.unwrap();
    // Nothing happens: nothing is said.
    assert_eq!(tab.next(1).await, None);

    // A change made on another device reaches this tab at once.
    rename(app, &laptop, "Annie").await;
    assert_eq!(tab.next(2).await, Some(("changed".into(), Some(first + 1))));

    // A tab that was away comes back with its last id and hears of it.
    let mut back = Stream::open(app, &session, Some(first)).await.unwrap();
    assert_eq!(
        back.next(2).await,
        Some(("changed".into(), Some(first + 1)))
    );
    let mut current = Stream::open(app, &session, Some(first + 1)).await.unwrap();
    assert_eq!(
        current.next(2).await,
        Some(("ready".into(), Some(first + 1)))
    );

    // Signing out elsewhere sends this session's tabs to sign-in.
    let r = app.call("auth/logout", &[], Some(&session)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(tab.next(2).await, Some(("signed-out".into(), None)));
    assert_eq!(tab.next(1).await, None, "and the stream ends");
    assert_eq!(
        Stream::open(app, &session, None).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
}

async fn a_tab_served_by_another_process_hears_of_a_change_made_here(app: &TestApp) {
    use tokio::io::AsyncWriteExt;
    // The other process runs on the real clock.
    app.clock.set(real_now());
    let session = signed_in_person(app).await;
    let laptop = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    // Another server process on the same database, on a free port.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server_on(app, dir.path(), "60", &format!("127.0.0.1:{port}"));
    let mut stream = None;
    for _ in 0..300 {
        if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            stream = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut stream = stream.expect("the other process listens");
    // The tab's session was made here; the process reads it from the database.
    stream
        .write_all(
            format!(
                "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Cookie: atrium_session={session}\r\nAccept: text/event-stream\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut seen = String::new();
    let opened = read_until(&mut stream, &mut seen, "event: ready").await;
    // A change made in this process, on another device.
    if opened {
        rename(app, &laptop, "Annie").await;
    }
    let heard = opened && read_until(&mut stream, &mut seen, "event: changed").await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(opened, "the stream opens on the other process: {seen}");
    assert!(heard, "the change reaches it: {seen}");
}

/// Reads `stream` into `seen` until it holds `needle`; false after 10 s.
/// PostgreSQL signals other processes at once (NOTIFY); with SQLite their
/// streams find a change when they look again (every 5 s).
async fn read_until(stream: &mut tokio::net::TcpStream, seen: &mut String, needle: &str) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(needle) {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => return false,
        }
    }
    true
}
