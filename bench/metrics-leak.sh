#!/usr/bin/env bash
# The metrics leak check: RSS of one instance over a few million GET /healthz without any
# scrape of /metrics. Before the exporter's upkeep ran on a timer, every request left its
# latency sample in memory until a scrape (~16 B per request: +39 MB over 2.37M requests).
# Prints RSS after each block of requests; it must stay flat (within a few MiB).
#
#   bench/metrics-leak.sh      BLOCKS=6 DURATION=20s CONNS=64
# Needs a release build first: cargo build --release --locked --features app/mysql -p app
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BLOCKS="${BLOCKS:-6}"; DURATION="${DURATION:-20s}"; CONNS="${CONNS:-64}"; PORT="${PORT:-18093}"
[ -x "$BIN" ] || { echo "build first: cargo build --release --locked --features app/mysql -p app"; exit 1; }
export APP__LOG__LEVEL=error
bench_init leak sqlite
pinned_start "$PORT" "$WORK/app.log"
rss() { awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$PINNED_PID/status"; }
sleep 2
echo "start: $(rss) MiB"
total=0
for i in $(seq 1 "$BLOCKS"); do
    out=$(taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" "$PINNED_BASE/healthz")
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    total=$((total + n))
    echo "after $total requests: $(rss) MiB"
done
sleep 2
echo "2 s later: $(rss) MiB (no /metrics scrape in the whole run)"
