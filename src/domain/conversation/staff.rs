//! What agents and admins do on a ticket.

use serde_json::json;

pub use super::bulk::{BulkOutcome, bulk_update, unassign_all};
use super::cc::{self, CcList};
pub use super::change::Visibility;
use super::change::{Change, LockedTicket, StatusEvent};
pub use super::merge::merge;
use super::properties;
use crate::db::{Db, Flag};
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::{self, User};
use crate::domain::attachments::KeptFile;
use crate::domain::clock::Timestamp;
use crate::domain::fields::values::{self, FieldInput};
use crate::domain::input::WholeNumber;
use crate::domain::mail::notification::Notification;
use crate::domain::mail::received::ReceivedMail;
use crate::domain::tags::TagChange;
use crate::domain::tickets::{Priority, Status};
use crate::domain::tickets::{Ticket, parse_body};
use crate::domain::{Error, FieldErrors, Result};

/// Minutes one entry may log: a working week.
const TIME_SPENT_MAX: i64 = 60 * 24 * 7;

/// An agent's message, parsed.
#[derive(Debug)]
pub struct Reply {
    pub body: String,
    pub visibility: Visibility,
    /// A status to set in the same step ("reply and mark pending").
    pub status: Option<Status>,
    /// Priority, group or assignee set in the same step (triage in one submit), guarded
    /// by `expected_version` where they differ from the ticket.
    pub changes: Changes,
    pub expected_version: Option<i64>,
    pub time_spent_minutes: i64,
    /// The mail it came in, when it was written by mail.
    pub mail: Option<ReceivedMail>,
    /// Files kept in the store already, for this message.
    pub files: Vec<KeptFile>,
}

impl Reply {
    /// A message and nothing else: no status, properties, time, mail or files.
    pub fn new(body: String, visibility: Visibility) -> Self {
        Self {
            body,
            visibility,
            status: None,
            changes: Changes::default(),
            expected_version: None,
            time_spent_minutes: 0,
            mail: None,
            files: Vec::new(),
        }
    }

