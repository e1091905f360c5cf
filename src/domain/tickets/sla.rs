//! Due dates from the SLA targets. Time spent `pending` does not count: entering pending
//! stops the clock, leaving it moves both deadlines on by the time spent waiting.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::status::Status;
use crate::domain::admin::settings::SlaTarget;
use crate::domain::clock::Timestamp;

const HOUR: i64 = 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    pub first_response_due_at: Timestamp,
    pub resolution_due_at: Timestamp,
}

/// Read from a ticket's two target columns; a target that is not set is never due.
impl<'r> sqlx::FromRow<'r, AnyRow> for Deadlines {
    fn from_row(row: &'r AnyRow) -> sqlx::Result<Self> {
        let target = |column: &str| row.try_get::<Option<Timestamp>, _>(column).map(|at| at.unwrap_or(Timestamp::MAX));
        Ok(Self { first_response_due_at: target("first_response_due_at")?, resolution_due_at: target("resolution_due_at")? })
    }
}

impl Deadlines {
    pub fn start(target: SlaTarget, created_at: Timestamp) -> Self {
        Self {
            first_response_due_at: created_at + target.first_response_hours * HOUR,
            resolution_due_at: created_at + target.resolution_hours * HOUR,
        }
    }

    /// Moves both deadlines on by a pause.
    pub fn resumed(self, paused_for: i64) -> Self {
        Self {
            first_response_due_at: self.first_response_due_at + paused_for,
            resolution_due_at: self.resolution_due_at + paused_for,
        }
    }

    /// The nearest deadline still to meet, which the queues sort and filter on; none while
    /// the clock is stopped (pending) or the work is done.
    pub fn due_at(self, status: Status, first_response_at: Option<Timestamp>) -> Option<Timestamp> {
        if status == Status::Pending || !status.is_active() {
            return None;
        }
        Some(match first_response_at {
            Some(_) => self.resolution_due_at,
            None => self.first_response_due_at.min(self.resolution_due_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: SlaTarget = SlaTarget { first_response_hours: 1, resolution_hours: 4 };

    #[test]
    fn the_nearest_unmet_target_is_due() {
        let deadlines = Deadlines::start(TARGET, 1000);
        assert_eq!(deadlines.due_at(Status::New, None), Some(1000 + HOUR));
        assert_eq!(deadlines.due_at(Status::Open, Some(1500)), Some(1000 + 4 * HOUR));
        assert_eq!(deadlines.due_at(Status::Pending, None), None);
        assert_eq!(deadlines.due_at(Status::Resolved, None), None);
    }

    #[test]
    fn a_pause_moves_both_deadlines() {
        let resumed = Deadlines::start(TARGET, 0).resumed(600);
        assert_eq!(resumed, Deadlines { first_response_due_at: HOUR + 600, resolution_due_at: 4 * HOUR + 600 });
    }
}
