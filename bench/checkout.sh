#!/usr/bin/env bash
# Checkout throughput on MariaDB + Redis: orders/s with $BUYERS concurrent buyers, each
# looping "add one unit to the cart, POST /orders (keyed)" on its own connection (wrk,
# bench/checkout.lua), on the `seed-demo` catalogue with stock made unlimited. Each buyer
# buys its own item (ITEMS=spread, the default) or every buyer the same one (ITEMS=hot: one
# hot stock row). Checks afterwards that every order is paid, Σ balances is 0 and no stock
# went negative. One instance, default workers, not pinned; $ROUNDS runs, median reported.
#
#   bench/checkout.sh          BUYERS=16 ROUNDS=3 DURATION=10s ITEMS=spread|hot
# Needs a release build first: cargo build --release --locked --features app/mysql -p app
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUYERS="${BUYERS:-16}"; ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-10s}"; ITEMS="${ITEMS:-spread}"
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

paid=$(bench_sql "SELECT COUNT(*) FROM orders WHERE status = 'paid'")
other=$(bench_sql "SELECT COUNT(*) FROM orders WHERE status <> 'paid'")
sum=$(bench_sql "SELECT CAST(COALESCE(SUM(balance), 0) AS SIGNED) FROM wallets")
neg=$(bench_sql "SELECT COUNT(*) FROM product_items WHERE stock < 0")
echo "orders paid $paid, other $other; Σ wallet balances $sum; items below 0 stock $neg"
echo "median: $(sort -n "$WORK/ops" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') orders/s" \
    "($BUYERS buyers, ITEMS=$ITEMS, $ROUNDS × $DURATION, $(nproc) cores shared)"
n=$(grep -ciE 'warn|error' "$WORK/app.log" || true)
echo "server log: $n warning/error lines"
[ "$n" -eq 0 ] || grep -iE 'warn|error' "$WORK/app.log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5
