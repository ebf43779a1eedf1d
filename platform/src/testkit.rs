//! Test support shared by every crate's tests (feature `testkit`): a fresh database per
//! test on either backend, and the Redis to use.
//!
//! - `TEST_BACKEND=sqlite` (default): a temp-file SQLite database per test.
//! - `TEST_BACKEND=mysql`: a `t_<random>` database per test on `TEST_DATABASE_URL`
//!   (default `mysql://root@127.0.0.1:3306/test`), cloned from a template migrated once per
//!   schema version (`tmpl_<hash of migrations/>`), dropped when the test ends.
//! - `TEST_REDIS_URL`: Redis for cache and pub/sub (each test gets its own key prefix); unset
//!   means the in-process implementations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::config::DatabaseSettings;
use crate::db::{Backend, Db, Migrations};
use std::sync::atomic::{AtomicU64, Ordering};

pub fn backend() -> Backend {
    match std::env::var("TEST_BACKEND").as_deref() {
        Ok("mysql") | Ok("mariadb") => Backend::Mysql,
        _ => Backend::Sqlite,
    }
}

pub fn mysql_server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

pub fn redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL").ok().filter(|u| !u.trim().is_empty())
}

/// A unique suffix for names (databases, Redis prefixes) within and across test processes.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).unwrap();
    format!("{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), hex::encode(r))
}

pub fn small_pool_settings(url: &str) -> DatabaseSettings {
    DatabaseSettings {
        url: crate::config::Secret::new(url),
        max_connections: 8,
        min_idle: 0,
        checkout_timeout_ms: 5000,
        operation_timeout_ms: 60_000,
    }
}

/// A migrated database that lives as long as this value.
pub struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    drop_mysql: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh database on the backend chosen by `TEST_BACKEND`, with `sets` applied.
    pub fn create(sets: &[&Migrations]) -> TestDatabase {
        match backend() {
            Backend::Sqlite => Self::sqlite(sets),
            Backend::Mysql => Self::mysql(sets),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A handle with a small pool, for tests that talk to the database directly.
    pub fn db(&self, label: &str) -> Db {
        Db::connect(label, &self.url, &small_pool_settings(&self.url)).unwrap()
    }

    fn sqlite(sets: &[&Migrations]) -> TestDatabase {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/test.db", dir.path().display());
        let db = Db::connect("test", &url, &small_pool_settings(&url)).unwrap();
        db.migrate(sets).unwrap();
        TestDatabase { url, _dir: Some(dir), drop_mysql: None }
    }

    #[cfg(not(feature = "mysql"))]
    fn mysql(_: &[&Migrations]) -> TestDatabase {
        panic!("TEST_BACKEND=mysql needs the `mysql` feature (cargo test --features platform/mysql)")
    }

    #[cfg(feature = "mysql")]
    fn mysql(sets: &[&Migrations]) -> TestDatabase {
        mysql_clone::create(sets)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        #[cfg(feature = "mysql")]
        if let Some((server, name)) = self.drop_mysql.take() {
            // On a plain thread: Drop may run inside an async runtime.
            let _ = std::thread::spawn(move || mysql_clone::drop_database(&server, &name)).join();
        }
    }
}

#[cfg(feature = "mysql")]
/// A digest of every migration file, so templates are rebuilt when any schema changes.
fn migrations_digest(sets: &[&Migrations]) -> String {
    use std::path::{Path, PathBuf};
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, bytes));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut all = Vec::new();
    for set in sets {
        all.extend_from_slice(set.module.as_bytes());
    }
    for (path, bytes) in files {
        all.extend_from_slice(path.to_string_lossy().as_bytes());
        all.extend_from_slice(&bytes);
    }
    crate::crypto::sha256_hex(&all)[..16].to_string()
}

#[cfg(feature = "mysql")]
mod mysql_clone {
    use super::*;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Nullable, Text};

    fn with_db(server: &str, db: &str) -> String {
        let mut url = url::Url::parse(server).unwrap();
        url.set_path(&format!("/{db}"));
        url.to_string()
    }

    fn admin(server: &str) -> MysqlConnection {
        MysqlConnection::establish(server).unwrap_or_else(|e| panic!("cannot reach MySQL at {server}: {e}"))
    }

    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Nullable<BigInt>)]
        locked: Option<i64>,
    }

    fn tables(conn: &mut MysqlConnection, schema: &str) -> Vec<String> {
        diesel::sql_query(
            "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables \
             WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
        )
        .bind::<Text, _>(schema)
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect()
    }

    fn ensure_template(server: &str, sets: &[&Migrations]) -> String {
        let template = format!("tmpl_{}", migrations_digest(sets));
        let mut conn = admin(server);
        let lock: Locked = diesel::sql_query("SELECT CAST(GET_LOCK(?, 300) AS SIGNED) AS locked")
            .bind::<Text, _>(&template)
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(lock.locked, Some(1), "template lock");
        let ready = tables(&mut conn, &template).iter().any(|t| t == "zz_template_ready");
        if !ready {
            diesel::sql_query(format!("DROP DATABASE IF EXISTS `{template}`")).execute(&mut conn).unwrap();
            diesel::sql_query(format!("CREATE DATABASE `{template}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
                .execute(&mut conn)
                .unwrap();
            let url = with_db(server, &template);
            let db = Db::connect("template", &url, &small_pool_settings(&url)).unwrap();
            db.migrate(sets).unwrap_or_else(|e: crate::db::DbError| panic!("migrating the template: {e}"));
            diesel::sql_query(format!("CREATE TABLE `{template}`.zz_template_ready (x INT)"))
                .execute(&mut conn)
                .unwrap();
        }
        diesel::sql_query("DO RELEASE_LOCK(?)").bind::<Text, _>(&template).execute(&mut conn).unwrap();
        template
    }

    pub(super) fn create(sets: &[&Migrations]) -> TestDatabase {
        let server = mysql_server_url();
        let template = ensure_template(&server, sets);
        let name = format!("t_{}", unique_suffix());
        let mut conn = admin(&server);
        diesel::sql_query(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
            .execute(&mut conn)
            .unwrap();
        for table in tables(&mut conn, &template).into_iter().filter(|t| t != "zz_template_ready") {
            diesel::sql_query(format!("CREATE TABLE `{name}`.`{table}` LIKE `{template}`.`{table}`"))
                .execute(&mut conn)
                .unwrap();
            diesel::sql_query(format!("INSERT INTO `{name}`.`{table}` SELECT * FROM `{template}`.`{table}`"))
                .execute(&mut conn)
                .unwrap();
        }
        TestDatabase { url: with_db(&server, &name), _dir: None, drop_mysql: Some((server, name)) }
    }

    pub(super) fn drop_database(server: &str, name: &str) {
        if let Ok(mut conn) = MysqlConnection::establish(server) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS `{name}`")).execute(&mut conn);
        }
    }
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: std::time::Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
