//! Command line and configuration: every setting is an environment variable with a
//! `--flag` twin.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::domain::accounts::role::Role;

#[derive(Parser, Debug)]
#[command(name = "helpdesk", version, about = "A self-hosted helpdesk")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Clone, Debug)]
pub struct Config {
    /// `sqlite://file.db` (created if missing) or `postgres://user@host/database`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://helpdesk.db", global = true)]
    pub database_url: String,
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:3000", global = true)]
    pub bind: SocketAddr,
    /// The address users reach Helpdesk at, for links in emails; `https://` turns on
    /// secure cookies. Defaults to `http://` and the bind address.
    #[arg(long, env = "BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Outgoing mail server, e.g. `smtp://user:pass@mail.example.com:587`. Unset: mail is logged.
    #[arg(long, env = "SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// Certificates (PEM) to trust for the mail server's TLS besides the public authorities,
    /// for a server with a certificate of the organisation's own authority.
    #[arg(long, env = "SMTP_CA_FILE", global = true)]
    pub smtp_ca_file: Option<PathBuf>,
    /// Sender address of outgoing mail.
    #[arg(long, env = "MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Address told of every new ticket.
    #[arg(long, env = "NOTIFY_EMAIL", global = true)]
    pub notify_email: Option<String>,
    /// The secret a mail service presents (`Authorization: Bearer …`) to POST raw mail to
    /// `/mail/inbound`. Unset: that route does not exist.
    #[arg(long, env = "MAIL_INGEST_TOKEN", global = true, hide_env_values = true)]
    pub mail_ingest_token: Option<String>,
    /// Reverse proxies (load balancers) in front of Helpdesk, by address, comma-separated.
    /// A request from one of them counts as coming from the client it names in
    /// `X-Forwarded-For` (for the sign-in limit). Unset: the connection's own address.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<IpAddr>,
    /// Where attachments (with `ATTACHMENT_STORE=file`) and uploads on their way in are kept.
    #[arg(long, env = "DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// `file` (under `DATA_DIR/attachments`) or an S3-compatible bucket, `s3://bucket/prefix`,
    /// which several instances can share.
    #[arg(long, env = "ATTACHMENT_STORE", default_value = "file", global = true)]
    pub attachment_store: String,
    /// The bucket's server, e.g. `https://s3.eu-central-1.amazonaws.com` or a MinIO address.
    #[arg(long, env = "S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", global = true, hide_env_values = true)]
    pub aws_access_key_id: Option<String>,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", global = true, hide_env_values = true)]
    pub aws_secret_access_key: Option<String>,
    #[arg(long, env = "AWS_REGION", global = true)]
    pub aws_region: Option<String>,
    /// The largest attachment taken, in MiB (at most 10 files a message).
    #[arg(long, env = "MAX_ATTACHMENT_MB", default_value_t = 25, global = true,
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_attachment_mb: u64,
    /// The `authserv-id` our own mail server writes in `Authentication-Results`: only its
    /// results are believed (it must remove any such header a sender wrote).
    #[arg(long, env = "MAIL_AUTHSERV_ID", global = true)]
    pub mail_authserv_id: Option<String>,
    /// `1`: refuse customer mail whose sender is not proven, instead of marking it.
    #[arg(long, env = "MAIL_REQUIRE_AUTH", global = true, default_value = "false", action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub mail_require_auth: bool,
    /// Seconds between rounds of background work: auto-closing, expired sessions, old
    /// sign-in failures and spent links (one round also runs right at start); at most a day.
    #[arg(long, env = "MAINTENANCE_INTERVAL", default_value_t = 600, global = true,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub maintenance_interval: u64,
}

impl Config {
    /// The secret of `POST /mail/inbound`; an empty one is no secret, and leaves the route off.
    pub fn mail_ingest_token(&self) -> Option<&str> {
        self.mail_ingest_token.as_deref().map(str::trim).filter(|token| !token.is_empty())
    }

    /// A configuration with every default, for the given database — defaults only: nothing
    /// is read from this machine's environment (`SMTP_URL`, `BASE_URL`, …), so tests and
    /// benchmarks behave the same wherever they run.
    pub fn for_database(database_url: &str) -> Self {
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let matches = command.get_matches_from(["helpdesk"]);
        let mut config = Cli::from_arg_matches(&matches).expect("the defaults parse").config;
        config.database_url = database_url.to_owned();
        config
    }

    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.bind.ip().is_unspecified() => {
                format!("http://127.0.0.1:{}", self.bind.port())
            }
            None => format!("http://{}", self.bind),
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url().starts_with("https://")
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Seed a demo installation: groups, agents, customers and tickets in every status.
    Demo {
        /// How many tickets.
        #[arg(long, default_value_t = 200)]
        tickets: usize,
        /// The password of every demo account.
        #[arg(long, default_value = "demo-password")]
        password: String,
        /// Add the demo even though the database already has tickets.
        #[arg(long)]
        force: bool,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Take in mail.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for an account and print its secret, once, alone on the last
    /// line (for scripts: `helpdesk token create … | tail -n 1`).
    Create {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// What the token is for, as listed on the account's page.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// Read one RFC 5322 message on stdin (for an MTA pipe): a reply joins its ticket, a
    /// new mail from a customer opens one. Refusals exit 1 with the reason on stderr;
    /// failures worth retrying (the database is away) exit 75.
    Ingest,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. The password is read from stdin (one line) unless
    /// --generate-password is given.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Generate a password and print it once.
        #[arg(long)]
        generate_password: bool,
    },
}

fn parse_role(input: &str) -> Result<Role, String> {
    input.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_defaults_to_the_bind_address() {
        // The machine's own setting is not read by the defaults.
        // SAFETY: no other test of this crate reads or writes BASE_URL.
        unsafe { std::env::set_var("BASE_URL", "https://leaked.example") };
        let mut config = Config::for_database("sqlite://x.db");
        unsafe { std::env::remove_var("BASE_URL") };
        assert_eq!(config.base_url(), "http://127.0.0.1:3000");
        assert!(!config.secure_cookies());
        config.bind = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(config.base_url(), "http://127.0.0.1:8080");
        config.base_url = Some("https://help.example.com/".into());
        assert_eq!(config.base_url(), "https://help.example.com");
        assert!(config.secure_cookies());
    }

    #[test]
    fn commands_parse() {
        let cli = Cli::parse_from(["helpdesk", "user", "create", "--email", "a@b.c", "--name", "A", "--role", "admin"]);
        assert!(matches!(cli.command, Some(Command::User { command: UserCommand::Create { role: Role::Admin, .. } })));
        assert!(
            Cli::try_parse_from(["helpdesk", "user", "create", "--email", "a@b.c", "--name", "A", "--role", "root"]).is_err()
        );
    }
}
