//! What a customer does on their own ticket.

use super::cc::{self, CcList};
use super::change::{Change, StatusEvent, Visibility};
use super::closing::closed_since;
use crate::db::Db;
use crate::domain::accounts::users::User;
use crate::domain::admin::settings::Settings;
use crate::domain::attachments::KeptFile;
use crate::domain::clock::Timestamp;
use crate::domain::input::WholeNumber;
use crate::domain::mail::notification::Notification;
use crate::domain::mail::received::ReceivedMail;
use crate::domain::tickets::{self, Status};
use crate::domain::tickets::{Ticket, parse_body};
use crate::domain::{Error, FieldErrors, Result, text};

/// How long after closing a customer may still change their rating.
pub const RATING_WINDOW_AFTER_CLOSE: i64 = 7 * 24 * 3600;

impl Change<'_> {
    fn closed_since(&self, settings: &Settings) -> Option<Timestamp> {
        let ticket = &self.ticket;
        closed_since(ticket.status, ticket.resolved_at, ticket.closed_at, settings.auto_close_hours, self.now)
    }

    /// Tells the assignee, if there is one, that the customer wrote, and everyone else on
    /// the customer's side (the requester, those copied) what they wrote.
    async fn notify_of_customer_message(&mut self, message_id: i64) -> Result<()> {
        if let Some(assignee_id) = self.ticket.assignee_id {
            self.notify_user(Notification::CustomerReplied, assignee_id, Some(message_id)).await?;
        }
        self.notify_customers(Notification::ParticipantReplied, Some(message_id)).await
    }
}

/// What a customer means to do on a ticket.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Write on it: whoever sees it ([`tickets::customer_sees`]).
    Answer,
    /// Close or rate it: its requester or organisation manager ([`tickets::customer_may_manage`]).
    Decide,
}

/// Starts a change on a ticket the customer may act on as `access` asks, checked again
/// with the ticket locked; any other is `NotFound`.
async fn begin_own<'a>(db: &'a Db, ticket: &Ticket, customer: &User, access: Access, now: Timestamp) -> Result<Change<'a>> {
    let mut change = Change::begin(db, ticket.id, Some(customer.id), now).await?;
    let managed = tickets::managed_organisation(customer);
    let sees = tickets::customer_sees_ticket(&mut **change.tx(), ticket.id, customer.id, managed).await?;
    let (requester_id, organisation_id) = (change.ticket.requester_id, change.ticket.organisation_id);
    if !sees || access == Access::Decide && !tickets::customer_may_manage(customer, requester_id, organisation_id) {
        return Err(Error::NotFound);
    }
    Ok(change)
}

/// A customer's message, parsed.
#[derive(Debug)]
pub struct Reply {
    pub body: String,
    /// The mail it came in, when it was written by mail.
    pub mail: Option<ReceivedMail>,
    /// Files kept in the store already, for this message.
    pub files: Vec<KeptFile>,
}

impl Reply {
    pub fn parse(body: &str) -> Result<Self> {
        let body = parse_body(body, "Your reply").map_err(invalid("body"))?;
        Ok(Self { body, mail: None, files: Vec::new() })
    }
}

/// Why a customer reopens a resolved ticket, parsed.
#[derive(Debug)]
pub struct Reopen {
    pub reason: String,
    /// The mail it came in, when it was written by mail.
    pub mail: Option<ReceivedMail>,
    /// Files kept in the store already, for the reason's message.
    pub files: Vec<KeptFile>,
}

impl Reopen {
    pub fn parse(reason: &str) -> Result<Self> {
        let reason = parse_body(reason, "A reason").map_err(invalid("reason"))?;
        Ok(Self { reason, mail: None, files: Vec::new() })
    }
}

fn invalid(field: &'static str) -> impl FnOnce(String) -> Error {
    move |message| Error::Invalid(FieldErrors::single(field, message))
}

