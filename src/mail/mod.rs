//! Outgoing mail: the worker that delivers the outbox over SMTP (or to the log when no
//! `SMTP_URL` is set), composing each mail from its notification when it is sent.

mod compose;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::domain::accounts::tokens;
use crate::domain::admin::settings::Settings;
use crate::domain::clock::Clock;
use crate::domain::mail::outbox::{self, Claimed};

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
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("SMTP_URL must look like smtp://user:password@host:587?tls=required or smtps://host")?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            None => None,
        };
        Ok(Self { transport, from, domain, base_url })
    }

    pub fn from_address(&self) -> &str {
        self.from.email.as_ref()
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }
}

/// Delivers mail until `stop` turns true; a delivery under way is finished first. Every
/// app instance runs one; claims keep them from sending a mail twice.
pub async fn run_worker(db: Db, clock: Arc<dyn Clock>, mailer: Mailer, mut stop: watch::Receiver<bool>) {
    let worker = format!("{}-{}", std::process::id(), tokens::random_text(8));
    loop {
        if *stop.borrow() {
            return;
        }
        match deliver_next(&db, &mailer, &worker, clock.now()).await {
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
pub async fn deliver_next(db: &Db, mailer: &Mailer, worker: &str, now: i64) -> anyhow::Result<bool> {
    let message_id = format!("<{}@{}>", tokens::random_text(20), mailer.domain);
    let Some(mail) = outbox::claim_next(db, worker, &message_id, now).await? else {
        return Ok(false);
    };
    match deliver(db, mailer, &mail).await {
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

async fn deliver(db: &Db, mailer: &Mailer, mail: &Claimed) -> Result<(), Failure> {
    let transient = |error: &dyn std::fmt::Display| Failure { reason: error.to_string(), permanent: false };
    let Some(content) = outbox::content(db, mail).await.map_err(|error| transient(&error))? else {
        return Err(Failure::permanent("its ticket no longer exists"));
    };
    let settings = Settings::load(db).await.map_err(|error| transient(&error))?;
    let message = compose::message(mailer, mail, &content, &settings).map_err(|error| Failure::permanent(error.to_string()))?;
    match &mailer.transport {
        Some(transport) => transport
            .send(message)
            .await
            .map(drop)
            .map_err(|error| Failure { permanent: error.is_permanent(), reason: error.to_string() }),
        None => {
            let text = String::from_utf8_lossy(&message.formatted()).into_owned();
            tracing::info!(to = %mail.recipient_email, "no SMTP_URL set; this mail is logged instead of sent:\n{text}");
            Ok(())
        }
    }
}
