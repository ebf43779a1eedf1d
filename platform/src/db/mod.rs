//! One diesel + r2d2 pool per module, SQLite (bundled) or MySQL/MariaDB chosen by URL
//! scheme, with queries run on the blocking pool.
//!
//! - SQLite write transactions start with `BEGIN IMMEDIATE` (a deferred `BEGIN` that later
//!   upgrades to a write lock fails with "database is locked" whatever the busy timeout).
//! - Deadlocks, lock-wait timeouts and SQLite busy errors are retried a few times.
//! - A statement that fails because the server dropped the connection evicts that
//!   connection and is retried once on a fresh one.
//! - Pool checkouts time out quickly (`database.checkout_timeout_ms`), so a database that is
//!   down answers 503 rather than hanging.
//! - A whole call is bounded by `database.operation_timeout_ms`: neither libmysqlclient's
//!   read timeout nor SQLite's has a diesel setting, so a server that accepts connections but
//!   stops answering (frozen, partitioned) is cut off here. The blocking thread finishes on
//!   its own; the caller sees `Unavailable` and retries with its idempotency key.

mod error;
mod migrate;

pub use error::{DbError, OnDuplicate, TxError};
pub use migrate::Migrations;

use crate::config::DatabaseSettings;
use anyhow::{Context, bail};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A connection to either backend. Repos take `&mut DbConn` and use the diesel DSL, which
/// compiles for both; backend-specific SQL branches on [`DbConn::backend`].
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    #[cfg(feature = "mysql")]
    Mysql(diesel::MysqlConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
}

impl Backend {
    /// The type to `CAST(… AS …)` a raw query's aggregate to, so it loads as `BigInt` on both
    /// (MySQL's `SUM` is a DECIMAL, SQLite's may be a REAL).
    pub fn integer_cast(self) -> &'static str {
        match self {
            Backend::Sqlite => "INTEGER",
            Backend::Mysql => "SIGNED",
        }
    }
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "mysql")]
            DbConn::Mysql(_) => Backend::Mysql,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(PathBuf),
    Mysql(String),
}

impl DbTarget {
    /// `sqlite://relative.db`, `sqlite:///absolute.db`, `sqlite:relative.db`, `mysql://…`.
    pub fn parse(url: &str) -> anyhow::Result<DbTarget> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                bail!("sqlite URL without a path: {url}");
            }
            return Ok(DbTarget::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            let url = url.replacen("mariadb://", "mysql://", 1);
            if cfg!(feature = "mysql") {
                return Ok(DbTarget::Mysql(url));
            }
            bail!("this binary was built without MySQL support (cargo feature `mysql`)");
        }
        bail!("unsupported database URL (expected sqlite:// or mysql://)")
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbTarget::Sqlite(_) => Backend::Sqlite,
            DbTarget::Mysql(_) => Backend::Mysql,
        }
    }

    /// Something safe to log: the file, or the MySQL host and database without credentials.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Sqlite(path) => format!("sqlite:{}", path.display()),
            DbTarget::Mysql(url) => match url::Url::parse(url) {
                Ok(u) => format!("mysql://{}:{}{}", u.host_str().unwrap_or("?"), u.port().unwrap_or(3306), u.path()),
                Err(_) => "mysql://?".into(),
            },
        }
    }

    pub fn establish(&self) -> anyhow::Result<DbConn> {
        match self {
            DbTarget::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                }
                let path_str = path.to_str().context("database path is not UTF-8")?;
                let mut conn = diesel::SqliteConnection::establish(path_str)?;
                // Separately and in this order: busy_timeout must be in force before WAL is set.
                for pragma in [
                    "PRAGMA busy_timeout = 5000;",
                    "PRAGMA journal_mode = WAL;",
                    "PRAGMA synchronous = NORMAL;",
                    "PRAGMA foreign_keys = ON;",
                ] {
                    conn.batch_execute(pragma).with_context(|| pragma.to_string())?;
                }
                Ok(DbConn::Sqlite(conn))
            }
            #[cfg(feature = "mysql")]
            DbTarget::Mysql(url) => {
                let mut conn = diesel::MysqlConnection::establish(url)?;
                // Lock waits must end well inside the 5 s an unavailable request may take.
                conn.batch_execute("SET SESSION innodb_lock_wait_timeout = 3")?;
                Ok(DbConn::Mysql(conn))
            }
            #[cfg(not(feature = "mysql"))]
            DbTarget::Mysql(_) => bail!("this binary was built without MySQL support"),
        }
    }
}

