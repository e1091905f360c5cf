//! A real S3-compatible server for the attachment store's bucket: moto's (from PyPI, pinned
//! in `tests/s3/requirements.txt`, installed into `target/s3-venv` by `.ci/run`), started
//! once for the test run on a port it picks itself, stopped when the test process ends. Each
//! test gets a bucket of its own.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The server's address, `http://127.0.0.1:port`.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(start)
}

/// A new, empty bucket: its `s3://` address for `ATTACHMENT_STORE`.
pub async fn new_bucket() -> (String, String) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!("helpdesk-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    let made = reqwest::Client::new().put(format!("{}/{name}", endpoint())).send().await.expect("the S3 server answers");
    assert!(made.status().is_success(), "bucket {name} not made: {}", made.status());
    (format!("s3://{name}/attachments"), name)
}

/// How many objects `bucket` holds.
pub async fn object_count(bucket: &str) -> usize {
    let listing = reqwest::Client::new().get(format!("{}/{bucket}?list-type=2", endpoint())).send().await.unwrap();
    listing.text().await.unwrap().matches("<Key>").count()
}

fn start() -> String {
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/s3-venv/bin/moto_server");
    assert!(
        server.exists(),
        "{} is missing: the bucket tests need a real S3-compatible server. Install it with \
         `python3 -m venv target/s3-venv && target/s3-venv/bin/pip install -r tests/s3/requirements.txt` (.ci/run does).",
        server.display()
    );
    let (address_sender, address) = std::sync::mpsc::channel();
    // Started from a thread that lives as long as the process: the parent-death signal
    // follows the thread that started the child.
    std::thread::spawn(move || {
        let mut command = Command::new(&server);
        command.args(["-H", "127.0.0.1", "-p", "0"]).stdout(Stdio::null()).stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe; it only asks for SIGTERM when this thread ends.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().expect("moto_server starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        // "Running on http://127.0.0.1:40123" names the port it took.
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(at) = line.find("http://127.0.0.1:") {
                let _ = address_sender.send(line[at..].trim().to_owned());
                break;
            }
        }
        for _ in lines.map_while(Result::ok) {} // keep reading, so the server never blocks on its log
        let _ = child.wait();
        loop {
            std::thread::park();
        }
    });
    address.recv_timeout(std::time::Duration::from_secs(60)).expect("moto_server said where it listens within a minute")
}
