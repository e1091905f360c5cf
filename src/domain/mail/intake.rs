//! Mail coming in: a reply becomes a message on its ticket, a new mail from a customer
//! opens one. Everything else is refused with a reason, and then nothing is written.

use mail_parser::{Message, MessageParser};

use crate::db::Db;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::users::{self, User};
use crate::domain::admin::settings::Settings;
use crate::domain::attachments::KeptFile;
use crate::domain::clock::Timestamp;
use crate::domain::conversation::{Visibility, customer, staff};
use crate::domain::email::Email;
use crate::domain::mail::attached;
use crate::domain::mail::headers::{automatic, copied, replied_to};
use crate::domain::mail::quoting::{clean_subject, reply_text, tag_in_subject};
use crate::domain::mail::received::ReceivedMail;
use crate::domain::mail::sender_trust;
use crate::domain::organisations;
use crate::domain::tickets::{self, ALREADY_RECEIVED, NewTicket, Ticket, parse_subject};
use crate::domain::tickets::{Status, TicketNumber};
use crate::domain::{Error, Result};
use crate::files::FileStore;

/// Our own sending identity (so that our mail coming back is recognised) and what we take
/// as proof of a sender (see [`sender_trust`]).
pub struct OwnMail<'a> {
    /// The address notifications are sent from.
    pub address: &'a str,
    /// The domain of the Message-IDs we give out.
    pub domain: &'a str,
    /// The line our mails ask replies to be written above.
    pub reply_marker: &'a str,
    /// The mail server whose `Authentication-Results` we believe (`MAIL_AUTHSERV_ID`).
    pub authserv_id: Option<&'a str>,
    /// Refuse customer mail without proof of its sender (`MAIL_REQUIRE_AUTH`) rather than
    /// marking it.
    pub require_auth: bool,
}

/// What the mail proves about its sender.
struct Proof {
    /// Tickets whose notifications, sent to the sender, the mail answers.
    tickets: Vec<i64>,
    /// Our mail server vouches for the From domain.
    authenticated: bool,
}

impl Proof {
    fn of(mail: &Message<'_>, key: &str, from: &str, own: &OwnMail<'_>) -> Self {
        let tickets = sender_trust::proven_tickets(key, replied_to(mail), from);
        let from_domain = from.rsplit('@').next().unwrap_or_default();
        let authenticated = own.authserv_id.is_some_and(|server| {
            mail.headers_raw()
                .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
                .any(|(_, value)| sender_trust::authenticated(&value.replace(['\r', '\n'], " "), server, from_domain))
        });
        Self { tickets, authenticated }
    }

    fn covers(&self, ticket_id: i64) -> bool {
        self.authenticated || self.tickets.contains(&ticket_id)
    }
}

/// Who wrote: someone with an account, or someone new at the mail domain of an
/// organisation we serve, who becomes its contact when their mail opens a ticket (a reply
/// from them answers nothing of theirs yet).
enum Sender {
    Known(User),
    Newcomer(Email),
}

/// What a refusal says to someone we do not know.
fn stranger(from: &str) -> String {
    format!("{from} is not a known user; only registered customers, staff and people at a client's domain can write in.")
}

/// What a refusal says when proof of the sender is required and there is none.
const UNVERIFIED: &str = "Refused: the sender could not be verified (no reply to our mail, no passing DMARC or DKIM).";

/// What a refusal says about a ticket the sender may not write on, whether it exists or not.
const NOT_YOURS: &str = "Refused: this mail answers no request its sender may write on.";

#[derive(Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Added to an existing ticket.
    Added(TicketNumber),
    /// A new ticket (possibly a follow-up of a closed one).
    Opened(TicketNumber),
    /// The same mail was delivered before; it is on this ticket already.
    AlreadyReceived,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The mail is not for us to take; the reason says why.
    #[error("{0}")]
    Refused(String),
    /// Something failed that may work on another try (the database, say).
    #[error(transparent)]
    Failed(#[from] Error),
}