/// A pooled connection that can be marked broken, so r2d2 drops it instead of reusing it.
pub struct PoolConn {
    conn: DbConn,
    broken: bool,
}

/// Our own manager: the derived `MultiConnection::establish` hides the real error and does
/// not understand `sqlite://`, and we want PRAGMAs on every new SQLite connection.
#[derive(Debug)]
pub struct ConnManager {
    target: DbTarget,
}

impl r2d2::ManageConnection for ConnManager {
    type Connection = PoolConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<PoolConn, ConnectError> {
        self.target.establish().map(|conn| PoolConn { conn, broken: false }).map_err(ConnectError)
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), ConnectError> {
        conn.conn.ping().map_err(|e| ConnectError(e.into()))
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.broken || std::thread::panicking() || conn.conn.is_broken()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct ConnectError(anyhow::Error);

#[derive(Debug)]
struct PoolErrorLogger;

impl r2d2::HandleError<ConnectError> for PoolErrorLogger {
    fn handle_error(&self, error: ConnectError) {
        tracing::warn!(error = %error, "database connection failed");
    }
}

struct DbInner {
    pool: r2d2::Pool<ConnManager>,
    target: DbTarget,
    label: String,
    /// Fault injection: every call fails as if the server were down.
    outage: std::sync::atomic::AtomicBool,
    /// Fault injection: every write transaction attempt fails with a lock-wait timeout;
    /// `Some` counts the attempts.
    lock_conflicts: std::sync::Mutex<Option<Arc<std::sync::atomic::AtomicU64>>>,
}

thread_local! {
    /// The lock-conflict fault of the [`Db`] whose call runs on this blocking thread.
    static LOCK_CONFLICTS: std::cell::RefCell<Option<Arc<std::sync::atomic::AtomicU64>>> =
        const { std::cell::RefCell::new(None) };
}

/// A module's database handle. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
    /// `database.operation_timeout_ms`, or none for background work (see [`Db::unbounded`]).
    deadline: Option<Duration>,
}

/// Attempts of one write transaction that keeps meeting deadlocks or lock-wait timeouts.
pub const MAX_TX_ATTEMPTS: u32 = 6;

impl Db {
    /// Builds the pool without connecting, so a database that is down at this moment
    /// surfaces as 503s (and as a failed migration at start-up), not as a panic.
    pub fn connect(label: &str, url: &str, settings: &DatabaseSettings) -> anyhow::Result<Db> {
        let target = DbTarget::parse(url)?;
        let pool = r2d2::Pool::builder()
            .max_size(settings.max_connections.max(1))
            .min_idle(Some(settings.min_idle.min(settings.max_connections)))
            .connection_timeout(Duration::from_millis(settings.checkout_timeout_ms.max(100)))
            // An extra `SELECT 1` per checkout doubles the statements for one-query requests;
            // broken connections are detected on failure instead (see `run`).
            .test_on_check_out(false)
            .idle_timeout(Some(Duration::from_secs(300)))
            .error_handler(Box::new(PoolErrorLogger))
            .build_unchecked(ConnManager { target: target.clone() });
        Ok(Db {
            inner: Arc::new(DbInner {
                pool,
                target,
                label: label.to_string(),
                outage: Default::default(),
                lock_conflicts: Default::default(),
            }),
            deadline: Some(Duration::from_millis(settings.operation_timeout_ms.max(100))),
        })
    }

    /// The same pool without the per-call deadline, for background workers such as outbox
    /// dispatchers: nobody waits on them, and a call abandoned at the deadline could still
    /// commit (a claim nobody holds stays leased until the lease runs out), whereas waiting
    /// through a frozen database loses nothing.
    pub fn unbounded(&self) -> Db {
        Db { inner: self.inner.clone(), deadline: None }
    }

