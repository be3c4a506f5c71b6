//! Static files: the built bundle under `/pkg` and the public assets.
//!
//! - Precompressed copies (`.br`, `.gz`, written by `cargo leptos build
//!   --release --precompress`) go to browsers that accept them, with
//!   `Vary: Accept-Encoding`.
//! - A file whose name carries its content hash (cargo-leptos `hash-files`)
//!   never changes: `Cache-Control: public, max-age=31536000, immutable`.
//!   Everything else is revalidated (`no-cache`) with `Last-Modified`.
//! - The service worker is served from a template with this build's file
//!   names and a build id, so a new build installs a new worker, which
//!   precaches the new names and drops the old cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

use app::sign_in_bundle::SignInFiles;

use crate::state::AppState;

/// Length of cargo-leptos's file hash: MD5 in unpadded base64url.
const HASH_LEN: usize = 22;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const REVALIDATE: &str = "no-cache";

/// The names of this build's bundle files under `/pkg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteAssets {
    /// Whether the names carry content hashes (read from cargo-leptos's hash file).
    pub hashed: bool,
    pub js: String,
    pub wasm: String,
    pub css: String,
}

impl SiteAssets {
    /// Reads cargo-leptos's hash file (`hash.txt` beside the server binary,
    /// where Leptos itself looks for it). Without one, the names are plain.
    pub fn load(output_name: &str, hash_file: Option<&Path>) -> Self {
        let hashes = hash_file.and_then(|p| std::fs::read_to_string(p).ok());
        let lookup = |kind: &str| {
            hashes.as_deref().and_then(|text| {
                text.lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim() == kind)
                    .map(|(_, h)| h.trim().to_string())
            })
        };
        let name = |kind: &str| match lookup(kind) {
            Some(hash) => format!("{output_name}.{hash}.{kind}"),
            None => format!("{output_name}.{kind}"),
        };
        SiteAssets {
            hashed: hashes.is_some(),
            js: name("js"),
            wasm: name("wasm"),
            css: name("css"),
        }
    }

    /// Where cargo-leptos writes the hash file named `name` for the
    /// running binary: beside it (`hash.txt` for the console's bundle).
    pub fn hash_file(name: &str) -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        Some(exe.parent()?.join(name))
    }
}

/// The hash file of the sign-in bundle (`Cargo.toml`'s `atrium-signin`).
pub const SIGN_IN_HASH_FILE: &str = "hash-signin.txt";

/// The sign-in pages' bundle (`app::sign_in_bundle`), when it was built into
/// the site: its names from its own hash file, and both its files in `pkg`.
pub fn sign_in_files(site_root: &Path, hash_file: Option<&Path>) -> Option<SignInFiles> {
    let names = SiteAssets::load(app::sign_in_bundle::OUTPUT_NAME, hash_file);
    let pkg = site_root.join("pkg");
    (pkg.join(&names.wasm).is_file() && pkg.join(&names.js).is_file()).then_some(SignInFiles {
        js: names.js,
        wasm: names.wasm,
    })
}

/// Whether a file name carries a content hash: one dot-separated part of
/// exactly 22 base64url characters (not the split loader's placeholder of
/// underscores), as in `atrium.<hash>.wasm` or `__wasm_split.<hash>.js`.
pub fn has_content_hash(file_name: &str) -> bool {
    file_name.split('.').any(|part| {
        part.len() == HASH_LEN
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !part.bytes().all(|b| b == b'_')
    })
}

/// `/pkg`: the WASM, its JavaScript, the chunks and the stylesheet.
pub fn pkg_router(site_root: &Path) -> Router<AppState> {
    let files = ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(static_headers))
}

/// The public assets at the site root (icons, manifest, offline page); any
/// other path falls through to Leptos's not-found page.
pub fn public_files(site_root: &Path, not_found: Router<()>) -> Router<()> {
    let files = ServeDir::new(site_root)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(not_found);
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(static_headers))
}

