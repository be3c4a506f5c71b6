# Sourced by run.sh and test.sh: installs what the build needs when it is
# missing or at the wrong version, and says nothing when all is in place.
# Nothing here downloads a browser or a binary from outside the package
# registries (crates.io, npm, Debian).
#
# The callers run under `set -euo pipefail`. A tool that is not installed yet
# must never end the script, only lead to its install: every version probe
# goes through `tool_version`, which cannot fail. scripts/check-tools.sh runs
# each ensure_* step with the tool absent from PATH to prove it.

CARGO_LEPTOS_VERSION=0.3.10

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

# Runs a step and prints how long it took, so a long first run shows progress.
step() {
  local what=$1 started
  shift
  say "$what"
  started=$(date +%s)
  "$@"
  say "$what: done in $(($(date +%s) - started)) s"
}

# The version word a tool prints (the second field of its first line by
# default), or nothing when the tool is missing or fails. Never fails itself.
tool_version() {
  local out
  out=$("$@" 2>/dev/null) || true
  printf '%s\n' "$out" | awk 'NR == 1 { print $2 }'
}

# Stops with a message when rustup is missing; $1 says what it is for.
need_rustup() {
  if ! command -v rustup >/dev/null 2>&1; then
    echo "Atrium needs rustup (https://rustup.rs) $1." >&2
    exit 1
  fi
}

# The wasm32 target, for the default toolchain or the one named in $1.
ensure_wasm_target() {
  local on=()
  if [ -n "${1:-}" ]; then on=(--toolchain "$1"); fi
  need_rustup "to add the wasm32-unknown-unknown target"
  if ! { rustup target list "${on[@]}" --installed 2>/dev/null || true; } | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target${1:+ to $1}"
    rustup target add wasm32-unknown-unknown "${on[@]}"
  fi
}

ensure_cargo_leptos() {
  if [ "$(tool_version cargo-leptos --version)" != "$CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (once; about 15 minutes)"
    # Without LTO the install needs 1 GB instead of 3 GB and is no slower.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
}

# The exact wasm-bindgen crate version in Cargo.lock.
locked_wasm_bindgen() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
ensure_wasm_bindgen() {
  local want
  want=$(locked_wasm_bindgen)
  if [ "$(tool_version wasm-bindgen --version)" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (once; about 5 minutes)"
    # --locked fails for this crate (a pinned dependency is gone from the registry).
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# npm ci in $1 when its lockfile changed since the last install.
ensure_npm_packages() {
  local dir=$1 stamp want have=""
  if ! command -v npm >/dev/null 2>&1; then
    echo "Atrium needs Node.js 20 and npm (Debian: apt-get install -y nodejs npm)." >&2
    exit 1
  fi
  stamp="$dir/node_modules/.atrium-lock-sha256"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ]; then have=$(cat "$stamp"); fi
  if [ "$have" != "$want" ]; then
    say "installing npm packages in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
}

# wasm-opt for release builds comes from the npm binaryen package; Debian's
# binaryen 108 produces WASM that never hydrates.
ensure_wasm_opt() {
  ensure_npm_packages .
  export PATH="$PWD/node_modules/.bin:$PATH"
}

# apt_install PACKAGE WHAT: installs a Debian package when running as root;
# otherwise stops and prints the command to run.
apt_install() {
  local package=$1 what=$2
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian's $package for $what"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  else
    echo "Atrium needs Debian's $package for $what. Install it with:" >&2
    echo "  sudo apt-get install -y $package" >&2
    exit 1
  fi
}

ensure_chromium() {
  if [ ! -x "${ATRIUM_CHROMIUM:-/usr/bin/chromium}" ]; then
    apt_install chromium "the end-to-end tests"
  fi
}

# wrk for scripts/bench.sh.
ensure_wrk() {
  if ! command -v wrk >/dev/null 2>&1; then
    apt_install wrk "the benchmarks"
  fi
}

# Release builds compile the WASM with a nightly toolchain (the one on
# this machine's image; ATRIUM_WASM_TOOLCHAIN names another) so that the
# standard library is rebuilt for size: scripts/wasm-nightly/cargo, put
# first on PATH here, sends only that build to it (exported
# ATRIUM_WASM_TOOLCHAIN says which). The toolchain needs its sources
# (rust-src) and the wasm32 target; both come from rustup.
ensure_wasm_nightly() {
  export ATRIUM_WASM_TOOLCHAIN=${ATRIUM_WASM_TOOLCHAIN:-nightly}
  local toolchain=$ATRIUM_WASM_TOOLCHAIN
  need_rustup "for the release WASM's toolchain"
  if ! { rustup toolchain list 2>/dev/null || true; } | grep -q "^$toolchain"; then
    say "installing the $toolchain toolchain for the release WASM (once)"
    rustup toolchain install "$toolchain" --profile minimal
  fi
  if ! { rustup component list --toolchain "$toolchain" --installed 2>/dev/null || true; } | grep -q '^rust-src'; then
    say "adding rust-src to $toolchain (once)"
    rustup component add rust-src --toolchain "$toolchain"
  fi
  ensure_wasm_target "$toolchain"
  export PATH="$PWD/scripts/wasm-nightly:$PATH"
}

ensure_build_tools() {
  ensure_wasm_target
  ensure_cargo_leptos
  ensure_wasm_bindgen
}