fn refuse<T>(reason: impl Into<String>) -> Result<T, IngestError> {
    Err(IngestError::Refused(reason.into()))
}

/// Where a mail goes and what it may bring: the database, the settings, the file store, and
/// who is told of a new ticket.
pub struct Inbox<'a> {
    pub db: &'a Db,
    pub settings: &'a Settings,
    pub files: &'a FileStore,
    pub notify_email: Option<&'a str>,
}

/// Takes one RFC 5322 message, with its files.
pub async fn ingest(inbox: &Inbox<'_>, own: &OwnMail<'_>, raw: &[u8], now: Timestamp) -> Result<Ingested, IngestError> {
    let Inbox { db, settings, .. } = *inbox;
    let Some(mail) = MessageParser::default().parse(raw).filter(|mail| mail.from().is_some() || mail.subject().is_some()) else {
        return refuse("This is not an RFC 5322 mail message.");
    };
    let Some(from) = mail.from().and_then(|from| from.first()).and_then(|from| from.address()) else {
        return refuse("The mail has no From address.");
    };
    if let Some(reason) = automatic(&mail, from, own) {
        return refuse(reason);
    }
    let message_id = mail.message_id().map(|id| format!("<{id}>"));
    if let Some(id) = &message_id {
        // Only ids we issued are ours: a mail system sharing our domain is anyone else's.
        let ours: Option<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE rfc_message_id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await
            .map_err(Error::from)?;
        if ours.is_some() {
            return refuse("The mail carries one of our own Message-IDs.");
        }
    }
    let sender = match Email::parse(from) {
        Ok(address) => match users::find_by_email(db, &address).await? {
            Some(user) if user.active => Some(Sender::Known(user)),
            Some(_) => None,
            None => organisations::of_address(db.pool(), address.as_str()).await?.map(|_| Sender::Newcomer(address)),
        },
        Err(_) => None,
    };
    // A deactivated account gets the same words as a stranger: a bounce tells nobody which
    // addresses have accounts.
    let Some(sender) = sender else { return refuse(stranger(from)) };
    let body = reply_text(&mail, own.reply_marker);
    if body.trim().is_empty() && mail.attachments().all(|part| part.is_empty()) {
        return refuse("The mail has no text above the quoted conversation.");
    }

    let proof = Proof::of(&mail, db.message_id_key().await.map_err(Error::from)?, from, own);
    if own.require_auth && proof.tickets.is_empty() && !proof.authenticated {
        // Nothing proven at all: refused before any ticket is looked at, so the answer tells
        // nothing about whose ticket it is.
        return refuse(UNVERIFIED);
    }
    let intake = Intake {
        db,
        settings,
        notify_email: inbox.notify_email,
        message_id: message_id.as_deref(),
        proof,
        require_auth: own.require_auth,
        mail: &mail,
        copied: copied(&mail, own),
        store: inbox.files,
        now,
    };
    let outcome = match (ticket_of(db, &mail, own, &settings.ticket_prefix).await?, &sender) {
        (Some(number), Sender::Known(user)) => intake.add_to_ticket(user, number, &body).await,
        (Some(_), Sender::Newcomer(_)) => refuse(NOT_YOURS),
        (None, sender) => intake.open_ticket(sender, &mail, &body).await,
    };
    match outcome {
        Err(IngestError::Failed(Error::Conflict(reason))) if reason == ALREADY_RECEIVED => Ok(Ingested::AlreadyReceived),
        Err(IngestError::Failed(Error::Invalid(errors))) => refuse(errors.summary()),
        Err(IngestError::Failed(Error::Conflict(reason))) => refuse(reason),
        other => other,
    }
}

