//! The people copied on a ticket (CC): customers who see it, may answer it and get its
//! public notifications. Staff set the list from the desk or the API, the requester and an
//! organisation's manager from the portal; a mail's `Cc:` adds customers we already know.

use serde_json::json;

use super::change::Change;
use crate::db::{Db, Tx};
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::{self, NewAccount, User};
use crate::domain::clock::Timestamp;
use crate::domain::email::Email;
use crate::domain::mail::notification::Notification;
use crate::domain::mail::received::ReceivedMail;
use crate::domain::tickets::{self, Status, Ticket};
use crate::domain::{Error, FieldErrors, Result};

/// How many people one ticket may copy.
pub const CC_MAX: usize = 20;

/// The addresses to copy, parsed: comma- or newline-separated, each valid, none twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CcList(Vec<Email>);

impl CcList {
    /// An empty input is an empty list (it clears the CC).
    pub fn parse(input: &str) -> Result<Self> {
        Self::of(input.split([',', ';', '\n']))
    }

    /// The addresses of a list (the API's).
    pub fn from_addresses(addresses: &[String]) -> Result<Self> {
        Self::of(addresses.iter().map(String::as_str))
    }

    fn of<'a>(given: impl Iterator<Item = &'a str>) -> Result<Self> {
        let mut addresses: Vec<Email> = Vec::new();
        for given in given.map(str::trim).filter(|given| !given.is_empty()) {
            let address = Email::parse(given).map_err(|_| invalid(format!("{given} is not an email address.")))?;
            if !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        if addresses.len() > CC_MAX {
            return Err(invalid(format!("Copy at most {CC_MAX} people.")));
        }
        Ok(Self(addresses))
    }
}

fn invalid(message: String) -> Error {
    Error::Invalid(FieldErrors::single("cc", message))
}

/// Someone copied on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Copied {
    pub user_id: i64,
    pub name: String,
    pub email: String,
}

/// Who is copied on the ticket, by address.
pub async fn of_ticket(db: &Db, ticket_id: i64) -> Result<Vec<Copied>> {
    copied_on(db.pool(), ticket_id).await
}

/// Who is copied on the ticket, by address (read in a transaction, or from the pool).
async fn copied_on<'c>(executor: impl sqlx::Executor<'c, Database = sqlx::Any>, ticket_id: i64) -> Result<Vec<Copied>> {
    Ok(sqlx::query_as(
        "SELECT u.id AS user_id, u.name, u.email FROM ticket_cc c JOIN users u ON u.id = c.user_id \
         WHERE c.ticket_id = $1 ORDER BY u.email",
    )
    .bind(ticket_id)
    .fetch_all(executor)
    .await?)
}

/// Whether the customer has been copied on any ticket (to offer them that list).
pub async fn is_copied_anywhere(db: &Db, customer_id: i64) -> Result<bool> {
    let any: Option<i64> = sqlx::query_scalar("SELECT ticket_id FROM ticket_cc WHERE user_id = $1 LIMIT 1")
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(any.is_some())
}

/// Replaces the ticket's CC with `list`, for staff, its requester or its organisation's
/// manager (anyone else: `NotFound`).
pub async fn set(db: &Db, ticket: &Ticket, actor: &User, list: &CcList, now: Timestamp) -> Result<()> {
    let mut change = Change::begin(db, ticket.id, Some(actor.id), now).await?;
    let (requester_id, organisation_id) = (change.ticket.requester_id, change.ticket.organisation_id);
    if !actor.role.is_staff() && !tickets::customer_may_manage(actor, requester_id, organisation_id) {
        return Err(Error::NotFound);
    }
    if replace(&mut change, list, actor.role.is_staff()).await? {
        change.commit(None).await?;
    }
    Ok(())
}

