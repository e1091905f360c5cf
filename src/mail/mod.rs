//! Outgoing mail: the worker that delivers the outbox over SMTP (or to the log when no
//! `SMTP_URL` is set), composing each mail from its notification when it is sent.

mod compose;
mod files;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::response::Category;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::domain::accounts::account_tokens::{self, Purpose};
use crate::domain::accounts::tokens;
use crate::domain::admin::settings::Settings;
use crate::domain::clock::Clock;
use crate::domain::mail::content::{self, Content};
use crate::domain::mail::intake::OwnMail;
use crate::domain::mail::outbox::{self, Claimed};
use crate::domain::mail::sender_trust;
use crate::files::FileStore;

pub use compose::{REPLY_MARKER, thread_root_id};

/// How often an idle worker looks for mail that has become due.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Where mail goes, and as whom.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// The domain of our Message-IDs, so replies can be recognised.
    domain: String,
    base_url: String,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let base_url = config.base_url();
        let host = base_url.split("://").nth(1).unwrap_or("localhost").split(['/', ':']).next().unwrap_or("localhost").to_owned();
        let from: Mailbox = match &config.mail_from {
            Some(address) => address.parse().with_context(|| format!("MAIL_FROM {address:?} is not a mail address"))?,
            None => format!("helpdesk@{host}").parse().context("no usable MAIL_FROM; set one")?,
        };
        let domain = from.email.domain().to_owned();
        let transport = match &config.smtp_url {
            Some(url) => Some(smtp_transport(url, config.smtp_ca_file.as_deref())?),
            None => None,
        };
        Ok(Self { transport, from, domain, base_url })
    }

    /// Our sending identity and what incoming mail must prove, for mail intake.
    pub fn own_mail<'a>(&'a self, config: &'a Config) -> OwnMail<'a> {
        OwnMail {
            address: self.from.email.as_ref(),
            domain: &self.domain,
            reply_marker: REPLY_MARKER,
            authserv_id: config.mail_authserv_id.as_deref(),
            require_auth: config.mail_require_auth,
        }
    }
}

/// The transport `SMTP_URL` describes; with `SMTP_CA_FILE`, its TLS also trusts the
/// authorities in that file.
fn smtp_transport(url: &str, ca_file: Option<&Path>) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .context("SMTP_URL must look like smtp://user:password@host:587?tls=required or smtps://host")?
        .timeout(Some(SMTP_TIMEOUT));
    let Some(ca_file) = ca_file else {
        return Ok(builder.build());
    };
    let pem = std::fs::read(ca_file).with_context(|| format!("SMTP_CA_FILE {} cannot be read", ca_file.display()))?;
    let no_certificates = || format!("SMTP_CA_FILE {} holds no PEM certificates", ca_file.display());
    anyhow::ensure!(pem.windows(27).any(|window| window == b"-----BEGIN CERTIFICATE-----"), no_certificates());
    let authorities = Certificate::from_pem(&pem).with_context(no_certificates)?;
    // `from_url` has understood the URL already; it is read again only for the TLS mode
    // and the name the server's certificate must carry.
    let url = url::Url::parse(url)?;
    let host = url.host_str().context("SMTP_URL names no host")?;
    let parameters = TlsParameters::builder(host.to_owned()).add_root_certificate(authorities).build()?;
    let tls_query = url.query_pairs().find(|(key, _)| key == "tls").map(|(_, value)| value.into_owned());
    let tls = match (url.scheme(), tls_query.as_deref()) {
        ("smtps", _) => Tls::Wrapper(parameters),
        (_, Some("required")) => Tls::Required(parameters),
        (_, Some("opportunistic")) => Tls::Opportunistic(parameters),
        _ => anyhow::bail!("SMTP_CA_FILE is set, but SMTP_URL asks for no TLS (add ?tls=required, or use smtps://)"),
    };
    Ok(builder.tls(tls).build())
}

/// Delivers mail until `stop` turns true; a delivery under way is finished first. Every
/// app instance runs one; claims keep them from sending a mail twice.
pub async fn run_worker(db: Db, clock: Arc<dyn Clock>, mailer: Mailer, store: FileStore, mut stop: watch::Receiver<bool>) {
    let worker = format!("{}-{}", std::process::id(), tokens::random_text(8));
    loop {
        if *stop.borrow() {
            return;
        }
        match deliver_next(&db, &mailer, &store, &worker, clock.now()).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "mail delivery failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
    }
}