/// The customer answers on their ticket — on the page, or by mail. Waiting on them
/// (`pending`, `on_hold`) is over: the ticket goes back to `open`. Answers the new
/// message's id.
pub async fn reply(db: &Db, ticket: &Ticket, customer: &User, reply: &Reply, now: Timestamp) -> Result<i64> {
    let mut change = begin_own(db, ticket, customer, Access::Answer, now).await?;
    change.received_by_mail(reply.mail.as_ref());
    change.with_files(&reply.files);
    match change.ticket.status {
        Status::Closed => {
            return Err(Error::Conflict(
                "This request is closed, so it cannot take replies. Open a follow-up request instead.".into(),
            ));
        }
        Status::Resolved => {
            return Err(Error::Conflict("This request is resolved. If it is not fixed, reopen it with a reason.".into()));
        }
        _ => {}
    }
    let message_id = change.add_message(customer.id, &reply.body, Visibility::Public, 0).await?;
    let to = change.ticket.status.after_customer_reply();
    change.set_status(to, StatusEvent::Changed).await?;
    change.notify_of_customer_message(message_id).await?;
    cc::copy_from_mail(&mut change, customer, reply.mail.as_ref()).await?;
    change.commit(Some(true)).await?;
    Ok(message_id)
}

/// The customer closes their own ticket, whatever its state (but closed).
pub async fn close(db: &Db, ticket: &Ticket, customer: &User, now: Timestamp) -> Result<()> {
    decide(db, ticket, customer, None, true, now).await
}

/// The requester or the organisation's manager changes who is copied (when `cc` is given)
/// and closes the ticket (when `close`), in one change; those copied are told it closed.
pub async fn decide(db: &Db, ticket: &Ticket, customer: &User, cc: Option<&CcList>, close: bool, now: Timestamp) -> Result<()> {
    let mut change = begin_own(db, ticket, customer, Access::Decide, now).await?;
    let mut changed = match cc {
        Some(list) => cc::replace(&mut change, list, false).await?,
        None => false,
    };
    if close {
        if !change.ticket.status.customer_may_close() {
            return Err(Error::Conflict("This request is already closed.".into()));
        }
        change.set_status(Status::Closed, StatusEvent::Changed).await?;
        change.notify_customers(Notification::Closed, None).await?;
        changed = true;
    }
    if changed {
        change.commit(None).await?;
    }
    Ok(())
}

/// The customer reopens a resolved ticket, until it closes. The reason is posted as
/// their message and the ticket returns to `open`.
pub async fn reopen(
    db: &Db,
    settings: &Settings,
    ticket: &Ticket,
    customer: &User,
    reopen: &Reopen,
    now: Timestamp,
) -> Result<()> {
    let mut change = begin_own(db, ticket, customer, Access::Answer, now).await?;
    change.received_by_mail(reopen.mail.as_ref());
    change.with_files(&reopen.files);
    let status = change.ticket.status;
    if change.closed_since(settings).is_some() || !status.customer_may_reopen() {
        return Err(Error::Conflict(if status.may_be_rated() {
            "This request is closed and cannot be reopened. Open a follow-up request instead.".into()
        } else {
            "This request is still open; there is nothing to reopen.".into()
        }));
    }
    let message_id = change.add_message(customer.id, &reopen.reason, Visibility::Public, 0).await?;
    change.set_status(Status::Open, StatusEvent::Reopened).await?;
    change.notify_of_customer_message(message_id).await?;
    cc::copy_from_mail(&mut change, customer, reopen.mail.as_ref()).await?;
    change.commit(Some(true)).await?;
    Ok(())
}

/// A rating of the resolution, parsed: one to five stars and an optional comment.
#[derive(Debug, PartialEq, Eq)]
pub struct Rating {
    pub stars: i64,
    pub comment: Option<String>,
}

