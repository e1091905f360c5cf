//! Secrets of the installation rather than of a process: made once by whichever instance
//! needs one first, stored in the database, and the same for every instance after that.

use super::Db;
use crate::domain::accounts::tokens;

const MESSAGE_ID_KEY: &str = "message_id_key";

impl Db {
    /// The key that signs our Message-IDs (see `domain::mail::sender_trust`). Read once per
    /// process; two instances starting together both insert, one wins, both read its key.
    pub async fn message_id_key(&self) -> sqlx::Result<&str> {
        let key = self
            .message_id_key
            .get_or_try_init(|| async {
                sqlx::query(
                    "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, 0) ON CONFLICT (name) DO NOTHING",
                )
                .bind(MESSAGE_ID_KEY)
                .bind(tokens::secret())
                .execute(self.pool())
                .await?;
                sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                    .bind(MESSAGE_ID_KEY)
                    .fetch_one(self.pool())
                    .await
            })
            .await?;
        Ok(key)
    }
}
