#!/usr/bin/env bash
# vendsync's edge against a conventional peer (one PostgreSQL 15 transaction
# per sale with hour and day aggregates), loaded by the same generator in one
# interleaved run: peer, edge, peer, edge… at 64 clients and at 1 client.
# Both listen on plain HTTP on loopback so that neither pays for TLS. The
# edge is the site build (bin/vendsync-site), what a site installs.
#
# Usage: scripts/peer-bench.sh PEERS_DIR [sales] [rounds]
#   PEERS_DIR holds the peer's module: pgpeer/ (the PostgreSQL service) and
#   loadgen/ (the generator). Needs Debian's postgresql 15 (installed with
#   apt-get when missing) and root (the peer's cluster runs as postgres).
# EDGE_FLAGS adds flags to `edge run` (e.g. EDGE_FLAGS=--fsync=inline).
# Output: one line per round with `uptime` before it, then the medians and
# the ratio edge / peer.
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${1:?usage: scripts/peer-bench.sh PEERS_DIR [sales] [rounds]}
peers=$(cd "$peers" && pwd)
n=${2:-120000}
rounds=${3:-3}
n1=$((n / 40)) # the single-client rounds are shorter: same count of fsyncs per second, less wall time

command -v pg_ctlcluster >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }
make -s build
work=$(mktemp -d)
(cd "$peers" && go build -o "$work/pgpeer" ./pgpeer && go build -o "$work/loadgen" ./loadgen)

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pg_ctlcluster 15 main stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_http() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# The peer, on a fresh database.
pg_ctlcluster 15 main start 2>/dev/null || true
su postgres -c "psql -qc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='root') THEN CREATE ROLE root SUPERUSER LOGIN; END IF; END\\\$\\\$\"" >/dev/null
su postgres -c "dropdb --if-exists peer && createdb -O root peer"
"$work/pgpeer" >"$work/pgpeer.log" 2>&1 &
pids+=($!)
wait_http 127.0.0.1:18080/healthz

# The edge: one site, machines VM_000…VM_009 accepting cash, card and UPI,
# products P0…P19 priced 50 with ample stock.
bin/vendsync-site edge init --dir "$work/site" --site bench --city Bangalore --timezone Asia/Kolkata >/dev/null
bin/vendsync-site edge run --dir "$work/site" --http 127.0.0.1:18555 --insecure-http --rate-limits=false \
  --log-level warn --log-format json ${EDGE_FLAGS:-} 2>"$work/edge.log" &
pids+=($!)
wait_http 127.0.0.1:18555/readyz
J='Content-Type: application/json'
token=$(curl -sf -H "$J" -d @"$work/site/admin-credentials.json" 127.0.0.1:18555/auth/token | sed 's/.*access_token":"\([^"]*\).*/\1/')
H="Authorization: Bearer $token"
for m in $(seq 0 9); do
  mid=$(printf 'VM_%03d' "$m")
  curl -sS --fail-with-body -o /dev/null -H "$J" -H "$H" -d "{\"machineId\":\"$mid\",\"location\":{\"city\":\"Bangalore\"},\"paymentMethods\":[\"CASH\",\"CARD\",\"UPI\"]}" \
    127.0.0.1:18555/machines
  for p in $(seq 0 19); do
    curl -sS --fail-with-body -o /dev/null -H "$J" -H "$H" -d "{\"productId\":\"P$p\",\"name\":\"p$p\",\"price\":50,\"quantity\":100000}" \
      "127.0.0.1:18555/machines/$mid/products"
  done
done

results=$work/results
: >"$results"
round() { # name c n url args...
  local name=$1 c=$2 count=$3 url=$4; shift 4
  local line
  line=$("$work/loadgen" -url "$url" -n "$count" -c "$c" "$@")
  echo "$name c=$c load=[$(cut -d' ' -f1-3 /proc/loadavg)] $line"
  echo "$name $c $line" >>"$results"
}
for r in $(seq "$rounds"); do
  echo "-- round $r"
  round peer 64 "$n" http://127.0.0.1:18080 -pfmt P%03d
  round edge 64 "$n" http://127.0.0.1:18555 -token "$token" -pfmt P%d
  round peer 1 "$n1" http://127.0.0.1:18080 -pfmt P%03d
  round edge 1 "$n1" http://127.0.0.1:18555 -token "$token" -pfmt P%d
done
if grep -q 'errors=[1-9]' "$results"; then
  echo "some requests failed: see the lines above ($work/edge.log, $work/pgpeer.log)" >&2
  exit 1
fi

# Medians over the rounds.
awk '
function field(name,   i) { for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2); return "" }
function ms(v) { if (v ~ /µs$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
{ k = $1 " " $2; n[k]++; tp[k, n[k]] = field("throughput") + 0; p99[k, n[k]] = ms(field("p99")); p50[k, n[k]] = ms(field("p50")) }
function median(a, k, m,   i, j, t, v) { for (i = 1; i <= m; i++) v[i] = a[k, i]; for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }; return v[int((m + 1) / 2)] }
END {
  for (k in n) { mt[k] = median(tp, k, n[k]); m50[k] = median(p50, k, n[k]); m99[k] = median(p99, k, n[k]) }
  for (c = 64; c >= 1; c -= 63) {
    printf "c=%d  peer %.0f sales/s p50 %.2f ms p99 %.2f ms | edge %.0f sales/s p50 %.2f ms p99 %.2f ms | edge/peer %.1fx\n",
      c, mt["peer " c], m50["peer " c], m99["peer " c], mt["edge " c], m50["edge " c], m99["edge " c], mt["edge " c] / mt["peer " c]
  }
}' "$results"
