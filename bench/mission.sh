#!/usr/bin/env bash
# Missions on MariaDB: contributions/s into one hot mission with $CONCURRENCY concurrent
# contributors, then the time from a `failure` decision on that mission ($CONTRIBUTORS
# contributors) until `settled` is true and until every result email is written.
# Accounts are inserted in bulk (signing up 10,000 people through argon2 is not what is
# measured); app/examples/mission_load.rs drives the HTTP API.
#
#   bench/mission.sh            CONTRIBUTORS=10000 CONCURRENCY=32 TEST_DATABASE_URL=… TEST_REDIS_URL=…
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
CONTRIBUTORS="${CONTRIBUTORS:-10000}"; CONCURRENCY="${CONCURRENCY:-32}"; PORT="${PORT:-18086}"

cargo build --release --locked --features app/mysql -p app --bin app --example mission_load >/dev/null
bench_init mission mysql
(cd "$WORK" && "$BIN" migrate) > "$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }

# The creator and contributors (customers) and the streamer; they never log in.
bench_sql "INSERT INTO accounts (email, password_hash, name, name_lower, role, email_verified, created_at, updated_at)
     SELECT CONCAT('mload-', seq, '@example.com'), '!', CONCAT('Load ', seq), CONCAT('load ', seq), 'customer', 1, NOW(6), NOW(6)
     FROM seq_1_to_$((CONTRIBUTORS + 1))"
bench_sql "INSERT INTO accounts (email, password_hash, name, name_lower, role, email_verified, created_at, updated_at)
     VALUES ('mload-streamer@example.com', '!', 'Load Streamer', 'load streamer', 'streamer', 1, NOW(6), NOW(6))"
bench_sql "SELECT id FROM accounts WHERE role = 'customer' ORDER BY id" > "$WORK/ids"
STREAMER=$(bench_sql "SELECT id FROM accounts WHERE role = 'streamer'")

bench_start "$PORT" "$WORK/app.log"
"$TARGET/release/examples/mission_load" --base "http://127.0.0.1:$PORT" --ids-file "$WORK/ids" \
    --streamer-id "$STREAMER" --concurrency "$CONCURRENCY" --mail-dir "$WORK/mail"
echo "refunds credited (count, points): $(bench_sql "SELECT COUNT(*), SUM(amount) FROM ledger_entries WHERE kind = 'mission_refund' AND amount > 0")"
n=$(grep -ciE 'warn|error' "$WORK/app.log" || true)
echo "server log: $n warning/error lines"
[ "$n" -eq 0 ] || grep -iE 'warn|error' "$WORK/app.log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5
