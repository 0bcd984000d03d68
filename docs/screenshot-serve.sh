#!/usr/bin/env bash
# Documented check of `digit-cam --serve`: start it on the demo source, load its page in
# headless Chromium (Debian's `chromium` package) and save a screenshot to docs/serve.png.
# Usage: bash docs/screenshot-serve.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8765}"
command -v chromium >/dev/null || { echo "install Debian's chromium first: apt-get install chromium" >&2; exit 1; }

digit-cam --source demo --serve "127.0.0.1:$port" --duration 60 >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz"
echo
profile="$(mktemp -d)"
# The page polls /reading and streams MJPEG forever: give it a few seconds, then capture.
timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size=900,800 --virtual-time-budget=4000 \
    --screenshot="$PWD/docs/serve.png" "http://127.0.0.1:$port/" 2>/dev/null
rm -rf "$profile"
ls -l docs/serve.png
