//! Client idempotency keys: the one flow every money-moving request follows.
//!
//! The key lives in the owning module's table, in the row the request creates, UNIQUE per
//! account (`charges (account_id, client_key)`, `orders (buyer_id, client_key)`, …): the
//! table is the endpoint's scope and the module keeps owning it. This module owns the flow
//! and its answers; the module hands it two closures, one that reads what its table holds
//! for the key ([`Stored`]) and one that claims the key by inserting that row and does the
//! work ([`claim`] turns the UNIQUE violation of a concurrent duplicate into
//! [`IdempotencyError::Taken`]).
//!
//! 1. Look the key up: same fingerprint and finished → the stored result; another
//!    fingerprint → [`IdempotencyError::Conflict`]; still running → poll every [`POLL`] for
//!    up to [`WAIT`], then [`IdempotencyError::InProgress`].
//! 2. Free → run the request, whose transaction claims the key; losing the claim to a
//!    concurrent duplicate goes back to step 1.
//!
//! What "running" means, and how a crash between claim and completion is fenced (a
//! `recover_after` the module's recovery worker honours, a refusal that frees the key), stays
//! the module's: only it knows its rows.

use crate::db::{DbError, OnDuplicate};
use crate::error::{ApiError, ErrorCode};
use std::future::Future;
use std::time::Duration;

/// How long a duplicate waits for the request that holds its key.
pub const WAIT: Duration = Duration::from_secs(5);
/// How often a waiting duplicate looks again.
pub const POLL: Duration = Duration::from_millis(100);

/// Why a keyed request is not run. Modules wrap it in their error enums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    /// The key was used with a different body.
    #[error("idempotency key reused with a different request")]
    Conflict,
    /// The request holding the key is still running after [`WAIT`].
    #[error("the request holding this idempotency key is still running")]
    InProgress,
    /// The claiming insert lost on the UNIQUE index to a concurrent duplicate; [`execute`]
    /// turns it into a replay, so it reaches a client only as `request_in_progress`.
    #[error("idempotency key claimed by a concurrent request")]
    Taken,
}

impl From<IdempotencyError> for ApiError {
    fn from(err: IdempotencyError) -> Self {
        match err {
            IdempotencyError::Conflict => ApiError::new(
                ErrorCode::IdempotencyConflict,
                "This Idempotency-Key was already used with a different request.",
            ),
            IdempotencyError::InProgress | IdempotencyError::Taken => ApiError::new(
                ErrorCode::RequestInProgress,
                "A request with this Idempotency-Key is still running; retry shortly.",
            )
            .with_retry_after(1),
        }
    }
}

/// A module error that can carry an [`IdempotencyError`].
pub trait WrapsIdempotency: From<IdempotencyError> {
    fn idempotency(&self) -> Option<IdempotencyError>;
}

/// What a module's table holds for a key: the fingerprint of the request that claimed it,
/// and its result once finished (`None`: still running).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    pub request_hash: String,
    pub finished: Option<T>,
}

impl<T> Stored<T> {
    pub fn finished(request_hash: impl Into<String>, result: T) -> Self {
        Stored { request_hash: request_hash.into(), finished: Some(result) }
    }

    pub fn running(request_hash: impl Into<String>) -> Self {
        Stored { request_hash: request_hash.into(), finished: None }
    }
}

/// What the key means for a request with fingerprint `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held<T> {
    /// Nobody holds it: run the request.
    Free,
    /// A request with this body finished: answer its result.
    Finished(T),
    /// A request with this body is still running.
    Running,
}

/// Decides from one look at the table; usable inside a transaction.
pub fn check<T>(stored: Option<Stored<T>>, hash: &str) -> Result<Held<T>, IdempotencyError> {
    match stored {
        None => Ok(Held::Free),
        Some(s) if s.request_hash != hash => Err(IdempotencyError::Conflict),
        Some(Stored { finished: Some(result), .. }) => Ok(Held::Finished(result)),
        Some(_) => Ok(Held::Running),
    }
}

/// Turns the claiming insert's UNIQUE violation into [`IdempotencyError::Taken`].
pub fn claim<T, E>(inserted: Result<T, DbError>) -> Result<T, E>
where
    E: From<IdempotencyError> + From<DbError>,
{
    inserted.on_duplicate(|| IdempotencyError::Taken.into())
}

