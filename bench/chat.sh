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

chat_load_build

bench_init chat mysql
# Sockets close when their access token expires.
export APP__AUTH__ACCESS_TTL_SECS=86400
bench_start_two "$PORT_A" "$PORT_B"

status=0
"$LOAD" --a "http://127.0.0.1:$PORT_A" --b "http://127.0.0.1:$PORT_B" --pid-a "$APP_A" --pid-b "$APP_B" \
    --users "$USERS" --room-size "$ROOM_SIZE" --messages "$MESSAGES" --rate "$RATE" \
    --posters "$POSTERS" --busy-secs "$BUSY_SECS" --idle-secs "$IDLE_SECS" "$@" || status=$?

bench_log_summary
exit "$status"
