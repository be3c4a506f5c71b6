//! Integration tests: the real router, a fresh database per test, a test
//! clock. Every scenario runs on SQLite and, when TEST_POSTGRES_URL is set,
//! on PostgreSQL (a new database per test, dropped afterwards).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use backend::{Backend, TestClock};
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::Value;
use server::{app_state, build_backend, router, Config};
use tower::ServiceExt;

const PASSWORD: &str = "violet tractor mango 42";
const START: i64 = 1_795_737_600; // 2026-11-27T00:00:00Z

struct TestApp {
    router: Router,
    backend: Backend,
    clock: Arc<TestClock>,
    outbox: PathBuf,
    /// The database, for a server process a test starts on it.
    database_url: String,
    /// On PostgreSQL, the change listener a server process runs.
    listener: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    /// (admin URL, database name) of a PostgreSQL database to drop at the end.
    pg_cleanup: Option<(String, String)>,
    /// Mails already looked at, so each lookup finds the new one.
    seen_mails: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// The server's settings for a test: everything under `dir` (which is also
/// the site folder), cheap password hashing.
fn test_config(dir: &std::path::Path, database_url: &str, public_url: &str) -> Config {
    Config::parse_from([
        "atrium",
        "--database-url",
        database_url,
        "--mail-outbox-dir",
        dir.join("outbox").to_str().unwrap(),
        "--sms-outbox-dir",
        dir.join("sms").to_str().unwrap(),
        "--secret-key-file",
        dir.join("secret.key").to_str().unwrap(),
        "--password-hashing",
        "insecure-minimal",
        "--public-url",
        public_url,
        "--site-root",
        dir.to_str().unwrap(),
        // Every test person signs up from one address; the limit's own
        // test sets it low.
        "--sign-ups-per-hour",
        "1000",
    ])
}

impl TestApp {
    async fn with_database(
        database_url: String,
        dir: tempfile::TempDir,
        pg_cleanup: Option<(String, String)>,
    ) -> Self {
        let outbox = dir.path().join("outbox");
        let config = test_config(dir.path(), &database_url, "http://127.0.0.1:3000");
        let clock = Arc::new(TestClock::new(START));
        let backend = build_backend(&config, clock.clone())
            .await
            .expect("backend starts");
        let router = router(app_state(&config, backend.clone()));
        let listener = tokio::spawn(backend.clone().listen_for_changes(database_url.clone()));
        TestApp {
            router,
            backend,
            clock,
            outbox,
            database_url,
            listener,
            _dir: dir,
            pg_cleanup,
            seen_mails: Default::default(),
        }
    }

    /// The secret key file the test's backend seals with.
    fn key_file(&self) -> PathBuf {
        self._dir.path().join("secret.key")
    }

    async fn sqlite() -> Self {
        Self::sqlite_in(tempfile::tempdir().unwrap()).await
    }

    /// On SQLite, with `dir` as the site folder too (so a test can put
    /// built files in it first).
    async fn sqlite_in(dir: tempfile::TempDir) -> Self {
        let url = format!("sqlite://{}", dir.path().join("atrium.db").display());
        Self::with_database(url, dir, None).await
    }

    /// None (and a note on stderr) when TEST_POSTGRES_URL is not set;
    /// a failure instead when `CI` is set.
    async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
            // In CI a missing database is a failure, never a quiet pass.
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but TEST_POSTGRES_URL is not: the PostgreSQL variants cannot run"
            );
            eprintln!("TEST_POSTGRES_URL not set: PostgreSQL variant skipped");
            return None;
        };
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let name = format!(
            "atrium_test_{}",
            &backend::secret::Token::generate().hash()[..16]
        );
        let mut admin = sqlx::AnyConnection::connect(&admin_url)
            .await
            .expect("TEST_POSTGRES_URL reachable");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&name);
        let dir = tempfile::tempdir().unwrap();
        Some(Self::with_database(url.to_string(), dir, Some((admin_url, name))).await)
    }

    async fn finish(self) {
        self.listener.abort();
        self.backend.db.pool.close().await;
        if let Some((admin_url, name)) = self.pg_cleanup {
            use sqlx::Connection;
            if let Ok(mut admin) = sqlx::AnyConnection::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
            }
        }
    }

    async fn send(&self, mut req: Request<Body>) -> Response<Body> {
        // The peer is 203.0.113.7 unless the request names another.
        if req.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40000))));
        }
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// Calls a server function the way the hydrated app does.
    async fn call(&self, endpoint: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        let header = cookie.map(|c| format!("atrium_session={c}"));
        self.call_with_cookies(endpoint, form, header.as_deref())
            .await
    }

    /// Calls a server function with a whole Cookie header.
    async fn call_with_cookies(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
        cookies: Option<&str>,
    ) -> Reply {
        let body = serde_urlencoded(form);
        let mut req = Request::post(format!("/api/{endpoint}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .header(header::USER_AGENT, "atrium-tests");
        if let Some(c) = cookies {
            req = req.header(header::COOKIE, c);
        }
        Reply::from(self.send(req.body(Body::from(body)).unwrap()).await).await
    }

    /// Signs up someone with a phone number; returns the session token.
    async fn sign_up_with_phone(&self, email: &str, phone: &str) -> String {
        let r = self
            .call(
                "auth/signup",
                &[
                    ("first_name", "Sam"),
                    ("last_name", "Ray"),
                    ("email", email),
                    ("phone", phone),
                    ("password", PASSWORD),
                ],
                None,
            )
            .await;
        r.session_cookie()
            .unwrap_or_else(|| panic!("signed up: {}", r.body))
    }

    /// The texts in the SMS outbox, oldest first (file names start with the time).
    fn texts(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self._dir.path().join("sms")) else {
            return vec![];
        };
        let mut files: Vec<_> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    async fn sign_up(&self, first: &str, last: &str, email: &str, password: &str) -> Reply {
        self.call(
            "auth/signup",
            &[
                ("first_name", first),
                ("last_name", last),
                ("email", email),
                ("phone", ""),
                ("password", password),
            ],
            None,
        )
        .await
    }

    /// Signs up Ann Lee and returns her session token.
    async fn sign_up_ann(&self) -> String {
        self.sign_up("Ann", "Lee", "ann@example.org", PASSWORD)
            .await
            .session_cookie()
            .expect("session cookie")
    }

    async fn audit_count(&self, kind: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_event WHERE kind = $1")
            .bind(kind)
            .fetch_one(&self.backend.db.pool)
            .await
            .unwrap();
        n
    }

    /// The first step of sign-in (the password); sets the pending sign-in cookie.
    /// The first sign-in step from the browser at `ip` holding `cookies`.
    async fn sign_in_from(
        &self,
        ip: &str,
        cookies: Option<&str>,
        email: &str,
        password: &str,
    ) -> Reply {
        let body = serde_urlencoded(&[("email", email), ("password", password)]);
        let mut req = Request::post("/api/auth/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, "http://127.0.0.1:3000");
        if let Some(c) = cookies {
            req = req.header(header::COOKIE, c);
        }
        let mut req = req.body(Body::from(body)).unwrap();
        let peer: std::net::IpAddr = ip.parse().unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(peer, 40000)));
        Reply::from(self.send(req).await).await
    }

    async fn sign_in_password(&self, email: &str, password: &str) -> Reply {
        self.call(
            "auth/login",
            &[("email", email), ("password", password)],
            None,
        )
        .await
    }

    /// The second step: `code` for the pending sign-in `challenge`, from a
    /// browser that may already hold the session `cookie`.
    async fn verify_code(&self, challenge: &str, code: &str, cookie: Option<&str>) -> Reply {
        let mut cookies = format!("atrium_signin={challenge}");
        if let Some(c) = cookie {
            cookies.push_str(&format!("; atrium_session={c}"));
        }
        self.call_with_cookies("auth/verify-code", &[("code", code)], Some(&cookies))
            .await
    }

    /// The whole sign-in: password, then the code from the mail. Returns the
    /// first step's reply when that fails, else the second step's.
    async fn sign_in(&self, email: &str, password: &str, cookie: Option<&str>) -> Reply {
        let first = self.sign_in_password(email, password).await;
        let Some(challenge) = first.cookie("atrium_signin") else {
            return first;
        };
        let code = self.sign_in_code(email).await;
        self.verify_code(&challenge, &code, cookie).await
    }

    async fn me(&self, cookie: &str) -> Value {
        let r = self.call("session/me", &[], Some(cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    }

    async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(&self.backend.db.pool)
            .await
            .unwrap();
        n
    }

    /// Every message in the outbox, once background sends have finished.
    async fn mails(&self) -> Vec<String> {
        self.backend.mailer.flush().await;
        let Ok(dir) = std::fs::read_dir(&self.outbox) else {
            return vec![];
        };
        let mut files: Vec<_> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// The verification token from the newest mail to `to`.
    async fn verification_token(&self, to: &str) -> String {
        self.link_token(to, "verify-email?token=").await
    }

    /// The reset token from the newest mail to `to`.
    async fn reset_token(&self, to: &str) -> String {
        self.link_token(to, "reset-password?token=").await
    }

    /// The one mail to `to` whose subject contains `subject` that no earlier
    /// lookup returned, decoded. Outbox files have random names and may share
    /// a timestamp, so "newest" is "not seen before".
    async fn new_mail(&self, to: &str, subject: &str) -> String {
        let to = to.to_lowercase();
        let mut fresh: Vec<String> = self
            .mails()
            .await
            .into_iter()
            .filter(|m| {
                m.lines().any(|l| l.to_lowercase() == format!("to: {to}"))
                    && m.lines()
                        .any(|l| l.starts_with("Subject: ") && l.contains(subject))
            })
            .filter(|m| !self.seen_mails.lock().unwrap().contains(m))
            .collect();
        assert_eq!(
            fresh.len(),
            1,
            "expected one new {subject:?} mail to {to}, found {}",
            fresh.len()
        );
        let mail = fresh.pop().unwrap();
        self.seen_mails.lock().unwrap().insert(mail.clone());
        unfold_mail(&mail)
    }

    async fn link_token(&self, to: &str, marker: &str) -> String {
        let subject = if marker.starts_with("verify") {
            "confirm your email"
        } else {
            "reset your password"
        };
        let text = self.new_mail(to, subject).await;
        let at = text.find(marker).expect("link in mail") + marker.len();
        text[at..at + 43].to_string()
    }

    /// The code of the newest sign-in code mail to `to`.
    async fn sign_in_code(&self, to: &str) -> String {
        let text = self.new_mail(to, "your sign-in code").await;
        text.lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
            .expect("a 6-digit code in the mail")
            .to_string()
    }

    async fn mails_with_subject(&self, subject: &str) -> usize {
        self.mails()
            .await
            .iter()
            .filter(|m| m.contains(&format!("Subject: {subject}")))
            .count()
    }

    async fn forgot(&self, email: &str) -> Reply {
        self.call("auth/forgot-password", &[("email", email)], None)
            .await
    }

    async fn reset(&self, token: &str, password: &str, cookie: Option<&str>) -> Reply {
        self.call(
            "auth/reset-password",
            &[("token", token), ("password", password)],
            cookie,
        )
        .await
    }
}

/// Decodes the quoted-printable or base64 bodies of a raw message enough to
/// find a link in it.
fn unfold_mail(raw: &str) -> String {
    use base64::Engine;
    let mut out = raw.replace("=\r\n", "").replace("=3D", "=");
    for block in raw.split("\r\n\r\n") {
        let compact: String = block.split_whitespace().collect();
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
            if let Ok(s) = String::from_utf8(bytes) {
                out.push_str(&s);
            }
        }
    }
    out
}

fn serde_urlencoded(form: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    async fn from(res: Response<Body>) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).to_string(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The session token this reply set, if any.
    fn session_cookie(&self) -> Option<String> {
        self.cookie("atrium_session")
    }

    /// The value this reply set for cookie `name`, if not empty.
    fn cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(prefix.as_str()))
            .map(|v| v.split(';').next().unwrap_or("").to_string())
            .filter(|v| !v.is_empty())
    }

    fn field_error(&self, field: &str) -> Option<String> {
        let v = self.json();
        v["Validation"]["fields"]
            .as_array()?
            .iter()
            .find(|f| f["field"] == field)
            .map(|f| f["message"].as_str().unwrap_or("").to_string())
    }
}

