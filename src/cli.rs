//! The commands of the `helpdesk` binary.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::{App, stop_signal};
use crate::config::{Cli, Command, Config, MailCommand, TokenCommand, UserCommand};
use crate::db::Db;
use crate::demo::{self, DemoOptions};
use crate::domain;
use crate::domain::accounts::api_tokens;
use crate::domain::accounts::password::Password;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::setup;
use crate::domain::accounts::users::{self, NewUser};
use crate::domain::admin::settings::Settings;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::email::Email;
use crate::domain::mail::intake::{self, Inbox, IngestError, Ingested};
use crate::files::FileStore;
use crate::mail::Mailer;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => {
            let db = Db::connect(&cli.config.database_url).await?;
            db.migrate().await?;
            println!("Database is up to date.");
            Ok(())
        }
        Command::Demo { tickets, password, force } => {
            let db = Db::connect(&cli.config.database_url).await?;
            db.migrate().await?;
            let options = DemoOptions { tickets, password, force };
            let summary = demo::seed(&db, &options, SystemClock.now()).await?;
            println!(
                "Seeded {} tickets with {} messages, {} staff and {} customers in {:.1} s.",
                summary.tickets, summary.messages, summary.agents, summary.customers, summary.seconds
            );
            println!("Sign in with password {:?} as:", options.password);
            println!("  admin@demo.test               (admin)");
            println!("  agent1@demo.test … agent{}@demo.test   (agents)", summary.agents - 1);
            println!("  customer1@demo.test … customer{}@demo.test   (customers)", summary.customers);
            Ok(())
        }
        Command::User { command: UserCommand::Create { email, name, role, generate_password } } => {
            create_user(&cli.config, &email, &name, role, generate_password).await
        }
        Command::Mail { command: MailCommand::Ingest } => ingest_mail(&cli.config).await,
        Command::Token { command: TokenCommand::Create { email, name } } => create_token(&cli.config, &email, &name).await,
    }
}

async fn create_token(config: &Config, email: &str, name: &str) -> anyhow::Result<()> {
    let address = Email::parse(email).map_err(|message| anyhow::anyhow!("email: {message}"))?;
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let user = users::find_by_email(&db, &address).await?.with_context(|| format!("no account has the address {email}"))?;
    anyhow::ensure!(user.active, "{} <{}> is deactivated", user.name, user.email);
    let secret = api_tokens::create(&db, user.id, name, None, SystemClock.now()).await.map_err(describe_invalid)?;
    println!("API token {name:?} for {} <{}> ({}); the secret is shown only now:", user.name, user.email, user.role);
    println!("{secret}");
    Ok(())
}

/// A failure the caller may retry: `helpdesk` exits with 75 (EX_TEMPFAIL), which tells
/// an MTA to keep the mail and try again later.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct TemporaryFailure(anyhow::Error);

async fn ingest_mail(config: &Config) -> anyhow::Result<()> {
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut raw).context("reading the mail from stdin")?;
    let mailer = Mailer::from_config(config)?;
    let db = Db::connect(&config.database_url).await.map_err(TemporaryFailure)?;
    db.migrate().await.map_err(TemporaryFailure)?;
    let settings = Settings::load(&db).await.map_err(|error| TemporaryFailure(error.into()))?;
    let own = mailer.own_mail(config);
    let files = FileStore::from_config(config).map_err(TemporaryFailure)?;
    let inbox = Inbox { db: &db, settings: &settings, files: &files, notify_email: config.notify_email.as_deref() };
    let outcome = intake::ingest(&inbox, &own, &raw, SystemClock.now()).await;
    match outcome {
        Ok(Ingested::Added(number)) => println!("Added to ticket {number}."),
        Ok(Ingested::Opened(number)) => println!("Opened ticket {number}."),
        Ok(Ingested::AlreadyReceived) => println!("Received before; nothing to add."),
        Err(IngestError::Refused(reason)) => anyhow::bail!("refused: {reason}"),
        Err(IngestError::Failed(error)) => return Err(TemporaryFailure(error.into()).into()),
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let base_url = config.base_url();
    let bind = config.bind;
    let app = App::new(config, clock.clone()).await?;
    let listener = TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    println!("Helpdesk is listening on {base_url} (bound to {})", listener.local_addr()?);
    if let Some(token) = setup::issue_token(app.db(), clock.now()).await? {
        println!("No admin account exists yet. Create one here (the link works once):");
        println!("  {base_url}/setup?token={token}");
    }
    app.serve(listener, stop_signal()).await?;
    println!("Helpdesk stopped.");
    Ok(())
}

async fn create_user(config: &Config, email: &str, name: &str, role: Role, generate_password: bool) -> anyhow::Result<()> {
    let password = if generate_password {
        Password::generate().expose().to_owned()
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_owned()
    };
    let new_user = NewUser::parse(name, email, &password, role).map_err(describe_invalid)?;
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let user = users::create(&db, &new_user, None, SystemClock.now()).await.map_err(describe_invalid)?;
    println!("Created {} {} <{}> (id {}).", user.role, user.name, user.email, user.id);
    if generate_password {
        println!("Password (shown only now): {password}");
    }
    Ok(())
}

fn describe_invalid(error: domain::Error) -> anyhow::Error {
    match error {
        domain::Error::Invalid(errors) => {
            let problems: Vec<String> = errors.iter().map(|(field, message)| format!("{field}: {message}")).collect();
            anyhow::anyhow!("{}", problems.join("; "))
        }
        other => other.into(),
    }
}
