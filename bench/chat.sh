#!/usr/bin/env bash
# Chat WebSocket delivery: latency (POST → socket) at a steady rate with $USERS sockets,
# throughput into one busy room, and server RSS per 1,000 idle sockets; first with every
# socket on instance A, then with every socket on instance B while POSTs go to A (two
# instances sharing one fresh MariaDB database and one Redis key prefix). The measuring is
# done by app/examples/chat_load.rs; extra arguments are passed to it.
#
#   bench/chat.sh [chat_load args…]
#   USERS=1000 ROOM_SIZE=100 MESSAGES=200 RATE=20 POSTERS=16 BUSY_SECS=10 IDLE_SECS=5
#   PORT_A=18090 PORT_B=18091 TEST_DATABASE_URL=… TEST_REDIS_URL=… CARGO_TARGET_DIR=…
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${USERS:-1000}"; ROOM_SIZE="${ROOM_SIZE:-100}"; MESSAGES="${MESSAGES:-200}"; RATE="${RATE:-20}"
POSTERS="${POSTERS:-16}"; BUSY_SECS="${BUSY_SECS:-10}"; IDLE_SECS="${IDLE_SECS:-5}"
PORT_A="${PORT_A:-18090}"; PORT_B="${PORT_B:-18091}"
source bench/lib.sh

cargo build --release --locked --features app/mysql -p app --bin app --example chat_load >/dev/null
LOAD="$TARGET/release/examples/chat_load"

# 1,000 sockets on each side of each connection, plus the HTTP and database connections.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((USERS + 512)) ] || {
    echo "ulimit -n is $(ulimit -n); $USERS sockets need more"; exit 1; }

bench_init chat mysql
# Sockets close when their access token expires.
export APP__AUTH__ACCESS_TTL_SECS=86400
# A first (it runs the migrations), then B on the same database.
bench_start "$PORT_A" "$WORK/a.log"; APP_A=$BENCH_PID
bench_start "$PORT_B" "$WORK/b.log"; APP_B=$BENCH_PID

status=0
"$LOAD" --a "http://127.0.0.1:$PORT_A" --b "http://127.0.0.1:$PORT_B" --pid-a "$APP_A" --pid-b "$APP_B" \
    --users "$USERS" --room-size "$ROOM_SIZE" --messages "$MESSAGES" --rate "$RATE" \
    --posters "$POSTERS" --busy-secs "$BUSY_SECS" --idle-secs "$IDLE_SECS" "$@" || status=$?

for side in a b; do
    n=$(grep -ciE 'warn|error' "$WORK/$side.log" || true)
    echo "server ${side^^} log: $n warning/error lines"
    [ "$n" -eq 0 ] || grep -iE 'warn|error' "$WORK/$side.log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5
done
exit "$status"
