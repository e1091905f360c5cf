//! A notification as a mail: subject, threading headers, and text and HTML bodies
//! rendered from `templates/email/`.

use askama::Template;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder, MultiPart, SinglePart};

use super::Mailer;
use super::files::MailFile;
use crate::domain::admin::settings::Settings;
use crate::domain::mail::account_mail::AccountMail;
use crate::domain::mail::content::{AccountContent, MailContent};
use crate::domain::mail::notification::Notification;
use crate::domain::mail::outbox::Claimed;

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
    /// For a customer with no password yet: where to set one.
    password_link: Option<String>,
    /// The message's files, attached or linked.
    files: Vec<MailFile>,
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

fn view(
    mailer: &Mailer,
    content: &MailContent,
    settings: &Settings,
    password_link: Option<String>,
    files: Vec<MailFile>,
) -> MailView {
    let reference = content.ticket_number.reference(&content.ticket_prefix);
    // Those copied are told whose request it is.
    let request = if content.recipient_is_requester {
        format!("your request {reference}")
    } else {
        format!("the request {reference} from {}", content.requester_name)
    };
    let intro = match content.kind {
        Notification::TicketCreated => {
            format!("We have received your request and will answer soon. Its reference is {reference}.")
        }
        Notification::NewTicketAlert => format!("{} sent a new request, {reference}.", content.requester_name),
        Notification::AgentReplied => format!("There is a new reply on {request}."),
        Notification::ParticipantReplied => format!("There is a new message on {request}."),
        Notification::Copied => {
            format!("You are copied on {request}. You will get its replies by mail, and can answer by replying to them.")
        }
        Notification::CustomerReplied => {
            format!("{} wrote on {reference}.", content.requester_name)
        }
        Notification::Assigned => format!("{reference} from {} is now assigned to you.", content.requester_name),
        Notification::Resolved => format!(
            "We have marked {request} as resolved. If it is not fixed, reply to this mail \
             within {} hours and it opens again.",
            settings.auto_close_hours
        ),
        Notification::Closed => {
            format!("We have closed {request}. To follow up, reply to this mail to open a new request.")
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
        password_link,
        files,
    }
}

/// A mail ready to send, with its subject and text part as a person reads them.
pub struct Composed {
    pub message: Message,
    pub subject: String,
    pub text: String,
}

/// What a notification holds besides its content: a link to set a password, the files.
pub struct Extras {
    pub password_link: Option<String>,
    pub files: Vec<MailFile>,
}

/// A ticket notification, with its signed Message-ID and its place in the ticket's thread.
pub fn message(
    mailer: &Mailer,
    mail: &Claimed,
    message_id: &str,
    content: &MailContent,
    settings: &Settings,
    extras: Extras,
) -> anyhow::Result<Composed> {
    let mut view = view(mailer, content, settings, extras.password_link, extras.files);
    let text = TextBody { mail: &view }.render()?;
    let html = HtmlBody { mail: &view }.render()?;
    let tag = format!("[{}]", content.ticket_number.reference(&content.ticket_prefix));
    let subject = match content.kind {
        Notification::TicketCreated | Notification::NewTicketAlert => {
            format!("{tag} {}", content.ticket_subject)
        }
        _ => format!("Re: {tag} {}", content.ticket_subject),
    };
    let root = thread_root_id(content.ticket_number.get(), &mailer.domain);
    let mut body = MultiPart::alternative_plain_html(text.clone(), html);
    let attached: Vec<SinglePart> =
        view.files.iter_mut().filter_map(|file| file.take_part().transpose()).collect::<anyhow::Result<_>>()?;
    if !attached.is_empty() {
        body = attached.into_iter().fold(MultiPart::mixed().multipart(body), MultiPart::singlepart);
    }
    let message = envelope(mailer, mail, message_id, settings, subject.clone())?
        .in_reply_to(root.clone())
        .references(root)
        .multipart(body)?;
    Ok(Composed { message, subject, text })
}

/// What both bodies of an account mail show.
pub struct AccountView {
    organisation: String,
    subject: &'static str,
    greeting: String,
    intro: String,
    link: Option<String>,
    link_note: String,
    closing: &'static str,
}

#[derive(Template)]
#[template(path = "email/account.txt")]
struct AccountText<'a> {
    mail: &'a AccountView,
}

