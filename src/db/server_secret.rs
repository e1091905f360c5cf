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
                // Made before any request's clock is at hand: the system's time is right here.
                let made_at =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
                sqlx::query(
                    "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(MESSAGE_ID_KEY)
                .bind(tokens::secret())
                .bind(made_at as i64)
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
