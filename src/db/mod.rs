//! The database handle. Every query in the application is written once, with `$1`
//! placeholders, and runs through sqlx's Any driver on SQLite and on PostgreSQL; the few
//! places where the two dialects really differ are the methods of [`Backend`].

mod flag;
mod live;
pub mod search;
mod server_secret;
mod stored_enum;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};

pub use flag::Flag;
pub(crate) use stored_enum::stored_enum;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

pub type Tx = Transaction<'static, Any>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://, got {url:?}")
        }
    }

    /// Appended to a SELECT inside a writing transaction to lock the rows it reads until
    /// commit. SQLite needs none: `BEGIN IMMEDIATE` already holds the only write lock.
    pub fn row_lock(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }

    /// A transaction that will write takes the write lock up front on SQLite: a deferred
    /// one that reads first fails with SQLITE_BUSY instead of waiting when another writer
    /// commits in between. Postgres has row locks and needs nothing special.
    fn begin_write_statement(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => Some("BEGIN IMMEDIATE"),
            Self::Postgres => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// The installation's Message-ID key, read once (see `server_secret.rs`).
    message_id_key: Arc<tokio::sync::OnceCell<String>>,
    /// Word of committed changes, for live pages (see `live.rs`).
    live: live::Live,
}

impl Db {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url_creating_file(url),
            Backend::Postgres => url.to_owned(),
        };
        let options: AnyConnectOptions = url.parse().context("invalid DATABASE_URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        // WAL lets readers work while one writer commits; synchronous=FULL
                        // keeps every acknowledged commit through a power loss.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the database at {}", redact(&url)))?;
        Ok(Self { pool, backend, message_id_key: Arc::default(), live: live::Live::default() })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("applying database migrations")
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that is going to write (see [`Backend::begin_write_statement`]).
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        match self.backend.begin_write_statement() {
            Some(statement) => self.pool.begin_with(statement).await,
            None => self.pool.begin().await,
        }
    }

    /// After a bulk load: fresh statistics, so the planners pick the right indexes from the
    /// first request, and on PostgreSQL a vacuum, so that its visibility map lets covering
    /// indexes answer without visiting the table (SQLite's VACUUM would only rewrite the file).
    pub async fn settle_after_bulk_load(&self) -> sqlx::Result<()> {
        let statement = match self.backend {
            Backend::Sqlite => "ANALYZE",
            Backend::Postgres => "VACUUM ANALYZE",
        };
        sqlx::query(statement).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn ping(&self) -> sqlx::Result<()> {
        self.pool.acquire().await?.ping().await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite://helpdesk.db` should create the file on first start, which sqlx only does with
/// `mode=rwc`.
fn sqlite_url_creating_file(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Whether a database error is a unique-constraint violation, on either backend.
/// Integer ids as an SQL list (`3, 17, 42`), for `IN (…)`: ids are numbers, so listing
/// them inline is safe, and a page's worth is one statement whatever its size.
pub fn id_list<'a>(ids: impl IntoIterator<Item = &'a i64>) -> String {
    ids.into_iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db_error) => db_error.is_unique_violation(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_the_file() {
        assert_eq!(sqlite_url_creating_file("sqlite://helpdesk.db"), "sqlite://helpdesk.db?mode=rwc");
        assert_eq!(sqlite_url_creating_file("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
        assert_eq!(sqlite_url_creating_file("sqlite://a.db?cache=shared"), "sqlite://a.db?cache=shared&mode=rwc");
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://…@db/x");
        assert_eq!(redact("sqlite://helpdesk.db"), "sqlite://helpdesk.db");
    }

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgresql://h/db").unwrap(), Backend::Postgres);
        assert!(Backend::from_url("mysql://h/db").is_err());
    }
}
