#!/usr/bin/env bash
# Resident memory of one instance on the embedded default (SQLite, in-process cache, the
# default workers and hashing pool): idle after start, then after 1,000 signups and 1,000
# logins (argon2id, 19 MiB, t=2, p=1), $PARALLEL at a time. Goals: idle ≤ 30 MiB, after
# ≤ 100 MiB. The idle figure depends on app/startup.order (see app/build.rs).
#
#   bench/memory.sh            N=1000 PARALLEL=16
# Needs a release build first: cargo build --release --locked --features app/mysql -p app
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
N="${N:-1000}"; PARALLEL="${PARALLEL:-16}"; PORT="${PORT:-18092}"
[ -x "$BIN" ] || { echo "build first: cargo build --release --locked --features app/mysql -p app"; exit 1; }
export APP__LOG__LEVEL=error
bench_init memory sqlite
bench_start "$PORT" "$WORK/app.log"
PID=$BENCH_PID
B="http://127.0.0.1:$PORT/api/v1"
rss() { awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
sleep 3
IDLE=$(rss)
# Where the idle memory is, and whether app/startup.order still matches this binary (its
# symbols change with features, dependencies and toolchain: rerun scripts/orderfile).
CODE=$(awk -v bin="$(realpath "$BIN")" '/^[0-9a-f]+-[0-9a-f]+ / { code = ($6 == bin && $2 ~ /x/) }
    code && $1 == "Rss:" { kb += $2 } END { printf "%.1f", kb / 1024 }' "/proc/$PID/smaps")
ANON=$(awk '$1 == "RssAnon:" { printf "%.1f", $2 / 1024 }' "/proc/$PID/status")
ORDERED=$(nm --defined-only "$BIN" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u \
    | comm -12 - <(sort -u app/startup.order) | wc -l)
echo "idle: code resident ${CODE} MiB, anonymous ${ANON} MiB;" \
    "app/startup.order: ${ORDERED} of $(wc -l < app/startup.order) functions found in the binary"
signup() {
    curl -s -o /dev/null -w '%{http_code}\n' -XPOST "$B/auth/signup" -H 'content-type: application/json' \
        -d "{\"email\":\"mem-$1@example.com\",\"password\":\"memory password $1\",\"name\":\"Mem $1\",\"role\":\"customer\"}"
}
login() {
    curl -s -o /dev/null -w '%{http_code}\n' -XPOST "$B/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"mem-$1@example.com\",\"password\":\"memory password $1\"}"
}
export -f signup login; export B
START=$(date +%s.%N)
SIGNUPS=$(seq 1 "$N" | xargs -P "$PARALLEL" -I{} bash -c 'signup {}' | sort | uniq -c | tr '\n' ' ')
AFTER_SIGNUPS=$(rss)
LOGINS=$(seq 1 "$N" | xargs -P "$PARALLEL" -I{} bash -c 'login {}' | sort | uniq -c | tr '\n' ' ')
END=$(date +%s.%N)
AFTER=$(rss)
sleep 3
SETTLED=$(rss)
PEAK=$(awk '$1 == "VmHWM:" { printf "%.1f", $2 / 1024 }' "/proc/$PID/status")
echo "signups: $SIGNUPS; logins (403 = email not verified yet, after the hash): $LOGINS"
printf 'idle %s MiB; after %d signups %s MiB; after %d logins %s MiB (3 s later %s MiB); peak %s MiB; %.1f s\n' \
    "$IDLE" "$N" "$AFTER_SIGNUPS" "$N" "$AFTER" "$SETTLED" "$PEAK" "$(echo "$END - $START" | bc)"
