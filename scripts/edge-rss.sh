#!/usr/bin/env bash
# Memory and start of the real `vendsync edge run` binary (issue 14):
#   start   ms from exec until the HTTP port accepts a connection (the edge
#           listens once its store and writer are open; polled by
#           scripts/waitport, which neither forks per try as a shell loop
#           does nor takes curl's own start), on a fresh site and again on
#           the loaded one; the binary's own start (`--help`) for scale
#   idle    VmRSS / VmHWM of the edge after set-up, no traffic, and again
#           IDLE_WAIT s after the load
#   idle    VmRSS / VmHWM of the edge after set-up, no traffic
#   load    VmHWM after N sales from C concurrent clients (the peers'
#           load generator, a separate process: PEERS/loadgen, the same
#           module scripts/peer-bench.sh takes)
# Usage: PEERS=dir scripts/edge-rss.sh [sales] [clients]     (default 100000 64)
# GOMEMLIMIT / GOGC in the environment reach the edge (to compare settings).
# It runs the site build (bin/vendsync-site, what a site installs);
# EDGE_BIN=bin/vendsync measures the full binary instead. IDLE_WAIT (default
# 30) is how many seconds after set-up the idle figure is taken again (the Go
# runtime returns freed heap to the kernel in the background).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}; c=${2:-64}
peers=${PEERS:?set PEERS to the directory of the peer module, which holds loadgen}
port=${PORT:-18556}
url=http://127.0.0.1:$port
make -s build
bin=${EDGE_BIN:-bin/vendsync-site}
dir=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
(cd "$peers" && go build -o "$dir/loadgen" ./loadgen)
go build -o "$dir/waitport" ./scripts/waitport
"$bin" edge init --dir "$dir/site" --site rss --city Bangalore --timezone Asia/Kolkata >/dev/null

start() { # starts the edge, sets pid, prints the ms until it listens
  local t0 t1 us
  t0=$(date +%s%N)
  "$bin" edge run --dir "$dir/site" --http 127.0.0.1:$port --insecure-http --rate-limits=false --log-level warn --log-format json >>"$dir/edge.log" 2>&1 &
  pid=$!
  "$dir/waitport" 127.0.0.1:$port
  t1=$(date +%s%N)
  us=$(( (t1 - t0) / 1000 ))
  echo "cold start, $1: $((us/1000)).$(( (us%1000)/100 )) ms"
  curl -sf -o /dev/null "$url/readyz"
}
mem() { # the kernel's view, then the Go runtime's (the rest is SQLite's C heap, stacks, binary)
  awk '/^(VmHWM|VmRSS|RssAnon|RssFile|RssShmem)/ {printf "%s %.1f MB  ", $1, $2/1024}' /proc/$pid/status
  curl -s "$url/metrics" | awk '/^go_memstats_(heap_inuse|sys)_bytes / {printf "%s %.1f MB  ", substr($1, 13), $2/1048576}'
  echo
}
stop() { kill $pid; wait $pid 2>/dev/null || true; pid=; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2 3; do
  t0=$(date +%s%N); "$bin" --help >/dev/null; t1=$(date +%s%N)
  echo "the binary's own start (--help): $(( (t1 - t0) / 1000000 )) ms"
done
start "fresh site"
J='Content-Type: application/json'
TOKEN=$(curl -s -H "$J" -d @"$dir/site/admin-credentials.json" "$url/auth/token" | sed 's/.*access_token":"\([^"]*\).*/\1/')
H="Authorization: Bearer $TOKEN"
for m in $(seq 0 9); do
  mid=$(printf 'VM_%03d' "$m")
  curl -sf -H "$J" -H "$H" -d "{\"machineId\":\"$mid\",\"location\":{\"city\":\"Bangalore\"}}" "$url/machines" >/dev/null
  for p in $(seq 0 19); do
    curl -sf -H "$J" -H "$H" -d "{\"productId\":\"P$p\",\"name\":\"p$p\",\"price\":50,\"quantity\":100000}" "$url/machines/$mid/products" >/dev/null
  done
done
echo "idle after set-up:   $(mem)"
sleep "${IDLE_WAIT:-30}"
echo "idle ${IDLE_WAIT:-30} s later:     $(mem)"
"$dir/loadgen" -url "$url" -token "$TOKEN" -n "$n" -c "$c" -mfmt VM_%03d -pfmt P%d
echo "after $n sales, $c clients: $(mem)"
sleep "${IDLE_WAIT:-30}"
echo "idle ${IDLE_WAIT:-30} s after them:  $(mem)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
stop
start "$n sales in the site"
echo "idle after restart:  $(mem)"
