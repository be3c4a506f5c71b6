#!/usr/bin/env bash
# The whole test suite: the install scripts' own check, formatting, clippy for
# the server (ssr) and the browser (wasm32, hydrate), Rust unit and
# integration tests (on SQLite, and on PostgreSQL too when TEST_POSTGRES_URL
# is set), then the Playwright suite in Debian's Chromium against a freshly
# built server. Each step prints its time.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh

step "checking the install steps with their tools missing" scripts/check-tools.sh
step "checking build tools" ensure_build_tools
step "checking npm packages (Playwright)" ensure_npm_packages end2end
step "checking Chromium" ensure_chromium

step "formatting" cargo fmt --all -- --check
step "clippy: server side (ssr) and ConnectivityPro" \
  cargo clippy -p vocab -p backend -p app -p server -p connectivitypro --features app/ssr --all-targets -- -D warnings
step "clippy: browser side (wasm32, hydrate)" \
  cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
step "clippy: the sign-in pages' bundle (wasm32, hydrate, signin)" \
  cargo clippy -p frontend --target wasm32-unknown-unknown --features signin -- -D warnings

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  what="Rust tests on SQLite and PostgreSQL"
else
  what="Rust tests on SQLite (set TEST_POSTGRES_URL to run them on PostgreSQL too)"
fi
step "$what" cargo test -p vocab -p backend -p app -p server --features app/ssr

step "building the site (debug) for the end-to-end tests" scripts/build-site.sh
step "building ConnectivityPro, the sister platform the end-to-end tests sign in to" \
  cargo build -p connectivitypro

step "end-to-end tests (Playwright, Chromium; hydrated and without JavaScript)" \
  bash -c 'cd end2end && npx playwright test'