/// A keyed request's answer, and whether it is a replay of an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed<T> {
    pub value: T,
    pub replayed: bool,
}

/// The stored result for `hash`, waiting up to [`WAIT`] for a running one; `None` if the key
/// is free.
pub async fn replay<T, E, L, F>(hash: &str, lookup: &mut L) -> Result<Option<T>, E>
where
    E: From<IdempotencyError>,
    L: FnMut() -> F,
    F: Future<Output = Result<Option<Stored<T>>, E>>,
{
    let polls = WAIT.as_millis() / POLL.as_millis();
    for _ in 0..polls {
        match check(lookup().await?, hash)? {
            Held::Free => return Ok(None),
            Held::Finished(result) => return Ok(Some(result)),
            Held::Running => tokio::time::sleep(POLL).await,
        }
    }
    Err(IdempotencyError::InProgress.into())
}

/// Runs a keyed request once: replays a finished one with the same fingerprint, waits for
/// a running one, refuses a different body, else `run`s it (`run` claims the key through
/// [`claim`]); a lost claim is answered with the winner's result.
pub async fn execute<T, E, L, F, R, G>(hash: &str, mut lookup: L, run: R) -> Result<Keyed<T>, E>
where
    E: WrapsIdempotency,
    L: FnMut() -> F,
    F: Future<Output = Result<Option<Stored<T>>, E>>,
    R: FnOnce() -> G,
    G: Future<Output = Result<T, E>>,
{
    if let Some(value) = replay(hash, &mut lookup).await? {
        return Ok(Keyed { value, replayed: true });
    }
    execute_claiming(hash, lookup, run).await
}

