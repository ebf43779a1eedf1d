# Shared by the bench scripts (sourced, not run). Expects `set -euo pipefail` and the
# repository root as the working directory.
#
#   bench_init <name> [mysql|sqlite]   WORK, DB, BACKEND, TARGET, BIN; a fresh MariaDB database
#                                      (or SQLite file) in DATABASE_URL; cleanup on exit
#   bench_start <port> <log> [cmd…]    a server in the background (default: the app); BENCH_PID
#   wrk_run <label> <url> <lua>        one wrk run appended to $RESULTS as "label rps p99_ms non200"
#   chat_load_build                    the release app and chat_load (LOAD); ulimit -n for $USERS sockets
#   bench_start_two <port_a> <port_b>  instances A (it runs the migrations) then B: APP_A, APP_B
#   bench_log_summary                  per instance (a.log, b.log): warning/error lines, the commonest

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

chat_load_build() {
    cargo build --release --locked --features app/mysql -p app --bin app --example chat_load >/dev/null
    LOAD="$TARGET/release/examples/chat_load"
    # $USERS sockets on each side of each connection, plus the HTTP and database connections.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((USERS + 512)) ] || {
        echo "ulimit -n is $(ulimit -n); $USERS sockets need more"; exit 1; }
}

bench_start_two() {
    bench_start "$1" "$WORK/a.log"; APP_A=$BENCH_PID
    bench_start "$2" "$WORK/b.log"; APP_B=$BENCH_PID
}

bench_log_summary() {
    local side n
    for side in a b; do
        n=$(grep -ciE 'warn|error' "$WORK/$side.log" || true)
        echo "server ${side^^} log: $n warning/error lines"
        [ "$n" -eq 0 ] || grep -iE 'warn|error' "$WORK/$side.log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5
    done
}

wrk_run() {
    local out rps p99 bad
    out=$(wrk -t"${THREADS:-2}" -c"${CONNS:-64}" -d"${DURATION:-5s}" --latency -s "bench/${3:-ok.lua}" "$2")
    rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } print v }' <<<"$out")
    bad=$(awk -F= '/^non200=/ { print $2 }' <<<"$out")
    echo "$1 $rps $p99 ${bad:-0}" >> "$RESULTS"
}

# The pinned method (issue 16): the server on core 0 with one worker, wrk on core 1 with one
# thread and $CONNS (64) connections; each endpoint runs right after a /healthz run (a pair),
# $ROUNDS (5) pairs; per pair the ratio of the two req/s, and the server's CPU per request
# (utime + stime of the process over the run, from /proc). Reported: the medians.
#
#   pinned_start <port> <log> [cmd…]   bench_start under `taskset -c $SERVER_CPU`, one worker
#   pinned_run <label> <url> [lua]     one wrk run: "label rps p99_ms non200 cpu_us" to $RESULTS
#   pinned_pairs <label> <url> [lua]   $ROUNDS pairs of (healthz, label)
#   pinned_report                      the table of medians (ratio to the paired /healthz)
SERVER_CPU="${SERVER_CPU:-0}"
WRK_CPU="${WRK_CPU:-1}"

pinned_start() {
    local port="$1" log="$2"
    shift 2
    [ $# -gt 0 ] || set -- "$BIN"
    APP__SERVER__WORKERS=1 bench_start "$port" "$log" taskset -c "$SERVER_CPU" "$@"
    PINNED_PID=$BENCH_PID
    PINNED_BASE="http://127.0.0.1:$port"
}

# utime + stime of a process (and its threads), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

pinned_run() {
    local out rps p99 bad reqs t0 t1 us hz
    hz=$(getconf CLK_TCK)
    t0=$(cpu_ticks "$PINNED_PID")
    out=$(taskset -c "$WRK_CPU" wrk -t1 -c"${CONNS:-64}" -d"${DURATION:-5s}" --latency -s "bench/${3:-ok.lua}" "$2")
    t1=$(cpu_ticks "$PINNED_PID")
    rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
    reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
    p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } print v }' <<<"$out")
    bad=$(awk -F= '/^non200=/ { print $2 }' <<<"$out")
    us=$(awk -v a="$t0" -v b="$t1" -v n="$reqs" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 1e6 / hz / (n > 0 ? n : 1) }')
    echo "$1 $rps $p99 ${bad:-0} $us" >> "$RESULTS"
}

pinned_pairs() {
    local i
    for i in $(seq 1 "${ROUNDS:-5}"); do
        pinned_run "healthz/$1/$i" "$PINNED_BASE/healthz" ok.lua
        pinned_run "$1/$i" "$2" "${3:-ok.lua}"
    done
}

pinned_report() {
    python3 - "$RESULTS" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, rps, p99, bad, us = line.rsplit(None, 4)  # labels have spaces
    runs[label] = (float(rps), float(p99), int(bad), float(us))
names = []
for label in runs:
    name = label.rsplit("/", 1)[0]
    if not name.startswith("healthz/") and name not in names:
        names.append(name)
print(f"{'endpoint':28} {'ratio':>6} {'µs/req':>7} {'req/s':>8} {'p99 ms':>7} {'non-200':>7}   (healthz: req/s, µs/req)")
for name in names:
    pairs = [(runs[l], runs["healthz/" + l]) for l in runs if l.rsplit("/", 1)[0] == name and "healthz/" + l in runs]
    ratio = statistics.median(e[0] / h[0] for e, h in pairs)
    us = statistics.median(e[3] for e, _ in pairs)
    rps = statistics.median(e[0] for e, _ in pairs)
    p99 = statistics.median(e[1] for e, _ in pairs)
    bad = sum(e[2] for e, _ in pairs)
    hrps = statistics.median(h[0] for _, h in pairs)
    hus = statistics.median(h[3] for _, h in pairs)
    print(f"{name:28} {ratio:6.2f} {us:7.1f} {rps:8.0f} {p99:7.1f} {bad:7d}   ({hrps:.0f}, {hus:.1f})")
PY
}