impl Rating {
    pub fn parse(stars: WholeNumber, comment: &str) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let stars = errors.check(
            "rating",
            stars
                .read()
                .and_then(Result::ok)
                .filter(|stars| (1..=5).contains(stars))
                .ok_or_else(|| "Choose from 1 to 5 stars.".to_string()),
        );
        let comment = errors.check(
            "comment",
            text::clean(comment.trim(), true).and_then(|comment| {
                if comment.chars().count() > 2000 { Err("Keep the comment under 2,000 characters.".into()) } else { Ok(comment) }
            }),
        );
        match (stars, comment) {
            (Some(stars), Some(comment)) => Ok(Self { stars, comment: Some(comment).filter(|comment| !comment.is_empty()) }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

/// Whether the team did something to rate: answered publicly, or resolved the ticket. A
/// request its customer closed before either has nothing to rate.
pub fn handled_by_team(first_response_at: Option<Timestamp>, resolved_at: Option<Timestamp>) -> bool {
    first_response_at.is_some() || resolved_at.is_some()
}

/// Whether the rating may still be given or changed, given whether the team `handled` it
/// ([`handled_by_team`]) and since when the ticket is closed (see [`closed_since`]).
pub fn rating_open(status: Status, handled: bool, closed_at: Option<Timestamp>, now: Timestamp) -> bool {
    status.may_be_rated() && handled && closed_at.is_none_or(|closed_at| now <= closed_at + RATING_WINDOW_AFTER_CLOSE)
}

/// The customer rates the resolution, once the ticket is resolved or closed; they may
/// change it until a week after it closed.
pub async fn rate(db: &Db, settings: &Settings, ticket: &Ticket, customer: &User, rating: &Rating, now: Timestamp) -> Result<()> {
    let mut change = begin_own(db, ticket, customer, Access::Decide, now).await?;
    let handled = handled_by_team(change.ticket.first_response_at, change.ticket.resolved_at);
    if !rating_open(change.ticket.status, handled, change.closed_since(settings), now) {
        return Err(Error::Conflict(if !change.ticket.status.may_be_rated() {
            "You can rate a request once it is resolved.".into()
        } else if !handled {
            "There is nothing to rate: nobody from our team answered or resolved this request.".into()
        } else {
            "Ratings can be changed for a week after a request closes; that week has passed.".into()
        }));
    }
    let ticket_id = change.ticket.id;
    sqlx::query("UPDATE tickets SET rating = $1, rating_comment = $2, rated_at = $3 WHERE id = $4")
        .bind(rating.stars)
        .bind(&rating.comment)
        .bind(now)
        .bind(ticket_id)
        .execute(&mut **change.tx())
        .await?;
    change.add_event("rating", None, Some(&rating.stars.to_string()), false).await?;
    change.commit(None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five_with_an_optional_comment() {
        let typed = |stars, comment| Rating::parse(WholeNumber::Typed(stars), comment);
        assert_eq!(typed("5", "  Great  ").unwrap(), Rating { stars: 5, comment: Some("Great".into()) });
        assert_eq!(typed("1", "").unwrap(), Rating { stars: 1, comment: None });
        for bad in ["0", "6", "", "three", "4.5"] {
            assert!(typed(bad, "").is_err(), "{bad:?}");
        }
        assert!(typed("3", &"x".repeat(2001)).is_err());
        assert!(Rating::parse(WholeNumber::Sent(9), "").is_err());
    }

    #[test]
    fn the_team_handled_it_by_answering_or_resolving() {
        assert!(handled_by_team(Some(5), None));
        assert!(handled_by_team(None, Some(5)));
        assert!(!handled_by_team(None, None));
    }

    #[test]
    fn ratings_stay_open_for_a_week_after_closing() {
        assert!(!rating_open(Status::Open, true, None, 0));
        assert!(rating_open(Status::Resolved, true, None, 0));
        assert!(!rating_open(Status::Closed, false, Some(100), 100), "closed by its customer before anyone answered");
        assert!(rating_open(Status::Closed, true, Some(100), 100 + RATING_WINDOW_AFTER_CLOSE));
        assert!(!rating_open(Status::Closed, true, Some(100), 101 + RATING_WINDOW_AFTER_CLOSE));
    }
}
