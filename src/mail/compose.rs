//! A notification as a mail: subject, threading headers, and text and HTML bodies
//! rendered from `templates/email/`.

use askama::Template;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::Mailer;
use crate::domain::admin::settings::Settings;
use crate::domain::mail::outbox::{Claimed, MailContent, Notification};

/// Everything a reply quotes below this line is cut off when it comes back.
pub const REPLY_MARKER: &str = "## Reply above this line ##";

/// The Message-ID every mail of a ticket refers to as the start of its thread. Mail
/// clients group by it even though no mail carries it as its own id.
pub fn thread_root_id(ticket_number: i64, domain: &str) -> String {
    format!("<ticket-{ticket_number}@{domain}>")
}

/// What both bodies show.
pub struct MailView {
    organisation: String,
    greeting: String,
    intro: String,
    /// The public message the mail is about: author and text.
    message: Option<(String, String)>,
    link: String,
    /// Whether replying to the mail adds to the ticket.
    reply_by_mail: bool,
    marker: &'static str,
}

#[derive(Template)]
#[template(path = "email/notification.txt")]
struct TextBody<'a> {
    mail: &'a MailView,
}

#[derive(Template)]
#[template(path = "email/notification.html")]
struct HtmlBody<'a> {
    mail: &'a MailView,
}

fn view(mailer: &Mailer, content: &MailContent, settings: &Settings) -> MailView {
    let reference = format!("{}{}", content.ticket_prefix, content.ticket_number);
    let intro = match content.kind {
        Notification::TicketCreated => {
            format!("We have received your request and will answer soon. Its reference is {reference}.")
        }
        Notification::NewTicketAlert => format!("{} sent a new request, {reference}.", content.requester_name),
        Notification::AgentReplied => format!("There is a new reply on your request {reference}."),
        Notification::CustomerReplied => {
            format!("{} wrote on {reference}.", content.requester_name)
        }
        Notification::Assigned => format!("{reference} from {} is now assigned to you.", content.requester_name),
        Notification::Resolved => format!(
            "We have marked your request {reference} as resolved. If it is not fixed, reply to this mail \
             within {} hours and it opens again.",
            settings.auto_close_hours
        ),
        Notification::Closed => {
            format!("Your request {reference} is closed. To follow up, reply to this mail to open a new request.")
        }
    };
    let path = if content.recipient_is_staff { "desk/tickets" } else { "tickets" };
    MailView {
        organisation: settings.organisation_name.clone(),
        greeting: content.recipient_name.as_deref().map_or_else(|| "Hello,".to_owned(), |name| format!("Hello {name},")),
        intro,
        message: content.message.clone(),
        link: format!("{}/{path}/{}", mailer.base_url, content.ticket_number),
        reply_by_mail: !matches!(content.kind, Notification::Assigned | Notification::NewTicketAlert),
        marker: REPLY_MARKER,
    }
}

pub fn message(mailer: &Mailer, mail: &Claimed, content: &MailContent, settings: &Settings) -> anyhow::Result<Message> {
    let view = view(mailer, content, settings);
    let text = TextBody { mail: &view }.render()?;
    let html = HtmlBody { mail: &view }.render()?;
    let tag = format!("[{}{}]", content.ticket_prefix, content.ticket_number);
    let subject = match content.kind {
        Notification::TicketCreated | Notification::NewTicketAlert => {
            format!("{tag} {}", content.ticket_subject)
        }
        _ => format!("Re: {tag} {}", content.ticket_subject),
    };
    let from = Mailbox::new(Some(settings.organisation_name.clone()), mailer.from.email.clone());
    let root = thread_root_id(content.ticket_number, &mailer.domain);
    let auto_submitted = HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".to_owned());
    Ok(Message::builder()
        .from(from.clone())
        .reply_to(from)
        .to(mail.recipient_email.parse()?)
        .subject(subject)
        .message_id(Some(mail.rfc_message_id.clone()))
        .in_reply_to(root.clone())
        .references(root)
        .raw_header(auto_submitted)
        .multipart(MultiPart::alternative_plain_html(text, html))?)
}
