//! The `helpdesk` binary run as a command on a test app's database and data directory, the
//! way an admin or an MTA runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::harness::TestApp;

/// Runs `helpdesk` with these arguments and environment, `stdin` written to it, and waits.
pub fn run(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().expect("the binary finishes")
}

/// What the command printed, both streams.
pub fn said(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

impl TestApp {
    /// Runs `helpdesk` on this app's database, data directory and file store, with its
    /// file limit.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let config = &self.config;
        let data_dir = self.data_dir.path().to_str().expect("a UTF-8 path");
        let max_attachment_mb = config.max_attachment_mb.to_string();
        let mut env = vec![
            ("DATABASE_URL", self.database.url.as_str()),
            ("DATA_DIR", data_dir),
            ("MAX_ATTACHMENT_MB", &max_attachment_mb),
            ("ATTACHMENT_STORE", &config.attachment_store),
        ];
        let bucket = [
            ("S3_ENDPOINT", &config.s3_endpoint),
            ("AWS_ACCESS_KEY_ID", &config.aws_access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &config.aws_secret_access_key),
        ];
        env.extend(bucket.iter().filter_map(|(name, value)| value.as_deref().map(|value| (*name, value))));
        run(args, &env, stdin)
    }

    /// `helpdesk mail ingest` as an MTA runs it for our address `mail_from`, with `extra`
    /// options. The command stamps what it writes with the real time; the app's clock catches
    /// up, so that what it queued is due for the app's worker.
    pub fn ingest_mail(&self, mail_from: &str, extra: &[&str], mail: &[u8]) -> Output {
        let args: Vec<&str> =
            ["--mail-from", mail_from].into_iter().chain(extra.iter().copied()).chain(["mail", "ingest"]).collect();
        let output = self.run(&args, mail);
        self.clock.set(self.now().max(time::OffsetDateTime::now_utc().unix_timestamp()));
        output
    }
}