    /// Makes every call fail with `Unavailable`, exactly as an unreachable server would
    /// (fault-injection for resilience tests and drills); `false` restores normal service.
    pub fn simulate_outage(&self, down: bool) {
        self.inner.outage.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes every write transaction attempt through this pool fail as MariaDB's lock-wait
    /// timeout (1205) does, so the retries run out (fault-injection for tests of the 503
    /// mapping); `false` restores normal service. Returns the attempts made while it was on.
    pub fn simulate_lock_conflicts(&self, on: bool) -> u64 {
        let mut slot = self.inner.lock_conflicts.lock().unwrap_or_else(|e| e.into_inner());
        let attempts = slot.as_ref().map_or(0, |n| n.load(std::sync::atomic::Ordering::SeqCst));
        *slot = on.then(Default::default);
        attempts
    }

    fn in_outage(&self) -> bool {
        self.inner.outage.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn backend(&self) -> Backend {
        self.inner.target.backend()
    }

    pub fn label(&self) -> &str {
        &self.inner.label
    }

    pub fn target(&self) -> &DbTarget {
        &self.inner.target
    }

    /// (open connections, idle connections)
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.inner.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: TxError,
    {
        if self.in_outage() {
            return Err(E::from(DbError::Unavailable(format!(
                "{} database unreachable (simulated)",
                self.inner.label
            ))));
        }
        let pool = self.inner.pool.clone();
        let conflicts = self.inner.lock_conflicts.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let call = crate::telemetry::spawn_blocking_with_tracing(move || {
            if conflicts.is_none() {
                return run_blocking(&pool, f);
            }
            LOCK_CONFLICTS.with(|slot| *slot.borrow_mut() = conflicts);
            let result = run_blocking(&pool, f);
            LOCK_CONFLICTS.with(|slot| *slot.borrow_mut() = None);
            result
        });
        let joined = match self.deadline {
            None => call.await,
            Some(deadline) => match tokio::time::timeout(deadline, call).await {
                Ok(joined) => joined,
                Err(_) => {
                    metrics::counter!("db_operation_timeouts_total", "module" => self.inner.label.clone()).increment(1);
                    return Err(E::from(DbError::Unavailable(format!(
                        "{} database did not answer within {deadline:?}",
                        self.inner.label
                    ))));
                }
            },
        };
        joined.map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// Runs `f` inside a write transaction (retried on deadlock or busy), on the blocking pool.
    pub async fn tx<T, E, F>(&self, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: TxError,
    {
        self.run(move |conn| write_tx(conn, &mut f)).await
    }

    /// The synchronous form of [`Db::run`], for start-up and CLI commands.
    pub fn run_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E>,
        E: TxError,
    {
        run_blocking(&self.inner.pool, f)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from)).await
    }
}

fn run_blocking<T, E, F>(pool: &r2d2::Pool<ConnManager>, mut f: F) -> Result<T, E>
where
    F: FnMut(&mut DbConn) -> Result<T, E>,
    E: TxError,
{
    let mut attempt = 0;
    loop {
        let mut pooled = pool.get().map_err(|e| E::from(DbError::Unavailable(e.to_string())))?;
        let err = match f(&mut pooled.conn) {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let suspicious = err.db_error().is_some_and(DbError::may_mean_connection_lost);
        if err.db_error().is_some_and(DbError::is_commit_outcome_unknown) {
            // Running `f` again could apply it twice; drop the connection and let the
            // caller (503) retry with its idempotency key.
            pooled.broken = true;
            return Err(E::from(DbError::Unavailable("database connection lost during commit".into())));
        }
        if suspicious && pooled.conn.ping().is_err() {
            pooled.broken = true;
            drop(pooled);
            attempt += 1;
            if attempt < 2 {
                tracing::warn!("database connection lost; retrying on a new connection");
                continue;
            }
            return Err(E::from(DbError::Unavailable("database connection lost".into())));
        }
        return Err(err);
    }
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite, a normal transaction on
/// MySQL; retried when the database reports a deadlock, lock-wait timeout or busy file.
/// Never call another module from inside `f` (docs/architecture.md, module rule 6).
pub fn write_tx<T, E, F>(conn: &mut DbConn, mut f: F) -> Result<T, E>
where
    F: FnMut(&mut DbConn) -> Result<T, E>,
    E: TxError,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match transaction_once(conn, &mut f) {
            Err(err) if attempt < MAX_TX_ATTEMPTS && err.db_error().is_some_and(DbError::is_retryable) => {
                let backoff = Duration::from_millis(5 * 2u64.pow(attempt) + jitter_ms(10));
                tracing::debug!(attempt, "transaction conflict; retrying");
                std::thread::sleep(backoff);
            }
            other => return other,
        }
    }
}

fn jitter_ms(max: u64) -> u64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    u64::from(u16::from_le_bytes(b)) % max.max(1)
}

fn transaction_once<T, E, F>(conn: &mut DbConn, f: &mut F) -> Result<T, E>
where
    F: FnMut(&mut DbConn) -> Result<T, E>,
    E: TxError,
{
    type Manager = <DbConn as Connection>::TransactionManager;
    if let Some(attempts) = LOCK_CONFLICTS.with(|slot| slot.borrow().clone()) {
        attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        return Err(E::from(DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("Lock wait timeout exceeded; try restarting transaction (simulated)".to_string()),
        ))));
    }
    #[allow(irrefutable_let_patterns)]
    if let DbConn::Sqlite(inner) = conn {
        AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE").map_err(DbError::from)?;
    } else {
        Manager::begin_transaction(conn).map_err(DbError::from)?;
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn).map_err(DbError::from)?;
            Ok(value)
        }
        Err(err) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(err),
            Err(rollback) => {
                tracing::warn!(error = %rollback, "rollback failed");
                Err(err)
            }
        },
    }
}

