#!/usr/bin/env bash
# Checkout and confirm throughput on MariaDB + Redis, each as a ratio to /healthz measured
# in the same run with as many connections.
# - checkout: orders/s with $BUYERS concurrent buyers, each looping "add one unit to the
#   cart, POST /orders (keyed)" on its own connection (wrk, bench/checkout.lua), on the
#   `seed-demo` catalogue with stock made unlimited. Each buyer buys its own item
#   (ITEMS=spread, the default) or every buyer the same one (ITEMS=hot: one hot stock row).
# - confirm (CONFIRM=1, the default): the lines those checkouts bought are shipped (in SQL:
#   shipping is not what is measured), then each buyer confirms its own lines one by one
#   (bench/confirm.lua: every request a distinct line; sale + fee transfers out of escrow).
# Checks afterwards that no checkout was left pending, Σ balances is 0, every escrow holds
# exactly its lines not yet confirmed, cancelled or refunded, system:fees the fees, and no stock went negative. One
# instance, default workers, not pinned; $ROUNDS checkout runs (median) and one confirm run.
#
# STATEMENTS=1 adds a 3 s round with MariaDB's general log on (global, restored after) and
# prints the commands per order by type (Prepare/Execute/Close stmt/Query) and the
# statements most run per order: the cost the checkout puts on the database.
#
#   bench/checkout.sh          BUYERS=16 ROUNDS=3 DURATION=10s ITEMS=spread|hot CONFIRM=1|0 STATEMENTS=0|1
# Needs a release build first: cargo build --release --locked --features app/mysql -p app
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUYERS="${BUYERS:-16}"; ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-10s}"; ITEMS="${ITEMS:-spread}"
CONFIRM="${CONFIRM:-1}"; STATEMENTS="${STATEMENTS:-0}"
PORT="${PORT:-18094}"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
[ -x "$BIN" ] || { echo "build first: cargo build --release --locked --features app/mysql -p app"; exit 1; }
export APP__LOG__LEVEL=error APP__PAYMENT__MAX_CHARGE=1000000000
bench_init checkout mysql
(cd "$WORK" && "$BIN" seed-demo) > "$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log"; exit 1; }
bench_sql "UPDATE product_items SET stock = 1000000000 WHERE deleted_at IS NULL"
bench_start "$PORT" "$WORK/app.log"
B="http://127.0.0.1:$PORT/api/v1"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Items on sale: "product_id item_id", cheapest first.
bench_sql "SELECT i.product_id, i.id FROM product_items i JOIN products p ON p.id = i.product_id
     WHERE i.deleted_at IS NULL AND p.deleted_at IS NULL AND NOT p.hidden ORDER BY i.price, i.id" > "$WORK/items"
for i in $(seq 1 "$BUYERS"); do
    curl -sf -o /dev/null -XPOST "$B/auth/signup" -H 'content-type: application/json' \
        -d "{\"email\":\"buyer-$i@bench.example\",\"password\":\"bench password $i\",\"name\":\"Buyer $i\",\"role\":\"customer\"}"
done
bench_sql "UPDATE accounts SET email_verified = 1 WHERE email LIKE '%@bench.example'"
: > "$WORK/buyers"
for i in $(seq 1 "$BUYERS"); do
    token=$(curl -sf -XPOST "$B/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"buyer-$i@bench.example\",\"password\":\"bench password $i\"}" | json 'd["access_token"]')
    curl -sf -o /dev/null -XPOST "$B/wallet/charges" -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' -H "Idempotency-Key: bench-charge-$i" -d '{"amount": 1000000000}'
    if [ "$ITEMS" = hot ]; then line=1; else line=$(( (i - 1) % $(wc -l < "$WORK/items") + 1 )); fi
    echo "$token $(sed -n "${line}p" "$WORK/items" | tr '\t' ' ')" >> "$WORK/buyers"
done
export BENCH_BUYERS="$WORK/buyers"