/// Fails a scenario that has not finished after 3 minutes (they take
/// seconds), naming it, instead of letting the run hang until CI gives up.
/// A guard against hangs, not a speed rule.
async fn hang_guard(scenario: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(std::time::Duration::from_secs(180), scenario)
        .await
        .expect("this scenario has not finished in 3 minutes: it hangs");
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let app = super::TestApp::sqlite().await;
                super::hang_guard(super::$name(&app)).await;
                app.finish().await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(app) = super::TestApp::postgres().await {
                    super::hang_guard(super::$name(&app)).await;
                    app.finish().await;
                }
            }
        }
    )*};
}

#[path = "api/accounts.rs"]
mod accounts;
#[path = "api/assets.rs"]
mod assets;
#[path = "api/oidc.rs"]
mod oidc;
#[path = "api/sealed.rs"]
mod sealed;
#[path = "api/sms.rs"]
mod sms;
#[path = "api/sync.rs"]
mod sync;

on_both_databases!(
    sign_up_signs_in_and_mails_a_verification_link,
    duplicate_email_is_refused_in_any_letter_case,
    bad_sign_up_input_names_each_field_and_writes_nothing,
    verification_link_works_once_and_expires,
    sign_in_rotates_the_session_id,
    sign_out_invalidates_the_session,
    sessions_end_after_idle_timeout_and_absolute_lifetime,
    repeated_failures_are_throttled_then_recover,
    parallel_guesses_get_no_more_than_the_allowance,
    someone_elses_failures_do_not_keep_the_owner_out,
    unknown_email_is_indistinguishable_from_wrong_password,
    calls_without_a_valid_session_are_refused,
    resending_the_verification_mail_is_rate_limited,
    http_guards_and_headers,
    reset_link_sets_a_new_password_once,
    reset_link_expires_after_30_minutes_and_is_superseded,
    reset_signs_out_every_other_session,
    forgot_password_answers_alike_for_unknown_addresses,
    reset_requests_are_rate_limited,
    security_tab_sends_the_link_to_the_signed_in_person,
    dashboard_lists_recent_security_events,
    sign_in_needs_the_emailed_code,
    five_wrong_codes_end_the_sign_in,
    pending_sign_in_expires_after_10_minutes,
    a_new_code_replaces_the_old_one_after_30_seconds,
    wrong_codes_count_towards_sign_in_throttling,
    changing_the_method_needs_the_password_within_10_minutes,
    authenticator_enrolment_sign_in_replay_and_recovery_codes,
    back_to_email_codes_and_the_support_fallback,
    text_messages_only_for_phones_in_allowed_regions,
    an_unfinished_setup_is_finished_at_the_next_sign_in,
    profile_edits_are_checked_saved_and_audited,
    a_save_from_a_stale_version_is_refused,
    a_phone_that_receives_sign_in_codes_cannot_be_changed,
    avatar_is_cropped_stored_and_served_immutably,
    avatar_respects_exif_orientation,
    bad_avatar_uploads_change_nothing,
    avatar_can_be_removed_or_replaced_by_initials,
    avatar_uploads_are_rate_limited_per_person,
    sign_ups_are_limited_per_network,
    a_mail_link_opened_confirms_nothing_until_its_button_is_pressed,
);

async fn sign_up_signs_in_and_mails_a_verification_link(app: &TestApp) {
    let r = app
        .sign_up("Zoë", "O'Brien", "Zoe@Example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/profile");
    let cookie = r.session_cookie().expect("session cookie");
    let set_cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/")
    );
    assert!(!set_cookie.contains("Secure"), "plain-HTTP public URL");

    let me = app.me(&cookie).await;
    assert_eq!(me["first_name"], "Zoë");
    assert_eq!(me["last_name"], "O'Brien");
    assert_eq!(me["email"], "Zoe@Example.org");
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["member_since"], "27 November 2026");
    assert!(
        !me.to_string().contains("argon2"),
        "no hash on the wire: {me}"
    );

    let mails = app.mails().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Subject: Atrium: confirm your email address"));
    assert_eq!(app.verification_token("Zoe@Example.org").await.len(), 43);
    assert_eq!(app.audit_count("user.signed_up").await, 1);
    let (ip, ua): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT ip, user_agent FROM audit_event WHERE kind = 'user.signed_up'")
            .fetch_one(&app.backend.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (ip.as_deref(), ua.as_deref()),
        (Some("203.0.113.7"), Some("atrium-tests"))
    );
    // Only a hash of the session token is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM session WHERE id_hash = '{cookie}'"
        ))
        .await,
        0
    );
}

