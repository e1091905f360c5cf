//! How urgent a ticket is and where it stands, with who may move it where.

use crate::db::stored_enum;

stored_enum!(
    /// How urgent a ticket is.
    pub enum Priority {
        Low => "low", "Low";
        Medium => "medium", "Medium";
        High => "high", "High";
        Urgent => "urgent", "Urgent";
    } else "Choose low, medium, high or urgent."
);

impl Default for Priority {
    /// Medium, as the contract says.
    fn default() -> Self {
        Priority::Medium
    }
}

stored_enum!(
    /// Where a ticket stands.
    pub enum Status {
        New => "new", "New";
        Open => "open", "Open";
        Pending => "pending", "Pending";
        OnHold => "on_hold", "On hold";
        Resolved => "resolved", "Resolved";
        Closed => "closed", "Closed";
    } else "Choose a valid status."
);

/// The three places a ticket's status puts it in: open work, resolved, closed. The desk's
/// views and the customer's tabs part tickets so, and the tag and value rows keep their
/// ticket's place for their filter indexes (migration 13 spells the same mapping in SQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Open,
    Resolved,
    Closed,
}

impl Place {
    pub const ALL: [Place; 3] = [Place::Open, Place::Resolved, Place::Closed];

    /// As the tag and value rows store it.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Open => "open",
            Place::Resolved => "resolved",
            Place::Closed => "closed",
        }
    }

    /// How many of `counted` (a count per status) are in each place, places with none left
    /// out, in [`Place::ALL`]'s order.
    pub fn tally(counted: &[(Status, i64)]) -> Vec<(Place, i64)> {
        Place::ALL
            .into_iter()
            .map(|place| (place, counted.iter().filter(|(status, _)| status.place() == place).map(|(_, count)| count).sum()))
            .filter(|(_, count)| *count > 0)
            .collect()
    }
}

impl Status {
    pub fn place(self) -> Place {
        match self {
            Status::Resolved => Place::Resolved,
            Status::Closed => Place::Closed,
            _ => Place::Open,
        }
    }

    /// Neither resolved nor closed: someone still has work to do.
    pub fn is_active(self) -> bool {
        self.place() == Place::Open
    }

    /// A customer's reply is welcome here (resolved tickets are reopened through the
    /// reopen form, closed ones get a follow-up instead).
    pub fn accepts_customer_reply(self) -> bool {
        self.is_active()
    }

    /// The status after the customer writes: waiting on them is over.
    pub fn after_customer_reply(self) -> Status {
        match self {
            Status::Pending | Status::OnHold => Status::Open,
            other => other,
        }
    }

    pub fn customer_may_reopen(self) -> bool {
        self == Status::Resolved
    }

    pub fn customer_may_close(self) -> bool {
        self != Status::Closed
    }

    pub fn may_be_rated(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_and_statuses_round_trip() {
        for priority in Priority::ALL {
            assert_eq!(priority.as_str().parse::<Priority>().unwrap(), *priority);
        }
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>().unwrap(), *status);
        }
        assert!("URGENT".parse::<Priority>().is_err());
        assert!("deleted".parse::<Status>().is_err());
        assert_eq!(Priority::default(), Priority::Medium);
    }

    #[test]
    fn customer_transitions() {
        assert_eq!(Status::Pending.after_customer_reply(), Status::Open);
        assert_eq!(Status::OnHold.after_customer_reply(), Status::Open);
        assert_eq!(Status::New.after_customer_reply(), Status::New);
        assert!(!Status::Resolved.accepts_customer_reply());
        assert!(!Status::Closed.accepts_customer_reply());
        assert!(Status::Resolved.customer_may_reopen());
        assert!(!Status::Closed.customer_may_reopen());
        assert!(!Status::Open.customer_may_reopen());
        assert!(Status::Resolved.customer_may_close());
        assert!(!Status::Closed.customer_may_close());
        assert!(Status::Closed.may_be_rated() && Status::Resolved.may_be_rated() && !Status::Open.may_be_rated());
    }

    #[test]
    fn places_tally_statuses() {
        let counted = [(Status::New, 2), (Status::OnHold, 1), (Status::Closed, 4)];
        assert_eq!(Place::tally(&counted), vec![(Place::Open, 3), (Place::Closed, 4)]);
        assert!(Status::Pending.is_active() && !Status::Resolved.is_active());
    }
}
