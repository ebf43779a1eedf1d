# syntax=docker/dockerfile:1
#
# The commerce backend as one image: `app` (= `app serve`), `app migrate`, `app create-admin`.
#
#   docker build -t commerce-app .
#   docker run --rm -p 8080:8080 commerce-app          # development settings, SQLite in /app/data
#   docker run --rm --env-file prod.env commerce-app migrate
#
# Layers are ordered so that a change to the Rust sources rebuilds only the workspace crates:
# the dependency tree is fetched and compiled from the manifests and Cargo.lock alone.

ARG RUST_VERSION=1.95

# ---------------------------------------------------------------------------------------
# planner: the workspace reduced to its manifests, with empty crate roots. Its output only
# changes when a Cargo.toml or Cargo.lock changes, so the layers built from it stay cached.
FROM rust:${RUST_VERSION}-bookworm AS planner
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
RUN set -eu; \
    mkdir -p /skeleton; \
    cp Cargo.lock /skeleton/; \
    find . -name Cargo.toml -not -path './target/*' | while read -r manifest; do \
        dir=$(dirname "$manifest"); \
        mkdir -p "/skeleton/$dir"; \
        cp "$manifest" "/skeleton/$manifest"; \
        if [ -f "$dir/src/lib.rs" ]; then mkdir -p "/skeleton/$dir/src"; : > "/skeleton/$dir/src/lib.rs"; fi; \
        if [ -f "$dir/src/main.rs" ]; then mkdir -p "/skeleton/$dir/src"; echo 'fn main() {}' > "/skeleton/$dir/src/main.rs"; fi; \
    done

# ---------------------------------------------------------------------------------------
# builder
FROM rust:${RUST_VERSION}-bookworm AS builder
# mysqlclient-sys links the MariaDB Connector/C (found through pkg-config). Versions are not
# pinned: bookworm's point releases only bring fixes.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb-dev-compat pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
ENV CARGO_TERM_COLOR=never

# 1. Download every dependency (cached until a manifest or Cargo.lock changes).
COPY --from=planner /skeleton/ ./
RUN cargo fetch --locked

# 2. Compile the dependency tree against the empty crate roots (same cache key). Kept apart
#    from the fetch so that a failed compile does not throw the downloads away.
# hadolint ignore=DL3059
RUN cargo build --release --frozen --features app/mysql -p app

# 3. The real sources. COPY keeps the files' own timestamps, which may be older than the
#    stub build above: touch every .rs file so that cargo rebuilds all workspace crates (and
#    re-reads what they embed: config/default.toml, the migrations).
COPY . .
RUN find . -path ./target -prune -o -type f -name '*.rs' -exec touch {} + \
    && cargo build --release --frozen --features app/mysql -p app \
    && install -D -m 0755 target/release/app /out/app

# ---------------------------------------------------------------------------------------
# runtime
FROM debian:bookworm-slim AS runtime
# libmariadb3: the MySQL/MariaDB client library the binary links (with its auth plugins,
# caching_sha2_password included); ca-certificates: Toss Payments and SMTP over TLS;
# curl: the health check.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=builder /out/app /app/app
COPY config/ /app/config/
# data/: emails written as .eml files when mail.smtp_url is empty (mail.dir = data/mail),
# and the SQLite database when DATABASE_URL is not set. Created before VOLUME so that a new
# named volume starts out owned by the app user.
RUN mkdir -p /app/data/mail && chown -R app:app /app/data

ENV APP_CONFIG_DIR=/app/config \
    APP__SERVER__BIND=0.0.0.0:8080 \
    MALLOC_ARENA_MAX=2

USER 10001:10001
VOLUME ["/app/data"]
EXPOSE 8080

# Liveness only: /healthz answers while the process runs. Readiness (/readyz, which checks
# the databases and answers 503 while draining) belongs to the load balancer. PORT, when
# set, replaces the port of server.bind (hence the shell form).
# hadolint ignore=DL3025
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT:-8080}/healthz" || exit 1

# On SIGTERM /readyz turns 503 for server.drain_delay_ms, then the listener closes and
# in-flight requests get server.shutdown_grace_secs: give `docker stop` (or systemd's
# TimeoutStopSec) more than the sum of the two.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/app"]
CMD ["serve"]