/// Runs `f` in a read-only transaction that sees one consistent snapshot of the database
/// (for checks that compare several tables, such as the ledger audit): a deferred `BEGIN`
/// on SQLite (WAL: the snapshot is taken at the first read and later commits stay
/// invisible), `START TRANSACTION WITH CONSISTENT SNAPSHOT` under REPEATABLE READ on MySQL.
/// It never writes, so it is rolled back.
pub fn snapshot_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: TxError,
{
    type Manager = <DbConn as Connection>::TransactionManager;
    match conn {
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN").map_err(DbError::from)?
        }
        #[cfg(feature = "mysql")]
        DbConn::Mysql(inner) => {
            inner.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").map_err(DbError::from)?;
            AnsiTransactionManager::begin_transaction_sql(inner, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
                .map_err(DbError::from)?
        }
    }
    let result = f(conn);
    match Manager::rollback_transaction(conn) {
        Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => {}
        Err(e) => tracing::warn!(error = %e, "rollback of a snapshot failed"),
    }
    result
}

/// A statement whose SQL text depends only on its shape, so each connection prepares it once
/// and keeps it: diesel never caches an `UPDATE`, an upsert, an `IN` list or a raw
/// `sql_query`, and on MySQL every uncached statement costs a prepare, an execute and a close
/// (three commands, two round trips) where a cached one costs an execute.
///
/// Keep only statements with a fixed text (values bound, not written in): the cache is keyed
/// by the text, per connection and unbounded, and the server limits prepared statements
/// (MariaDB's `max_prepared_stmt_count`, 16,382 by default, over all connections). An `IN`
/// list has one text per length, so [`CachedExt::cached_if`] keeps just the one-element one.
///
/// Never keep a locking read (`SELECT … FOR UPDATE`): a lock wait that times out in the
/// middle of its result leaves libmariadb's statement unusable, and the next execution of
/// the kept statement waits forever for an answer the server never sends (seen:
/// `orders::a_cart_is_checked_out_once_whatever_the_keys` hung every time). An uncached
/// statement is closed after each use, which resets it. A kept count (`SELECT COUNT(*) …
/// FOR UPDATE`) hangs the same way; `checkout::a_locking_read_survives_a_lock_wait_that_runs_out`
/// fails if `lock_rows` keeps its statement.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q> {
    query: Q,
    keep: bool,
}

/// `.cached()` on any statement; see [`Cached`].
pub trait CachedExt: Sized {
    fn cached(self) -> Cached<Self> {
        Cached { query: self, keep: true }
    }

    /// Cached when `keep` (e.g. an `IN` list of one), as diesel decides otherwise.
    fn cached_if(self, keep: bool) -> Cached<Self> {
        Cached { query: self, keep }
    }
}

impl<Q: diesel::query_builder::QueryId> CachedExt for Q {}

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for Cached<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    // The statement cache asks whether a statement may be kept by walking it in a pass that
    // inner statements mark unsafe, and it walks `&Cached` (whose `QueryFragment` forwards
    // only `walk_ast`), so overriding `is_safe_to_cache_prepared` alone is not enough: this
    // pass must not reach the inner statement. diesel hides which pass is running; the
    // helper its `MultiConnection` derive uses (public, doc-hidden) tells the SQL and bind
    // passes apart, and `a_cached_update_is_prepared_once` fails should that change.
    fn walk_ast<'b>(&'b self, mut pass: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        use diesel::internal::derives::multiconnection::AstPassHelper;
        if !self.keep || pass.bind_collector().is_some() || pass.debug_binds().is_some() {
            return self.query.walk_ast(pass);
        }
        let writes_sql = std::cell::Cell::new(false);
        let mut pass = pass.cast_database::<DB>(
            |collector| collector,
            |builder| {
                writes_sql.set(true);
                builder
            },
            |backend| backend,
            |lookup| lookup,
        );
        if writes_sql.get() {
            return self.query.walk_ast(pass);
        }
        // Whether to cache it (left "yes"), or whether it is a no-op (it is not).
        pass.push_sql("");
        Ok(())
    }
}

