//! Atrium as an OpenID Connect provider, driven by the `openidconnect`
//! crate as the relying party (a client we did not write): discovery, the
//! code flow with PKCE, ID token validation against the JWKS, userinfo,
//! refresh rotation, the errors the specifications name, single sign-on,
//! prompt and max_age, key rotation, RP-initiated and back-channel logout.
//! The browser's part (following redirects with cookies) is played here.

use std::future::Future;
use std::pin::Pin;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, TokenResponse,
};

use base64::Engine;

use super::*;

on_both_databases!(
    a_platform_signs_a_person_in_with_the_code_flow,
    bad_authorization_requests_get_the_errors_the_specs_name,
    bad_token_requests_get_the_errors_the_specs_name,
    signed_in_people_go_straight_back_unless_a_fresh_sign_in_is_asked,
    a_rotated_key_stays_published_until_its_tokens_expire,
    signing_out_of_atrium_signs_the_platforms_out,
    the_devices_list_shows_and_ends_other_sessions,
);

pub(super) const CALLBACK: &str = "https://cp.example/callback";
const AFTER_LOGOUT: &str = "https://cp.example/signed-out";

type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

type HttpFuture =
    Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, std::io::Error>>>>;

/// The relying party's HTTP client: each request goes through the real
/// router in this process, so the test clock and database are shared.
fn rp_http(app: &TestApp) -> impl Fn(openidconnect::HttpRequest) -> HttpFuture {
    let router = app.router.clone();
    move |req: openidconnect::HttpRequest| {
        let router = router.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let mut req = Request::from_parts(parts, Body::from(body));
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 9], 443))));
            let res = router.oneshot(req).await.expect("router answers");
            let (parts, body) = res.into_parts();
            let bytes = body.collect().await.expect("body").to_bytes().to_vec();
            Ok(openidconnect::HttpResponse::from_parts(parts, bytes))
        }) as HttpFuture
    }
}

/// Registers ConnectivityPro; returns (client_id, client_secret).
async fn register(app: &TestApp, backchannel: Option<String>) -> (String, String) {
    let r = app
        .backend
        .add_platform(backend::oidc::platform::NewPlatform {
            name: "ConnectivityPro".into(),
            redirect_uris: vec![CALLBACK.into()],
            post_logout_redirect_uris: vec![AFTER_LOGOUT.into()],
            backchannel_logout_uri: backchannel,
            webhook_url: None,
        })
        .await
        .expect("registered");
    (r.platform.client_id, r.client_secret)
}

async fn discover(app: &TestApp, client_id: &str, secret: &str) -> Rp {
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new("http://127.0.0.1:3000".into()).unwrap(),
        &rp_http(app),
    )
    .await
    .expect("discovery document and JWKS");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap())
}

/// A browser GET of `url` (absolute or a path) with `cookies`.
async fn browse(app: &TestApp, url: &str, cookies: &str) -> Reply {
    let path = url.strip_prefix("http://127.0.0.1:3000").unwrap_or(url);
    let mut req = Request::get(path).header(header::USER_AGENT, "atrium-tests");
    if !cookies.is_empty() {
        req = req.header(header::COOKIE, cookies);
    }
    Reply::from(app.send(req.body(Body::empty()).unwrap()).await).await
}

fn location(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.headers[header::LOCATION].to_str().unwrap().to_string()
}

/// A query parameter of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A person signed in with password and emailed code; returns the session.
pub(super) async fn signed_in_person(app: &TestApp) -> String {
    app.sign_up_ann().await;
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    r.session_cookie()
        .unwrap_or_else(|| panic!("signed in: {}", r.body))
}

struct Started {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: openidconnect::PkceCodeVerifier,
}

