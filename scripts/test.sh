#!/usr/bin/env bash
# The whole test suite: formatting, clippy for the server (ssr) and the
# browser (wasm32, hydrate), Rust unit and integration tests (on SQLite, and on
# PostgreSQL too when TEST_POSTGRES_URL is set), then the Playwright suite in
# Debian's Chromium against a freshly built server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh

ensure_build_tools
ensure_npm_packages end2end
ensure_chromium

say "formatting"
cargo fmt --all -- --check

say "clippy: server side (ssr)"
cargo clippy -p backend -p app -p server --features app/ssr --all-targets -- -D warnings
say "clippy: browser side (wasm32, hydrate)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  say "Rust tests on SQLite and PostgreSQL"
else
  say "Rust tests on SQLite (set TEST_POSTGRES_URL to run them on PostgreSQL too)"
fi
cargo test -p backend -p app -p server --features app/ssr

say "building the site (debug) for the end-to-end tests"
cargo leptos build --split

say "end-to-end tests (Playwright, Chromium; hydrated and without JavaScript)"
(cd end2end && npx playwright test)