for r in $(seq 1 "$ROUNDS"); do
    out=$(wrk -t"$BUYERS" -c"$BUYERS" -d"$DURATION" --latency -s bench/checkout.lua "$B")
    ops=$(awk -F= '/^orders_per_s=/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    echo "round $r: $ops orders/s; $(grep -E '^(orders|refused|bad_adds)=' <<<"$out" | tr '\n' ' ')p99 (add or order) $p99"
    echo "$ops" >> "$WORK/ops"
done
healthz() {
    wrk -t"$BUYERS" -c"$BUYERS" -d"$DURATION" "http://127.0.0.1:$PORT/healthz" | awk '/^Requests\/sec/ { print $2 }'
}
if [ "$STATEMENTS" = 1 ]; then
    log_sql() { mariadb -h"$MYSQL_HOST" -uroot -N mysql -e "$1"; }
    log_sql "SET GLOBAL log_output = 'TABLE'; TRUNCATE TABLE general_log"
    wrk -t"$BUYERS" -c"$BUYERS" -d6s -s bench/checkout.lua "$B" > /dev/null &
    logged_wrk=$!
    sleep 2; log_sql "SET GLOBAL general_log = 1"; sleep 3; log_sql "SET GLOBAL general_log = 0"
    wait "$logged_wrk"
    # Orders placed while the log was on: one INSERT INTO orders each.
    logged=$(log_sql "SELECT COUNT(*) FROM general_log WHERE command_type = 'Execute'
        AND argument LIKE 'INSERT INTO _orders_ %'")
    echo "statements: $logged orders in the logged 3 s; commands per order by type:"
    log_sql "SELECT command_type, ROUND(COUNT(*) / $logged, 1) FROM general_log
        WHERE command_type IN ('Prepare', 'Execute', 'Close stmt', 'Query') GROUP BY command_type ORDER BY 2 DESC" \
        | awk '{ print "  " $0 }'
    echo "statements: the most run per order (a Prepare is a statement the connection did not keep):"
    log_sql "SELECT ROUND(COUNT(*) / $logged, 2), command_type,
            LEFT(REGEXP_REPLACE(REGEXP_REPLACE(CONVERT(argument USING utf8mb4), '\\'[^\\']*\\'', '?'), '[0-9]+', 'N'), 150)
        FROM general_log WHERE command_type IN ('Prepare', 'Execute', 'Query')
        GROUP BY 2, 3 ORDER BY 1 DESC LIMIT 40" | awk '{ print "  " $0 }'
    log_sql "TRUNCATE TABLE general_log; SET GLOBAL log_output = 'FILE'"
fi
checkout_median=$(sort -n "$WORK/ops" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
healthz_checkout=$(healthz)

if [ "$CONFIRM" = 1 ]; then
    # Ship every line bought (stock off the shelf, as POST /seller/orders/{id}/ship does).
    bench_sql "INSERT INTO order_shipments (order_id, item_id, carrier, tracking_number, shipped_at)
        SELECT l.order_id, l.item_id, 'Bench', CONCAT('B', l.order_id), UTC_TIMESTAMP(6) FROM order_lines l
        JOIN orders o ON o.id = l.order_id WHERE o.status = 'paid' AND l.status = 'paid';
        UPDATE product_items SET stock = stock - reserved, reserved = 0;
        UPDATE order_lines l JOIN orders o ON o.id = l.order_id SET l.status = 'shipped',
            l.auto_confirm_at = UTC_TIMESTAMP(6) + INTERVAL 7 DAY, l.version = l.version + 1
            WHERE o.status = 'paid' AND l.status = 'paid';
        UPDATE orders SET status = 'in_progress' WHERE status = 'paid'"
    # "buyer order item" for every shipped line, buyer n being the n-th line of $BENCH_BUYERS.
    : > "$WORK/lines"
    for i in $(seq 1 "$BUYERS"); do
        bench_sql "SELECT $i, l.order_id, l.item_id FROM order_lines l JOIN orders o ON o.id = l.order_id
            JOIN accounts a ON a.id = o.buyer_id WHERE a.email = 'buyer-$i@bench.example' AND l.status = 'shipped'
            ORDER BY l.order_id" | tr '\t' ' ' >> "$WORK/lines"
    done
    export BENCH_LINES="$WORK/lines"
    out=$(wrk -t"$BUYERS" -c"$BUYERS" -d"$DURATION" --latency -s bench/confirm.lua "$B")
    confirms=$(awk -F= '/^confirms_per_s=/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    echo "confirm: $confirms confirmations/s; $(grep -E '^(confirmed|refused|exhausted)=' <<<"$out" | tr '\n' ' ')p99 $p99" \
        "($(wc -l < "$WORK/lines") shipped lines available; exhausted > 0 means the run ran out of them)"
    healthz_confirm=$(healthz)
fi

# wrk stops mid-request: a checkout cut off then stays pending until recovery finishes or
# undoes it (order.checkout_recovery_secs); check the books after that, not before.
for _ in $(seq 1 90); do
    [ "$(bench_sql "SELECT COUNT(*) FROM orders WHERE status = 'pending'")" = 0 ] && break
    sleep 1
done
other=$(bench_sql "SELECT COUNT(*) FROM orders WHERE status NOT IN ('paid', 'in_progress', 'completed')")
paid=$(bench_sql "SELECT COUNT(*) FROM orders WHERE status IN ('paid', 'in_progress', 'completed')")
sum=$(bench_sql "SELECT CAST(COALESCE(SUM(balance), 0) AS SIGNED) FROM wallets")
neg=$(bench_sql "SELECT COUNT(*) FROM product_items WHERE stock < 0 OR reserved < 0")
off_escrows=$(bench_sql "SELECT o.id, o.status, COALESCE(w.balance, 0) FROM orders o JOIN order_lines l ON l.order_id = o.id
    LEFT JOIN wallets w ON w.wallet_key = CONCAT('escrow:order:', o.id) WHERE o.status <> 'failed' GROUP BY o.id, o.status, w.balance
    HAVING COALESCE(w.balance, 0) <> SUM(CASE WHEN l.status IN ('confirmed', 'cancelled', 'refunded') THEN 0 ELSE l.price * l.quantity END)")
escrows=$(grep -c . <<<"$off_escrows" || true)
[ "$escrows" = 0 ] || echo "escrows off (order, status, balance): $(tr '\n\t' '; ' <<<"$off_escrows")"
fees=$(bench_sql "SELECT (SELECT COALESCE(SUM(fee), 0) FROM order_lines WHERE status = 'confirmed')
    - COALESCE((SELECT balance FROM wallets WHERE wallet_key = 'system:fees'), 0)")
echo "orders placed $paid, other (failed or undone) $other; Σ wallet balances $sum; items below 0 stock $neg;" \
    "escrows off $escrows; system:fees off by $fees"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "checkout median: $checkout_median orders/s = $(ratio "$checkout_median" "$healthz_checkout") × /healthz" \
    "($healthz_checkout req/s, $BUYERS connections) ($BUYERS buyers, ITEMS=$ITEMS, $ROUNDS × $DURATION, $(nproc) cores shared)"
[ "$CONFIRM" = 1 ] && echo "confirm: $confirms lines/s = $(ratio "$confirms" "$healthz_confirm") × /healthz" \
    "($healthz_confirm req/s, $BUYERS connections)"
n=$(grep -ciE 'warn|error' "$WORK/app.log" || true)
echo "server log: $n warning/error lines"
[ "$n" -eq 0 ] || grep -iE 'warn|error' "$WORK/app.log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5