fn start(rp: &Rp) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    Started {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

/// The JSON payload of a JWT, read without checking (for claims the
/// relying party's types do not name, such as `sid`).
fn jwt_payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub(super) fn real_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn a_platform_signs_a_person_in_with_the_code_flow(app: &TestApp) {
    // The relying party checks token times against the real clock.
    app.clock.set(real_now());
    let (client_id, secret) = register(app, None).await;
    let rp = discover(app, &client_id, &secret).await;
    let session = signed_in_person(app).await;
    let cookies = format!("atrium_session={session}");

    let s = start(&rp);
    let back = location(&browse(app, &s.url, &cookies).await);
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(s.state.secret().as_str())
    );
    assert_eq!(
        param(&back, "iss").as_deref(),
        Some("http://127.0.0.1:3000")
    );
    let code = param(&back, "code").expect("a code");

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(s.verifier)
        .request_async(&rp_http(app))
        .await
        .expect("tokens for the code");
    // The tokens are stored as hashes only.
    for raw in [
        tokens.access_token().secret(),
        tokens.refresh_token().unwrap().secret(),
    ] {
        let hash = backend::secret::Token::parse(raw).unwrap().hash();
        let stored =
            |value: &str| format!("SELECT COUNT(*) FROM oidc_token WHERE token_hash = '{value}'");
        assert_eq!(app.count(&stored(&hash)).await, 1, "the hash is stored");
        assert_eq!(app.count(&stored(raw)).await, 0, "the token itself is not");
    }
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&rp.id_token_verifier(), &s.nonce)
        .expect("the ID token verifies against the JWKS");
    let (user_id,): (i64,) =
        sqlx::query_as("SELECT id FROM \"user\" WHERE email_normalized = 'ann@example.org'")
            .fetch_one(app.backend.pool())
            .await
            .unwrap();
    let sub = claims.subject().as_str().to_string();
    assert!(
        sub.len() >= 22 && sub != user_id.to_string(),
        "opaque sub: {sub}"
    );
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Ann Lee")
    );
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ann@example.org"));
    assert_eq!(claims.email_verified(), Some(false));
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    assert_eq!(amr, ["pwd", "mfa"]);
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some(backend::oidc::ACR_MFA)
    );
    assert!(claims.auth_time().is_some());
    let raw = jwt_payload(&id_token.to_string());
    assert_eq!(raw["sid"].as_str().map(str::len), Some(32));
    assert!(
        raw.get("picture").is_none(),
        "no picture claim without an avatar"
    );

    // Userinfo answers by the access token's scope.
    let info: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&rp_http(app))
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), sub);
    assert_eq!(
        info.given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("Ann")
    );
    assert!(info.phone_number().is_none(), "phone was not asked for");

    // A narrower scope applies to that answer only: the rotated refresh
    // token keeps the whole grant.
    let narrowed = rp
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .add_scope(Scope::new("openid".into()))
        .request_async(&rp_http(app))
        .await
        .expect("refreshed with a narrower scope");
    let scopes = |t: &openidconnect::core::CoreTokenResponse| -> Vec<String> {
        t.scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(scopes(&narrowed), ["openid"]);
    let widened_again = rp
        .exchange_refresh_token(narrowed.refresh_token().unwrap())
        .unwrap()
        .request_async(&rp_http(app))
        .await
        .expect("refreshed with the grant's scope");
    assert_eq!(scopes(&widened_again), ["openid", "profile", "email"]);

    // Refresh rotates: the new token works, the old one comes back refused
    // and takes the new one with it.
    let first_refresh = widened_again.refresh_token().unwrap().clone();
    let renewed = rp
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&rp_http(app))
        .await
        .expect("refreshed");
    assert_ne!(
        renewed.refresh_token().unwrap().secret(),
        first_refresh.secret()
    );
    let again = rp
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&rp_http(app))
        .await;
    assert_grant_error(again, CoreErrorResponseType::InvalidGrant);
    let after_reuse = rp
        .exchange_refresh_token(&RefreshToken::new(
            renewed.refresh_token().unwrap().secret().clone(),
        ))
        .unwrap()
        .request_async(&rp_http(app))
        .await;
    assert_grant_error(after_reuse, CoreErrorResponseType::InvalidGrant);
}

