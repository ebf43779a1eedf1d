#!/usr/bin/env bash
# ctl.sh — private services for the load suite: a MariaDB on its own port and datadir, a
# Redis on its own port, and two app instances (A and B) sharing them. Nothing here
# touches the developer's databases (3306/6379) or other processes: every process is
# started by this script, remembered in a pid file under $LT_STATE, and stopped by that id.
#
#   loadtest/ctl.sh COMMAND [ARG]
#
# Commands:
#   db-start | db-stop            the private MariaDB (initialised on first start)
#   db-freeze | db-thaw           SIGSTOP / SIGCONT the MariaDB (a hung, not a dead, database)
#   redis-start | redis-stop      the private Redis (no persistence)
#   redis-restart                 stop then start Redis (a fault of the fault suite)
#   migrate                       `app migrate` against the private services
#   create-admin | seed-demo      `app create-admin` / `app seed-demo`
#   app-start a|b                 start instance A or B, wait until /healthz answers
#   app-stop a|b                  SIGTERM, wait for exit
#   app-kill a|b                  SIGKILL (kill -9): a crash
#   sql "STATEMENTS"              run SQL on the load-test database (tab-separated output)
#   status                        what is running
#   down                          stop everything this script started
#   purge                         down, then delete $LT_STATE (datadir, logs)
#
# Environment (defaults in brackets):
#   LT_STATE [/tmp/loadtest-state]  datadir, pid files, logs, mail
#   LT_DB_PORT [3407]  LT_REDIS_PORT [6479]  LT_PORT_A [18281]  LT_PORT_B [18282]
#   LT_BIN [target/release/app]   the release binary built with --features app/mysql
#   LT_AUTO_CONFIRM_SECS [20]       order.auto_confirm_secs of the instances
set -euo pipefail

STATE="${LT_STATE:-/tmp/loadtest-state}"
DB_PORT="${LT_DB_PORT:-3407}"
REDIS_PORT="${LT_REDIS_PORT:-6479}"
PORT_A="${LT_PORT_A:-18281}"
PORT_B="${LT_PORT_B:-18282}"
TARGET_DIR="${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target}"
BIN="${LT_BIN:-$TARGET_DIR/release/app}"
DB_NAME=loadtest
DATADIR="$STATE/mariadb"
DB_SOCK="$STATE/mariadb.sock"
DB_PID="$STATE/mariadb.pid"
REDIS_PID="$STATE/redis.pid"
ADMIN_EMAIL="admin@loadtest.example"
ADMIN_PASSWORD="loadtest admin password"

mkdir -p "$STATE"

log() { printf '%s ctl: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }

# alive <pidfile>: the process named in the file is running.
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_gone <pid> <seconds>: wait for a process to exit; SIGKILL it after the timeout.
wait_gone() {
    local pid=$1 i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "process $pid did not exit in $2 s; sending SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
}

# stop_pidfile <label> <pidfile> <seconds> [signal]: signal the process named in the file
# (default TERM), wait for it, remove the file.
stop_pidfile() {
    local label=$1 pidf=$2 pid
    alive "$pidf" || { log "$label not running"; return 0; }
    pid=$(cat "$pidf")
    kill "-${4:-TERM}" "$pid"
    wait_gone "$pid" "$3"
    rm -f "$pidf"
    log "$label stopped (SIG${4:-TERM} $pid)"
}

mysql_root() { mariadb --no-defaults -uroot --socket="$DB_SOCK" "$@"; }

db_start() {
    if alive "$DB_PID"; then log "MariaDB already running (pid $(cat "$DB_PID"))"; return 0; fi
    local fresh=0
    if [ ! -d "$DATADIR/mysql" ]; then
        log "initialising MariaDB datadir $DATADIR"
        mkdir -p "$DATADIR"
        mariadb-install-db --no-defaults --user=root --datadir="$DATADIR" --skip-test-db \
            --auth-root-authentication-method=normal >"$STATE/mariadb-install.log" 2>&1 \
            || { tail -20 "$STATE/mariadb-install.log"; die "mariadb-install-db failed"; }
        fresh=1
    fi
    # --no-defaults: never read /etc/mysql (port 3306, the system datadir). setsid: a
    # SIGINT to run.sh must not reach the database before the suite stops it itself.
    setsid mariadbd --no-defaults --user=root --datadir="$DATADIR" --port="$DB_PORT" \
        --bind-address=127.0.0.1 --socket="$DB_SOCK" --pid-file="$DB_PID" \
        --log-error="$STATE/mariadb.err" --skip-name-resolve --skip-log-bin \
        --max-connections=500 --innodb-buffer-pool-size=256M --innodb-log-file-size=256M \
        --innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-dump-at-shutdown=0 \
        --innodb-buffer-pool-load-at-startup=0 </dev/null >/dev/null 2>&1 &
    local i
    for ((i = 0; i < 300; i++)); do
        if [ -S "$DB_SOCK" ] && mysql_root -e 'SELECT 1' >/dev/null 2>&1; then break; fi
        sleep 0.1
    done
    mysql_root -e 'SELECT 1' >/dev/null 2>&1 || { tail -20 "$STATE/mariadb.err"; die "MariaDB did not start"; }
    if [ "$fresh" = 1 ]; then
        mysql_root -e "CREATE DATABASE IF NOT EXISTS $DB_NAME CHARACTER SET utf8mb4;
            CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
            GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
    fi
    log "MariaDB up on 127.0.0.1:$DB_PORT (pid $(cat "$DB_PID"))"
}

db_stop() {
    alive "$DB_PID" && { kill -CONT "$(cat "$DB_PID")" 2>/dev/null || true; } # a frozen server cannot shut down
    stop_pidfile MariaDB "$DB_PID" 60
}

redis_start() {
    if alive "$REDIS_PID"; then log "Redis already running (pid $(cat "$REDIS_PID"))"; return 0; fi
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
        --pidfile "$REDIS_PID" --logfile "$STATE/redis.log" --dir "$STATE" >/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
        sleep 0.1
    done
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG || die "Redis did not start"
    log "Redis up on 127.0.0.1:$REDIS_PORT (pid $(cat "$REDIS_PID"))"
}

redis_stop() { stop_pidfile Redis "$REDIS_PID" 20; }

# The environment every app process (server or CLI) gets.
app_env() {
    export DATABASE_URL="mysql://root@127.0.0.1:$DB_PORT/$DB_NAME"
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
    export APP__REDIS__KEY_PREFIX="lt:"
    export APP__LOG__LEVEL="${LT_LOG_LEVEL:-warn}" APP__LOG__FORMAT=text NO_COLOR=1
    # No backtrace capture for every logged 503 (costly, and not what production does);
    # panics still print theirs.
    export RUST_LIB_BACKTRACE=0
    export APP__MAIL__DIR="$STATE/mail"
    # The suite signs up and logs in its users from one IP: lift the per-IP auth limit.
    export APP__RATE_LIMIT__AUTH_PER_SECOND=100000 APP__RATE_LIMIT__AUTH_BURST=100000
    # WebSockets close when the access token expires: outlive the run.
    export APP__AUTH__ACCESS_TTL_SECS=7200
    export APP__AUTH__JWT_SECRET="loadtest-secret-not-for-production-0123456789"
    # Shipped lines auto-confirm after 20 s (not 7 days), looked for every second, so the
    # worker runs on both instances under load and the checks can wait for it.
    export APP__ORDER__AUTO_CONFIRM_SECS="${LT_AUTO_CONFIRM_SECS:-20}" APP__ORDER__AUTO_CONFIRM_INTERVAL_MS=1000
}

port_of() {
    case "$1" in
        a | A) echo "$PORT_A" ;;
        b | B) echo "$PORT_B" ;;
        *) die "instance must be a or b, not '$1'" ;;
    esac
}