async fn duplicate_email_is_refused_in_any_letter_case(app: &TestApp) {
    assert_eq!(
        app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .sign_up("Ann", "Other", "ANN@Example.ORG", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("email").unwrap().contains("already exists"));
    assert!(r.session_cookie().is_none());
    assert_eq!(app.count(r#"SELECT COUNT(*) FROM "user""#).await, 1);
    assert_eq!(app.mails().await.len(), 1);
}

async fn bad_sign_up_input_names_each_field_and_writes_nothing(app: &TestApp) {
    let long = "x".repeat(10_000);
    let cases: Vec<(&str, &str, &str, &str, &str, &str)> = vec![
        // (first, last, email, password, field, message part)
        (
            "",
            "Lee",
            "a@example.org",
            PASSWORD,
            "first_name",
            "Enter your first name",
        ),
        (
            "Ann",
            &long,
            "a@example.org",
            PASSWORD,
            "last_name",
            "at most 100",
        ),
        (
            "Ann\u{1b}[31m",
            "Lee",
            "a@example.org",
            PASSWORD,
            "first_name",
            "control",
        ),
        (
            "Ann",
            "Lee",
            "not-an-email",
            PASSWORD,
            "email",
            "like name@example.com",
        ),
        (
            "Ann",
            "Lee",
            "a@example.org",
            "short",
            "password",
            "at least 8",
        ),
        (
            "Ann",
            "Lee",
            "a@example.org",
            &long,
            "password",
            "at most 128",
        ),
        (
            "Ann",
            "Lee",
            "a@example.org",
            "iloveyou",
            "password",
            "breached",
        ),
    ];
    for (first, last, email, password, field, part) in cases {
        let r = app.sign_up(first, last, email, password).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        let msg = r
            .field_error(field)
            .unwrap_or_else(|| panic!("no error on {field}: {}", r.body));
        assert!(msg.contains(part), "{field}: {msg}");
    }
    // All problems at once.
    let r = app.sign_up(" ", " ", "x", "1").await;
    for field in ["first_name", "last_name", "email", "password"] {
        assert!(r.field_error(field).is_some(), "{field}");
    }
    assert_eq!(app.count(r#"SELECT COUNT(*) FROM "user""#).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 0);
    assert!(app.mails().await.is_empty());
}

async fn verification_link_works_once_and_expires(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let token = app.verification_token("ann@example.org").await;

    let r = app
        .call("auth/verify-email", &[("token", &token)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json(), "ann@example.org");
    assert_eq!(app.me(&cookie).await["email_verified"], true);

    let again = app
        .call("auth/verify-email", &[("token", &token)], None)
        .await;
    assert_eq!(again.status, StatusCode::GONE);
    assert_eq!(again.json()["Link"]["issue"], "Used");

    let bogus = app
        .call("auth/verify-email", &[("token", "nope")], None)
        .await;
    assert_eq!(bogus.status, StatusCode::NOT_FOUND);

    // A second person's link, opened after 24 hours.
    app.sign_up("Bo", "Ng", "bo@example.org", PASSWORD).await;
    let late = app.verification_token("bo@example.org").await;
    app.clock.advance(24 * 3600);
    let r = app
        .call("auth/verify-email", &[("token", &late)], None)
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.json()["Link"]["issue"], "Expired");
    let (verified,): (Option<i64>,) = sqlx::query_as(
        r#"SELECT email_verified_at FROM "user" WHERE email_normalized = 'bo@example.org'"#,
    )
    .fetch_one(&app.backend.db.pool)
    .await
    .unwrap();
    assert_eq!(verified, None);
}

async fn sign_in_rotates_the_session_id(app: &TestApp) {
    let first = app.sign_up_ann().await;
    let r = app.sign_in("ANN@example.org", PASSWORD, Some(&first)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = r.session_cookie().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.me(&first).await,
        Value::Null,
        "the old id no longer works"
    );
    assert_eq!(app.me(&second).await["first_name"], "Ann");
    assert_eq!(app.audit_count("session.signed_in").await, 2);
}

async fn sign_out_invalidates_the_session(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let r = app.call("auth/logout", &[], Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/login");
    let cleared = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cleared.starts_with("atrium_session=;") && cleared.contains("Max-Age=0"));
    assert_eq!(app.me(&cookie).await, Value::Null);
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 0);
    assert_eq!(app.audit_count("session.signed_out").await, 1);
}

async fn sessions_end_after_idle_timeout_and_absolute_lifetime(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    // Active every 29 minutes: the idle timeout (30 min) never fires...
    for _ in 0..10 {
        app.clock.advance(29 * 60);
        assert_eq!(app.me(&cookie).await["first_name"], "Ann");
    }
    // ... but 30 idle minutes do.
    app.clock.advance(30 * 60);
    assert_eq!(app.me(&cookie).await, Value::Null);

    let cookie = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    for _ in 0..24 {
        app.clock.advance(29 * 60);
        assert_eq!(app.me(&cookie).await["first_name"], "Ann");
    }
    // 12 hours after sign-in the session ends however active it was.
    app.clock.advance(25 * 60);
    assert_eq!(app.me(&cookie).await, Value::Null);
}

async fn repeated_failures_are_throttled_then_recover(app: &TestApp) {
    app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD).await;
    for i in 1..=4 {
        let r = app
            .sign_in("ann@example.org", "wrong password!", None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The 5th failure earns a delay; during it even the right password waits.
    assert_eq!(
        app.sign_in("ann@example.org", "wrong password!", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "2");
    assert!(
        r.json()["RateLimited"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            == 2
    );
    assert!(r.session_cookie().is_none());

    // Another failure after the wait doubles it.
    app.clock.advance(2);
    assert_eq!(
        app.sign_in("ann@example.org", "wrong password!", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "4");

    // Never a lockout: once the delay has passed the right password works.
    app.clock.advance(4);
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.audit_count("session.sign_in_failed").await, 6);
    assert!(app.audit_count("session.sign_in_throttled").await >= 2);
    // The counters are rows in the database, shared by every instance.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sign_in_throttle WHERE key = 'ip:203.0.113.7'")
            .await,
        1
    );
}

/// 60 wrong passwords at once for one account from one fresh address: each
/// attempt is claimed before the hash, so only the free allowance is checked.
async fn parallel_guesses_get_no_more_than_the_allowance(app: &TestApp) {
    app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD).await;
    let burst = (0..60)
        .map(|_| app.sign_in_from("198.51.100.60", None, "ann@example.org", "wrong password!"));
    let replies = futures_util::future::join_all(burst).await;
    let checked = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let slowed = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked, 5, "only the allowance is checked");
    assert_eq!(slowed, 55);
    assert_eq!(app.audit_count("session.sign_in_failed").await, 5);
    // The counter agrees: five failures, not sixty.
    assert_eq!(
        app.count(
            "SELECT failures FROM sign_in_throttle WHERE key = 'account-net:ann@example.org|198.51.100.60'"
        )
        .await,
        5
    );
}

/// Wrong guesses from elsewhere never refuse the owner's right password from
/// a browser that signed in to the account before, nor from another network.
async fn someone_elses_failures_do_not_keep_the_owner_out(app: &TestApp) {
    app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD).await;
    app.sign_up("Bob", "Roe", "bob@example.org", PASSWORD).await;
    // Ann's laptop signs in once and keeps a device cookie.
    let first = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let device = first.cookie("atrium_device").expect("a device cookie");
    let set = first
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("atrium_device="))
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("Max-Age=31536000"),
        "{set}"
    );
    let laptop = format!("atrium_device={device}");
    // Bob's browser is known to Bob, not to Ann.
    let bobs = app.sign_in("bob@example.org", PASSWORD, None).await;
    let bobs = format!("atrium_device={}", bobs.cookie("atrium_device").unwrap());

    // An attacker at 192.0.2.66 guesses until slowed down.
    let attacker = "192.0.2.66";
    for _ in 0..5 {
        let r = app
            .sign_in_from(attacker, None, "ann@example.org", "guess guess")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .sign_in_from(attacker, None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's network is slowed"
    );
    // Bob's device cookie does not make that network Ann's.
    let r = app
        .sign_in_from(attacker, Some(&bobs), "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // Ann, on the same network even, with her laptop: let in.
    let r = app
        .sign_in_from(attacker, Some(&laptop), "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // From another network, without the cookie (a new phone): let in too.
    let r = app
        .sign_in_from("198.51.100.20", None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // An IPv6 subscriber's /64 counts as one network.
    for i in 0..5 {
        let ip = format!("2001:db8:aa:bb::{i:x}");
        let r = app
            .sign_in_from(&ip, None, "ann@example.org", "guess guess")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .sign_in_from("2001:db8:aa:bb:ffff::1", None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = app
        .sign_in_from("2001:db8:aa:bc::1", None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Guessing spread over many networks meets the account-wide allowance
    // (50); even then the laptop gets in.
    for n in 0..10 {
        for _ in 0..5 {
            let ip = format!("192.0.2.{}", 100 + n);
            app.sign_in_from(&ip, None, "ann@example.org", "guess guess")
                .await;
        }
    }
    let r = app
        .sign_in_from("198.51.100.21", None, "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let r = app
        .sign_in_from("198.51.100.21", Some(&laptop), "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The laptop's own wrong guesses slow only the laptop.
    for _ in 0..5 {
        let r = app
            .sign_in_from(
                "198.51.100.21",
                Some(&laptop),
                "ann@example.org",
                "typo typo",
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .sign_in_from("198.51.100.21", Some(&laptop), "ann@example.org", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Only the hash of the device token is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM known_device WHERE id_hash = '{device}'"
        ))
        .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM known_device").await, 2);

    // A token planted in a browser never becomes the person's: signing in
    // with one (never seen, or Bob's) hands out a new token.
    // (The codes mailed for the first steps above were never used.)
    let unused = app.mails().await;
    app.seen_mails.lock().unwrap().extend(unused);
    let planted = backend::secret::Token::generate();
    let bobs_token = bobs.trim_start_matches("atrium_device=").to_string();
    for held in [planted.expose().to_string(), bobs_token.clone()] {
        app.clock.advance(RESET_WAIT);
        let first = app.sign_in_password("ann@example.org", PASSWORD).await;
        let challenge = first.cookie("atrium_signin").expect("a pending sign-in");
        let code = app.sign_in_code("ann@example.org").await;
        let r = app
            .call_with_cookies(
                "auth/verify-code",
                &[("code", &code)],
                Some(&format!("atrium_signin={challenge}; atrium_device={held}")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let given = r.cookie("atrium_device").unwrap();
        assert_ne!(given, held);
        assert_ne!(given, device);
    }
    // Ann's laptop signing in again keeps its token.
    let first = app.sign_in_password("ann@example.org", PASSWORD).await;
    let challenge = first.cookie("atrium_signin").unwrap();
    let code = app.sign_in_code("ann@example.org").await;
    let r = app
        .call_with_cookies(
            "auth/verify-code",
            &[("code", &code)],
            Some(&format!("atrium_signin={challenge}; {laptop}")),
        )
        .await;
    assert_eq!(r.cookie("atrium_device").unwrap(), device);
}

/// Long enough for every counter of the test above to start again.
const RESET_WAIT: i64 = backend::auth::throttle::RESET_AFTER_SECS;

async fn unknown_email_is_indistinguishable_from_wrong_password(app: &TestApp) {
    app.sign_up("Ann", "Lee", "ann@example.org", PASSWORD).await;
    let wrong = app
        .sign_in("ann@example.org", "wrong password!", None)
        .await;
    let unknown = app
        .sign_in("nobody@example.org", "wrong password!", None)
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!(wrong.json(), "InvalidCredentials");
    // Throttling treats unknown addresses the same way too.
    for _ in 0..4 {
        app.sign_in("nobody@example.org", "wrong password!", None)
            .await;
    }
    assert_eq!(
        app.sign_in("nobody@example.org", "x", None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn calls_without_a_valid_session_are_refused(app: &TestApp) {
    let r = app.call("auth/resend-verification", &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), "Unauthorized");
    let cookie = app.sign_up_ann().await;
    let mut tampered = cookie.clone();
    tampered.replace_range(0..1, if cookie.starts_with('A') { "B" } else { "A" });
    for bad in [tampered.as_str(), "garbage", "", &format!("{cookie}x")] {
        assert_eq!(app.me(bad).await, Value::Null, "{bad}");
        assert_eq!(
            app.call("auth/resend-verification", &[], Some(bad))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let page = app
        .send(Request::get("/profile").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers().get(header::LOCATION).unwrap(), "/login");
    let page = app
        .send(
            Request::get("/profile/security")
                .header(header::COOKIE, format!("atrium_session={tampered}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

async fn resending_the_verification_mail_is_rate_limited(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let first = app.verification_token("ann@example.org").await;
    let mut newest = first.clone();
    for _ in 0..3 {
        let r = app
            .call("auth/resend-verification", &[], Some(&cookie))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        newest = app.verification_token("ann@example.org").await;
    }
    let r = app
        .call("auth/resend-verification", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.mails().await.len(), 4);
    // Only the newest link works.
    assert_eq!(
        app.call("auth/verify-email", &[("token", &first)], None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call("auth/verify-email", &[("token", &newest)], None)
            .await
            .status,
        StatusCode::OK
    );
    app.clock.advance(15 * 60);
    let r = app
        .call("auth/resend-verification", &[], Some(&cookie))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "already confirmed: {}",
        r.body
    );
}

async fn http_guards_and_headers(app: &TestApp) {
    let health = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(Reply::from(health).await.json()["database"], "ok");

    let cross = app
        .send(
            Request::post("/api/auth/login")
                .header(header::ORIGIN, "https://evil.example")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("email=a%40b.org&password=x"))
                .unwrap(),
        )
        .await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    let get = app
        .send(Request::get("/api/session/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);

    let huge = "a".repeat(100 * 1024);
    let big = app
        .send(
            Request::post("/api/auth/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, huge.len() + 6)
                .body(Body::from(format!("email={huge}")))
                .unwrap(),
        )
        .await;
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let login = app
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let h = login.headers();
    let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("'nonce-")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("referrer-policy").unwrap(), "same-origin");
    assert_eq!(h.get("cross-origin-opener-policy").unwrap(), "same-origin");
    assert!(h.get("x-request-id").is_some());
    let verify = app
        .send(
            Request::get("/verify-email?token=x")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        verify.headers().get("referrer-policy").unwrap(),
        "no-referrer"
    );

    // A plain form post (no JavaScript) is answered with a redirect back that carries the error.
    let form = app
        .send(
            Request::post("/api/auth/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html")
                .header(header::REFERER, "http://127.0.0.1:3000/login")
                .body(Body::from("email=a%40b.org&password=wrong"))
                .unwrap(),
        )
        .await;
    assert_eq!(form.status(), StatusCode::FOUND);
    let location = form
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:3000/login?__path=") && location.contains("__err="),
        "{location}"
    );
}

const NEW_PASSWORD: &str = "quiet harbour lantern 7";

/// The status lines after a reset link is sent show only a clock time from
/// the address, never other words put there by whoever made the link.
#[tokio::test]
async fn a_sent_time_in_the_address_is_shown_only_when_it_is_a_time() {
    let app = TestApp::sqlite().await;
    let page = |path: &str| {
        let path = path.to_string();
        let app = &app;
        async move {
            let res = app
                .send(Request::get(path.as_str()).body(Body::empty()).unwrap())
                .await;
            // Without Leptos's markers between text nodes.
            Reply::from(res).await.body.replace("<!>", "")
        }
    };
    let shown = page("/forgot-password?sent=00:30+UTC").await;
    assert!(
        shown.contains("expires in 30 minutes (at 00:30 UTC)"),
        "{shown}"
    );
    let forged = page("/forgot-password?sent=00:30+UTC.+Call+555-0100+to+keep+your+account").await;
    assert!(!forged.contains("555-0100"), "{forged}");
    assert!(
        forged.contains("The link expires in 30 minutes."),
        "{forged}"
    );

    let cookie = app.sign_up_ann().await;
    let security = |query: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            let req = Request::get(format!("/profile/security?reset_sent={query}"))
                .header(header::COOKIE, format!("atrium_session={cookie}"))
                .body(Body::empty())
                .unwrap();
            Reply::from(app.send(req).await)
                .await
                .body
                .replace("<!>", "")
        }
    };
    let shown = security("00:30+UTC").await;
    assert!(shown.contains("at 00:30 UTC"), "{shown}");
    let forged = security("00:30+UTC.+Call+555-0100").await;
    assert!(!forged.contains("555-0100"), "{forged}");
    assert!(forged.contains("in 30 minutes"), "{forged}");
    app.finish().await;
}

async fn reset_link_sets_a_new_password_once(app: &TestApp) {
    app.sign_up_ann().await;
    let r = app.forgot("Ann@Example.org").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/forgot-password?sent=00:30+UTC"
    );
    assert_eq!(
        app.mails_with_subject("Atrium: reset your password").await,
        1
    );
    let token = app.reset_token("ann@example.org").await;
    assert_eq!(
        app.call("auth/check-reset-link", &[("token", &token)], None)
            .await
            .status,
        StatusCode::OK
    );

    // The new password follows the password rules; a refusal does not use the link up.
    let weak = app.reset(&token, "password", None).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.field_error("password").unwrap().contains("breached"));

    let r = app.reset(&token, NEW_PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/login?password=changed"
    );
    assert_eq!(
        app.sign_in("ann@example.org", PASSWORD, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in("ann@example.org", NEW_PASSWORD, None)
            .await
            .status,
        StatusCode::OK
    );

    let again = app.reset(&token, "another fine passphrase", None).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert_eq!(again.json()["Link"]["issue"], "Used");
    assert_eq!(
        app.mails_with_subject("Atrium: your password was changed")
            .await,
        1
    );
    assert_eq!(app.audit_count("password.reset_link_sent").await, 1);
    assert_eq!(app.audit_count("password.changed").await, 1);
}

async fn reset_link_expires_after_30_minutes_and_is_superseded(app: &TestApp) {
    app.sign_up_ann().await;
    app.forgot("ann@example.org").await;
    let first = app.reset_token("ann@example.org").await;
    app.clock.advance(60);
    app.forgot("ann@example.org").await;
    let second = app.reset_token("ann@example.org").await;
    assert_ne!(first, second);
    // Sending a new link voids the earlier one.
    assert_eq!(
        app.reset(&first, NEW_PASSWORD, None).await.status,
        StatusCode::NOT_FOUND
    );

    app.clock.advance(30 * 60 - 1);
    let check = app
        .call("auth/check-reset-link", &[("token", &second)], None)
        .await;
    assert_eq!(
        check.status,
        StatusCode::OK,
        "29:59 after sending it still works"
    );
    app.clock.advance(2);
    let late = app.reset(&second, NEW_PASSWORD, None).await;
    assert_eq!(late.status, StatusCode::GONE, "30:01 after sending");
    assert_eq!(late.json()["Link"]["issue"], "Expired");
    assert_eq!(
        app.sign_in("ann@example.org", PASSWORD, None).await.status,
        StatusCode::OK
    );
}

async fn reset_signs_out_every_other_session(app: &TestApp) {
    let laptop = app.sign_up_ann().await;
    let phone = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    let tablet = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    app.forgot("ann@example.org").await;
    let token = app.reset_token("ann@example.org").await;
    // Reset from the tablet: the tablet stays signed in, the others end.
    // Someone who got past the old password is waiting at the second step.
    let pending = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let pending_code = app.sign_in_code("ann@example.org").await;
    let r = app.reset(&token, NEW_PASSWORD, Some(&tablet)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.verify_code(&pending, &pending_code, None).await.json(),
        "SignInExpired"
    );
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/profile/security?password=changed"
    );
    assert_eq!(app.me(&laptop).await, Value::Null);
    assert_eq!(app.me(&phone).await, Value::Null);
    assert_eq!(app.me(&tablet).await["first_name"], "Ann");
    assert_eq!(app.count("SELECT COUNT(*) FROM session").await, 1);
}

async fn forgot_password_answers_alike_for_unknown_addresses(app: &TestApp) {
    app.sign_up_ann().await;
    let mails_before = app.mails().await.len();
    let known = app.forgot("ann@example.org").await;
    let unknown = app.forgot("nobody@example.org").await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body, unknown.body);
    assert_eq!(
        known.headers.get(header::LOCATION),
        unknown.headers.get(header::LOCATION)
    );
    assert_eq!(
        app.mails().await.len(),
        mails_before + 1,
        "only the known address gets mail"
    );
    assert_eq!(
        app.audit_count("password.reset_requested_unknown_email")
            .await,
        1
    );
    let bad = app.forgot("not an email").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn reset_requests_are_rate_limited(app: &TestApp) {
    app.sign_up_ann().await;
    for _ in 0..3 {
        assert_eq!(app.forgot("ann@example.org").await.status, StatusCode::OK);
    }
    let r = app.forgot("ANN@example.org").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.json()["RateLimited"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            <= 15 * 60
    );
    // The same limit applies to unknown addresses, so it tells nothing either.
    for _ in 0..3 {
        app.forgot("nobody@example.org").await;
    }
    assert_eq!(
        app.forgot("nobody@example.org").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Per IP: 10 per 15 minutes, across addresses (3 + 3 + 1 + 1 used so far).
    for i in 0..2 {
        assert_eq!(
            app.forgot(&format!("x{i}@example.org")).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.forgot("x9@example.org").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(15 * 60);
    assert_eq!(app.forgot("ann@example.org").await.status, StatusCode::OK);
}

async fn security_tab_sends_the_link_to_the_signed_in_person(app: &TestApp) {
    assert_eq!(
        app.call("security/send-reset-link", &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let cookie = app.sign_up_ann().await;
    let r = app
        .call("security/send-reset-link", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/profile/security?reset_sent=00:30+UTC"
    );
    assert_eq!(app.reset_token("ann@example.org").await.len(), 43);
}

async fn dashboard_lists_recent_security_events(app: &TestApp) {
    assert_eq!(
        app.call("security/events", &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let cookie = app.sign_up_ann().await;
    for _ in 0..12 {
        app.clock.advance(1);
        app.sign_in("ann@example.org", "wrong password!", None)
            .await;
        app.clock.advance(1);
        app.sign_in("ann@example.org", PASSWORD, None).await;
    }
    let events = app.call("security/events", &[], Some(&cookie)).await.json();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 10);
    assert_eq!(events[0]["what"], "Signed in");
    assert_eq!(events[1]["what"], "Sign-in code sent");
    assert_eq!(events[2]["what"], "Failed sign-in attempt");
    assert_eq!(events[0]["ip"], "203.0.113.7");
    assert_eq!(events[0]["browser"], "Unknown browser");
    assert!(events[0]["when"]
        .as_str()
        .unwrap()
        .starts_with("27 November 2026, 00:00 UTC"));
}

/// Signs up Ann, signs out, and enters the right password: returns the
/// pending sign-in token and the code mailed for it.
async fn password_step(app: &TestApp) -> (String, String) {
    app.sign_up_ann().await;
    let r = app.sign_in_password("ann@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/login/verify");
    assert!(
        r.session_cookie().is_none(),
        "no session before the second factor"
    );
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("Max-Age=600"),
        "{set}"
    );
    let challenge = r.cookie("atrium_signin").expect("pending sign-in cookie");
    (challenge, app.sign_in_code("ann@example.org").await)
}

async fn sign_in_needs_the_emailed_code(app: &TestApp) {
    let (challenge, code) = password_step(app).await;
    // The pending sign-in is not a session.
    assert_eq!(app.me(&challenge).await, Value::Null);
    let info = app
        .call_with_cookies(
            "auth/challenge",
            &[],
            Some(&format!("atrium_signin={challenge}")),
        )
        .await;
    assert_eq!(info.json()["sent_to"], "a•••@example.org");
    assert_eq!(info.json()["method"], "email");

    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = app.verify_code(&challenge, wrong, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.field_error("code").unwrap(),
        "That code is not right. 4 tries left."
    );
    let r = app.verify_code(&challenge, "12", None).await;
    assert_eq!(r.field_error("code").unwrap(), "Enter the 6-digit code.");

    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let r = app.verify_code(&challenge, &spaced, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/profile");
    let session = r.session_cookie().expect("session after the second factor");
    assert_eq!(app.me(&session).await["first_name"], "Ann");
    assert!(r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("atrium_signin=;")));

    // The code and the pending sign-in are used up.
    let again = app.verify_code(&challenge, &code, None).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(again.json(), "SignInExpired");
    assert_eq!(app.audit_count("mfa.failed").await, 1);
}

async fn five_wrong_codes_end_the_sign_in(app: &TestApp) {
    let (challenge, code) = password_step(app).await;
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for left in (1..=4).rev() {
        let r = app.verify_code(&challenge, wrong, None).await;
        let tries = if left == 1 {
            "1 try".to_string()
        } else {
            format!("{left} tries")
        };
        assert_eq!(
            r.field_error("code").unwrap(),
            format!("That code is not right. {tries} left.")
        );
    }
    let fifth = app.verify_code(&challenge, wrong, None).await;
    assert_eq!(fifth.json(), "SignInExpired");
    let right = app.verify_code(&challenge, &code, None).await;
    assert_eq!(
        right.json(),
        "SignInExpired",
        "even the right code is refused now"
    );
    assert!(right.session_cookie().is_none());
}

async fn pending_sign_in_expires_after_10_minutes(app: &TestApp) {
    let (challenge, code) = password_step(app).await;
    app.clock.advance(10 * 60);
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), "SignInExpired");
    let missing = app.call("auth/verify-code", &[("code", &code)], None).await;
    assert_eq!(missing.json(), "SignInExpired");
}

async fn a_new_code_replaces_the_old_one_after_30_seconds(app: &TestApp) {
    let (challenge, first) = password_step(app).await;
    let cookies = format!("atrium_signin={challenge}");
    let soon = app
        .call_with_cookies("auth/resend-code", &[], Some(&cookies))
        .await;
    assert_eq!(soon.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(30);
    let r = app
        .call_with_cookies("auth/resend-code", &[], Some(&cookies))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = app.sign_in_code("ann@example.org").await;
    if first != second {
        let old = app.verify_code(&challenge, &first, None).await;
        assert_eq!(
            old.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the earlier code stops working"
        );
    }
    assert_eq!(
        app.verify_code(&challenge, &second, None).await.status,
        StatusCode::OK
    );
}

async fn wrong_codes_count_towards_sign_in_throttling(app: &TestApp) {
    let (challenge, code) = password_step(app).await;
    let wrong = if code == "111111" { "111112" } else { "111111" };
    for _ in 0..4 {
        app.verify_code(&challenge, wrong, None).await;
    }
    // A fifth failure, this time a wrong password, earns a delay for the account.
    assert_eq!(
        app.sign_in_password("ann@example.org", "wrong password!")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.sign_in_password("ann@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(2);
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.session_cookie().is_some());
}

use backend::auth::totp::{self, TotpSecret};
use backend::Clock;

async fn mfa_state(app: &TestApp, cookie: &str) -> Value {
    let r = app.call("security/mfa", &[], Some(cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

/// Enrols an authenticator for the signed-in `cookie`; returns its secret.
async fn enrol_authenticator(app: &TestApp, cookie: &str) -> (TotpSecret, Vec<String>) {
    let r = app
        .call("security/start-authenticator", &[], Some(cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let key = mfa_state(app, cookie).await["setup"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = TotpSecret::from_base32(&key).unwrap();
    let code = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    let r = app
        .call(
            "security/confirm-authenticator",
            &[("code", &code)],
            Some(cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let codes: Vec<String> = serde_json::from_value(r.json()).unwrap();
    (secret, codes)
}

async fn changing_the_method_needs_the_password_within_10_minutes(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    assert_eq!(
        mfa_state(app, &cookie).await["password_recent"],
        true,
        "just typed at sign-up"
    );
    app.clock.advance(10 * 60);
    assert_eq!(mfa_state(app, &cookie).await["password_recent"], false);
    let r = app
        .call("security/start-authenticator", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json(), "ReauthRequired");
    // A setup started within the window is not shown after it: its secret
    // is as good as the app.
    let confirm = |password: &'static str| {
        let cookie = cookie.clone();
        async move {
            app.call(
                "security/confirm-password",
                &[("password", password)],
                Some(&cookie),
            )
            .await
        }
    };
    assert_eq!(confirm(PASSWORD).await.status, StatusCode::OK);
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert!(mfa_state(app, &cookie).await["setup"]["key"].is_string());
    app.clock.advance(10 * 60);
    let state = mfa_state(app, &cookie).await;
    assert_eq!(state["password_recent"], false);
    assert!(state["setup"].is_null(), "{state}");
    let wrong = app
        .call(
            "security/confirm-password",
            &[("password", "not it at all")],
            Some(&cookie),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong.field_error("password").unwrap(),
        "That password is not right."
    );
    let right = app
        .call(
            "security/confirm-password",
            &[("password", PASSWORD)],
            Some(&cookie),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("security/mfa", &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn authenticator_enrolment_sign_in_replay_and_recovery_codes(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    let shown = mfa_state(app, &cookie).await;
    // The pending secret stays the same across reloads; email stays active meanwhile.
    let reloaded = mfa_state(app, &cookie).await;
    assert_eq!(shown["setup"]["key"], reloaded["setup"]["key"]);
    // Starting setup again makes a new secret: a key seen before stops working.
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    let first = mfa_state(app, &cookie).await;
    assert_ne!(shown["setup"]["key"], first["setup"]["key"]);
    let again = mfa_state(app, &cookie).await;
    assert_eq!(first["setup"]["key"], again["setup"]["key"]);
    assert_eq!(again["method"], "email");
    assert!(again["setup"]["qr"]
        .as_str()
        .unwrap()
        .starts_with("data:image/svg+xml;base64,"));
    let key = first["setup"]["key"].as_str().unwrap();
    assert_eq!(
        key.split(' ').count(),
        8,
        "32 base32 letters in groups of four: {key}"
    );

    let wrong = app
        .call(
            "security/confirm-authenticator",
            &[("code", "000000")],
            Some(&cookie),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (secret, codes) = enrol_authenticator(app, &cookie).await;
    assert_eq!(codes.len(), 10);
    let state = mfa_state(app, &cookie).await;
    assert_eq!(
        (
            state["method"].as_str(),
            state["recovery_codes_left"].as_i64()
        ),
        (Some("authenticator"), Some(10))
    );
    assert!(state["setup"].is_null());
    assert_eq!(
        app.mails_with_subject("Atrium: your sign-in method was changed")
            .await,
        1
    );

    // Sign-in: no code is mailed; the app's code is asked for.
    app.clock.advance(30);
    let step1 = app.sign_in_password("ann@example.org", PASSWORD).await;
    let challenge = step1.cookie("atrium_signin").unwrap();
    let info = app
        .call_with_cookies(
            "auth/challenge",
            &[],
            Some(&format!("atrium_signin={challenge}")),
        )
        .await;
    assert_eq!(info.json()["method"], "authenticator");
    assert_eq!(app.mails_with_subject("Atrium: your sign-in code").await, 0);
    let code = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.session_cookie().is_some());

    // The same code, again in the same 30 seconds: refused.
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let replay = app.verify_code(&challenge, &code, None).await;
    assert_eq!(replay.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(replay.field_error("code").unwrap().contains("already used"));
    // A recovery code works, once.
    let r = app
        .verify_code(&challenge, &codes[3].to_uppercase(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.audit_count("mfa.recovery_code_used").await, 1);
    assert_eq!(
        app.mails_with_subject("Atrium: a recovery code was used")
            .await,
        1
    );
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    assert_eq!(
        app.verify_code(&challenge, &codes[3], None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The next step's code works.
    app.clock.advance(30);
    let next = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    assert_eq!(
        app.verify_code(&challenge, &next, None).await.status,
        StatusCode::OK
    );
    assert_eq!(mfa_state(app, &cookie).await["recovery_codes_left"], 9);

    // New recovery codes replace the old ones.
    let r = app
        .call("security/regenerate-recovery-codes", &[], Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(mfa_state(app, &cookie).await["recovery_codes_left"], 10);
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    assert_eq!(
        app.verify_code(&challenge, &codes[0], None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// Whether `cookie` still names a session (`session/me` answers null for
/// anyone signed out).
async fn signed_in(app: &TestApp, cookie: &str) -> bool {
    let r = app.call("session/me", &[], Some(cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    !r.json().is_null()
}

/// A second browser's session for Ann (who signs in with emailed codes).
async fn another_session(app: &TestApp) -> String {
    app.sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .expect("signed in")
}

async fn back_to_email_codes_and_the_support_fallback(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let laptop = another_session(app).await;
    enrol_authenticator(app, &cookie).await;
    // A change of sign-in method ends the other sessions, not this one.
    assert!(!signed_in(app, &laptop).await, "enrolment ends the others");
    assert!(signed_in(app, &cookie).await);
    app.clock.advance(10 * 60);
    assert_eq!(
        app.call("security/use-email", &[], Some(&cookie))
            .await
            .json(),
        "ReauthRequired"
    );
    app.call(
        "security/confirm-password",
        &[("password", PASSWORD)],
        Some(&cookie),
    )
    .await;
    assert_eq!(
        app.call("security/use-email", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(mfa_state(app, &cookie).await["method"], "email");
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_code").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM mfa_authenticator").await, 0);
    let phone = another_session(app).await;
    assert_eq!(
        app.call("security/use-email", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    assert!(
        !signed_in(app, &phone).await,
        "a switch to codes ends the others"
    );
    assert!(signed_in(app, &cookie).await);

    // Support's fallback for a lost phone: switch to email without the password.
    enrol_authenticator(app, &cookie).await;
    let (user_id,): (i64,) = sqlx::query_as(r#"SELECT id FROM "user""#)
        .fetch_one(&app.backend.db.pool)
        .await
        .unwrap();
    app.backend
        .support_switch_mfa_to_email(user_id, "ticket T-1", &backend::RequestMeta::default())
        .await
        .unwrap();
    // Support's switch ends every session of the person.
    assert!(!signed_in(app, &cookie).await);
    assert_eq!(
        app.mails_with_subject("Atrium: your sign-in method was changed")
            .await,
        5
    );
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "an emailed code signs in again: {}",
        r.body
    );
    let fresh = r.session_cookie().unwrap();
    assert_eq!(mfa_state(app, &fresh).await["method"], "email");
}

async fn text_messages_only_for_phones_in_allowed_regions(app: &TestApp) {
    let us = app
        .sign_up_with_phone("sam@example.org", "+1 415 555 0132")
        .await;
    let de = app
        .sign_up_with_phone("dora@example.org", "+49 30 901820")
        .await;
    let none = app.sign_up_ann().await;
    assert_eq!(mfa_state(app, &us).await["sms_unavailable"], Value::Null);
    assert_eq!(
        mfa_state(app, &de).await["sms_unavailable"],
        "Not available in your area (DE)."
    );
    assert_eq!(
        mfa_state(app, &none).await["sms_unavailable"],
        "No phone number on your profile."
    );
    let refused = app.call("security/start-sms", &[], Some(&de)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.json()["Conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("(DE)"));

    assert!(app.texts().is_empty(), "nothing texted to a refused number");
    turn_on_sms(app, &us).await;
    assert_eq!(mfa_state(app, &us).await["method"], "sms");

    // Sign-in: the code is texted, not mailed.
    let challenge = app
        .sign_in_password("sam@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let info = app
        .call_with_cookies(
            "auth/challenge",
            &[],
            Some(&format!("atrium_signin={challenge}")),
        )
        .await
        .json();
    assert_eq!(
        (info["method"].as_str(), info["sent_to"].as_str()),
        (Some("sms"), Some("•••• 0132"))
    );
    let texts = app.texts();
    assert_eq!(texts.len(), 2, "the confirmation, then the sign-in code");
    assert!(texts[1].starts_with("To: +14155550132\n"), "{}", texts[1]);
    assert!(texts[1].contains("sign-in code"), "{}", texts[1]);
    let code = code_in_text(&texts[1]);
    assert_eq!(app.mails_with_subject("Atrium: your sign-in code").await, 0);
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.session_cookie().is_some());
}

/// The 6-digit code in a text message from the SMS outbox.
fn code_in_text(text: &str) -> String {
    let body = text.split_once("\n\n").map(|(_, b)| b).unwrap_or(text);
    let digits: Vec<char> = body.chars().collect();
    digits
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {text:?}"))
}

/// Turns texted sign-in codes on for `cookie`: the code texted to the
/// number on the profile, typed back.
async fn turn_on_sms(app: &TestApp, cookie: &str) {
    let before = app.texts().len();
    let r = app.call("security/start-sms", &[], Some(cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let texts = app.texts();
    assert_eq!(texts.len(), before + 1);
    let code = code_in_text(texts.last().unwrap());
    let r = app
        .call("security/confirm-sms", &[("code", &code)], Some(cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A stand-in for a Twilio-compatible Messages API on a local port: records
/// each request and answers with the given status.
async fn fake_sms_provider(
    status: StatusCode,
) -> (String, Arc<std::sync::Mutex<Vec<(String, String, String)>>>) {
    use axum::routing::post;
    let seen: Arc<std::sync::Mutex<Vec<(String, String, String)>>> = Default::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        post(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
                let record = record.clone();
                async move {
                    let auth = headers
                        .get(header::AUTHORIZATION)
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default();
                    record
                        .lock()
                        .unwrap()
                        .push((uri.path().to_string(), auth, body));
                    (status, "{\"sid\":\"SM1\"}")
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn sms_provider_is_called_like_twilio() {
    use base64::Engine;
    let (base, seen) = fake_sms_provider(StatusCode::CREATED).await;
    let sender = backend::sms::SmsSender::http(&base, "AC123", "tok-secret", "+15005550006");
    sender
        .send("+14155550132", "Atrium sign-in code: 123456")
        .await
        .unwrap();
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let (path, auth, body) = &calls[0];
    assert_eq!(path, "/2010-04-01/Accounts/AC123/Messages.json");
    let expected = base64::engine::general_purpose::STANDARD.encode("AC123:tok-secret");
    assert_eq!(auth, &format!("Basic {expected}"));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        form,
        vec![
            ("To".to_string(), "+14155550132".to_string()),
            ("From".to_string(), "+15005550006".to_string()),
            (
                "Body".to_string(),
                "Atrium sign-in code: 123456".to_string()
            ),
        ]
    );

    let (failing, _) = fake_sms_provider(StatusCode::INTERNAL_SERVER_ERROR).await;
    let sender = backend::sms::SmsSender::http(&failing, "AC123", "tok-secret", "+15005550006");
    assert!(sender.send("+14155550132", "x").await.is_err());
}

async fn an_unfinished_setup_is_finished_at_the_next_sign_in(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    assert_eq!(
        app.call("security/start-authenticator", &[], Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    let key = mfa_state(app, &cookie).await["setup"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = TotpSecret::from_base32(&key).unwrap();

    // The next sign-in still needs the current method (an email code): the
    // pending secret is never shown to someone who has only the password.
    let challenge = app
        .sign_in_password("ann@example.org", PASSWORD)
        .await
        .cookie("atrium_signin")
        .unwrap();
    let cookies = format!("atrium_signin={challenge}");
    let info = app
        .call_with_cookies("auth/challenge", &[], Some(&cookies))
        .await;
    assert_eq!(info.json()["method"], "email");
    assert!(
        !info.body.contains(&key.replace(' ', "")),
        "no secret before the second factor"
    );
    let pending_code = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    assert_eq!(
        app.verify_code(&challenge, &pending_code, None)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the unfinished app's code is no second factor"
    );

    // Then it leads straight to the setup, with the same key, ready to finish.
    let code = app.sign_in_code("ann@example.org").await;
    let r = app.verify_code(&challenge, &code, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get(header::LOCATION).unwrap(),
        "/profile/security?finish_setup=1"
    );
    let session = r.session_cookie().unwrap();
    let state = mfa_state(app, &session).await;
    assert_eq!(state["setup"]["key"].as_str(), Some(key.as_str()));
    assert_eq!(
        state["password_recent"], true,
        "the password was just typed"
    );
    assert_eq!(state["method"], "email");
    app.clock.advance(30);
    let code = totp::code_at(&secret, 6, app.clock.now()).unwrap();
    let r = app
        .call(
            "security/confirm-authenticator",
            &[("code", &code)],
            Some(&session),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(mfa_state(app, &session).await["method"], "authenticator");
}

// ---------------------------------------------------------------------------
// Profile tab and avatar

async fn update_profile(
    app: &TestApp,
    cookie: &str,
    fields: &[(&str, &str)],
    version: i64,
) -> Reply {
    let version = version.to_string();
    let mut form = fields.to_vec();
    form.push(("version", &version));
    app.call("profile/update", &form, Some(cookie)).await
}

async fn profile_edits_are_checked_saved_and_audited(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let v = app.me(&cookie).await["version"].as_i64().unwrap();

    // Live feedback names the problem and saves nothing.
    let r = app
        .call(
            "profile/check",
            &[
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("phone", "04444 444444"),
                ("country", "GB"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["errors"][0]["field"], "phone");
    assert_eq!(
        r.json()["errors"][0]["message"],
        "This is not a valid number for United Kingdom."
    );
    let r = app
        .call(
            "profile/check",
            &[
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("phone", "07400 123456"),
                ("country", "GB"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(r.json()["phone_formatted"], "+44 7400 123456");

    // Every bad field is reported together, and nothing is written.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "  "),
            ("last_name", "Lee\u{200B}"),
            ("phone", "12"),
            ("country", "GB"),
        ],
        v,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.field_error("first_name").unwrap(),
        "Enter your first name."
    );
    assert!(r.field_error("last_name").unwrap().contains("invisible"));
    assert_eq!(
        r.field_error("phone").unwrap(),
        "This phone number is too short."
    );
    let me = app.me(&cookie).await;
    assert_eq!(
        (me["first_name"].as_str(), me["version"].as_i64()),
        (Some("Ann"), Some(v))
    );

    // A national number with its country is stored in E.164; names in any script.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", " Zoë "),
            ("last_name", "Ñúñez-李"),
            ("phone", "07400 123456"),
            ("country", "GB"),
        ],
        v,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let saved = r.json();
    assert_eq!(saved["first_name"], "Zoë");
    assert_eq!(saved["last_name"], "Ñúñez-李");
    assert_eq!(saved["phone"], "+447400123456");
    assert_eq!(saved["phone_display"], "+44 7400 123456");
    assert_eq!(saved["version"].as_i64(), Some(v + 1));
    assert_eq!(app.audit_count("profile.updated").await, 1);
    let (detail,): (String,) =
        sqlx::query_as("SELECT detail FROM audit_event WHERE kind = 'profile.updated'")
            .fetch_one(&app.backend.db.pool)
            .await
            .unwrap();
    assert_eq!(detail, "first name, last name, phone");

    // Saving the same values again changes nothing and writes no event.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Zoë"),
            ("last_name", "Ñúñez-李"),
            ("phone", "+44 7400 123456"),
            ("country", "US"),
        ],
        v + 1,
    )
    .await;
    assert_eq!(r.json()["version"].as_i64(), Some(v + 1));
    assert_eq!(app.audit_count("profile.updated").await, 1);

    // Markup in a name is text everywhere it is rendered.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "<img src=x onerror=alert(1)>"),
            ("last_name", "Lee"),
            ("phone", ""),
            ("country", "GB"),
        ],
        v + 1,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["phone"], Value::Null);
    for page in ["/profile", "/profile/details"] {
        let res = app
            .send(
                Request::get(page)
                    .header(header::COOKIE, format!("atrium_session={cookie}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let html = Reply::from(res).await.body;
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{page}"
        );
        assert!(!html.contains("<img src=x"), "{page}");
    }

    // Without a session nothing is saved.
    let r = app
        .call(
            "profile/update",
            &[("first_name", "X"), ("last_name", "Y"), ("version", "1")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn a_save_from_a_stale_version_is_refused(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let v = app.me(&cookie).await["version"].as_i64().unwrap();
    // Two tabs opened at version v; the first saves.
    let first = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Annie"),
            ("last_name", "Lee"),
            ("phone", ""),
            ("country", "GB"),
        ],
        v,
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Anna"),
            ("last_name", "Lee"),
            ("phone", ""),
            ("country", "GB"),
        ],
        v,
    )
    .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    assert!(second.json()["Conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("changed in another tab"));
    let me = app.me(&cookie).await;
    assert_eq!(me["first_name"], "Annie");
    assert_eq!(me["version"].as_i64(), Some(v + 1));
    assert_eq!(app.audit_count("profile.updated").await, 1);
}

async fn a_phone_that_receives_sign_in_codes_cannot_be_changed(app: &TestApp) {
    let cookie = app
        .sign_up_with_phone("sam@example.org", "+1 415 555 2671")
        .await;
    sqlx::query(r#"UPDATE "user" SET mfa_method = 'sms'"#)
        .execute(&app.backend.db.pool)
        .await
        .unwrap();
    let v = app.me(&cookie).await["version"].as_i64().unwrap();
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Sam"),
            ("last_name", "Ray"),
            ("phone", "+1 415 555 0199"),
            ("country", "US"),
        ],
        v,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.field_error("phone").unwrap().contains("Security tab"));
    // The names may still change while the number stays.
    let r = update_profile(
        app,
        &cookie,
        &[
            ("first_name", "Samuel"),
            ("last_name", "Ray"),
            ("phone", "(415) 555-2671"),
            ("country", "US"),
        ],
        v,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["first_name"], "Samuel");
}

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
        assert!(r.body.contains(message), "{what}: {}", r.body);
    }

    // 11 MB: refused by size, before anything is read or decoded.
    let big = vec![0u8; 11 * 1024 * 1024];
    let r = upload_avatar(app, Some(&cookie), &big, whole).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(r.body.contains("10 MB"), "{}", r.body);

    // Without a session, and with a body that is not multipart.
    let r = upload_avatar(app, None, &good, whole).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let req = Request::post("/api/avatar")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::COOKIE, format!("atrium_session={cookie}"))
        .body(Body::from(r#"{"image":"x"}"#))
        .unwrap();
    let r = Reply::from(app.send(req).await).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(r.body.contains("multipart/form-data"));

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
    assert_eq!(app.send(req).await.status(), StatusCode::FORBIDDEN);

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

/// New users per network per hour (`SIGN_UPS_PER_HOUR`, here 3): input that
/// is refused anyway does not count, another network has its own count, and
/// the window passes.
async fn sign_ups_are_limited_per_network(app: &TestApp) {
    use backend::auth::service::SignUp;
    use backend::secret::Password;
    let mut backend = app.backend.clone();
    backend.settings = Arc::new(backend::Settings {
        sign_ups_per_hour: 3,
        ..(*app.backend.settings).clone()
    });
    let from = |ip: &str| backend::RequestMeta {
        ip: Some(ip.to_string()),
        ..Default::default()
    };
    let form = |n: &str, password: &str| SignUp {
        first_name: "Sam".into(),
        last_name: "Script".into(),
        email: format!("sam{n}@example.org"),
        phone: String::new(),
        password: Password::new(password),
        invitation: None,
    };
    let script = from("198.51.100.9");
    // A refused form is not a sign-up.
    for n in 0..5 {
        let r = backend
            .sign_up(form(&format!("bad{n}"), "short"), &script)
            .await;
        assert!(matches!(r, Err(backend::Error::Validation(_))), "{r:?}");
    }
    for n in 0..3 {
        backend
            .sign_up(form(&n.to_string(), PASSWORD), &script)
            .await
            .unwrap();
    }
    let r = backend.sign_up(form("3", PASSWORD), &script).await;
    assert!(
        matches!(r, Err(backend::Error::RateLimited { .. })),
        "{r:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM \"user\" WHERE email LIKE 'sam%'")
            .await,
        3
    );
    // An IPv6 /64 is one network; another /64 is another.
    let v6 = |host: &str| from(&format!("2001:db8:5:6::{host}"));
    for n in 0..3 {
        backend
            .sign_up(form(&format!("v6-{n}"), PASSWORD), &v6(&format!("{n}")))
            .await
            .unwrap();
    }
    assert!(backend
        .sign_up(form("v6-3", PASSWORD), &v6("ff"))
        .await
        .is_err());
    backend
        .sign_up(form("v6-other", PASSWORD), &from("2001:db8:5:7::1"))
        .await
        .unwrap();
    // An hour later the network may sign up again.
    app.clock.advance(3600);
    backend.sign_up(form("3", PASSWORD), &script).await.unwrap();
}

/// A mail scanner opens links: the verification page then names the address
/// and offers a button, and only the button's POST confirms. Without
/// JavaScript the outcome comes back to the page once, in a flash cookie.
async fn a_mail_link_opened_confirms_nothing_until_its_button_is_pressed(app: &TestApp) {
    let cookie = app.sign_up_ann().await;
    let token = app.verification_token("ann@example.org").await;
    let open = |cookies: Option<String>, path: String| async move {
        let mut req = Request::get(path);
        if let Some(c) = cookies {
            req = req.header(header::COOKIE, c);
        }
        Reply::from(app.send(req.body(Body::empty()).unwrap()).await).await
    };
    for _ in 0..3 {
        let page = open(None, format!("/verify-email?token={token}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Confirm email address"), "{}", page.body);
        assert!(page.body.contains("ann@example.org"), "{}", page.body);
    }
    assert_eq!(app.me(&cookie).await["email_verified"], false);
    assert_eq!(app.audit_count("email.verified").await, 0);

    // The button, without JavaScript: a form post, answered with the page.
    let press = || async {
        Reply::from(
            app.send(
                Request::post("/api/auth/verify-email")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "text/html")
                    .header(header::ORIGIN, "http://127.0.0.1:3000")
                    .body(Body::from(format!("token={token}")))
                    .unwrap(),
            )
            .await,
        )
        .await
    };
    let r = press().await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/verify-email");
    let flash = r.cookie("atrium_flash").expect("the outcome for the page");
    assert_eq!(app.me(&cookie).await["email_verified"], true);
    let page = open(
        Some(format!("atrium_flash={flash}")),
        "/verify-email".into(),
    )
    .await;
    assert!(page.body.contains("ann@example.org"), "{}", page.body);
    assert!(page.body.contains("is confirmed"), "{}", page.body);
    // Read once: the page clears it.
    assert!(page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("atrium_flash=;")));

    // Opened again, the link says it was used; pressed again, so does the outcome.
    let page = open(None, format!("/verify-email?token={token}")).await;
    assert!(page.body.contains("already been used"), "{}", page.body);
    assert!(
        !page.body.contains("Confirm email address"),
        "{}",
        page.body
    );
    let r = press().await;
    let flash = r.cookie("atrium_flash").unwrap();
    let page = open(
        Some(format!("atrium_flash={flash}")),
        "/verify-email".into(),
    )
    .await;
    assert!(page.body.contains("already been used"), "{}", page.body);
}
