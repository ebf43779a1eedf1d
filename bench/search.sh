#!/usr/bin/env bash
# Search and product detail at scale: seeds $COUNT products (default 100,000) into a fresh
# MariaDB database (or SQLite with `sqlite`), then measures, at $CONNS connections, each
# query's requests/s and p99 as a ratio to GET /healthz in alternating short runs.
#
#   bench/search.sh [mysql|sqlite]     COUNT=100000 ROUNDS=2 DURATION=5s CONNS=64
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BACKEND="${1:-mysql}"
COUNT="${COUNT:-100000}"; ROUNDS="${ROUNDS:-2}"; DURATION="${DURATION:-5s}"; CONNS="${CONNS:-64}"; THREADS="${THREADS:-2}"
PORT="${PORT:-18081}"
MYSQL_URL="${TEST_DATABASE_URL:-mysql://root@127.0.0.1:3306/test}"
BASE="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }

cargo build --release --locked --features app/mysql -p app --example seed_products >/dev/null
BIN="$PWD/target/release/app"
WORK=$(mktemp -d)
DB="bench_search_$$"
server_url="${MYSQL_URL%/*}"
mysql_host=$(echo "$server_url" | sed -E 's#.*@([^:/]+).*#\1#')
cleanup() {
    [ -n "${APP_PID:-}" ] && kill "$APP_PID" 2>/dev/null && wait "$APP_PID" 2>/dev/null
    [ "$BACKEND" = mysql ] && mariadb -h"$mysql_host" -uroot -e "DROP DATABASE IF EXISTS $DB" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$BACKEND" = mysql ]; then
    mariadb -h"$mysql_host" -uroot -e "CREATE DATABASE $DB CHARACTER SET utf8mb4"
    export DATABASE_URL="$server_url/$DB" REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}" APP__REDIS__KEY_PREFIX="bench$$:"
else
    export DATABASE_URL="sqlite://$WORK/bench.db"
fi
echo "seeding $COUNT products…"
seed_start=$(date +%s)
./target/release/examples/seed_products "$DATABASE_URL" "$COUNT" 2>&1 | tail -1
echo "seeded in $(( $(date +%s) - seed_start )) s"

export APP__SERVER__BIND="127.0.0.1:$PORT" APP__LOG__LEVEL=warn APP__MAIL__DIR="$WORK/mail" APP__DATABASE__MAX_CONNECTIONS=16
(cd "$WORK" && exec "$BIN") > "$WORK/app.log" 2>&1 &
APP_PID=$!
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

RESULTS="$WORK/results"
run() { wrk_run "$1" "$BASE$2" "${3:-ok.lua}"; }
declare -A QUERIES=(
    [q_blue_mu]="/api/v1/products?q=blue%20mu"
    [q_b]="/api/v1/products?q=b"
    [q_korean]="/api/v1/products?q=%EB%A8%B8%EA%B7%B8"
    [q_three_words]="/api/v1/products?q=navy%20cer%20teap"
    [q_rare]="/api/v1/products?q=77777"
    [list_page_50]="/api/v1/products?page=50&size=20"
    [detail]="/api/v1/products/$((COUNT / 2))"
)
for q in "${!QUERIES[@]}"; do echo "$q ${QUERIES[$q]}: $(curl -s "$BASE${QUERIES[$q]}" | head -c 120)"; done
for round in $(seq 1 "$ROUNDS"); do
    for q in "${!QUERIES[@]}"; do
        run healthz /healthz
        run "$q" "${QUERIES[$q]}"
    done
    run healthz /healthz
    run random_mix /api/v1/products search_mix.lua
done
python3 - "$RESULTS" "$BACKEND" "$COUNT" "$CONNS" <<'PY'
import statistics, sys
path, backend, count, conns = sys.argv[1:]
rows = {}
for line in open(path):
    label, rps, p99, bad = line.split()
    rows.setdefault(label, []).append((float(rps), float(p99), int(bad)))
base = statistics.median(r for r, _, _ in rows.pop("healthz"))
print(f"\nbackend={backend} products={count} connections={conns}; GET /healthz median {base:.0f} req/s")
print(f"{'query':<16}{'req/s':>9}{'p99 ms':>9}{'ratio':>8}{'non-200':>9}")
for label, vals in sorted(rows.items()):
    rps = statistics.median(v[0] for v in vals); p99 = statistics.median(v[1] for v in vals)
    print(f"{label:<16}{rps:>9.0f}{p99:>9.1f}{rps / base:>8.3f}{sum(v[2] for v in vals):>9}")
PY