/// The ticket a mail answers: by `[PREFIX-1001]` in the subject, else by the
/// Message-IDs it replies to — our notifications', the thread's, or an earlier mail's. A
/// tag with the prefix in force names its ticket whether or not it exists, so that what
/// becomes of the mail (refused, either way, when it is not the sender's) tells nobody
/// which numbers exist.
async fn ticket_of(db: &Db, mail: &Message<'_>, own: &OwnMail<'_>, prefix_in_force: &str) -> Result<Option<TicketNumber>> {
    if let Some((prefix, number)) = mail.subject().and_then(tag_in_subject) {
        let stored: Option<String> = sqlx::query_scalar("SELECT prefix FROM tickets WHERE number = $1")
            .bind(number.get())
            .fetch_optional(db.pool())
            .await?;
        if stored.is_some_and(|stored| stored.eq_ignore_ascii_case(&prefix)) || prefix.eq_ignore_ascii_case(prefix_in_force) {
            return Ok(Some(number));
        }
    }
    for id in replied_to(mail).iter().rev() {
        let root = id.strip_prefix("ticket-").and_then(|rest| rest.strip_suffix(&format!("@{}", own.domain)));
        if let Some(number) = root.and_then(TicketNumber::parse) {
            return Ok(Some(number));
        }
        let bracketed = format!("<{id}>");
        let number: Option<TicketNumber> = sqlx::query_scalar(
            "SELECT t.number FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE o.rfc_message_id = $1 \
             UNION SELECT t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.email_message_id = $1",
        )
        .bind(&bracketed)
        .fetch_optional(db.pool())
        .await?;
        if let Some(number) = number {
            return Ok(Some(number));
        }
    }
    Ok(None)
}

/// What every step of taking a mail in needs.
struct Intake<'a> {
    db: &'a Db,
    settings: &'a Settings,
    notify_email: Option<&'a str>,
    /// The mail's own Message-ID, stored with the message it becomes.
    message_id: Option<&'a str>,
    proof: Proof,
    require_auth: bool,
    /// The mail itself, for its files.
    mail: &'a Message<'a>,
    /// The addresses it copies, but ours.
    copied: Vec<Email>,
    store: &'a FileStore,
    now: Timestamp,
}

