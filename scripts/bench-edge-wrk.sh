#!/usr/bin/env bash
# Durable sale ingest through HTTP with wrk as the load generator (a separate
# process, lighter than a Go client): 64 connections by default.
# Usage: scripts/bench-edge-wrk.sh [connections] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64}; secs=${2:-15}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
make -s build
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
bin/vendsync-site edge init --dir "$dir" --site bench --city Bangalore --timezone Asia/Kolkata >/dev/null
bin/vendsync-site edge run --dir "$dir" --http 127.0.0.1:18555 --insecure-http --rate-limits=false --log-level warn --log-format json 2>"$dir/edge.log" &
pid=$!
for i in $(seq 50); do curl -sf 127.0.0.1:18555/readyz >/dev/null && break; sleep 0.1; done
J='Content-Type: application/json'
TOKEN=$(curl -s -H "$J" -d @"$dir/admin-credentials.json" 127.0.0.1:18555/auth/token | sed 's/.*access_token":"\([^"]*\).*/\1/')
H="Authorization: Bearer $TOKEN"
for m in $(seq 0 9); do
  mid=$(printf 'VM_%04d' "$m")
  curl -sf -H "$J" -H "$H" -d "{\"machineId\":\"$mid\",\"location\":{\"city\":\"Bangalore\"}}" 127.0.0.1:18555/machines >/dev/null
  for p in $(seq 0 19); do
    curl -sf -H "$J" -H "$H" -d "{\"productId\":\"$(printf 'P%03d' "$p")\",\"name\":\"p$p\",\"price\":$((10+p)),\"quantity\":100000}" \
      "127.0.0.1:18555/machines/$mid/products" >/dev/null
  done
done
TOKEN=$TOKEN RUN=$(date +%s) TS=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ) \
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s scripts/wrk-sales.lua http://127.0.0.1:18555
