use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("helpdesk=info,tower_http=info")))
        .with_writer(std::io::stderr)
        .init();
    match helpdesk::run(helpdesk::config::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.downcast_ref::<helpdesk::cli::TemporaryFailure>().is_some() { ExitCode::from(75) } else { ExitCode::FAILURE }
        }
    }
}