    /// Every field checked, every problem reported at once. A blank status changes none;
    /// no time spent is none.
    pub fn parse(body: &str, visibility: &str, status: &str, time_spent: WholeNumber) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let body = errors.check("body", parse_body(body, "The message"));
        let visibility = errors.check("visibility", visibility.trim().parse());
        let status = match status.trim() {
            "" => Some(None),
            given => errors.check("status", given.parse().map(Some)),
        };
        let minutes = match time_spent.read() {
            None => Ok(0),
            Some(given) => given
                .ok()
                .filter(|minutes| (0..=TIME_SPENT_MAX).contains(minutes))
                .ok_or_else(|| format!("Enter whole minutes, from 0 to {TIME_SPENT_MAX}.")),
        };
        let time_spent = errors.check("time_spent", minutes);
        match (body, visibility, status, time_spent) {
            (Some(body), Some(visibility), Some(status), Some(time_spent_minutes)) => Ok(Self {
                body,
                visibility,
                status,
                changes: Changes::default(),
                expected_version: None,
                time_spent_minutes,
                mail: None,
                files: Vec::new(),
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

/// The first thing an agent does to a `new` ticket opens it, unless they set a status
/// themselves.
async fn open_if_new(change: &mut Change<'_>) -> Result<()> {
    if change.ticket.status == Status::New {
        change.set_status(Status::Open, StatusEvent::Changed).await?;
    }
    Ok(())
}

async fn set_status_as_agent(change: &mut Change<'_>, to: Status) -> Result<()> {
    let from = change.ticket.status;
    if from == to {
        return Ok(());
    }
    if from == Status::Closed {
        return Err(Error::Conflict("This ticket is closed, and closed is final: the customer can open a follow-up.".into()));
    }
    if matches!(to, Status::Resolved | Status::Closed) {
        let ticket_id = change.ticket.id;
        values::check_resolvable(change.tx(), ticket_id, &to.label().to_lowercase()).await?;
    }
    change.set_status(to, StatusEvent::Changed).await?;
    match to {
        Status::Resolved => change.notify_customers(Notification::Resolved, None).await,
        Status::Closed => change.notify_customers(Notification::Closed, None).await,
        _ => Ok(()),
    }
}

/// An agent writes on the ticket, optionally setting a status and other properties and
/// logging time. The first public answer is the first response. Properties that would
/// change are refused as stale against an older `expected_version` (the message with
/// them), so a reply never overwrites a change its writer has not seen; a message alone
/// is never stale.
pub async fn reply(db: &Db, ticket: &Ticket, agent: &User, reply: &Reply, now: Timestamp) -> Result<i64> {
    debug_assert!(agent.role.is_staff());
    let public = reply.visibility == Visibility::Public;
    let mut change = Change::begin(db, ticket.id, Some(agent.id), now).await?;
    let changes = reply.changes.against(&change.ticket);
    if let Some(expected) = reply.expected_version
        && expected != change.ticket.version
        && !changes.is_empty()
    {
        return Err(Error::Stale { current_version: change.ticket.version });
    }
    if public && change.ticket.status == Status::Closed {
        return Err(Error::Conflict(
            "This ticket is closed, so the customer cannot be answered here; add an internal note instead.".into(),
        ));
    }
    change.received_by_mail(reply.mail.as_ref());
    change.with_files(&reply.files);
    let message_id = change.add_message(agent.id, &reply.body, reply.visibility, reply.time_spent_minutes).await?;
    if reply.time_spent_minutes > 0 {
        sqlx::query("UPDATE tickets SET time_spent_minutes = time_spent_minutes + $1 WHERE id = $2")
            .bind(reply.time_spent_minutes)
            .bind(change.ticket.id)
            .execute(&mut **change.tx())
            .await?;
    }
    if public {
        change.mark_first_response().await?;
        change.notify_customers(Notification::AgentReplied, Some(message_id)).await?;
        cc::copy_from_mail(&mut change, agent, reply.mail.as_ref()).await?;
    }
    apply(&mut change, &changes).await?;
    match reply.status {
        Some(status) => set_status_as_agent(&mut change, status).await?,
        None => open_if_new(&mut change).await?,
    }
    change.commit(public.then_some(false)).await?;
    Ok(message_id)
}

/// A note-free change of a ticket's fields. `None` leaves a field as it is;
/// `assignee: Some(None)` unassigns.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub group_id: Option<i64>,
    pub assignee: Option<Option<i64>>,
    /// Who is copied, replacing the list.
    pub cc: Option<CcList>,
    /// The fields given (checked against their definitions when applied).
    pub fields: FieldInput,
    pub tags: Option<TagChange>,
}

impl Changes {
    /// Empty fields mean "no change", except `assignee`, where a present but empty value
    /// means "nobody".
    pub fn parse(status: &str, priority: &str, group: WholeNumber, assignee: Option<WholeNumber>) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let optional = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
        let status = optional(status).and_then(|given| errors.check("status", given.parse()));
        let priority = optional(priority).and_then(|given| errors.check("priority", given.parse()));
        let group_id = group.read().and_then(|given| errors.check("group", given.map_err(|()| "Choose a group.".to_string())));
        let assignee = match assignee.map(WholeNumber::read) {
            None => None,
            Some(None) => Some(None),
            Some(Some(given)) => errors.check("assignee", given.map_err(|()| "Choose an agent.".to_string())).map(Some),
        };
        errors.into_result()?;
        Ok(Self { status, priority, group_id, assignee, ..Self::default() })
    }

    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Only the priority, group and assignee that differ from `ticket`'s: what a form that
    /// shows every value (the reply box's) actually changes.
    fn against(&self, ticket: &LockedTicket) -> Self {
        Self {
            priority: self.priority.filter(|priority| *priority != ticket.priority),
            group_id: self.group_id.filter(|group_id| *group_id != ticket.group_id),
            assignee: self.assignee.filter(|assignee| *assignee != ticket.assignee_id),
            ..Self::default()
        }
    }
}

/// Applies `changes` made against `expected_version` (if given). A stale version changes
/// nothing and answers [`Error::Stale`], so no one overwrites a change they have not seen.
pub async fn update(
    db: &Db,
    ticket: &Ticket,
    agent: &User,
    changes: &Changes,
    expected_version: Option<i64>,
    now: Timestamp,
) -> Result<()> {
    debug_assert!(agent.role.is_staff());
    let mut change = Change::begin(db, ticket.id, Some(agent.id), now).await?;
    if let Some(expected) = expected_version
        && expected != change.ticket.version
    {
        return Err(Error::Stale { current_version: change.ticket.version });
    }
    apply(&mut change, changes).await?;
    change.commit(None).await?;
    Ok(())
}

pub(super) async fn apply(change: &mut Change<'_>, changes: &Changes) -> Result<()> {
    let mut any = false;
    if let Some(priority) = changes.priority
        && priority != change.ticket.priority
    {
        let from = change.ticket.priority;
        sqlx::query("UPDATE tickets SET priority = $1 WHERE id = $2")
            .bind(priority)
            .bind(change.ticket.id)
            .execute(&mut **change.tx())
            .await?;
        change.ticket.priority = priority;
        change.add_event("priority", Some(from.as_str()), Some(priority.as_str()), false).await?;
        change.audit("ticket.priority", json!({ "priority": from.as_str() }), json!({ "priority": priority.as_str() })).await?;
        any = true;
    }
    if let Some(group_id) = changes.group_id
        && group_id != change.ticket.group_id
    {
        let names: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM groups WHERE id IN ($1, $2)")
            .bind(change.ticket.group_id)
            .bind(group_id)
            .fetch_all(&mut **change.tx())
            .await?;
        let name_of = |id: i64| names.iter().find(|(each, _)| *each == id).map(|(_, name)| name.clone());
        let new_name = name_of(group_id).ok_or_else(|| Error::Invalid(FieldErrors::single("group", "Choose a group.")))?;
        let old_name = name_of(change.ticket.group_id).unwrap_or_default();
        sqlx::query("UPDATE tickets SET group_id = $1 WHERE id = $2")
            .bind(group_id)
            .bind(change.ticket.id)
            .execute(&mut **change.tx())
            .await?;
        change.add_event("group", Some(&old_name), Some(&new_name), false).await?;
        change.audit("ticket.group", json!({ "group_id": change.ticket.group_id }), json!({ "group_id": group_id })).await?;
        change.ticket.group_id = group_id;
        any = true;
    }
    if let Some(assignee) = changes.assignee
        && assignee != change.ticket.assignee_id
    {
        let new_name = match assignee {
            Some(id) => {
                let agent: Option<(String, Role, Flag)> = sqlx::query_as("SELECT name, role, active FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut **change.tx())
                    .await?;
                match agent {
                    Some((name, role, Flag(true))) if role.is_staff() => Some(name),
                    _ => {
                        return Err(Error::Invalid(FieldErrors::single("assignee", "Choose an active agent.")));
                    }
                }
            }
            None => None,
        };
        let previous = change.ticket.assignee_id;
        let old_name = users::name_of(change.tx(), previous).await?;
        sqlx::query("UPDATE tickets SET assignee_id = $1 WHERE id = $2")
            .bind(assignee)
            .bind(change.ticket.id)
            .execute(&mut **change.tx())
            .await?;
        change.add_event("assignee", old_name.as_deref(), new_name.as_deref(), false).await?;
        change
            .audit("ticket.assignee", json!({ "assignee_id": change.ticket.assignee_id }), json!({ "assignee_id": assignee }))
            .await?;
        change.ticket.assignee_id = assignee;
        if let Some(id) = assignee {
            change.notify_user(Notification::Assigned, id, None).await?;
        }
        any = true;
    }
    any |= properties::set_fields(change, &changes.fields).await?;
    if let Some(tags) = &changes.tags {
        any |= properties::set_tags(change, tags).await?;
    }
    // Before the status: closing ends changes to who is copied, and resolving needs the
    // fields required to resolve.
    if let Some(list) = &changes.cc {
        any |= cc::replace(change, list, true).await?;
    }
    match changes.status {
        Some(status) => set_status_as_agent(change, status).await?,
        None if any => open_if_new(change).await?,
        None => {}
    }
    Ok(())
}

/// Moves the ticket to another status; resolving and closing tell the requester.
pub async fn set_status(db: &Db, ticket: &Ticket, agent: &User, to: Status, now: Timestamp) -> Result<()> {
    update(db, ticket, agent, &Changes { status: Some(to), ..Changes::default() }, None, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_every_field() {
        let reply = Reply::parse("Done.", "public", "pending", WholeNumber::Typed("15")).unwrap();
        assert_eq!((reply.visibility, reply.status, reply.time_spent_minutes), (Visibility::Public, Some(Status::Pending), 15));
        let Err(Error::Invalid(errors)) = Reply::parse("", "loud", "gone", WholeNumber::Sent(-3)) else { panic!("accepted") };
        for field in ["body", "visibility", "status", "time_spent"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn changes_distinguish_unchanged_from_unassigned() {
        let blank = WholeNumber::Typed("");
        assert!(Changes::parse("", "", blank, None).unwrap().is_empty());
        assert_eq!(Changes::parse("", "", blank, Some(blank)).unwrap().assignee, Some(None));
        assert_eq!(Changes::parse("", "", blank, Some(WholeNumber::Typed("7"))).unwrap().assignee, Some(Some(7)));
        assert_eq!(Changes::parse("", "", WholeNumber::Absent, Some(WholeNumber::Absent)).unwrap().assignee, Some(None));
        assert!(Changes::parse("nope", "", blank, None).is_err());
        assert!(Changes::parse("", "", WholeNumber::Typed("sales"), None).is_err());
    }
}