/// Claims and delivers one due mail. `false` when none is due.
pub async fn deliver_next(db: &Db, mailer: &Mailer, store: &FileStore, worker: &str, now: i64) -> anyhow::Result<bool> {
    let Some(mail) = outbox::claim_next(db, worker, now).await? else {
        return Ok(false);
    };
    // Given once, on the first attempt, signed for its recipient and ticket, and kept for
    // every retry so that a mail sent twice is still one mail to the recipient's client.
    let message_id = match &mail.rfc_message_id {
        Some(id) => id.clone(),
        None => {
            let id = sender_trust::message_id(db.message_id_key().await?, &mail.recipient_email, mail.ticket_id, &mailer.domain);
            outbox::set_message_id(db, mail.id, &id).await?
        }
    };
    match deliver(db, mailer, store, &mail, &message_id, now).await {
        Ok(()) => outbox::mark_sent(db, mail.id, worker, now).await?,
        Err(failure) => {
            tracing::warn!(mail = mail.id, to = %mail.recipient_email, error = %failure.reason, permanent = failure.permanent, "mail not delivered");
            outbox::mark_attempt_failed(db, &mail, worker, &failure.reason, failure.permanent, now).await?;
        }
    }
    Ok(true)
}

struct Failure {
    reason: String,
    /// Trying again will not help (a refused address, a mail that cannot be composed).
    permanent: bool,
}

impl Failure {
    fn permanent(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), permanent: true }
    }
}

/// A 5xx answer about this mail (an unknown mailbox, a refused message) is final; one about
/// our own sign-in (530, 535: the `x3x` answers of RFC 4954) is a setting an admin will fix,
/// so the mail waits for it and is tried again.
fn refused_for_good(error: &lettre::transport::smtp::Error) -> bool {
    error.is_permanent() && error.status().is_none_or(|code| code.category != Category::Unspecified3)
}

async fn deliver(db: &Db, mailer: &Mailer, store: &FileStore, mail: &Claimed, message_id: &str, now: i64) -> Result<(), Failure> {
    let transient = |error: &dyn std::fmt::Display| Failure { reason: error.to_string(), permanent: false };
    let Some(content) = content::content(db, mail).await.map_err(|error| transient(&error))? else {
        return Err(Failure::permanent(
            "what it was about (its ticket or account) no longer exists, or is not the recipient's to see",
        ));
    };
    let settings = Settings::load(db).await.map_err(|error| transient(&error))?;
    // A one-time link is made now, for this mail alone: its secret is never stored.
    let link = |purpose: Purpose, user_id: i64| async move {
        let issued = account_tokens::issue(db, user_id, &mail.recipient_email, purpose, now).await;
        let secret = issued.map_err(|error| transient(&error))?;
        Ok::<_, Failure>(secret.map(|secret| format!("{}{}?token={secret}", mailer.base_url, purpose.path())))
    };
    let composed = match &content {
        Content::Ticket(notification) => {
            let password_link = match mail.recipient_id.filter(|_| notification.recipient_needs_password) {
                Some(user_id) => link(Purpose::Invite, user_id).await?,
                None => None,
            };
            let files = files::gather(store, &mailer.base_url, &notification.files, notification.attach_files).await;
            compose::message(mailer, mail, message_id, notification, &settings, compose::Extras { password_link, files })
        }
        Content::Account(account) => {
            let link = match account.kind.link_purpose() {
                // An account mail is its link: none for an address the account no longer has.
                Some(purpose) => match link(purpose, account.user_id).await? {
                    Some(link) => Some(link),
                    None => return Err(Failure::permanent("the account no longer has this address")),
                },
                None => None,
            };
            compose::account_message(mailer, mail, message_id, account, &settings, link)
        }
    };
    let composed = composed.map_err(|error| Failure::permanent(error.to_string()))?;
    match &mailer.transport {
        Some(transport) => transport
            .send(composed.message)
            .await
            .map(drop)
            .map_err(|error| Failure { permanent: refused_for_good(&error), reason: error.to_string() }),
        None => {
            // The text as a person reads it (not quoted-printable), so a link in it can be
            // copied from the log.
            let (to, subject, text) = (&mail.recipient_email, &composed.subject, &composed.text);
            tracing::info!(%to, %subject, "no SMTP_URL set; this mail is logged instead of sent:\n{text}");
            Ok(())
        }
    }
}