impl<Q> diesel::query_builder::QueryId for Cached<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> RunQueryDsl<C> for Cached<Q> {}

/// A raw statement whose values are bound one by one (e.g. an `IN` list of ids).
pub type BoxedRawQuery<'f> =
    diesel::query_builder::BoxedSqlQuery<'f, <DbConn as diesel::Connection>::Backend, diesel::query_builder::SqlQuery>;

/// `?, ?, ?` for `n` values, to bind into an `IN` list.
pub fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Binds `ids` in order (after whatever the query bound before).
pub fn bind_ids<'f>(mut query: BoxedRawQuery<'f>, ids: &[i64]) -> BoxedRawQuery<'f> {
    for id in ids {
        query = query.bind::<diesel::sql_types::BigInt, _>(*id);
    }
    query
}

/// One `id` column of a raw query.
#[derive(QueryableByName)]
pub struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
}

/// The ids a raw `SELECT … AS id` query loads, in its order.
pub fn load_ids<'q, Q>(conn: &mut DbConn, query: Q) -> Result<Vec<i64>, DbError>
where
    Q: RunQueryDsl<DbConn> + diesel::query_dsl::LoadQuery<'q, DbConn, IdRow>,
{
    Ok(query.load::<IdRow>(conn)?.into_iter().map(|r| r.id).collect())
}

/// The `COUNT(*) AS n` of a raw query.
#[derive(QueryableByName)]
pub struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// On MySQL, locks rows with `SELECT … FOR UPDATE` so that the transaction's later plain
/// reads and its conditional updates see (and keep) their latest committed state. SQLite
/// write transactions (`BEGIN IMMEDIATE`) are serialized already.
pub fn lock_rows(conn: &mut DbConn, table: &'static str, column: &'static str, ids: &[i64]) -> Result<(), DbError> {
    if conn.backend() != Backend::Mysql || ids.is_empty() {
        return Ok(());
    }
    let sql = format!("SELECT {column} AS id FROM {table} WHERE {column} IN ({}) FOR UPDATE", placeholders(ids.len()));
    bind_ids(diesel::sql_query(sql).into_boxed(), ids).load::<IdRow>(conn)?;
    Ok(())
}

/// The id of the row just inserted on this connection (diesel's `.returning()` does not
/// compile for the MySQL variant of the multi-connection).
pub fn last_insert_id(conn: &mut DbConn) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let sql = match conn.backend() {
        Backend::Sqlite => "SELECT last_insert_rowid() AS id",
        Backend::Mysql => "SELECT CAST(LAST_INSERT_ID() AS SIGNED) AS id",
    };
    diesel::sql_query(sql).cached().get_result::<Id>(conn).map(|r| r.id)
}

/// The escape character for `LIKE` patterns. Not a backslash: MySQL reads `'\'` as an
/// unterminated string literal.
pub const LIKE_ESCAPE: char = '!';

