#!/usr/bin/env bash
# Delivery benchmarks on a release build (README "Benchmarks: delivery"):
# - the bundle's sizes (raw, gzip -9, brotli as served);
# - bytes transferred on a first visit of /login, of /profile (where signing
#   in lands) and of /profile/details, both signed in, read from Chromium's
#   resource timing;
# - Lighthouse 12.2.3 (mobile preset) performance and accessibility scores
#   for /login and /profile (signed in, through a Cookie header);
# - wrk requests/s for /healthz, a static file, /login and /profile (signed
#   in), each also as a ratio to /healthz; server RSS idle and after the load.
# Run by hand: scripts/bench.sh [--no-build]. Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; fi

step "checking build tools" ensure_build_tools
step "checking wasm-opt (npm binaryen)" ensure_wasm_opt
step "checking the release WASM's toolchain (nightly, rust-src)" ensure_wasm_nightly
step "checking Chromium" ensure_chromium
step "checking wrk" ensure_wrk
step "checking npm packages (Lighthouse, playwright-core)" ensure_npm_packages bench
if [ "$build" = 1 ]; then
  step "building Atrium (release)" scripts/build-site.sh --release
fi

port=${BENCH_PORT:-3300}
base="http://127.0.0.1:$port"
run=target/bench
rm -rf "$run"
mkdir -p "$run"
LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site PUBLIC_URL="$base" \
  DATABASE_URL="sqlite://$PWD/$run/atrium.db" MAIL_OUTBOX_DIR="$run/outbox" \
  SMS_OUTBOX_DIR="$run/sms" SECRET_KEY_FILE="$run/secret.key" LOG_LEVEL=warn target/release/server >"$run/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -fs "$base/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fs "$base/healthz" >/dev/null || { echo "the server did not start:" >&2; cat "$run/server.log" >&2; exit 1; }

# One person, signed up through the API; the answer carries their session.
email="bench.$(date +%s)@example.org"
cookie=$(curl -fs -o /dev/null -c - -H "Origin: $base" \
  --data-urlencode first_name=Bea --data-urlencode last_name=Bench \
  --data-urlencode "email=$email" --data-urlencode phone= \
  --data-urlencode "password=violet tractor mango 42" \
  "$base/api/auth/signup" | awk '$6 ~ /session/ { print $6 "=" $7 }')
[ -n "$cookie" ] || { echo "sign-up gave no session cookie" >&2; exit 1; }

rss_kb() { ps -o rss= -p "$server" | tr -d ' '; }
kb() { awk -v b="$1" 'BEGIN { printf "%.0f KB", b / 1024 }'; }

echo
echo "## Bundle (release, wasm-opt -Oz)"
echo "| file | raw | gzip -9 | brotli (served) |"
echo "|---|---|---|---|"
for f in target/site/pkg/*.wasm target/site/pkg/*.js; do
  [ -f "$f.br" ] || continue
  name=$(basename "$f" | sed -E 's/\.[A-Za-z0-9_-]{22}\./.*./')
  echo "| $name | $(kb "$(stat -c %s "$f")") | $(kb "$(gzip -9c "$f" | wc -c)") | $(kb "$(stat -c %s "$f.br")") |"
done

echo
echo "## First visit, bytes transferred (Chromium resource timing)"
node bench/transfer.mjs "$base" "$cookie" /login +/profile +/profile/details >"$run/transfer.jsonl"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  console.log("| page | everything | WASM + JS | WASM + JS decoded | encodings |");
  console.log("|---|---|---|---|---|");
  const kb = (n) => `${Math.round(n / 1024)} KB`;
  for (const r of lines) {
    const enc = [...new Set(r.files.filter((f) => /\.(wasm|js)$/.test(f.path)).map((f) => f.encoding))].join(", ");
    console.log(`| ${r.path}${r.signedIn ? " (signed in)" : ""} | ${kb(r.transferred)} | ${kb(r.wasmJsTransferred)} | ${kb(r.wasmJsDecoded)} | ${enc} |`);
  }
' "$run/transfer.jsonl"

echo
echo "## Lighthouse 12.2.3, mobile preset"
echo "| page | performance | accessibility |"
echo "|---|---|---|"
lighthouse() {
  local path=$1 out=$2
  shift 2
  CHROME_PATH=/usr/bin/chromium bench/node_modules/.bin/lighthouse "$base$path" \
    --only-categories=performance,accessibility --output=json --output-path="$out" --quiet \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync" \
    "$@" >/dev/null 2>&1 || echo "lighthouse failed for $path" >&2
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const s = (c) => Math.round(r.categories[c].score * 100);
    console.log(`| ${process.argv[2]} | ${s("performance")} | ${s("accessibility")} |`);
  ' "$out" "$path" 2>/dev/null || echo "| $path | (failed) | (failed) |"
}
lighthouse /login "$run/lh-login.json"
lighthouse /profile "$run/lh-profile.json" --extra-headers="{\"Cookie\":\"$cookie\"}"

css=$(cd target/site/pkg && ls atrium*.css | head -1)
idle=$(rss_kb)
echo
echo "## wrk, 2 threads, 32 connections, 10 s each"
echo "| path | requests/s | ratio to /healthz |"
echo "|---|---|---|"
healthz_rps=""
measure() {
  local label=$1 path=$2 rps
  shift 2
  rps=$(wrk -t2 -c32 -d10s "$@" "$base$path" | awk '/Requests\/sec/ { print $2 }')
  if [ -z "$healthz_rps" ]; then healthz_rps=$rps; fi
  echo "| $label | $rps | $(awk -v a="$rps" -v b="$healthz_rps" 'BEGIN { printf "%.2f", a / b }') |"
}
measure /healthz /healthz
measure "/pkg/$css (brotli)" "/pkg/$css" -H "Accept-Encoding: br"
measure /login /login -H "Accept-Encoding: br"
measure "/profile (signed in)" /profile -H "Accept-Encoding: br" -H "Cookie: $cookie"
after=$(rss_kb)
echo
echo "Server RSS: $((idle / 1024)) MB idle (after the page loads above), $((after / 1024)) MB right after the wrk runs."
