#!/usr/bin/env bash
# Runs every benchmark with the sizes BENCHMARKS.md reports, one at a time
# (they share 2 cores; run nothing else meanwhile). Output: bench.out.
# Usage: scripts/bench.sh [regexp]   e.g. scripts/bench.sh 'SaleHTTP|RawInsert'
# VENDSYNC_BENCH_DAYS=365 makes central/readmodel BenchmarkQuery generate a year.
set -euo pipefail
cd "$(dirname "$0")/.."
only=${1:-.}
out=${BENCH_OUT:-bench.out}
: > "$out"
run() { # pkg bench benchtime
  if [[ "$2" =~ $only ]]; then
    echo "== $1 $2 ($3)" | tee -a "$out"
    go test -run '^$' -bench "^$2\$" -benchtime "$3" -timeout 60m "$1" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---|\s+bench_test)' | tee -a "$out"
  fi
}
run ./edge/ 'BenchmarkSaleHTTP' 20000x
run ./edge/ 'BenchmarkRawInsert' 200000x
run ./edge/ 'BenchmarkRecordSalesBatch' 100000x
run ./edge/ 'BenchmarkAggregateQuery' 2000x
run ./central/ 'BenchmarkFreshness' 500x
run ./central/ 'BenchmarkCatchUp' 100000x
run ./central/ 'BenchmarkIngest100Sites' 200000x
run ./central/readmodel/ 'BenchmarkApply_Sales500' 200x
run ./central/readmodel/ 'BenchmarkApply_Sales500Pipelined' 200x
run ./central/readmodel/ 'BenchmarkApply_Sales500Promoted' 200x
run ./central/aggregator/ 'BenchmarkAggregator_CatchUp100k' 3x
run ./central/aggregator/ 'BenchmarkAggregator_CatchUpSmallBatches' 1x
run ./central/readmodel/ 'BenchmarkQuery' 100x
# Edge write path (issue 14): where one client's sale time goes, and this disk's flush.
run ./edge/ 'BenchmarkSaleLatency' 3000x
run ./edge/ 'BenchmarkSaleCPU' 2000x
run ./edge/ 'BenchmarkDiskSync' 2000x
# issue 14, edge reads: every GET route against 1,000,000 sales (set
# VENDSYNC_BENCH_CACHE=dir to build that site once and keep it), the JSON
# of a 480-row answer, the sale body's decode; memory and start of the
# real binary: scripts/edge-rss.sh.
run ./edge/ 'BenchmarkEdgeQueries' 200x
run ./internal/edgeapi/ 'BenchmarkSalesAnswerJSON' 2000x
run ./edge/api/ 'BenchmarkSaleBody' 100000x
# Issue 14, central queries at 10,000 machines × 1 year (every fleet-wide
# read of the HQ API, p50/p99 wall and CPU, rows): the generated year is
# cached in $TMPDIR/vendsync-bench-readmodel-* (about 4.5 GB; the first run
# generates it in about 10 minutes).
if [[ 'BenchmarkQuery365' =~ $only ]]; then
  echo "== ./central/readmodel/ BenchmarkQuery 365 days (100x)" | tee -a "$out"
  VENDSYNC_BENCH_DAYS=365 go test -run '^$' -bench '^BenchmarkQuery$' -benchtime 100x -timeout 90m ./central/readmodel/ 2>&1 | grep -E '^(Benchmark|ok|FAIL|---|\s+bench_test)' | tee -a "$out"
fi
# issue 14, edge cold start: Node.Open until /readyz first answers 200, on a
# fresh site and one with 50,000 sales (open-ms, ready-ms; exec->ready of the
# real binary: scripts/edge-rss.sh).
run ./edge/ 'BenchmarkEdgeOpen' 40x