impl Intake<'_> {
    /// The mail as stored with its message: its id, and whether it proved its sender for
    /// this ticket (`None`: a new one). Without proof, a customer's mail is marked, or
    /// refused where proof is required.
    fn received(&self, ticket_id: Option<i64>) -> Result<ReceivedMail, IngestError> {
        let sender_verified = match ticket_id {
            Some(ticket_id) => self.proof.covers(ticket_id),
            None => self.proof.authenticated,
        };
        if !sender_verified && self.require_auth {
            return refuse(UNVERIFIED);
        }
        Ok(ReceivedMail { message_id: self.message_id.map(str::to_owned), sender_verified, copied: self.copied.clone() })
    }

    /// The mail's files kept (once the mail is known to be taken: no refusal keeps anything),
    /// and its text with those left out named under it.
    async fn files_and_text(&self, body: &str) -> Result<(String, Vec<KeptFile>), IngestError> {
        let files = attached::keep(self.db, self.store, self.mail, self.now).await?;
        Ok((files.under_text(body), files.kept))
    }

    async fn add_to_ticket(&self, sender: &User, number: TicketNumber, body: &str) -> Result<Ingested, IngestError> {
        let (db, now) = (self.db, self.now);
        let ticket = match tickets::find_for_viewer(db, number, sender).await {
            Ok(ticket) => ticket,
            Err(Error::NotFound) => return refuse(NOT_YOURS),
            Err(error) => return Err(error.into()),
        };
        if sender.role.is_staff() {
            // A staff reply goes to the customer from our own address: it must be the
            // agent's, or anyone could write to customers in our name.
            if !self.proof.covers(ticket.id) {
                return refuse(NOT_YOURS);
            }
            let mail = Some(self.received(Some(ticket.id))?);
            let (body, files) = self.files_and_text(body).await?;
            let body = tickets::parse_body(&body, "The reply").map_err(IngestError::Refused)?;
            let reply = staff::Reply { mail, files, ..staff::Reply::new(body, Visibility::Public) };
            staff::reply(db, &ticket, sender, &reply, now).await?;
            return Ok(Ingested::Added(number));
        }
        match ticket.status {
            Status::Closed => self.open_follow_up(sender, &ticket, body).await,
            Status::Resolved => match self.reopen(&ticket, sender, body).await {
                Ok(()) => Ok(Ingested::Added(number)),
                // Closed in effect (the auto-close window passed): a follow-up, as on the page.
                Err(IngestError::Failed(Error::Conflict(reason))) if reason != ALREADY_RECEIVED => {
                    self.open_follow_up(sender, &ticket, body).await
                }
                Err(error) => Err(error),
            },
            _ => {
                let mail = Some(self.received(Some(ticket.id))?);
                let (body, files) = self.files_and_text(body).await?;
                let reply = customer::Reply { mail, files, ..customer::Reply::parse(&body)? };
                customer::reply(db, &ticket, sender, &reply, now).await?;
                Ok(Ingested::Added(number))
            }
        }
    }

    async fn reopen(&self, ticket: &Ticket, customer: &User, body: &str) -> Result<(), IngestError> {
        let mail = Some(self.received(Some(ticket.id))?);
        let (body, files) = self.files_and_text(body).await?;
        let reopen = customer::Reopen { mail, files, ..customer::Reopen::parse(&body)? };
        Ok(customer::reopen(self.db, self.settings, ticket, customer, &reopen, self.now).await?)
    }

    async fn open_follow_up(&self, customer: &User, closed: &Ticket, body: &str) -> Result<Ingested, IngestError> {
        let subject = format!("Follow-up: {}", closed.subject);
        self.new_ticket(&Sender::Known(customer.clone()), &subject, body, Some(closed)).await
    }

    async fn open_ticket(&self, sender: &Sender, mail: &Message<'_>, body: &str) -> Result<Ingested, IngestError> {
        match sender {
            Sender::Known(user) if user.role != Role::Customer => {
                return refuse("Staff cannot open tickets by mail; open it on the desk on the customer's behalf.");
            }
            // A new contact is made only from mail our server vouches for: anyone can
            // write a client's domain into a From line.
            Sender::Newcomer(address) if !self.proof.authenticated => return refuse(stranger(address.as_str())),
            _ => {}
        }
        let subject =
            mail.subject().map(clean_subject).filter(|subject| !subject.is_empty()).unwrap_or_else(|| "(no subject)".into());
        self.new_ticket(sender, &subject, body, None).await
    }

    /// A new ticket from `customer`; a newcomer's account is made once nothing else refuses
    /// the mail.
    async fn new_ticket(
        &self,
        customer: &Sender,
        subject: &str,
        body: &str,
        follow_up_of: Option<&Ticket>,
    ) -> Result<Ingested, IngestError> {
        // The oldest public group takes mail: on a fresh installation, "General".
        let group_id: Option<i64> = sqlx::query_scalar("SELECT id FROM groups WHERE public = TRUE ORDER BY id LIMIT 1")
            .fetch_optional(self.db.pool())
            .await
            .map_err(Error::from)?;
        let Some(group_id) = group_id else {
            return refuse("No public group takes new requests.");
        };
        let subject: String = subject.chars().take(tickets::SUBJECT_MAX).collect();
        let subject = parse_subject(&subject).map_err(IngestError::Refused)?;
        let mail = Some(self.received(follow_up_of.map(|closed| closed.id))?);
        let (body, files) = self.files_and_text(body).await?;
        let new_ticket = NewTicket {
            subject,
            group_id,
            priority: Default::default(),
            message: tickets::parse_body(&body, "The message").map_err(IngestError::Refused)?,
            follow_up_of: follow_up_of.map(|closed| closed.number),
            mail,
            files,
            // A mail fills no fields, required or not: staff set them on the desk.
            fields: Vec::new(),
        };
        let customer = match customer {
            Sender::Known(user) => user.clone(),
            Sender::Newcomer(address) => users::find_or_create_customer(self.db, address, None, self.now).await?,
        };
        let number =
            tickets::create(self.db, self.settings, &customer, &customer, &new_ticket, self.notify_email, self.now).await?;
        Ok(Ingested::Opened(number))
    }
}
