#!/usr/bin/env bash
# Notifications (issue 15): time from an order's commit on instance A to the seller's
# `notification` frame on instance B (two instances sharing one fresh MariaDB database and
# one Redis key prefix), the notifications/s the outbox handlers sustain during a burst of
# orders, and B's RSS with $USERS sellers' sockets receiving them. The measuring is done by
# app/examples/chat_load.rs in `--mode notify`; extra arguments are passed to it.
#
#   bench/notify.sh [chat_load args…]
#   USERS=1000 BUYERS=16 ORDERS=200 RATE=20 BURST=2000 IDLE_SECS=5
#   PORT_A=18095 PORT_B=18096 TEST_DATABASE_URL=… TEST_REDIS_URL=… CARGO_TARGET_DIR=…
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${USERS:-1000}"; BUYERS="${BUYERS:-16}"; ORDERS="${ORDERS:-200}"; RATE="${RATE:-20}"
BURST="${BURST:-2000}"; IDLE_SECS="${IDLE_SECS:-5}"
PORT_A="${PORT_A:-18095}"; PORT_B="${PORT_B:-18096}"
source bench/lib.sh

chat_load_build

bench_init notify mysql
# Sockets close when their access token expires; the buyers charge 1,000,000 each.
export APP__AUTH__ACCESS_TTL_SECS=86400 APP__PAYMENT__MAX_CHARGE=1000000
bench_start_two "$PORT_A" "$PORT_B"

status=0
"$LOAD" --mode notify --a "http://127.0.0.1:$PORT_A" --b "http://127.0.0.1:$PORT_B" \
    --pid-a "$APP_A" --pid-b "$APP_B" --users "$USERS" --posters "$BUYERS" --messages "$ORDERS" \
    --rate "$RATE" --burst "$BURST" --idle-secs "$IDLE_SECS" "$@" || status=$?

rows=$(bench_sql "SELECT COUNT(*) FROM notifications WHERE kind = 'order_placed'")
pending=$(bench_sql "SELECT COUNT(*) FROM order_outbox WHERE status <> 'done'")
echo "order_placed rows stored: $rows; order outbox rows not done: $pending"
bench_log_summary
exit "$status"
