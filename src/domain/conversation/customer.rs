//! What a customer does on their own ticket.

use super::{LockedTicket, Visibility, closed_since, StatusEvent, change_status, insert_event, insert_public_message, lock, notify_assignee, touch, audit_status};
use crate::db::Db;
use crate::domain::clock::Timestamp;
use crate::domain::settings::Settings;
use crate::domain::ticket_fields::Status;
use crate::domain::tickets::{Ticket, parse_body};
use crate::domain::users::User;
use crate::domain::{Error, FieldErrors, Result, audit, text};

/// How long after closing a customer may still change their rating.
pub const RATING_WINDOW_AFTER_CLOSE: i64 = 7 * 24 * 3600;

impl LockedTicket {
    fn closed_since(&self, settings: &Settings, now: Timestamp) -> Option<Timestamp> {
        closed_since(self.status, self.resolved_at, self.closed_at, settings.auto_close_hours, now)
    }
}

/// The ticket, locked for a change, if it is the customer's own.
async fn lock_own(db: &Db, tx: &mut crate::db::Tx, ticket: &Ticket, customer: &User) -> Result<LockedTicket> {
    let locked = lock(db, tx, ticket.id).await?;
    if locked.requester_id != customer.id {
        return Err(Error::NotFound);
    }
    Ok(locked)
}

fn closed_conflict() -> Error {
    Error::Conflict("This request is closed, so it cannot take replies. Open a follow-up request instead.".into())
}