app_start() {
    local name=${1,,} port pidf
    port=$(port_of "$name")
    pidf="$STATE/app-$name.pid"
    if alive "$pidf"; then log "instance ${name^^} already running"; return 0; fi
    [ -x "$BIN" ] || die "no binary at $BIN (build with: cargo build --release --features app/mysql -p app)"
    mkdir -p "$STATE/app-$name"
    (
        app_env
        export APP__SERVER__BIND="127.0.0.1:$port" APP__SERVER__PUBLIC_URL="http://127.0.0.1:$port"
        cd "$STATE/app-$name"
        exec setsid "$BIN" serve </dev/null >>"$STATE/app-$name.log" 2>&1
    ) &
    echo $! >"$pidf"
    local i
    for ((i = 0; i < 300; i++)); do
        curl -sf -m 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        alive "$pidf" || { tail -20 "$STATE/app-$name.log"; die "instance ${name^^} exited at start"; }
        sleep 0.1
    done
    curl -sf -m 1 "http://127.0.0.1:$port/healthz" >/dev/null || die "instance ${name^^} did not answer /healthz"
    log "instance ${name^^} up on 127.0.0.1:$port (pid $(cat "$pidf"))"
}

app_stop() {
    port_of "${1,,}" >/dev/null
    stop_pidfile "instance ${1^^}" "$STATE/app-${1,,}.pid" 40
}

app_kill() {
    port_of "${1,,}" >/dev/null
    alive "$STATE/app-${1,,}.pid" || die "instance ${1^^} not running"
    stop_pidfile "instance ${1^^}" "$STATE/app-${1,,}.pid" 10 KILL
}

app_cli() {
    [ -x "$BIN" ] || die "no binary at $BIN"
    (
        app_env
        cd "$STATE"
        "$BIN" "$@"
    )
}

status() {
    local what
    for what in mariadb redis app-a app-b; do
        if alive "$STATE/$what.pid"; then echo "$what: running (pid $(cat "$STATE/$what.pid"))"; else echo "$what: stopped"; fi
    done
}

down() {
    app_stop a || true
    app_stop b || true
    redis_stop || true
    db_stop || true
}

cmd="${1:-}"
shift || true
case "$cmd" in
    db-start) db_start ;;
    db-stop) db_stop ;;
    db-freeze) alive "$DB_PID" && kill -STOP "$(cat "$DB_PID")" && log "MariaDB frozen (SIGSTOP)" ;;
    db-thaw) alive "$DB_PID" && kill -CONT "$(cat "$DB_PID")" && log "MariaDB thawed (SIGCONT)" ;;
    redis-start) redis_start ;;
    redis-stop) redis_stop ;;
    redis-restart) redis_stop && redis_start ;;
    migrate) app_cli migrate ;;
    create-admin) APP_ADMIN_PASSWORD="$ADMIN_PASSWORD" app_cli create-admin --email "$ADMIN_EMAIL" --name "Load Admin" ;;
    seed-demo) app_cli seed-demo ;;
    app-start) app_start "${1:?app-start a|b}" ;;
    app-stop) app_stop "${1:?app-stop a|b}" ;;
    app-kill) app_kill "${1:?app-kill a|b}" ;;
    sql) mysql_root -N -B "$DB_NAME" -e "${1:?sql STATEMENTS}" ;;
    status) status ;;
    down) down ;;
    purge) down && rm -rf "$STATE" && log "removed $STATE" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
