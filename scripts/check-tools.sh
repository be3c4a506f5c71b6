#!/usr/bin/env bash
# Proves that scripts/tools.sh survives a fresh machine: each ensure_* step
# runs, under the callers' `set -euo pipefail`, with a PATH from which its
# tool is absent (or present at the wrong version), and must go on to the
# install command instead of ending the script. The install commands
# (cargo, rustup, npm, apt-get) are stubs that only record how they were
# called, so nothing is installed. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# A bin folder with only the basic commands tools.sh itself needs.
base="$work/base"
mkdir -p "$base"
for tool in awk grep sha256sum cut cat date mkdir; do
  ln -s "$(command -v "$tool")" "$base/$tool"
done

# stub NAME [SCRIPT]: a command in $work/bin that logs its arguments and
# then runs SCRIPT (default: succeed silently).
stub() {
  local name=$1 body=${2:-}
  cat >"$work/bin/$name" <<EOF
#!/bin/bash
echo "$name \$*" >>"$work/calls"
$body
EOF
  chmod +x "$work/bin/$name"
}

# scenario NAME EXPECTED_STATUS EXPECTED_CALL COMMANDS: runs COMMANDS after
# sourcing tools.sh in a fresh bash with PATH=$work/bin:$base, then checks
# the exit status and that EXPECTED_CALL (a grep -x pattern; empty = no
# install call at all) was logged.
scenario() {
  local name=$1 want_status=$2 want_call=$3 commands=$4 status=0
  : >"$work/calls"
  env -i HOME="$work/home" PATH="$work/bin:$base" ATRIUM_CHROMIUM="$work/no-chromium" \
    /bin/bash -c "set -euo pipefail; cd '$repo'; . scripts/tools.sh; $commands" \
    >"$work/out" 2>&1 || status=$?
  local ok=1
  if [ "$status" != "$want_status" ]; then ok=0; fi
  if [ -n "$want_call" ]; then
    grep -qx -- "$want_call" "$work/calls" || ok=0
  elif grep -q ' install\| add \| ci ' "$work/calls"; then
    ok=0
  fi
  if [ "$ok" = 1 ]; then
    echo "ok   $name"
  else
    echo "FAIL $name (exit $status, want $want_status)"
    sed 's/^/     out: /' "$work/out"
    sed 's/^/     call: /' "$work/calls"
    failures=$((failures + 1))
  fi
}

reset_bin() {
  rm -rf "$work/bin" "$work/home"
  mkdir -p "$work/bin" "$work/home"
  stub cargo
  stub rustup
  stub npm 'if [ "$1" = ci ]; then mkdir -p node_modules; fi'
  stub apt-get
  stub id 'echo 0'
}

wasm_bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

reset_bin
scenario "wasm target missing: added" 0 "rustup target add wasm32-unknown-unknown" ensure_wasm_target

reset_bin
rm "$work/bin/rustup"
scenario "no rustup: stops with a message" 1 "" ensure_wasm_target
grep -q "needs rustup" "$work/out" || { echo "FAIL no rustup: message missing"; failures=$((failures + 1)); }

reset_bin
stub rustup 'if [ "$1 $2" = "target list" ]; then echo wasm32-unknown-unknown; fi'
scenario "wasm target present: nothing added" 0 "" ensure_wasm_target

reset_bin
scenario "cargo-leptos missing: installed" 0 \
  "cargo install cargo-leptos --locked --version 0.3.10" ensure_cargo_leptos

reset_bin
stub cargo-leptos 'echo "cargo-leptos 0.3.9"'
scenario "cargo-leptos at another version: installed" 0 \
  "cargo install cargo-leptos --locked --version 0.3.10" ensure_cargo_leptos

reset_bin
stub cargo-leptos 'echo "cargo-leptos 0.3.10"'
scenario "cargo-leptos at the right version: kept" 0 "" ensure_cargo_leptos

reset_bin
scenario "wasm-bindgen missing: installed" 0 \
  "cargo install wasm-bindgen-cli --version $wasm_bindgen" ensure_wasm_bindgen

reset_bin
stub wasm-bindgen 'exit 3'
scenario "wasm-bindgen that fails: reinstalled" 0 \
  "cargo install wasm-bindgen-cli --version $wasm_bindgen" ensure_wasm_bindgen

reset_bin
stub wasm-bindgen "echo 'wasm-bindgen $wasm_bindgen'"
scenario "wasm-bindgen at the right version: kept" 0 "" ensure_wasm_bindgen

reset_bin
scenario "all build tools missing: each installed in turn" 0 \
  "cargo install wasm-bindgen-cli --version $wasm_bindgen" ensure_build_tools
grep -qx "cargo install cargo-leptos --locked --version 0.3.10" "$work/calls" \
  || { echo "FAIL all build tools: cargo-leptos not installed"; failures=$((failures + 1)); }

reset_bin
scenario "release WASM toolchain missing: installed" 0 \
  "rustup toolchain install nightly --profile minimal" ensure_wasm_nightly
grep -qx "rustup component add rust-src --toolchain nightly" "$work/calls" \
  || { echo "FAIL release WASM toolchain: rust-src not added"; failures=$((failures + 1)); }
grep -qx "rustup target add wasm32-unknown-unknown --toolchain nightly" "$work/calls" \
  || { echo "FAIL release WASM toolchain: wasm target not added"; failures=$((failures + 1)); }

reset_bin
stub rustup 'case "$1 $2" in
  "toolchain list") echo "nightly-x86_64-unknown-linux-gnu" ;;
  "component list") echo "rust-src" ;;
  "target list") echo "wasm32-unknown-unknown" ;;
esac'
scenario "release WASM toolchain complete: nothing added" 0 "" ensure_wasm_nightly

reset_bin
rm "$work/bin/rustup"
scenario "no rustup for the release WASM: stops with a message" 1 "" ensure_wasm_nightly

# npm packages: a copy of a lockfile in a folder without node_modules.
reset_bin
mkdir -p "$work/pkgs"
cp end2end/package-lock.json "$work/pkgs/"
scenario "npm packages missing: npm ci" 0 \
  "npm ci --no-audit --no-fund --loglevel=error" "ensure_npm_packages '$work/pkgs'"
scenario "npm packages installed: nothing to do" 0 "" "ensure_npm_packages '$work/pkgs'"

reset_bin
rm "$work/bin/npm"
scenario "no npm: stops with a message" 1 "" "ensure_npm_packages '$work/pkgs'"

reset_bin
scenario "chromium missing, root: apt-get install" 0 \
  "apt-get install -y -qq chromium" ensure_chromium

reset_bin
stub id 'echo 1000'
scenario "chromium missing, not root: stops with the command to run" 1 "" ensure_chromium
grep -q "apt-get install -y chromium" "$work/out" \
  || { echo "FAIL chromium, not root: command not printed"; failures=$((failures + 1)); }

reset_bin
scenario "wrk missing, root: apt-get install" 0 "apt-get install -y -qq wrk" ensure_wrk

if [ "$failures" != 0 ]; then
  echo "$failures check(s) of scripts/tools.sh failed" >&2
  exit 1
fi
echo "scripts/tools.sh: every ensure_* step goes on to its install when its tool is missing"
