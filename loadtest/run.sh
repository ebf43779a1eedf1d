#!/usr/bin/env bash
# run.sh — the load suite (issue 7 item 5) and, with --faults, the fault suite (item 6).
#
#   loadtest/run.sh [--faults] [--duration SECS] [--concurrency N] [--no-build] [--keep]
#
#   --faults          during the load: kill -9 instance B and restart it, restart Redis, stop
#                     MariaDB for 10 s; 5xx are then allowed only as 503 inside those windows
#   --db-freeze       with --faults: SIGSTOP MariaDB for the 10 s instead of stopping it
#   --duration SECS   load duration (default 120, or 150 with --faults)
#   --concurrency N   virtual users (default 32), split across both instances
#   --no-build        use the existing release binary
#   --keep            leave the private services running and their state dir in place
#
# It builds the release binary (--features app/mysql, in $CARGO_TARGET_DIR or target/), starts a private MariaDB (port 3407) and Redis (6479) in a fresh temp dir,
# migrates, creates an admin, seeds demo data, starts instances A and B on 18281/18282,
# then runs loadgen.py setup → run → check. Evidence goes to loadtest/results/<stamp>/
# (report.txt, report.json, run.json, server logs). Exit status 0 only if every check passed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
FAULTS=0
DB_FREEZE=0
DURATION=""
CONCURRENCY=32
BUILD=1
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --faults) FAULTS=1 ;;
        --db-freeze) DB_FREEZE=1 ;;
        --duration) DURATION=${2:?--duration SECS}; shift ;;
        --concurrency) CONCURRENCY=${2:?--concurrency N}; shift ;;
        --no-build) BUILD=0 ;;
        --keep) KEEP=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$DURATION" ]; then
    if [ "$FAULTS" = 1 ]; then DURATION=150; else DURATION=120; fi
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export LT_BIN="${LT_BIN:-$CARGO_TARGET_DIR/release/app}"
export LT_DB_PORT="${LT_DB_PORT:-3407}" LT_REDIS_PORT="${LT_REDIS_PORT:-6479}"
export LT_PORT_A="${LT_PORT_A:-18281}" LT_PORT_B="${LT_PORT_B:-18282}"
MODE=load
[ "$FAULTS" = 1 ] && MODE=faults
OUT="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-$MODE"
CTL="$HERE/ctl.sh"
VENV="$HERE/.venv"

say() { printf '\n== %s ==\n' "$*"; }

# 1. The binary.
if [ "$BUILD" = 1 ]; then
    say "building the release binary in $CARGO_TARGET_DIR"
    (cd "$ROOT" && cargo build --release --features app/mysql -p app)
fi
[ -x "$LT_BIN" ] || { echo "no binary at $LT_BIN" >&2; exit 1; }

# 2. The Python environment (pinned versions), reinstalled when requirements.txt changes.
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/.requirements"; then
    say "installing loadtest/requirements.txt into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
    cp "$HERE/requirements.txt" "$VENV/.requirements"
fi

# 3. Private services in a fresh state dir; nothing of the developer's is touched.
for port in "$LT_DB_PORT" "$LT_REDIS_PORT" "$LT_PORT_A" "$LT_PORT_B"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is already in use: is another load run going? (ctl.sh status)" >&2
        exit 1
    fi
done
LT_STATE=$(mktemp -d /tmp/loadtest.XXXXXX)
export LT_STATE
mkdir -p "$OUT"
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    for f in app-a.log app-b.log mariadb.err redis.log; do
        [ -f "$LT_STATE/$f" ] && cp "$LT_STATE/$f" "$OUT/" 2>/dev/null
    done
    if [ "$KEEP" = 1 ]; then
        echo "--keep: services still running; state in $LT_STATE (stop with LT_STATE=$LT_STATE $CTL purge)"
    else
        "$CTL" down >/dev/null 2>&1 || true
        rm -rf "$LT_STATE"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting private MariaDB :$LT_DB_PORT, Redis :$LT_REDIS_PORT, instances A :$LT_PORT_A and B :$LT_PORT_B"
"$CTL" db-start
"$CTL" redis-start
"$CTL" migrate >"$LT_STATE/cli.log" 2>&1
"$CTL" create-admin >>"$LT_STATE/cli.log" 2>&1
"$CTL" seed-demo >>"$LT_STATE/cli.log" 2>&1
"$CTL" app-start a
"$CTL" app-start b

PY="$VENV/bin/python"
COMMON=(--a "http://127.0.0.1:$LT_PORT_A" --b "http://127.0.0.1:$LT_PORT_B" --db-port "$LT_DB_PORT" --out "$OUT")
say "setup: $CONCURRENCY customers, sellers, streamers, products, chat rooms, opening charges"
"$PY" "$HERE/loadgen.py" setup "${COMMON[@]}" --concurrency "$CONCURRENCY"

say "$MODE run: $DURATION s, $CONCURRENCY virtual users"
RUN_ARGS=(--concurrency "$CONCURRENCY" --duration "$DURATION" --ctl "$CTL")
[ "$FAULTS" = 1 ] && RUN_ARGS+=(--faults)
[ "$DB_FREEZE" = 1 ] && RUN_ARGS+=(--db-freeze)
"$PY" "$HERE/loadgen.py" run "${COMMON[@]}" "${RUN_ARGS[@]}"

say "checks"
status=0
"$PY" "$HERE/loadgen.py" check "${COMMON[@]}" || status=$?

say "server logs (WARN/ERROR lines, grouped; full logs in $OUT)"
for side in a b; do
    log="$LT_STATE/app-$side.log"
    clean=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" 2>/dev/null | grep -E '^[0-9TZ:.-]+ +(WARN|ERROR) ' || true)
    n=$(printf '%s' "$clean" | grep -c . || true)
    echo "instance ${side^^}: $n WARN/ERROR lines"
    [ -n "$clean" ] && printf '%s\n' "$clean" | sed -E 's/^[^ ]+ +//; s/[0-9]+/N/g' | cut -c1-150 \
        | sort | uniq -c | sort -rn | head -8
done

say "summary"
echo "report: $OUT/report.txt"
if [ "$status" = 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
exit "$status"
