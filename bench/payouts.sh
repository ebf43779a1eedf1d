#!/usr/bin/env bash
# Payouts/s with $SELLERS (16) concurrent sellers on the sandbox payout gateway, as a ratio
# to /healthz in the same run, by the pinned method (see bench/lib.sh): the server on core
# 0 with one worker, wrk on core 1 with one connection per seller, each run right after a
# /healthz run, the median of $ROUNDS (5) pairs. Every request is a new payout of 1 point
# (a fresh Idempotency-Key; `payment.min_payout` lowered to 1) from a seller charged with
# 10,000,000 sandbox points; the ledger is audited afterwards.
#
#   bench/payouts.sh [mysql|sqlite]       (default mysql: MariaDB + Redis)
#   SELLERS=16 ROUNDS=5 DURATION=5s APP_BIN=target/debug/app TEST_DATABASE_URL=… TEST_REDIS_URL=…
# Needs a release build first: cargo build --release --locked --features app/mysql -p app
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="${APP_BIN:-$BIN}"
SELLERS="${SELLERS:-16}"; ROUNDS="${ROUNDS:-5}"; DURATION="${DURATION:-5s}"; PORT="${PORT:-18092}"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
[ -x "$BIN" ] || { echo "build first: cargo build --release --locked --features app/mysql -p app"; exit 1; }
export APP__LOG__LEVEL=error APP__PAYMENT__MIN_PAYOUT=1 APP__PAYMENT__PAYOUT_GATEWAY=sandbox
# The sellers log in straight after signing up (the mail round trip is not what is measured).
export APP__AUTH__REQUIRE_VERIFIED_EMAIL=false
bench_init payouts "${1:-mysql}"
pinned_start "$PORT" "$WORK/app.log"
B="$PINNED_BASE/api/v1"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKENS=""
for i in $(seq 1 "$SELLERS"); do
    email="seller-$i-$$@example.com"
    curl -sf -XPOST "$B/auth/signup" -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"bench password 1\",\"name\":\"Seller $i\",\"role\":\"seller\"}" >/dev/null
    token=$(curl -sf -XPOST "$B/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"bench password 1\"}" | json '["access_token"]')
    curl -sf -XPOST "$B/wallet/charges" -H 'content-type: application/json' -H "Authorization: Bearer $token" \
        -H "Idempotency-Key: fund-$i" -d '{"amount": 10000000}' >/dev/null
    TOKENS="$TOKENS $token"
done
export BENCH_TOKENS="$TOKENS"
CONNS="$SELLERS" pinned_pairs "POST /wallet/payouts" "$B/wallet/payouts" payout.lua
echo
echo "backend=$BACKEND, $SELLERS sellers (one connection each), $ROUNDS pairs of $DURATION, binary $BIN"
CONNS="$SELLERS" pinned_report
# The money it moved: the audit must be clean (0 mismatches, a 0 sum) after the storm.
(cd "$WORK" && APP_ADMIN_PASSWORD="bench admin password" "$BIN" create-admin --email "admin-$$@example.com" --name Admin) >/dev/null
ADMIN=$(curl -sf -XPOST "$B/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"admin-$$@example.com\",\"password\":\"bench admin password\"}" | json '["access_token"]')
curl -sf "$B/admin/ledger/audit" -H "Authorization: Bearer $ADMIN" | python3 -c \
    "import json,sys; d=json.load(sys.stdin); print('audit: wallets', d['wallets'], 'sum', d['sum_of_balances'], 'mismatches', len(d['mismatches']), 'open escrows', len(d['open_escrows']))"
