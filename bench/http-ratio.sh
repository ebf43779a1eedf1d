#!/usr/bin/env bash
# Requests/s and p99 of GET /api/v1/wallet (authenticated) and POST /api/v1/auth/login at
# $CONNS connections, each as a ratio to GET /healthz measured in alternating short runs of
# the same session (this machine is shared: absolute req/s from one run mean little).
# Also reports the server's idle and peak RSS.
#
#   bench/http-ratio.sh [mysql|sqlite]      (default mysql: MariaDB + Redis)
#   ROUNDS=3 DURATION=5s CONNS=64 THREADS=2 TEST_DATABASE_URL=… TEST_REDIS_URL=…
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BACKEND="${1:-mysql}"
ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-5s}"; CONNS="${CONNS:-64}"; THREADS="${THREADS:-2}"
PORT="${PORT:-18080}"
MYSQL_URL="${TEST_DATABASE_URL:-mysql://root@127.0.0.1:3306/test}"
REDIS="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
BASE="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }

cargo build --release --locked --features app/mysql -p app >/dev/null
BIN="$PWD/target/release/app"
WORK=$(mktemp -d)
DB="bench_$$"
server_url="${MYSQL_URL%/*}"
cleanup() {
    [ -n "${APP_PID:-}" ] && kill "$APP_PID" 2>/dev/null && wait "$APP_PID" 2>/dev/null
    [ "$BACKEND" = mysql ] && mariadb -h"$(echo "$server_url" | sed -E 's#.*@([^:/]+).*#\1#')" -uroot -e "DROP DATABASE IF EXISTS $DB" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

export APP__SERVER__BIND="127.0.0.1:$PORT" APP__LOG__LEVEL=warn APP__MAIL__DIR="$WORK/mail"
export APP__RATE_LIMIT__AUTH_PER_SECOND=100000000 APP__RATE_LIMIT__AUTH_BURST=100000000
if [ "$BACKEND" = mysql ]; then
    mariadb -h"$(echo "$server_url" | sed -E 's#.*@([^:/]+).*#\1#')" -uroot -e "CREATE DATABASE $DB CHARACTER SET utf8mb4"
    export DATABASE_URL="$server_url/$DB" REDIS_URL="$REDIS" APP__REDIS__KEY_PREFIX="bench$$:"
    export APP__DATABASE__MAX_CONNECTIONS=16
else
    export DATABASE_URL="sqlite://$WORK/bench.db"
    unset REDIS_URL
fi
(cd "$WORK" && exec "$BIN") > "$WORK/app.log" 2>&1 &
APP_PID=$!
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
export BENCH_EMAIL="bench-$$@example.com" BENCH_PASSWORD="bench password 1"
curl -sf -XPOST "$BASE/api/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\",\"name\":\"Bench\",\"role\":\"customer\"}" >/dev/null
for _ in $(seq 1 100); do ls "$WORK/mail"/*.eml >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$(grep -h '^token: ' "$WORK"/mail/*.eml | tail -1 | cut -d' ' -f2 | tr -d '\r')
curl -sf -XPOST "$BASE/api/v1/auth/verify-email" -H 'content-type: application/json' -d "{\"token\":\"$TOKEN\"}" >/dev/null
export BENCH_TOKEN=$(curl -sf -XPOST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}" | json '["access_token"]')
curl -sf -XPOST "$BASE/api/v1/wallet/charges" -H 'content-type: application/json' -H "Authorization: Bearer $BENCH_TOKEN" \
    -H 'Idempotency-Key: bench' -d '{"amount": 1000}' >/dev/null

rss_kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$APP_PID/status"; }
IDLE_RSS=$(rss_kib VmRSS)

# run <label> <path> <lua> -> appends "label rps p99_ms non200"
RESULTS="$WORK/results"
run() { wrk_run "$1" "$BASE$2" "${3:-ok.lua}"; }
for round in $(seq 1 "$ROUNDS"); do
    run healthz /healthz ok.lua
    run wallet /api/v1/wallet bearer.lua
    run healthz /healthz ok.lua
    run login /api/v1/auth/login login.lua
done
PEAK_RSS=$(rss_kib VmHWM)
sleep 3
AFTER_RSS=$(rss_kib VmRSS)

python3 - "$RESULTS" "$BACKEND" "$CONNS" "$DURATION" "$ROUNDS" "$IDLE_RSS" "$PEAK_RSS" "$AFTER_RSS" <<'PY'
import statistics, sys
path, backend, conns, duration, rounds, idle, peak, after = sys.argv[1:]
rows = {}
for line in open(path):
    label, rps, p99, bad = line.split()
    rows.setdefault(label, []).append((float(rps), float(p99), int(bad)))
med = lambda xs: statistics.median(xs)
base_rps = med([r for r, _, _ in rows["healthz"]])
base_p99 = med([p for _, p, _ in rows["healthz"]])
print(f"\nbackend={backend} connections={conns} duration={duration} rounds={rounds} (medians of alternating runs)")
print(f"{'endpoint':<28}{'req/s':>10}{'p99 ms':>10}{'req/s ratio':>13}{'p99 ratio':>11}{'non-200':>9}")
names = {"healthz": "GET /healthz", "wallet": "GET /api/v1/wallet", "login": "POST /api/v1/auth/login"}
for label in ("healthz", "wallet", "login"):
    rps = med([r for r, _, _ in rows[label]]); p99 = med([p for _, p, _ in rows[label]])
    bad = sum(b for _, _, b in rows[label])
    print(f"{names[label]:<28}{rps:>10.0f}{p99:>10.2f}{rps / base_rps:>13.3f}{p99 / base_p99:>11.1f}{bad:>9}")
print(f"server RSS: idle {int(idle)/1024:.1f} MiB, peak {int(peak)/1024:.1f} MiB, 3 s after load {int(after)/1024:.1f} MiB")
PY