#[derive(Template)]
#[template(path = "email/account.html")]
struct AccountHtml<'a> {
    mail: &'a AccountView,
}

/// A mail about the recipient's account, with its one-time link if it has one.
pub fn account_message(
    mailer: &Mailer,
    mail: &Claimed,
    message_id: &str,
    content: &AccountContent,
    settings: &Settings,
    link: Option<String>,
) -> anyhow::Result<Composed> {
    let organisation = &settings.organisation_name;
    let (intro, closing) = match content.kind {
        AccountMail::VerifyEmail => (
            format!("Thank you for registering with {organisation}. Open this link to confirm that this address is yours:"),
            "If you did not register, ignore this mail: nothing happens without the link.",
        ),
        AccountMail::PasswordReset => (
            "Someone (we hope you) asked to reset your password. Open this link to choose a new one:".to_owned(),
            "If you did not ask, ignore this mail: your password stays as it is.",
        ),
        AccountMail::Invitation => (
            format!("An account at {organisation} was made for you. Open this link to choose your password:"),
            "Your sign-in is this address and the password you choose.",
        ),
        AccountMail::AccountExists => (
            format!(
                "Someone tried to register at {organisation} with this address, which already has an account. \
                 If it was you, sign in with your password, or open this link to choose a new one:"
            ),
            "If it was not you, ignore this mail: nothing changed.",
        ),
        AccountMail::SignInAttempts => (
            format!(
                "Someone has been trying wrong passwords to sign in to your account at {organisation}. Your password \
                 still works from your own devices; further attempts from theirs are refused for a while."
            ),
            "If that was not you, choose a strong password you use nowhere else, and turn on two-factor sign-in.",
        ),
        AccountMail::TwoFactorReset => (
            format!(
                "An administrator at {organisation} turned off two-factor sign-in for your account, and signed it out \
                 everywhere. Until you turn it on again from your profile, your password alone signs you in."
            ),
            "If you did not ask for this, tell your administrator at once and change your password.",
        ),
    };
    let view = AccountView {
        organisation: organisation.clone(),
        subject: content.kind.label(),
        // Whoever registers chooses the name: a confirmation may reach someone else's
        // mailbox, so it greets no one by a name they did not give.
        greeting: match content.kind {
            AccountMail::VerifyEmail => "Hello,".to_owned(),
            _ => format!("Hello {},", content.recipient_name),
        },
        intro,
        link,
        link_note: content
            .kind
            .link_purpose()
            .map(|purpose| format!("The link works once, for {}.", span_words(purpose.lifetime())))
            .unwrap_or_default(),
        closing,
    };
    let text = AccountText { mail: &view }.render()?;
    let html = AccountHtml { mail: &view }.render()?;
    let subject = content.kind.label().to_owned();
    let message = envelope(mailer, mail, message_id, settings, subject.clone())?
        .multipart(MultiPart::alternative_plain_html(text.clone(), html))?;
    Ok(Composed { message, subject, text })
}

/// "1 hour", "24 hours", "7 days".
fn span_words(seconds: i64) -> String {
    match seconds / 3600 {
        1 => "1 hour".into(),
        hours if hours <= 24 => format!("{hours} hours"),
        hours => format!("{} days", hours / 24),
    }
}

/// What every mail we send carries: our name and address, the recipient, the subject, its
/// own Message-ID, and `Auto-Submitted` so that auto-responders stay quiet.
fn envelope(
    mailer: &Mailer,
    mail: &Claimed,
    message_id: &str,
    settings: &Settings,
    subject: String,
) -> anyhow::Result<MessageBuilder> {
    let from = Mailbox::new(Some(settings.organisation_name.clone()), mailer.from.email.clone());
    let auto_submitted = HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".to_owned());
    Ok(Message::builder()
        .from(from.clone())
        .reply_to(from)
        .to(mail.recipient_email.parse()?)
        .subject(subject)
        .message_id(Some(message_id.to_owned()))
        .raw_header(auto_submitted))
}