/// Replaces the CC within a change; answers whether it changed. Staff copy anyone: a new
/// address becomes a customer with no password, whom the mail telling them they were
/// copied invites to choose one; staff and deactivated accounts are refused. Customers
/// copy only addresses at their organisation's mail domains, so that nobody can have us
/// mail a stranger. The requester, copied on everything already, is left out. A closed
/// ticket takes nobody new, but anyone may still be removed.
pub(super) async fn replace(change: &mut Change<'_>, list: &CcList, by_staff: bool) -> Result<bool> {
    let (ticket_id, requester_id, now) = (change.ticket.id, change.ticket.requester_id, change.now);
    let (organisation_id, actor_id) = (change.ticket.organisation_id, change.actor_id());
    let before = copied_on(&mut **change.tx(), ticket_id).await?;
    let mut wanted: Vec<i64> = Vec::new();
    for address in &list.0 {
        if let Some(copied) = before.iter().find(|copied| copied.email == address.as_str()) {
            wanted.push(copied.user_id);
            continue;
        }
        if !by_staff && !at_domain_of(change.tx(), organisation_id, address).await? {
            return Err(invalid(format!("{address} is not at your organisation's mail domains; ask us to copy anyone else.")));
        }
        let user = customer_for(change.tx(), address, actor_id, by_staff, now).await?;
        if user.id != requester_id && !wanted.contains(&user.id) {
            wanted.push(user.id);
        }
    }
    let added: Vec<i64> = wanted.iter().copied().filter(|id| !before.iter().any(|had| had.user_id == *id)).collect();
    let removed: Vec<i64> = before.iter().map(|had| had.user_id).filter(|id| !wanted.contains(id)).collect();
    if added.is_empty() && removed.is_empty() {
        return Ok(false);
    }
    if !added.is_empty() && change.ticket.status == Status::Closed {
        return Err(Error::Conflict("This ticket is closed, so nobody new can follow it.".into()));
    }
    for user_id in &removed {
        sqlx::query("DELETE FROM ticket_cc WHERE ticket_id = $1 AND user_id = $2")
            .bind(ticket_id)
            .bind(user_id)
            .execute(&mut **change.tx())
            .await?;
    }
    for user_id in &added {
        insert(change.tx(), ticket_id, *user_id, now).await?;
    }
    let after = copied_on(&mut **change.tx(), ticket_id).await?;
    record(change, &before, &after).await?;
    // The request's first message tells them what it is about.
    let first_message: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE ticket_id = $1 AND kind = 'message' AND public = TRUE ORDER BY id LIMIT 1",
    )
    .bind(ticket_id)
    .fetch_optional(&mut **change.tx())
    .await?;
    for user_id in &added {
        change.notify_user(Notification::Copied, *user_id, first_message).await?;
    }
    Ok(true)
}