/// The customer answers on their ticket. Waiting on them (`pending`, `on_hold`) is over:
/// the ticket goes back to `open`.
pub async fn reply(db: &Db, ticket: &Ticket, customer: &User, body: &str, now: Timestamp) -> Result<()> {
    let body = parse_body(body, "Your reply").map_err(|message| Error::Invalid(FieldErrors::single("body", message)))?;
    let mut tx = db.begin_write().await?;
    let mut locked = lock_own(db, &mut tx, ticket, customer).await?;
    match locked.status {
        Status::Closed => return Err(closed_conflict()),
        Status::Resolved => {
            return Err(Error::Conflict(
                "This request is resolved. If it is not fixed, reopen it with a reason.".into(),
            ));
        }
        _ => {}
    }
    let message_id = insert_public_message(&mut tx, locked.id, customer.id, &body, now).await?;
    let from = locked.status;
    let to = from.after_customer_reply();
    if from != to {
        change_status(&mut tx, &mut locked, to, StatusEvent::Changed, customer.id, now).await?;
        audit::record(&mut tx, audit_status(&locked, customer.id, from, to), now).await?;
    }
    touch(&mut tx, locked.id, Visibility::Public, Some(true), now).await?;
    notify_assignee(&mut tx, &locked, message_id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The customer closes their own ticket, whatever its state (but closed).
pub async fn close(db: &Db, ticket: &Ticket, customer: &User, now: Timestamp) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let mut locked = lock_own(db, &mut tx, ticket, customer).await?;
    if !locked.status.customer_may_close() {
        return Err(Error::Conflict("This request is already closed.".into()));
    }
    let from = locked.status;
    change_status(&mut tx, &mut locked, Status::Closed, StatusEvent::Changed, customer.id, now).await?;
    audit::record(&mut tx, audit_status(&locked, customer.id, from, Status::Closed), now).await?;
    touch(&mut tx, locked.id, Visibility::Public, None, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The customer reopens a resolved ticket. The reason is posted as their message and the
/// ticket returns to `open`.
pub async fn reopen(
    db: &Db,
    settings: &Settings,
    ticket: &Ticket,
    customer: &User,
    reason: &str,
    now: Timestamp,
) -> Result<()> {
    let reason = parse_body(reason, "A reason").map_err(|message| Error::Invalid(FieldErrors::single("reason", message)))?;
    let mut tx = db.begin_write().await?;
    let mut locked = lock_own(db, &mut tx, ticket, customer).await?;
    let closed = locked.closed_since(settings, now).is_some();
    if closed || !locked.status.customer_may_reopen() {
        return Err(match locked.status {
            Status::Closed | Status::Resolved => Error::Conflict(
                "This request is closed and cannot be reopened. Open a follow-up request instead.".into(),
            ),
            _ => Error::Conflict("This request is still open; there is nothing to reopen.".into()),
        });
    }
    let message_id = insert_public_message(&mut tx, locked.id, customer.id, &reason, now).await?;
    change_status(&mut tx, &mut locked, Status::Open, StatusEvent::Reopened, customer.id, now).await?;
    audit::record(&mut tx, audit_status(&locked, customer.id, Status::Resolved, Status::Open), now).await?;
    touch(&mut tx, locked.id, Visibility::Public, Some(true), now).await?;
    notify_assignee(&mut tx, &locked, message_id, now).await?;
    tx.commit().await?;
    Ok(())
}

pub fn parse_rating(rating: &str, comment: &str) -> Result<(i64, Option<String>)> {
    let mut errors = FieldErrors::new();
    let rating = errors.check(
        "rating",
        rating.trim().parse::<i64>().ok().filter(|r| (1..=5).contains(r)).ok_or_else(|| "Choose from 1 to 5 stars.".to_string()),
    );
    let comment = errors.check("comment", text::clean(comment.trim(), true).and_then(|comment| {
        if comment.chars().count() > 2000 { Err("Keep the comment under 2,000 characters.".into()) } else { Ok(comment) }
    }));
    errors.into_result()?;
    let comment = comment.filter(|comment| !comment.is_empty());
    Ok((rating.expect("checked"), comment))
}

/// Whether the rating may still be given or changed, given since when the ticket is
/// closed (see [`closed_since`]).
pub fn rating_open(status: Status, closed_at: Option<Timestamp>, now: Timestamp) -> bool {
    status.may_be_rated() && closed_at.is_none_or(|closed_at| now <= closed_at + RATING_WINDOW_AFTER_CLOSE)
}

/// The customer rates the resolution, once the ticket is resolved or closed; they may
/// change it until a week after it closed.
pub async fn rate(
    db: &Db,
    settings: &Settings,
    ticket: &Ticket,
    customer: &User,
    rating: &str,
    comment: &str,
    now: Timestamp,
) -> Result<()> {
    let (rating, comment) = parse_rating(rating, comment)?;
    let mut tx = db.begin_write().await?;
    let locked = lock_own(db, &mut tx, ticket, customer).await?;
    if !rating_open(locked.status, locked.closed_since(settings, now), now) {
        return Err(Error::Conflict(if locked.status.may_be_rated() {
            "Ratings can be changed for a week after a request closes; that week has passed.".into()
        } else {
            "You can rate a request once it is resolved.".into()
        }));
    }
    sqlx::query("UPDATE tickets SET rating = $1, rating_comment = $2, rated_at = $3 WHERE id = $4")
        .bind(rating)
        .bind(&comment)
        .bind(now)
        .bind(locked.id)
        .execute(&mut *tx)
        .await?;
    let stars = rating.to_string();
    insert_event(&mut tx, locked.id, customer.id, "rating", None, Some(&stars), false, now).await?;
    touch(&mut tx, locked.id, Visibility::Public, None, now).await?;
    tx.commit().await?;
    Ok(())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five_with_an_optional_comment() {
        assert_eq!(parse_rating("5", "  Great  ").unwrap(), (5, Some("Great".into())));
        assert_eq!(parse_rating("1", "").unwrap(), (1, None));
        for bad in ["0", "6", "", "three", "4.5"] {
            assert!(parse_rating(bad, "").is_err(), "{bad:?}");
        }
        assert!(parse_rating("3", &"x".repeat(2001)).is_err());
    }

    #[test]
    fn ratings_stay_open_for_a_week_after_closing() {
        assert!(!rating_open(Status::Open, None, 0));
        assert!(rating_open(Status::Resolved, None, 0));
        assert!(rating_open(Status::Closed, Some(100), 100 + RATING_WINDOW_AFTER_CLOSE));
        assert!(!rating_open(Status::Closed, Some(100), 101 + RATING_WINDOW_AFTER_CLOSE));
    }
}
