#!/usr/bin/env bash
# Builds Atrium (release) and serves it on http://127.0.0.1:3000 with an
# embedded SQLite database under ./data and mail written to ./data/outbox.
# Every setting can be overridden by its environment variable (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh

step "checking build tools" ensure_build_tools
step "checking wasm-opt (npm binaryen)" ensure_wasm_opt
step "checking the release WASM's toolchain (nightly, rust-src)" ensure_wasm_nightly
step "building Atrium (release)" scripts/build-site.sh --release

# Settings from .env (see .env.example), if there is one.
if [ -f .env ]; then set -a; . ./.env; set +a; fi
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export DATABASE_URL="${DATABASE_URL:-sqlite://data/atrium.db}"
export MAIL_OUTBOX_DIR="${MAIL_OUTBOX_DIR:-data/outbox}"
say "serving on http://${LEPTOS_SITE_ADDR}"
exec target/release/server