/// Whether `address` is at one of the mail domains of the organisation (none: it is not).
async fn at_domain_of(tx: &mut Tx, organisation_id: Option<i64>, address: &Email) -> Result<bool> {
    let domain = address.as_str().rsplit('@').next().unwrap_or_default();
    let found: Option<String> =
        sqlx::query_scalar("SELECT domain FROM organisation_domains WHERE organisation_id = $1 AND domain = $2")
            .bind(organisation_id)
            .bind(domain)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

/// The customer at `address`, created (with no password, invited by their first mail)
/// when there is none. Staff are told why an account cannot be copied; customers are not
/// told whose an address is.
async fn customer_for(tx: &mut Tx, address: &Email, actor_id: Option<i64>, by_staff: bool, now: Timestamp) -> Result<User> {
    match account_at(tx, address).await? {
        Some(user) if user.role == Role::Customer && user.active => Ok(user),
        Some(_) if !by_staff => Err(invalid(format!("{address} cannot be copied; ask us if they should be."))),
        Some(user) if user.role.is_staff() => {
            Err(invalid(format!("{address} belongs to the support team, who see every ticket on the desk.")))
        }
        Some(_) => Err(invalid(format!("{address} belongs to a deactivated account."))),
        None => {
            let name = address.as_str().split('@').next().unwrap_or("Customer");
            let account = NewAccount { name, email: address, role: Role::Customer, password_hash: "", verified: false };
            users::insert(tx, account, actor_id, now).await
        }
    }
}

/// The account with this address, if any, read in the change's transaction.
async fn account_at(tx: &mut Tx, address: &Email) -> Result<Option<User>> {
    Ok(sqlx::query_as(&format!("SELECT {} FROM users WHERE email = $1", users::USER_COLUMNS))
        .bind(address.as_str())
        .fetch_optional(&mut **tx)
        .await?)
}

async fn insert(tx: &mut Tx, ticket_id: i64, user_id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO ticket_cc (ticket_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(ticket_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The change on the timeline (public: the customer's side sees who is copied) and in the
/// audit log.
async fn record(change: &mut Change<'_>, before: &[Copied], after: &[Copied]) -> Result<()> {
    let emails = |list: &[Copied]| list.iter().map(|copied| copied.email.clone()).collect::<Vec<_>>();
    let (before, after) = (emails(before), emails(after));
    let shown = |list: &[String]| Some(list.join(", ")).filter(|joined| !joined.is_empty());
    change.add_event("cc", shown(&before).as_deref(), shown(&after).as_deref(), true).await?;
    change.audit("ticket.cc", json!({ "cc": before }), json!({ "cc": after })).await
}

/// The known, active customers among the `Cc:` addresses of the mail that became a
/// message, copied on its ticket — when the mail proved its sender and the sender may
/// change who is copied, under the rules of [`replace`] (a customer copies only people at
/// their organisation's domains). Unknown addresses are left alone: a mail header makes no
/// accounts. Those added are not mailed about it: they have the mail itself.
pub(super) async fn copy_from_mail(change: &mut Change<'_>, sender: &User, mail: Option<&ReceivedMail>) -> Result<()> {
    let Some(mail) = mail.filter(|mail| !mail.copied.is_empty()) else { return Ok(()) };
    let (requester_id, organisation_id) = (change.ticket.requester_id, change.ticket.organisation_id);
    let by_staff = sender.role.is_staff();
    if !(by_staff || mail.sender_verified && tickets::customer_may_manage(sender, requester_id, organisation_id)) {
        return Ok(());
    }
    let ticket_id = change.ticket.id;
    let before = copied_on(&mut **change.tx(), ticket_id).await?;
    let mut added = 0;
    for address in mail.copied.iter().take(CC_MAX) {
        let Some(User { id: user_id, role: Role::Customer, active: true, .. }) = account_at(change.tx(), address).await? else {
            continue;
        };
        let allowed = by_staff || at_domain_of(change.tx(), organisation_id, address).await?;
        if allowed
            && user_id != requester_id
            && !before.iter().any(|copied| copied.user_id == user_id)
            && before.len() + added < CC_MAX
        {
            let now = change.now;
            insert(change.tx(), ticket_id, user_id, now).await?;
            added += 1;
        }
    }
    if added > 0 {
        let after = copied_on(&mut **change.tx(), ticket_id).await?;
        record(change, &before, &after).await?;
    }
    Ok(())
}

/// For a ticket just opened by mail, inside the transaction that opens it: copies the
/// known customers in the mail's `Cc:`, a change of its own that commits with the ticket
/// (its word for live pages is handed back with the transaction, as `Change::finish` does).
pub async fn copy_on_new_ticket(
    db: &Db,
    tx: Tx,
    ticket_id: i64,
    sender: &User,
    mail: &ReceivedMail,
    now: Timestamp,
) -> Result<(Tx, String)> {
    let mut change = Change::within(db, tx, ticket_id, Some(sender.id), now).await?;
    copy_from_mail(&mut change, sender, Some(mail)).await?;
    change.finish(None).await
}
