#!/usr/bin/env bash
# The hot reads of issue 16 by the pinned method (see bench/lib.sh): the server on core 0
# with one worker, wrk on core 1, 64 connections, each endpoint paired with /healthz, the
# median of $ROUNDS (5) pairs: ratio to /healthz and server CPU per request. On the
# `seed-demo` data, as ara@demo.example (customer) with 3 cart lines. Also the bare baselines
# of the same process (`--bare-bind`): JWT verification + JSON, and one Redis GET.
#
#   bench/endpoints.sh [mysql|sqlite]       (default mysql: MariaDB + Redis)
#   ROUNDS=5 DURATION=5s CONNS=64 ONLY="product cart" TEST_DATABASE_URL=… TEST_REDIS_URL=…
# Needs a release build first: cargo build --release --locked --features app/mysql -p app
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS="${ROUNDS:-5}"; DURATION="${DURATION:-5s}"; CONNS="${CONNS:-64}"
PORT="${PORT:-18090}"; BARE_PORT="${BARE_PORT:-18091}"
ONLY="${ONLY:-bare_jwt bare_redis product cart feed wallet search}"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
[ -x "$BIN" ] || { echo "build first: cargo build --release --locked --features app/mysql -p app"; exit 1; }
export APP__LOG__LEVEL=error
bench_init endpoints "${1:-mysql}"
(cd "$WORK" && "$BIN" seed-demo) > "$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log"; exit 1; }
pinned_start "$PORT" "$WORK/app.log" "$BIN" --bare-bind "127.0.0.1:$BARE_PORT"
B="$PINNED_BASE/api/v1"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export BENCH_TOKEN=$(curl -sf -XPOST "$B/auth/login" -H 'content-type: application/json' \
    -d '{"email":"ara@demo.example","password":"demo password 1"}' | json 'd["access_token"]')
AUTH=(-H "Authorization: Bearer $BENCH_TOKEN")
curl -sf -XDELETE "$B/cart" "${AUTH[@]}" >/dev/null
PRODUCTS=$(curl -sf "$B/products?size=20" | json '" ".join(str(p["id"]) for p in d["items"] if p["in_stock"])')
lines=0
for pid in $PRODUCTS; do
    item=$(curl -sf "$B/products/$pid" | json 'next((str(i["id"]) for i in d["items"] if i["stock"] > 0), "")')
    [ -n "$item" ] || continue
    curl -sf -XPOST "$B/cart/items" "${AUTH[@]}" -H 'content-type: application/json' \
        -d "{\"product_id\": $pid, \"item_id\": $item, \"quantity\": 1}" >/dev/null
    lines=$((lines + 1)); [ "$lines" -lt 3 ] || break
done
PRODUCT=$(echo "$PRODUCTS" | cut -d' ' -f1)
WORD=$(curl -sf "$B/products/$PRODUCT" | json 'd["name"].split()[0].lower()')
echo "product $PRODUCT; cart: $(curl -sf "$B/cart" "${AUTH[@]}" | json 'len(d["items"])') lines;" \
    "feed: $(curl -sf "$B/feed" "${AUTH[@]}" | json 'len(d["rows"])') rows; search q=$WORD"
IDLE_RSS=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$PINNED_PID/status")

for name in $ONLY; do
    case "$name" in
        bare_jwt) pinned_pairs "bare /bare/jwt" "http://127.0.0.1:$BARE_PORT/bare/jwt" bearer.lua ;;
        bare_redis) pinned_pairs "bare /bare/redis" "http://127.0.0.1:$BARE_PORT/bare/redis" ;;
        product) pinned_pairs "GET /products/{id}" "$B/products/$PRODUCT" ;;
        cart) pinned_pairs "GET /cart (3 lines)" "$B/cart" bearer.lua ;;
        feed) pinned_pairs "GET /feed (auth)" "$B/feed" bearer.lua ;;
        wallet) pinned_pairs "GET /wallet" "$B/wallet" bearer.lua ;;
        search) pinned_pairs "GET /products?q=" "$B/products?q=$WORD" ;;
    esac
done
echo
echo "backend=$BACKEND, $ROUNDS pairs of $DURATION, $CONNS connections; server RSS idle ${IDLE_RSS} KiB," \
    "peak $(awk '$1 == "VmHWM:" { print $2 }' "/proc/$PINNED_PID/status") KiB"
pinned_report
