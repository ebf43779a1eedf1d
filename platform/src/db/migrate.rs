//! Embedded per-module migrations, run at start-up (or by `app migrate`) under a lock so
//! that instances starting together do not race.

use super::{Backend, Db, DbConn, DbError, write_tx};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// A module's schema for both backends. Versions are unique across modules because modules
/// that share a database share diesel's bookkeeping table.
pub struct Migrations {
    pub module: &'static str,
    pub sqlite: EmbeddedMigrations,
    pub mysql: EmbeddedMigrations,
    /// The module's outbox table, if it has one: created from the one outbox shape
    /// ([`crate::outbox::table_ddl`]) before the module's own migrations run.
    pub outbox: Option<&'static str>,
}

impl Migrations {
    fn for_backend(&self, backend: Backend) -> &EmbeddedMigrations {
        match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Mysql => &self.mysql,
        }
    }
}

impl Db {
    /// Applies the pending migrations of `sets` and returns the versions applied.
    pub fn migrate(&self, sets: &[&Migrations]) -> Result<Vec<String>, DbError> {
        self.run_blocking(|conn| migrate_conn(conn, sets))
    }
}

/// `EmbeddedMigrations` is neither `Clone` nor a source by reference; this lends it.
struct BySource<'a>(&'a EmbeddedMigrations);

impl<DB: diesel::backend::Backend> diesel::migration::MigrationSource<DB> for BySource<'_> {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<DB>>>> {
        diesel::migration::MigrationSource::<DB>::migrations(self.0)
    }
}

fn apply(conn: &mut DbConn, sets: &[&Migrations]) -> Result<Vec<String>, DbError> {
    let backend = conn.backend();
    let mut applied = Vec::new();
    for set in sets {
        if let Some(table) = set.outbox {
            conn.batch_execute(&crate::outbox::table_ddl(backend, table))?;
        }
        let versions = conn
            .run_pending_migrations(BySource(set.for_backend(backend)))
            .map_err(|e| DbError::Migration(format!("{}: {e}", set.module)))?;
        applied.extend(versions.into_iter().map(|v| format!("{}/{v}", set.module)));
    }
    Ok(applied)
}

fn migrate_conn(conn: &mut DbConn, sets: &[&Migrations]) -> Result<Vec<String>, DbError> {
    match conn.backend() {
        // The write lock of BEGIN IMMEDIATE serialises concurrent starters; the pending list
        // is computed inside it, so the second one finds nothing to do.
        Backend::Sqlite => write_tx(conn, |c| apply(c, sets)),
        // MySQL DDL commits implicitly, so a transaction cannot serialise it: a named lock can.
        Backend::Mysql => {
            #[derive(QueryableByName)]
            struct Locked {
                #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
                locked: Option<i64>,
            }
            let got: Locked = diesel::sql_query("SELECT CAST(GET_LOCK('app_migrations', 120) AS SIGNED) AS locked")
                .get_result(conn)?;
            if got.locked != Some(1) {
                return Err(DbError::Migration("could not take the migration lock within 120 s".into()));
            }
            let result = apply(conn, sets);
            let released = diesel::sql_query("DO RELEASE_LOCK('app_migrations')").execute(conn);
            if let Err(e) = released {
                tracing::warn!(error = %e, "releasing the migration lock failed");
            }
            result
        }
    }
}