/// [`execute`] without the look-up first, for a `run` whose first write claims the key,
/// before any effect: a new key costs one read less, and a replay is found when its claim
/// fails (as a concurrent duplicate's is).
pub async fn execute_claiming<T, E, L, F, R, G>(hash: &str, mut lookup: L, run: R) -> Result<Keyed<T>, E>
where
    E: WrapsIdempotency,
    L: FnMut() -> F,
    F: Future<Output = Result<Option<Stored<T>>, E>>,
    R: FnOnce() -> G,
    G: Future<Output = Result<T, E>>,
{
    match run().await {
        Err(e) if e.idempotency() == Some(IdempotencyError::Taken) => replay(hash, &mut lookup)
            .await?
            .map(|value| Keyed { value, replayed: true })
            .ok_or_else(|| IdempotencyError::InProgress.into()),
        other => other.map(|value| Keyed { value, replayed: false }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    #[derive(Debug, thiserror::Error)]
    enum TestError {
        #[error(transparent)]
        Idem(#[from] IdempotencyError),
        #[error(transparent)]
        Db(#[from] DbError),
    }

    crate::impl_db_error!(TestError);

    impl WrapsIdempotency for TestError {
        fn idempotency(&self) -> Option<IdempotencyError> {
            match self {
                TestError::Idem(e) => Some(*e),
                TestError::Db(_) => None,
            }
        }
    }

    type Table = Arc<Mutex<HashMap<String, Stored<i64>>>>;

    fn lookup(table: &Table, key: &str) -> impl FnMut() -> std::future::Ready<Result<Option<Stored<i64>>, TestError>> {
        let (table, key) = (table.clone(), key.to_string());
        move || std::future::ready(Ok(table.lock().unwrap().get(&key).cloned()))
    }

    async fn request(table: &Table, key: &str, hash: &str, result: i64) -> Result<Keyed<i64>, TestError> {
        execute(hash, lookup(table, key), || async {
            table.lock().unwrap().insert(key.into(), Stored::finished(hash, result));
            Ok(result)
        })
        .await
    }

    #[tokio::test]
    async fn a_finished_request_is_replayed_and_another_body_conflicts() {
        let table = Table::default();
        assert_eq!(request(&table, "k", "h1", 7).await.unwrap(), Keyed { value: 7, replayed: false });
        // The replay answers the first result, not what the second run would have made.
        assert_eq!(request(&table, "k", "h1", 8).await.unwrap(), Keyed { value: 7, replayed: true });
        assert!(matches!(request(&table, "k", "h2", 9).await, Err(TestError::Idem(IdempotencyError::Conflict))));
        assert_eq!(request(&table, "other", "h2", 9).await.unwrap(), Keyed { value: 9, replayed: false });
    }

    #[tokio::test]
    async fn a_running_duplicate_waits_then_is_refused() {
        let table = Table::default();
        table.lock().unwrap().insert("k".into(), Stored::running("h"));
        assert!(matches!(request(&table, "k", "h", 1).await, Err(TestError::Idem(IdempotencyError::InProgress))));
        assert!(matches!(request(&table, "k", "x", 1).await, Err(TestError::Idem(IdempotencyError::Conflict))));
    }

    #[tokio::test]
    async fn a_running_duplicate_gets_the_result_once_it_finishes() {
        let table = Table::default();
        table.lock().unwrap().insert("k".into(), Stored::running("h"));
        let finisher = {
            let table = table.clone();
            tokio::spawn(async move {
                tokio::time::sleep(POLL * 3).await;
                table.lock().unwrap().insert("k".into(), Stored::finished("h", 5));
            })
        };
        assert_eq!(request(&table, "k", "h", 1).await.unwrap(), Keyed { value: 5, replayed: true });
        finisher.await.unwrap();
    }

    #[tokio::test]
    async fn a_lost_claim_answers_the_winners_result() {
        let table = Table::default();
        let run = || async {
            // A concurrent duplicate committed between our look-up and our insert.
            table.lock().unwrap().insert("k".into(), Stored::finished("h", 3));
            claim::<i64, TestError>(Err(DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                Box::new("duplicate".to_string()),
            ))))
        };
        let got = execute("h", lookup(&table, "k"), run).await.unwrap();
        assert_eq!(got, Keyed { value: 3, replayed: true });
    }

    /// Many concurrent requests with one key against a real table on the test backend:
    /// one runs, the others get its result.
    #[cfg(feature = "testkit")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_claims_on_the_test_database_run_once() {
        use crate::db::{Db, DbConn, write_tx};
        use crate::testkit::TestDatabase;
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;
        use diesel::sql_types::{BigInt, Nullable, Text};

        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            request_hash: String,
            #[diesel(sql_type = Nullable<BigInt>)]
            result: Option<i64>,
        }

        fn find(conn: &mut DbConn, key: &str) -> Result<Option<Stored<i64>>, TestError> {
            let rows: Vec<Row> = diesel::sql_query("SELECT request_hash, result FROM idem_keys WHERE client_key = ?")
                .bind::<Text, _>(key)
                .load(conn)
                .map_err(DbError::from)?;
            Ok(rows.into_iter().next().map(|r| Stored { request_hash: r.request_hash, finished: r.result }))
        }

        let test_db = TestDatabase::create(&[]);
        let db: Db = test_db.db("idem");
        db.run(|c| {
            c.batch_execute(
                "CREATE TABLE idem_keys (account_id BIGINT NOT NULL, client_key VARCHAR(128) NOT NULL, \
                 request_hash VARCHAR(64) NOT NULL, result BIGINT NULL, UNIQUE (account_id, client_key))",
            )
            .map_err(DbError::from)
        })
        .await
        .unwrap();
        let runs = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (db, runs) = (db.clone(), runs.clone());
                tokio::spawn(async move {
                    let lookup = || {
                        let db = db.clone();
                        async move { db.run(|c| find(c, "k")).await }
                    };
                    let run = || async {
                        // Claim (running), then finish in a second transaction, as the sagas do.
                        db.run(|c| {
                            write_tx(c, |c| {
                                claim::<usize, TestError>(
                                    diesel::sql_query(
                                        "INSERT INTO idem_keys (account_id, client_key, request_hash) VALUES (1, 'k', 'h')",
                                    )
                                    .execute(c)
                                    .map_err(DbError::from),
                                )
                            })
                        })
                        .await?;
                        let n = runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        db.run(move |c| {
                            diesel::sql_query("UPDATE idem_keys SET result = ? WHERE client_key = 'k'")
                                .bind::<BigInt, _>(n * 100)
                                .execute(c)
                                .map_err(DbError::from)
                        })
                        .await?;
                        Ok::<_, TestError>(n * 100)
                    };
                    execute("h", lookup, run).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap().unwrap());
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(answers.iter().all(|a| a.value == 100), "{answers:?}");
        assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1);
    }
}