fn assert_grant_error<T, E>(
    result: Result<
        T,
        RequestTokenError<E, openidconnect::StandardErrorResponse<CoreErrorResponseType>>,
    >,
    expected: CoreErrorResponseType,
) where
    T: std::fmt::Debug,
    E: std::error::Error + std::fmt::Debug + 'static,
{
    match result {
        Err(RequestTokenError::ServerResponse(e)) => assert_eq!(*e.error(), expected, "{e:?}"),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

async fn bad_authorization_requests_get_the_errors_the_specs_name(app: &TestApp) {
    let (client_id, _) = register(app, None).await;
    let session = app.sign_up_ann().await;
    let cookies = format!("atrium_session={session}");
    let challenge = backend::oidc::flow::s256_challenge(&"v".repeat(43));
    let base = |extra: &str| {
        format!(
            "/oauth/authorize?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid&state=st8&code_challenge={challenge}&code_challenge_method=S256{extra}",
            urlencode(CALLBACK)
        )
    };
    let codes_before = app.count("SELECT COUNT(*) FROM oidc_code").await;

    // Unknown platform or unregistered redirect URI: Atrium's own page, no redirect.
    for (url, says) in [
        (
            base("").replace(&client_id, "nobody"),
            "not registered with Atrium",
        ),
        (
            base("").replace(&urlencode(CALLBACK), &urlencode("https://evil.example/cb")),
            "did not register",
        ),
        (
            base("").replace(
                &urlencode(CALLBACK),
                &urlencode("https://cp.example/callback/"),
            ),
            "did not register",
        ),
    ] {
        let r = browse(app, &url, &cookies).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(r.headers.get(header::LOCATION).is_none());
        assert!(r.body.contains(says), "{}", r.body);
    }

    // The rest go back to the platform, with the state.
    for (extra_or_url, error) in [
        (
            base("")
                .replace("&code_challenge_method=S256", "")
                .replace(&format!("&code_challenge={challenge}"), ""),
            "invalid_request",
        ),
        (base("").replace("S256", "plain"), "invalid_request"),
        (
            base("").replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            base("").replace("scope=openid", "scope=profile"),
            "invalid_scope",
        ),
        (base("&request=eyJ"), "request_not_supported"),
        (base("&max_age=soon"), "invalid_request"),
        (base("&prompt=none"), "login_required"),
        (base("&prompt=none%20consent"), "invalid_request"),
        (base("&prompt=none%20select_account"), "invalid_request"),
    ] {
        let signed_out = error == "login_required";
        let r = browse(app, &extra_or_url, if signed_out { "" } else { &cookies }).await;
        let to = location(&r);
        assert!(to.starts_with(CALLBACK), "{to}");
        assert_eq!(
            param(&to, "error").as_deref(),
            Some(error),
            "{extra_or_url}"
        );
        assert_eq!(param(&to, "state").as_deref(), Some("st8"));
        assert!(param(&to, "code").is_none());
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oidc_code").await,
        codes_before
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A code for `client_id` for the browser holding `cookies`, with
/// `verifier`'s challenge.
pub(super) async fn code_for(
    app: &TestApp,
    client_id: &str,
    cookies: &str,
    verifier: &str,
) -> String {
    let url = format!(
        "/oauth/authorize?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid%20profile&state=s&code_challenge={}&code_challenge_method=S256",
        urlencode(CALLBACK),
        backend::oidc::flow::s256_challenge(verifier)
    );
    param(&location(&browse(app, &url, cookies).await), "code").expect("code")
}

/// POSTs the token endpoint as a platform would, with client_secret_post.
/// `POST /oauth/token` exchanging `code` (made with `verifier`'s challenge,
/// for CALLBACK) as the platform `client_id` with `secret`.
pub(super) async fn code_exchange(
    app: &TestApp,
    code: &str,
    verifier: &str,
    client_id: &str,
    secret: &str,
) -> Reply {
    token_post(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
            ("client_id", client_id),
            ("client_secret", secret),
        ],
    )
    .await
}

pub(super) async fn token_post(app: &TestApp, form: &[(&str, &str)]) -> Reply {
    let req = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded(form)))
        .unwrap();
    Reply::from(app.send(req).await).await
}

async fn bad_token_requests_get_the_errors_the_specs_name(app: &TestApp) {
    let (client_id, secret) = register(app, None).await;
    let session = signed_in_person(app).await;
    let cookies = format!("atrium_session={session}");
    let verifier = "a".repeat(43);
    let exchange = |code: String, verifier: String, redirect: &'static str, secret: String| {
        let client_id = client_id.clone();
        async move {
            token_post(
                app,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", &verifier),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                ],
            )
            .await
        }
    };

    // Wrong secret: invalid_client, 401; the code is not spent by it.
    let code = code_for(app, &client_id, &cookies, &verifier).await;
    let r = exchange(code.clone(), verifier.clone(), CALLBACK, "wrong".into()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "invalid_client");
    // Basic credentials that are wrong ask for Basic again.
    let req = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, "Basic bm9ib2R5Om5vdGhpbmc=")
        .body(Body::from("grant_type=authorization_code"))
        .unwrap();
    let r = Reply::from(app.send(req).await).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Basic"));

    // The right exchange works once; a second use is refused and revokes
    // what the first one issued.
    let ok = exchange(code.clone(), verifier.clone(), CALLBACK, secret.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.headers[header::CACHE_CONTROL], "no-store");
    let access = ok.json()["access_token"].as_str().unwrap().to_string();
    let userinfo = |token: String| async move {
        let req = Request::get("/oauth/userinfo")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        Reply::from(app.send(req).await).await
    };
    assert_eq!(userinfo(access.clone()).await.status, StatusCode::OK);
    let reused = exchange(code, verifier.clone(), CALLBACK, secret.clone()).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.json()["error"], "invalid_grant");
    let revoked = userinfo(access).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert!(revoked.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("invalid_token"));

    // Wrong verifier, other redirect URI, another platform: invalid_grant,
    // and the code is not spent (it still works with the right ones).
    let code = code_for(app, &client_id, &cookies, &verifier).await;
    let r = exchange(code.clone(), "b".repeat(43), CALLBACK, secret.clone()).await;
    assert_eq!(r.json()["error"], "invalid_grant");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier"));
    let r = exchange(
        code.clone(),
        verifier.clone(),
        "https://cp.example/other",
        secret.clone(),
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("redirect_uri"));
    let other = app
        .backend
        .add_platform(backend::oidc::platform::NewPlatform {
            name: "SecurityPro".into(),
            redirect_uris: vec![CALLBACK.into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            webhook_url: None,
        })
        .await
        .unwrap();
    let r = code_exchange(
        app,
        &code,
        &verifier,
        &other.platform.client_id,
        &other.client_secret,
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    let ok = exchange(code, verifier.clone(), CALLBACK, secret.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let tokens_before = app.count("SELECT COUNT(*) FROM oidc_token").await;

    // A code lasts CODE_LIFETIME_SECS: one second before, it works; at the
    // end, it is refused.
    let early = code_for(app, &client_id, &cookies, &verifier).await;
    let late = code_for(app, &client_id, &cookies, &verifier).await;
    app.clock.advance(backend::oidc::CODE_LIFETIME_SECS - 1);
    let r = exchange(early, verifier.clone(), CALLBACK, secret.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.clock.advance(1);
    let r = exchange(late, verifier.clone(), CALLBACK, secret.clone()).await;
    assert_eq!(r.json()["error"], "invalid_grant");
    let tokens_before = tokens_before + 2;

    // Missing parameters, a repeated one, an unknown grant type.
    let r = token_post(
        app,
        &[("client_id", &client_id), ("client_secret", &secret)],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_request");
    let r = token_post(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_request");
    let r = token_post(
        app,
        &[
            ("grant_type", "password"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oidc_token").await,
        tokens_before,
        "no refused request issued tokens"
    );
}

async fn signed_in_people_go_straight_back_unless_a_fresh_sign_in_is_asked(app: &TestApp) {
    let (client_id, _) = register(app, None).await;
    app.sign_up_ann().await;
    let verifier = "c".repeat(43);
    let url = format!(
        "/oauth/authorize?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid&state=s1&code_challenge={}&code_challenge_method=S256",
        urlencode(CALLBACK),
        backend::oidc::flow::s256_challenge(&verifier)
    );

    // Signed out: to Atrium's sign-in, which names the platform.
    let r = browse(app, &url, "").await;
    assert_eq!(location(&r), "/login");
    let pending = r
        .cookie("atrium_oauth")
        .expect("the request waits in a cookie");
    let named = app
        .call_with_cookies(
            "auth/continue-to",
            &[],
            Some(&format!("atrium_oauth={pending}")),
        )
        .await;
    assert_eq!(named.json(), "ConnectivityPro");
    let page = browse(app, "/login", &format!("atrium_oauth={pending}")).await;
    assert!(page.body.contains("Sign in to continue to ConnectivityPro"));
    // The cookie holds a random id only; the request stays on the server.
    assert!(
        !pending.contains(&client_id) && pending.len() == 43,
        "{pending}"
    );
    let made_up = browse(
        app,
        "/oauth/resume",
        &format!("atrium_oauth={}", "A".repeat(43)),
    )
    .await;
    assert_eq!(made_up.status, StatusCode::BAD_REQUEST);
    assert!(made_up.body.contains("took too long"), "{}", made_up.body);
    // Resumed before signing in: back to sign-in, the same request waiting.
    let early = browse(app, "/oauth/resume", &format!("atrium_oauth={pending}")).await;
    assert_eq!(location(&early), "/login");
    assert_eq!(
        early.cookie("atrium_oauth").as_deref(),
        Some(pending.as_str())
    );

    // Signing in (password, then the emailed code) continues to the platform.
    let first = app.sign_in_password("ann@example.org", PASSWORD).await;
    let challenge = first.cookie("atrium_signin").unwrap();
    let code = app.sign_in_code("ann@example.org").await;
    let done = app
        .call_with_cookies(
            "auth/verify-code",
            &[("code", &code)],
            Some(&format!(
                "atrium_signin={challenge}; atrium_oauth={pending}"
            )),
        )
        .await;
    let session = done.session_cookie().expect("signed in");
    // The page leaves the app for it with a full load.
    assert_eq!(done.json(), "/oauth/resume");
    let both = format!("atrium_session={session}; atrium_oauth={pending}");
    let back = browse(app, "/oauth/resume", &both).await;
    let to = location(&back);
    assert!(
        to.starts_with(CALLBACK) && param(&to, "code").is_some(),
        "{to}"
    );
    assert_eq!(param(&to, "state").as_deref(), Some("s1"));
    assert!(back
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("atrium_oauth=;")));

    // Signed in: straight back, no password and no code.
    let cookies = format!("atrium_session={session}");
    let mails = app.mails().await.len();
    let to = location(&browse(app, &url, &cookies).await);
    assert!(param(&to, "code").is_some(), "{to}");
    assert_eq!(app.mails().await.len(), mails);

    // prompt=login and an exceeded max_age ask for a fresh sign-in; the
    // sign-in page stays open to the signed-in person then.
    for extra in ["&prompt=login", "&max_age=60"] {
        app.clock.advance(61);
        let r = browse(app, &format!("{url}{extra}"), &cookies).await;
        assert_eq!(location(&r), "/login", "{extra}");
        let pending = r.cookie("atrium_oauth").unwrap();
        let page = browse(app, "/login", &format!("{cookies}; atrium_oauth={pending}")).await;
        assert_eq!(page.status, StatusCode::OK, "{extra}");
    }
    // A recent enough sign-in satisfies max_age.
    let to = location(&browse(app, &format!("{url}&max_age=3600"), &cookies).await);
    assert!(param(&to, "code").is_some(), "{to}");

    // A waiting request lasts PENDING_LIFETIME_SECS.
    let r = browse(app, &format!("{url}&prompt=login"), &cookies).await;
    let pending = r.cookie("atrium_oauth").unwrap();
    app.clock
        .advance(backend::oidc::pending::PENDING_LIFETIME_SECS);
    let late = browse(
        app,
        "/oauth/resume",
        &format!("{cookies}; atrium_oauth={pending}"),
    )
    .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert!(late.body.contains("took too long"));
}

async fn a_rotated_key_stays_published_until_its_tokens_expire(app: &TestApp) {
    use backend::oidc::keys::{NEXT_KEY_DELAY_SECS, RETIRED_KEY_KEPT_SECS};
    app.clock.set(real_now());
    let (client_id, secret) = register(app, None).await;
    // A platform that fetched the JWKS before the rotation and caches it.
    let cached_rp = discover(app, &client_id, &secret).await;
    let session = signed_in_person(app).await;
    let cookies = format!("atrium_session={session}");
    let sign_in = |rp: Rp| {
        let cookies = cookies.clone();
        async move {
            let (tokens, nonce) = rp_sign_in(app, &rp, &cookies).await;
            (tokens.id_token().unwrap().clone(), nonce)
        }
    };
    let (old_token, old_nonce) = sign_in(cached_rp.clone()).await;
    let old_kid = jwt_header_kid(&old_token.to_string());

    let (new_kid, active_from) = app.backend.rotate_signing_key(false).await.unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(active_from, app.backend.now() + NEXT_KEY_DELAY_SECS);
    // Published at once, but the old key signs until cached copies expired:
    // the platform with the old JWKS still verifies what it receives.
    let kids = published_kids(app).await;
    assert_eq!(kids, vec![new_kid.clone(), old_kid.clone()]);
    let (during, during_nonce) = sign_in(cached_rp.clone()).await;
    assert_eq!(jwt_header_kid(&during.to_string()), old_kid);
    during
        .claims(&cached_rp.id_token_verifier(), &during_nonce)
        .expect("the cached JWKS still verifies right after a rotation");

    // Past the cache lifetime, platforms have refetched and the new key signs.
    app.clock.advance(NEXT_KEY_DELAY_SECS);
    let rp = discover(app, &client_id, &secret).await;
    let (new_token, new_nonce) = sign_in(rp.clone()).await;
    assert_eq!(jwt_header_kid(&new_token.to_string()), new_kid);
    old_token
        .claims(&rp.id_token_verifier(), &old_nonce)
        .expect("a token of the retired key still verifies");
    new_token
        .claims(&rp.id_token_verifier(), &new_nonce)
        .expect("the new key signs");

    // Long after its tokens expired, the old key still names the person
    // signing out (an id_token_hint), until it has been retired 30 days.
    app.clock.advance(24 * 3600);
    assert!(published_kids(app).await.contains(&old_kid));
    app.clock.advance(RETIRED_KEY_KEPT_SECS);
    let (newest, _) = app.backend.rotate_signing_key(true).await.unwrap();
    let kids = published_kids(app).await;
    assert_eq!(kids, vec![newest, new_kid], "the oldest key is dropped");
    let jwks = browse(app, "/oauth/jwks", "").await.json();
    assert!(jwks.to_string().find("private").is_none());
    assert!(jwks.to_string().find("_pem").is_none());
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    browse(app, "/oauth/jwks", "").await.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// The whole code flow for the browser holding `cookies`: the tokens and
/// the nonce their ID token must carry.
async fn rp_sign_in(
    app: &TestApp,
    rp: &Rp,
    cookies: &str,
) -> (openidconnect::core::CoreTokenResponse, Nonce) {
    let s = start(rp);
    let code = param(&location(&browse(app, &s.url, cookies).await), "code").unwrap();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(s.verifier)
        .request_async(&rp_http(app))
        .await
        .unwrap();
    (tokens, s.nonce)
}

fn jwt_header_kid(jwt: &str) -> String {
    let part = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    let header: Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

/// A local receiver for back-channel logout: collects the posted tokens.
async fn logout_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let token = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let _ = tx.send(token);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/backchannel"), rx)
}

async fn signing_out_of_atrium_signs_the_platforms_out(app: &TestApp) {
    app.clock.set(real_now());
    let (receiver, mut logouts) = logout_receiver().await;
    let (client_id, secret) = register(app, Some(receiver)).await;
    let rp = discover(app, &client_id, &secret).await;
    let session = signed_in_person(app).await;
    let cookies = format!("atrium_session={session}");
    let (tokens, _) = rp_sign_in(app, &rp, &cookies).await;
    let id_token = tokens.id_token().unwrap().to_string();
    let id_claims = jwt_payload(&id_token);

    // The platform sends the person to end the session, with a registered
    // return address: back there with the state, signed out of Atrium.
    let bad = browse(
        app,
        &format!(
            "/oauth/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
            urlencode("https://evil.example/")
        ),
        &cookies,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        signed_in(app, &session).await,
        "a refused logout changes nothing"
    );

    // Any page can send a browser here: without an ID token of this very
    // session, the person is asked first, and a cross-site form cannot
    // answer for them.
    let other_session = app.sign_in("ann@example.org", PASSWORD, None).await;
    let other_cookies = format!("atrium_session={}", other_session.session_cookie().unwrap());
    for (url, cookies) in [
        ("/oauth/logout".to_string(), cookies.clone()),
        (
            format!(
                "/oauth/logout?client_id={client_id}&post_logout_redirect_uri={}",
                urlencode(AFTER_LOGOUT)
            ),
            cookies.clone(),
        ),
        // Another session's ID token does not name this one.
        (
            format!("/oauth/logout?id_token_hint={id_token}"),
            other_cookies.clone(),
        ),
    ] {
        let r = browse(app, &url, &cookies).await;
        assert_eq!(r.status, StatusCode::OK, "{url}");
        assert!(r.body.contains("Sign out of Atrium?"), "{}", r.body);
        assert!(r.body.contains("name=\"confirm\" value=\"yes\""));
    }
    let form_post = |cookies: String, site: &'static str| async move {
        let req = Request::post("/oauth/logout")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookies)
            .header("sec-fetch-site", site)
            .body(Body::from("confirm=yes"))
            .unwrap();
        Reply::from(app.send(req).await).await
    };
    let forged = form_post(cookies.clone(), "cross-site").await;
    assert_eq!(forged.status, StatusCode::OK);
    assert!(forged.body.contains("Sign out of Atrium?"));
    assert!(
        signed_in(app, &session).await,
        "a cross-site form signs nobody out"
    );
    // The person's own answer on the page signs them out.
    let other_token = other_cookies
        .trim_start_matches("atrium_session=")
        .to_string();
    assert!(signed_in(app, &other_token).await);
    let answered = form_post(other_cookies.clone(), "same-origin").await;
    assert_eq!(location(&answered), "/login");
    assert!(!signed_in(app, &other_token).await);
    assert!(
        signed_in(app, &session).await,
        "only that browser's session ends"
    );
    let r = browse(
        app,
        &format!(
            "/oauth/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
            urlencode(AFTER_LOGOUT)
        ),
        &cookies,
    )
    .await;
    assert_eq!(location(&r), format!("{AFTER_LOGOUT}?state=bye"));
    assert!(!signed_in(app, &session).await);

    // The platform hears of it on the back channel: a logout token for that
    // person and session, signed with a published key.
    let token = tokio::time::timeout(std::time::Duration::from_secs(10), logouts.recv())
        .await
        .expect("a back-channel logout within 10 s")
        .unwrap();
    let jwks = browse(app, "/oauth/jwks", "").await.json();
    let jwk: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let kid = jwt_header_kid(&token);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk.find(&kid).expect("published key")).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[client_id.as_str()]);
    validation.set_issuer(&["http://127.0.0.1:3000"]);
    validation.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let logout = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .expect("the logout token verifies")
        .claims;
    assert_eq!(logout["sub"], id_claims["sub"]);
    assert_eq!(logout["sid"], id_claims["sid"]);
    assert!(logout["events"]
        .get("http://schemas.openid.net/event/backchannel-logout")
        .is_some());
    assert!(logout.get("nonce").is_none());
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().typ.as_deref(),
        Some("logout+jwt")
    );

    // And its refresh token no longer works.
    let refreshed = rp
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&rp_http(app))
        .await;
    assert_grant_error(refreshed, CoreErrorResponseType::InvalidGrant);
}

/// `server platform …` and `server keys rotate`, as an operator runs them.
#[test]
fn operators_register_list_and_remove_platforms_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("atrium.db").display());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args([
                "--database-url",
                &db,
                "--password-hashing",
                "insecure-minimal",
                "--mail-outbox-dir",
                dir.path().join("outbox").to_str().unwrap(),
                "--sms-outbox-dir",
                dir.path().join("sms").to_str().unwrap(),
                "--secret-key-file",
                dir.path().join("secret.key").to_str().unwrap(),
            ])
            .args(args)
            .output()
            .expect("the server binary runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, stdout, stderr) = run(&[
        "platform",
        "add",
        "--name",
        "ConnectivityPro",
        "--redirect-uri",
        "https://cp.example/callback",
        "--redirect-uri",
        "http://127.0.0.1:4000/callback",
        "--backchannel-logout-uri",
        "https://cp.example/backchannel",
        "--webhook-url",
        "https://cp.example/webhooks",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let added: Value = serde_json::from_str(&stdout).expect("one JSON object");
    let client_id = added["client_id"].as_str().unwrap().to_string();
    let secret = added["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43);
    assert_eq!(added["redirect_uris"].as_array().unwrap().len(), 2);
    // The webhook signing secret, in the Standard Webhooks form, shown once.
    let webhook_secret = added["webhook_secret"].as_str().unwrap();
    assert!(standardwebhooks::Webhook::new(webhook_secret).is_ok());
    assert!(webhook_secret.starts_with("whsec_"));
    let (code, stdout, _) = run(&["platform", "deliveries", &client_id]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout.trim(), "[]");
    let (code, _, stderr) = run(&["platform", "redeliver", "msg_unknown"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no undelivered webhook"), "{stderr}");

    let (code, stdout, _) = run(&["platform", "list"]);
    assert_eq!(code, Some(0));
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list[0]["client_id"], client_id.as_str());
    assert_eq!(list[0]["name"], "ConnectivityPro");
    assert!(!stdout.contains(secret), "the secret is shown only once");
    assert!(!stdout.contains(webhook_secret));

    // Plain http outside localhost and a taken name are refused, nothing written.
    let (code, _, stderr) = run(&[
        "platform",
        "add",
        "--name",
        "SecurityPro",
        "--redirect-uri",
        "http://sp.example/callback",
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("must use https"), "{stderr}");
    let (code, _, stderr) = run(&[
        "platform",
        "add",
        "--name",
        "ConnectivityPro",
        "--redirect-uri",
        "https://cp2.example/callback",
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("already registered"), "{stderr}");

    let (code, stdout, stderr) = run(&["keys", "rotate"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("New signing key"), "{stdout}");

    // The secret key file was made at the first command, private; rotating
    // puts a new key in it and, nothing being sealed under the old one,
    // drops that.
    let key_file = dir.path().join("secret.key");
    let before = std::fs::read_to_string(&key_file).unwrap();
    let (code, stdout, stderr) = run(&["secret-key", "rotate"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("New secret key"), "{stdout}");
    assert!(stdout.contains("Dropped from the key file"), "{stdout}");
    let after = std::fs::read_to_string(&key_file).unwrap();
    let keys = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&after).len(), 1);
    assert_ne!(keys(&after), keys(&before));

    let (code, stdout, _) = run(&["platform", "remove", &client_id]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Removed ConnectivityPro"));
    let (code, _, stderr) = run(&["platform", "remove", &client_id]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no platform"), "{stderr}");
    let (_, stdout, _) = run(&["platform", "list"]);
    assert_eq!(stdout.trim(), "[]");
}

async fn the_devices_list_shows_and_ends_other_sessions(app: &TestApp) {
    let (client_id, secret) = register(app, None).await;
    let here = app.sign_up_ann().await;
    // A second browser signs in, and to ConnectivityPro through Atrium.
    let there = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    let verifier = "d".repeat(43);
    let code = code_for(
        app,
        &client_id,
        &format!("atrium_session={there}"),
        &verifier,
    )
    .await;
    let r = code_exchange(app, &code, &verifier, &client_id, &secret).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let list = app.call("security/devices", &[], Some(&here)).await.json();
    let devices = list.as_array().unwrap();
    assert_eq!(devices.len(), 2, "{list}");
    assert_eq!(devices[0]["current"], true);
    assert_eq!(devices[0]["platforms"], serde_json::json!([]));
    assert_eq!(devices[1]["current"], false);
    assert_eq!(
        devices[1]["platforms"],
        serde_json::json!(["ConnectivityPro"])
    );
    assert_eq!(devices[1]["ip"], "203.0.113.7");
    assert!(
        !list.to_string().contains(&there),
        "no session token in the list"
    );
    let other_id = devices[1]["id"].as_str().unwrap().to_string();
    let my_id = devices[0]["id"].as_str().unwrap().to_string();

    // Not this device, not an unknown one, not someone else's.
    let r = app
        .call("security/sign-out-device", &[("id", &my_id)], Some(&here))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = app
        .call("security/sign-out-device", &[("id", "nope")], Some(&here))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let bob = app
        .sign_up("Bob", "Ray", "bob@example.org", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let r = app
        .call("security/sign-out-device", &[("id", &other_id)], Some(&bob))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(signed_in(app, &there).await);

    // Signing the other browser out ends it and its platform tokens.
    let r = app
        .call(
            "security/sign-out-device",
            &[("id", &other_id)],
            Some(&here),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!signed_in(app, &there).await);
    assert!(signed_in(app, &here).await);
    assert_eq!(app.count("SELECT COUNT(*) FROM oidc_token").await, 0);

    // Everywhere else: two more browsers, both signed out; this one stays.
    let a = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    let b = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    let r = app
        .call("security/sign-out-other-devices", &[], Some(&here))
        .await;
    assert_eq!(r.json(), 2);
    assert!(!signed_in(app, &a).await && !signed_in(app, &b).await);
    assert!(signed_in(app, &here).await);
    let list = app.call("security/devices", &[], Some(&here)).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Signed out, the list is refused.
    let r = app.call("security/devices", &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
