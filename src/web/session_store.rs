//! tower-sessions' store, kept in the application's own database (either backend) so that
//! sessions survive a restart and are shared by every app instance. The signed-in user's
//! id is also kept in a column of its own, so that deactivating a user can end all of
//! their sessions with one statement.

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::session::USER_ID_KEY;
use crate::db::Db;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn delete_expired(&self, now: i64) -> sqlx::Result<u64> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(self.db.pool()).await?;
        Ok(deleted.rows_affected())
    }
}

fn backend_error(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

struct StoredRecord {
    user_id: Option<i64>,
    data: String,
    expires_at: i64,
}

impl StoredRecord {
    fn from_record(record: &Record) -> session_store::Result<Self> {
        Ok(Self {
            user_id: record.data.get(USER_ID_KEY).and_then(serde_json::Value::as_i64),
            data: serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expires_at: record.expiry_date.unix_timestamp(),
        })
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let stored = StoredRecord::from_record(record)?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(stored.user_id)
            .bind(stored.data)
            .bind(stored.expires_at)
            .execute(self.db.pool())
            .await
            .map_err(backend_error)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let stored = StoredRecord::from_record(record)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(record.id.to_string())
        .bind(stored.user_id)
        .bind(stored.data)
        .bind(stored.expires_at)
        .execute(self.db.pool())
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(id.to_string())
                .bind(now)
                .fetch_optional(self.db.pool())
                .await
                .map_err(backend_error)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at).map_err(backend_error)?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.db.pool())
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}
