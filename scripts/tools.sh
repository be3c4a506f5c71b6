# Sourced by run.sh and test.sh: installs what the build needs when it is
# missing or at the wrong version, and says nothing when all is in place.
# Nothing here downloads a browser or a binary from outside the package
# registries (crates.io, npm, Debian).

CARGO_LEPTOS_VERSION=0.3.10

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_cargo_leptos() {
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (once; about 15 minutes)"
    # Without LTO the install needs 1 GB instead of 3 GB and is no slower.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
}

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
ensure_wasm_bindgen() {
  local want have
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
  if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (once; about 5 minutes)"
    # --locked fails for this crate (a pinned dependency is gone from the registry).
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# npm ci in $1 when its lockfile changed since the last install.
ensure_npm_packages() {
  local dir=$1 stamp
  stamp="$dir/node_modules/.atrium-lock-sha256"
  if [ ! -f "$stamp" ] || [ "$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)" != "$(cat "$stamp")" ]; then
    say "installing npm packages in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    sha256sum "$dir/package-lock.json" | cut -d' ' -f1 > "$stamp"
  fi
}

# wasm-opt for release builds comes from the npm binaryen package; Debian's
# binaryen 108 produces WASM that never hydrates.
ensure_wasm_opt() {
  ensure_npm_packages .
  export PATH="$PWD/node_modules/.bin:$PATH"
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian's chromium for the end-to-end tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The end-to-end tests need Debian's Chromium at /usr/bin/chromium. Install it with:" >&2
    echo "  sudo apt-get install -y chromium" >&2
    exit 1
  fi
}

ensure_build_tools() {
  ensure_wasm_target
  ensure_cargo_leptos
  ensure_wasm_bindgen
}
