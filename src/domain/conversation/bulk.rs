//! Changes to many tickets at once: the desk's bulk changes, and taking every ticket from
//! someone no longer staff. Each ticket is an ordinary change (see [`super::staff`]).

use super::change::Change;
use super::staff::{Changes, apply};
use crate::db::{Db, Tx};
use crate::domain::accounts::users::User;
use crate::domain::clock::Timestamp;
use crate::domain::tickets::TicketNumber;
use crate::domain::{Error, Result};

/// What a bulk change did: how many tickets changed, and those that refused, each with why.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub changed: usize,
    /// Each ticket skipped, by its reference (`TCK-1001`), with why.
    pub refused: Vec<(String, String)>,
}

/// Applies the same changes to many tickets, each in its own transaction. A ticket that
/// refuses (a closed one asked to reopen, one missing a field required to resolve) is
/// skipped and named.
pub async fn bulk_update(
    db: &Db,
    numbers: &[TicketNumber],
    agent: &User,
    changes: &Changes,
    now: Timestamp,
) -> Result<BulkOutcome> {
    let mut outcome = BulkOutcome::default();
    for number in numbers {
        let found: Option<(i64, String)> = sqlx::query_as("SELECT id, prefix FROM tickets WHERE number = $1")
            .bind(number.get())
            .fetch_optional(db.pool())
            .await?;
        let Some((id, prefix)) = found else {
            continue;
        };
        let mut change = Change::begin(db, id, Some(agent.id), now).await?;
        match apply(&mut change, changes).await {
            Ok(()) => {
                change.commit(None).await?;
                outcome.changed += 1;
            }
            Err(Error::Conflict(why)) => outcome.refused.push((number.reference(&prefix), why)),
            Err(Error::Invalid(errors)) if errors.iter().all(|(field, _)| field.starts_with("field_") || field == "tags") => {
                outcome.refused.push((number.reference(&prefix), errors.summary()));
            }
            Err(error) => return Err(error),
        }
    }
    Ok(outcome)
}

/// Takes every ticket away from `agent_id` (no longer staff), each an ordinary change —
/// timeline event, audit row, new version — inside the caller's transaction. Hands it back
/// with each change's word for live pages, to pass on once it has committed.
pub async fn unassign_all(db: &Db, mut tx: Tx, agent_id: i64, actor_id: i64, now: Timestamp) -> Result<(Tx, Vec<String>)> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE assignee_id = $1 ORDER BY id")
        .bind(agent_id)
        .fetch_all(&mut *tx)
        .await?;
    let nobody = Changes { assignee: Some(None), ..Changes::default() };
    let mut words = Vec::with_capacity(ids.len());
    for id in ids {
        let mut change = Change::within(db, tx, id, Some(actor_id), now).await?;
        apply(&mut change, &nobody).await?;
        let word;
        (tx, word) = change.finish(None).await?;
        words.push(word);
    }
    Ok((tx, words))
}
