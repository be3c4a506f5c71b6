#!/usr/bin/env bash
# Builds the site under target/site (README "Delivery"):
# - the server and the console's bundle (project `atrium`, split into a main
#   module and one chunk per page);
# - the sign-in pages' bundle (project `atrium-signin`, one module). A
#   cargo-leptos build empties its site folder first, so this one is built
#   into target/site-signin and its files are copied into target/site/pkg.
# Usage: scripts/build-site.sh [--release] (release: precompressed, and the
# WASM built by the toolchain scripts/wasm-nightly puts first on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh

kind=debug
flags=()
if [ "${1:-}" = "--release" ]; then
  kind=release
  # --precompress writes a .br and a .gz beside every static file; the
  # server serves them to browsers that accept them.
  flags=(--release --precompress)
fi
# cargo-leptos itself, not `cargo leptos`: cargo would put its own toolchain
# first on PATH and bypass scripts/wasm-nightly/cargo.
# cargo-leptos applies LEPTOS_SITE_ROOT, LEPTOS_OUTPUT_NAME and
# LEPTOS_HASH_FILE_NAME from ./.env or the environment to every project (a
# copied .env.example sets the site root): each build pins its own, or the
# second would empty the first's site folder.
step "building Atrium ($kind)" \
  env LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=atrium LEPTOS_HASH_FILE_NAME=hash.txt \
  cargo-leptos build --project atrium --split "${flags[@]}"
step "building the sign-in pages' bundle ($kind)" \
  env LEPTOS_SITE_ROOT=target/site-signin LEPTOS_OUTPUT_NAME=atrium-signin \
  LEPTOS_HASH_FILE_NAME=hash-signin.txt \
  cargo-leptos build --project atrium-signin --frontend-only "${flags[@]}"
# The script and the WASM with their compressed copies; not the empty
# stylesheet cargo-leptos writes for a project without one.
cp target/site-signin/pkg/atrium-signin.*.{js,wasm}* target/site/pkg/
