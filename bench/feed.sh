#!/usr/bin/env bash
# GET /api/v1/feed (authenticated, eight rows over all six providers: the `seed-demo` feed)
# at $CONNS connections as a ratio to GET /healthz in alternating runs of the same session,
# then the same with one provider hanging 30 s on every call (cut at feed.provider_timeout_ms).
#
#   bench/feed.sh [mysql|sqlite]            (default mysql: MariaDB + Redis)
#   ROUNDS=3 DURATION=5s CONNS=64 THREADS=2 HANG=WALLET TEST_DATABASE_URL=… TEST_REDIS_URL=…
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-5s}"; CONNS="${CONNS:-64}"; THREADS="${THREADS:-2}"
HANG="${HANG:-WALLET}"; PORT="${PORT:-18085}"
BASE="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }

cargo build --release --locked --features app/mysql -p app --bin app --example feed_bench_server >/dev/null
SERVER="$TARGET/release/examples/feed_bench_server"
export APP__LOG__LEVEL=error
bench_init feed "${1:-mysql}"
(cd "$WORK" && "$BIN" seed-demo) > "$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log"; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
measure() { # measure <scenario>
    export BENCH_TOKEN=$(curl -sf -XPOST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"ara@demo.example","password":"demo password 1"}' | json '["access_token"]')
    local rows; rows=$(curl -sf "$BASE/api/v1/feed" -H "Authorization: Bearer $BENCH_TOKEN" | json '["rows"].__len__()')
    echo "$1: the feed has $rows rows"
    for _ in $(seq 1 "$ROUNDS"); do
        wrk_run "healthz($1)" "$BASE/healthz" ok.lua
        wrk_run "feed($1)" "$BASE/api/v1/feed" bearer.lua
    done
}
bench_start "$PORT" "$WORK/app.log" "$SERVER"; measure all-providers; bench_stop
bench_start "$PORT" "$WORK/app.log" "$SERVER" --hang "$HANG"; measure "$HANG-hangs"; bench_stop

python3 - "$RESULTS" "$BACKEND" "$CONNS" "$DURATION" "$ROUNDS" <<'PY'
import statistics, sys
path, backend, conns, duration, rounds = sys.argv[1:]
by = {}
for label, rps, p99, bad in (l.split() for l in open(path)):
    by.setdefault(label, []).append((float(rps), float(p99), int(bad)))
print(f"\nbackend={backend} connections={conns} {rounds} rounds of {duration} (medians)")
print(f"{'endpoint':32} {'req/s':>10} {'p99 ms':>9} {'non-200':>8} {'ratio':>7}")
for label, runs in by.items():
    rps = statistics.median(r for r, _, _ in runs)
    p99 = statistics.median(p for _, p, _ in runs)
    base = statistics.median(r for r, _, _ in by["healthz" + label[label.index("("):]])
    print(f"{label:32} {rps:10.0f} {p99:9.1f} {sum(b for _, _, b in runs):8d} {rps / base:7.3f}")
PY
