# Shared by the bench scripts (sourced, not run). Expects `set -euo pipefail` and the
# repository root as the working directory.
#
#   bench_init <name> [mysql|sqlite]   WORK, DB, BACKEND, TARGET, BIN; a fresh MariaDB database
#                                      (or SQLite file) in DATABASE_URL; cleanup on exit
#   bench_start <port> <log> [cmd…]    a server in the background (default: the app); BENCH_PID
#   wrk_run <label> <url> <lua>        one wrk run appended to $RESULTS as "label rps p99_ms non200"

MYSQL_URL="${TEST_DATABASE_URL:-mysql://root@127.0.0.1:3306/test}"
REDIS="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
BIN="$TARGET/release/app"
export APP_CONFIG_DIR="$PWD/config"
BENCH_PIDS=()

bench_init() {
    BACKEND="${2:-mysql}"
    WORK=$(mktemp -d)
    RESULTS="$WORK/results"
    DB="bench_$1_$$"
    MYSQL_SERVER="${MYSQL_URL%/*}"
    MYSQL_HOST=$(echo "$MYSQL_SERVER" | sed -E 's#.*@([^:/]+).*#\1#')
    trap bench_cleanup EXIT
    export APP__LOG__LEVEL="${APP__LOG__LEVEL:-warn}" APP__MAIL__DIR="$WORK/mail"
    export APP__RATE_LIMIT__AUTH_PER_SECOND=100000000 APP__RATE_LIMIT__AUTH_BURST=100000000
    if [ "$BACKEND" = mysql ]; then
        mariadb -h"$MYSQL_HOST" -uroot -e "CREATE DATABASE $DB CHARACTER SET utf8mb4"
        export DATABASE_URL="$MYSQL_SERVER/$DB" REDIS_URL="$REDIS" APP__REDIS__KEY_PREFIX="$DB:"
        export APP__DATABASE__MAX_CONNECTIONS="${APP__DATABASE__MAX_CONNECTIONS:-16}"
    else
        export DATABASE_URL="sqlite://$WORK/bench.db"
        unset REDIS_URL
    fi
}

bench_sql() { mariadb -h"$MYSQL_HOST" -uroot -N "$DB" -e "$1"; }

bench_stop() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    BENCH_PIDS=()
}

bench_cleanup() {
    bench_stop
    [ "$BACKEND" = mysql ] && mariadb -h"$MYSQL_HOST" -uroot -e "DROP DATABASE IF EXISTS $DB" 2>/dev/null
    rm -rf "$WORK"
}

bench_start() {
    local port="$1" log="$2"
    shift 2
    [ $# -gt 0 ] || set -- "$BIN"
    (cd "$WORK" && APP__SERVER__BIND="127.0.0.1:$port" exec "$@") > "$log" 2>&1 &
    BENCH_PID=$!
    BENCH_PIDS+=("$BENCH_PID")
    for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "the server on port $port did not start:"; tail -20 "$log"; exit 1
}

wrk_run() {
    local out rps p99 bad
    out=$(wrk -t"${THREADS:-2}" -c"${CONNS:-64}" -d"${DURATION:-5s}" --latency -s "bench/${3:-ok.lua}" "$2")
    rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } print v }' <<<"$out")
    bad=$(awk -F= '/^non200=/ { print $2 }' <<<"$out")
    echo "$1 $rps $p99 ${bad:-0}" >> "$RESULTS"
}