/// Cache policy and `Vary` for files served from the site folder.
async fn static_headers(req: Request, next: Next) -> Response {
    let name = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut res = next.run(req).await;
    let ok = res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !ok || is_html && res.headers().contains_key(header::CACHE_CONTROL) {
        return res;
    }
    let policy = if has_content_hash(&name) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    // The same URL answers brotli, gzip or plain, by the request's
    // Accept-Encoding; caches must key on it.
    if !h.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    }) {
        h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// The service worker, rendered once at start from `sw.js` in the site
/// folder: its `"__ATRIUM_ASSETS__"` placeholder becomes this build's id and
/// the shell files to precache.
pub fn render_service_worker(
    site_root: &Path,
    assets: &SiteAssets,
    sign_in: Option<&SignInFiles>,
) -> Option<Arc<str>> {
    let template = std::fs::read_to_string(site_root.join("sw.js")).ok()?;
    let mut shell = vec![
        "/offline.html".to_string(),
        format!("/pkg/{}", assets.css),
        format!("/pkg/{}", assets.js),
        format!("/pkg/{}", assets.wasm),
        "/icons/icon-192.png".to_string(),
        "/icons/icon-512.png".to_string(),
        "/favicon.ico".to_string(),
        "/manifest.webmanifest".to_string(),
    ];
    if let Some(files) = sign_in {
        shell.push(format!("/pkg/{}", files.js));
        shell.push(format!("/pkg/{}", files.wasm));
    }
    // The build id changes whenever a bundle file does: hashed names change
    // with their contents; plain names (debug builds) fall back to sizes.
    let mut digest = Sha256::new();
    for path in &shell {
        digest.update(path.as_bytes());
        if !assets.hashed {
            let len = std::fs::metadata(site_root.join(path.trim_start_matches('/')))
                .map(|m| m.len())
                .unwrap_or(0);
            digest.update(len.to_le_bytes());
        }
    }
    let build = hex::encode(&digest.finalize()[..8]);
    let json = serde_json::json!({ "build": build, "shell": shell }).to_string();
    Some(template.replace("\"__ATRIUM_ASSETS__\"", &json).into())
}

/// `GET /sw.js`: revalidated on every registration check, so a new build's
/// worker is found at once.
pub async fn service_worker(State(state): State<AppState>) -> Response {
    match &state.service_worker {
        Some(body) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, REVALIDATE),
            ],
            body.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_are_recognised() {
        assert!(has_content_hash("atrium.Jb0Xw1sJ9pL0sTz8Qv2x3A.wasm"));
        assert!(has_content_hash("__wasm_split.a-b_c0123456789ABCDEFG.js"));
        assert!(!has_content_hash("atrium.wasm"));
        assert!(!has_content_hash("__wasm_split.______________________.js"));
        assert!(!has_content_hash("atrium.Jb0Xw1sJ9pL0sTz8Qv2x3.wasm"));
        assert!(!has_content_hash("icon-192.png"));
    }

    #[test]
    fn names_come_from_the_hash_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hash.txt");
        std::fs::write(
            &file,
            "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\ncss: CCCCCCCCCCCCCCCCCCCCCC\n",
        )
        .unwrap();
        let hashed = SiteAssets::load("atrium", Some(&file));
        assert!(hashed.hashed);
        assert_eq!(hashed.wasm, "atrium.BBBBBBBBBBBBBBBBBBBBBB.wasm");
        assert_eq!(hashed.css, "atrium.CCCCCCCCCCCCCCCCCCCCCC.css");
        let plain = SiteAssets::load("atrium", Some(&dir.path().join("none.txt")));
        assert!(!plain.hashed);
        assert_eq!(plain.js, "atrium.js");
    }

    #[test]
    fn the_service_worker_names_this_build() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sw.js"),
            "const ASSETS = \"__ATRIUM_ASSETS__\";\n",
        )
        .unwrap();
        let a = SiteAssets {
            hashed: true,
            js: "atrium.AAAAAAAAAAAAAAAAAAAAAA.js".into(),
            wasm: "atrium.BBBBBBBBBBBBBBBBBBBBBB.wasm".into(),
            css: "atrium.CCCCCCCCCCCCCCCCCCCCCC.css".into(),
        };
        let first = render_service_worker(dir.path(), &a, None).unwrap();
        assert!(first.contains("/pkg/atrium.BBBBBBBBBBBBBBBBBBBBBB.wasm"));
        assert!(!first.contains("__ATRIUM_ASSETS__"));
        assert!(!first.contains("atrium-signin"));
        let b = SiteAssets {
            wasm: "atrium.DDDDDDDDDDDDDDDDDDDDDD.wasm".into(),
            ..a
        };
        let second = render_service_worker(dir.path(), &b, None).unwrap();
        let build = |s: &str| s.split("\"build\":\"").nth(1).unwrap()[..16].to_string();
        assert_ne!(build(&first), build(&second), "a new bundle is a new build");
        // The sign-in bundle is precached with the console's.
        let sign_in = SignInFiles {
            js: "atrium-signin.EEEEEEEEEEEEEEEEEEEEEE.js".into(),
            wasm: "atrium-signin.FFFFFFFFFFFFFFFFFFFFFF.wasm".into(),
        };
        let third = render_service_worker(dir.path(), &b, Some(&sign_in)).unwrap();
        assert!(third.contains("\"/pkg/atrium-signin.EEEEEEEEEEEEEEEEEEEEEE.js\""));
        assert!(third.contains("\"/pkg/atrium-signin.FFFFFFFFFFFFFFFFFFFFFF.wasm\""));
        assert_ne!(build(&second), build(&third));
    }
}