/// Escapes `%`, `_` and `!` for a `LIKE … ESCAPE '!'` pattern.
pub fn like_escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    for c in raw.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_urls() {
        assert_eq!(DbTarget::parse("sqlite://data/app.db").unwrap(), DbTarget::Sqlite("data/app.db".into()));
        assert_eq!(DbTarget::parse("sqlite:///tmp/x.db").unwrap(), DbTarget::Sqlite("/tmp/x.db".into()));
        assert!(DbTarget::parse("postgres://x").is_err());
        assert!(DbTarget::parse("sqlite://").is_err());
    }

    #[test]
    fn describe_hides_mysql_credentials() {
        let t = DbTarget::Mysql("mysql://root:secret@db:3307/app".into());
        assert_eq!(t.describe(), "mysql://db:3307/app");
    }

    /// Counts the statements a connection puts in its prepared-statement cache.
    #[derive(Default)]
    struct CacheEvents(Arc<std::sync::atomic::AtomicUsize>);

    impl diesel::connection::Instrumentation for CacheEvents {
        fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
            if let diesel::connection::InstrumentationEvent::CacheQuery { .. } = event {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    #[test]
    fn a_cached_update_is_prepared_once() {
        diesel::table! { t (id) { id -> BigInt, v -> BigInt, } }
        let dir = tempfile::tempdir().unwrap();
        let mut conn = DbTarget::Sqlite(dir.path().join("c.db")).establish().unwrap();
        conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO t VALUES (1, 0)")
            .unwrap();
        let cached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        conn.set_instrumentation(CacheEvents(cached.clone()));
        let count = || cached.load(std::sync::atomic::Ordering::SeqCst);
        for _ in 0..3 {
            diesel::update(t::table.find(1)).set(t::v.eq(t::v + 1)).execute(&mut conn).unwrap();
        }
        assert_eq!(count(), 0, "diesel itself caches no UPDATE");
        for _ in 0..3 {
            let n = diesel::update(t::table.find(1)).set(t::v.eq(t::v + 1)).cached().execute(&mut conn).unwrap();
            assert_eq!(n, 1);
        }
        assert_eq!(count(), 1, "a cached UPDATE is prepared once");
        for _ in 0..3 {
            diesel::sql_query("UPDATE t SET v = v + ? WHERE id = ?")
                .bind::<diesel::sql_types::BigInt, _>(1)
                .bind::<diesel::sql_types::BigInt, _>(1)
                .cached()
                .execute(&mut conn)
                .unwrap();
        }
        assert_eq!(count(), 2, "so is a raw one with bound values");
        let ids = [1i64, 2];
        for len in [1, 2, 1] {
            let sql = format!("SELECT id FROM t WHERE id IN ({})", placeholders(len));
            load_ids(&mut conn, bind_ids(diesel::sql_query(sql).into_boxed(), &ids[..len]).cached_if(len == 1))
                .unwrap();
        }
        assert_eq!(count(), 3, "an IN list is kept only with one element");
        let v: i64 = t::table.find(1).select(t::v).first(&mut conn).unwrap();
        assert_eq!(v, 9, "every update ran");
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape("50%_a!b"), "50!%!_a!!b");
    }

    /// A two-connection SQLite pool in `dir`.
    fn sqlite_db(dir: &tempfile::TempDir, operation_timeout_ms: u64) -> Db {
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let settings = DatabaseSettings {
            url: crate::config::Secret::new(url.clone()),
            max_connections: 2,
            min_idle: 0,
            checkout_timeout_ms: 1000,
            operation_timeout_ms,
        };
        Db::connect("test", &url, &settings).unwrap()
    }

    #[test]
    fn sqlite_transactions_commit_and_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_db(&dir, 1000);
        db.run_blocking(|c| c.batch_execute("CREATE TABLE t (v INTEGER NOT NULL)").map_err(DbError::from)).unwrap();
        let failed: Result<(), DbError> = db.run_blocking(|c| {
            write_tx(c, |c| {
                c.batch_execute("INSERT INTO t VALUES (1)")?;
                Err(DbError::Unavailable("abort".into()))
            })
        });
        assert!(failed.is_err());
        db.run_blocking(|c| write_tx(c, |c| c.batch_execute("INSERT INTO t VALUES (2)").map_err(DbError::from)))
            .unwrap();
        #[derive(QueryableByName)]
        struct Sum {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            s: i64,
        }
        let sum: Sum = db
            .run_blocking(|c| {
                diesel::sql_query("SELECT COALESCE(SUM(v), 0) AS s FROM t").get_result(c).map_err(DbError::from)
            })
            .unwrap();
        assert_eq!(sum.s, 2);
    }

    #[tokio::test]
    async fn a_call_the_database_does_not_answer_in_time_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_db(&dir, 200);
        // Stands in for a frozen server: the statement does not come back.
        let frozen: Result<(), DbError> = db
            .run(|c| {
                std::thread::sleep(Duration::from_secs(2));
                c.batch_execute("SELECT 1").map_err(DbError::from)
            })
            .await;
        let err = frozen.unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        assert!(err.to_string().contains("did not answer"), "{err}");
        db.ping().await.unwrap();
        // Background work waits for the answer instead.
        let waited: Result<(), DbError> = db
            .unbounded()
            .run(|c| {
                std::thread::sleep(Duration::from_millis(500));
                c.batch_execute("SELECT 1").map_err(DbError::from)
            })
            .await;
        waited.unwrap();
    }
}
