//! Uploads and downloads of 1 MB and 20 MB files under concurrency, against the release
//! binary in a process of its own, and that process's peak memory in each phase.
//!
//! `cargo build --release && cargo run --release --example files_bench -- --clients 8`
//!
//! Seeds a fresh SQLite installation in a temporary directory (files on the file system),
//! starts `helpdesk serve`, and has each client post files to its own request through the
//! JSON API (`multipart/form-data`), then fetch them back. Prints throughput and the
//! server's resident memory: at rest, at work (after a round of 1 KB files), and at its
//! peak during each phase (the kernel's high-water mark, reset before each phase) with
//! what that adds to its size at work.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;

fn argument(name: &str, default: &str) -> String {
    let arguments: Vec<String> = std::env::args().collect();
    let position = arguments.iter().position(|argument| argument == name);
    position.and_then(|index| arguments.get(index + 1).cloned()).unwrap_or_else(|| default.to_owned())
}

/// The release binary beside this example (`target/release/helpdesk`).
fn helpdesk_binary() -> anyhow::Result<PathBuf> {
    let examples = std::env::current_exe()?;
    let binary = examples.parent().and_then(Path::parent).map(|dir| dir.join("helpdesk"));
    binary.filter(|binary| binary.exists()).ok_or_else(|| anyhow::anyhow!("build the binary first: cargo build --release"))
}

/// A kernel figure of the process, in MiB (`VmRSS`, `VmHWM`).
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.trim_start_matches(':').trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Starts the peak over again from the current size (Linux's `clear_refs`, value 5).
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(binary: &Path, env: &[(&str, String)]) -> anyhow::Result<Server> {
    let run = |args: &[&str]| Command::new(binary).args(args).envs(env.iter().map(|(k, v)| (k, v))).output();
    anyhow::ensure!(run(&["demo", "--tickets", "10"])?.status.success(), "the demo could not be seeded");
    let mut child = Command::new(binary)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let first = BufReader::new(child.stdout.take().unwrap()).lines().next().transpose()?.unwrap_or_default();
    let address = first.rsplit_once("bound to ").map(|(_, rest)| rest.trim_end_matches(')').to_owned());
    let base = format!("http://{}", address.ok_or_else(|| anyhow::anyhow!("the server said: {first}"))?);
    Ok(Server { child, base })
}

/// Bytes that differ per client and round, so no two uploads share their content.
fn content(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..size / 8)
        .flat_map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state.to_le_bytes()
        })
        .collect()
}

/// The body of a successful answer; anything else is an error that quotes it.
async fn body_of(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let bytes = response.bytes().await?;
    anyhow::ensure!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&bytes));
    Ok(serde_json::from_slice(&bytes)?)
}

struct Phase {
    megabytes: f64,
    seconds: f64,
    peak_mib: f64,
}

/// Runs `work` for every client at once; the bytes they moved, the time, the server's peak.
async fn phase<F, Fut>(pid: u32, clients: usize, work: F) -> anyhow::Result<Phase>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>> + Send + 'static,
{
    reset_peak(pid);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients).map(|client| tokio::spawn(work(client))).collect();
    let mut bytes = 0;
    for task in tasks {
        bytes += task.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Phase { megabytes: bytes as f64 / MIB as f64, seconds, peak_mib: memory_mib(pid, "VmHWM") })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clients: usize = argument("--clients", "8").parse()?;
    let binary = helpdesk_binary()?;
    let work = tempfile::tempdir()?;
    let env = [
        ("DATABASE_URL", format!("sqlite://{}/bench.db", work.path().display())),
        ("DATA_DIR", work.path().join("data").display().to_string()),
        ("MAX_ATTACHMENT_MB", "25".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let server = start(&binary, &env)?;
    let token_output = Command::new(&binary)
        .args(["token", "create", "--email", "customer1@demo.test", "--name", "files benchmark"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()?;
    let token = String::from_utf8(token_output.stdout)?.lines().last().unwrap_or_default().to_owned();
    let pid = server.child.id();
    let http = reqwest::Client::new();
    let api = format!("{}/api/v1", server.base);

    // Each client's own request, so no two write to one ticket.
    let groups = body_of(http.get(format!("{api}/groups")).bearer_auth(&token).send().await?).await?;
    let group = groups["data"][0]["id"].as_i64().ok_or_else(|| anyhow::anyhow!("no group takes requests"))?;
    let mut tickets = Vec::new();
    for client in 0..clients {
        let made = http
            .post(format!("{api}/tickets"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(json!({ "subject": format!("Benchmark {client}"), "message": "Files follow.", "group": group }).to_string())
            .send()
            .await?;
        tickets.push(body_of(made).await?["data"]["id"].as_i64().unwrap_or_default());
    }
    println!("helpdesk serve at rest: {:.1} MiB resident; {clients} clients at once", memory_mib(pid, "VmRSS"));
    println!("{:<22} {:>10} {:>9} {:>12} {:>18}", "phase", "moved", "time", "throughput", "server peak RSS");

    // 1 KB files first, to warm the server up (database connections, caches): the peaks of
    // the larger files are then set against its size at work, to show what the size adds.
    let mut at_work = 0.0;
    for (size, label, rounds) in [(1024, "1 KB", 16), (MIB, "1 MB", 16), (20 * MIB, "20 MB", 2)] {
        let urls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let upload = phase(pid, clients, |client| {
            let (http, api, token, ticket, urls) = (http.clone(), api.clone(), token.clone(), tickets[client], urls.clone());
            async move {
                let mut sent = 0;
                for round in 0..rounds {
                    let bytes = content(size, (client * 1000 + round) as u64 + size as u64);
                    sent += bytes.len();
                    let form = reqwest::multipart::Form::new()
                        .text("data", json!({ "body": format!("File {round}") }).to_string())
                        .part("attachments", reqwest::multipart::Part::bytes(bytes).file_name(format!("file-{round}.bin")));
                    let posted =
                        http.post(format!("{api}/tickets/{ticket}/messages")).bearer_auth(&token).multipart(form).send().await?;
                    let posted = body_of(posted).await?;
                    let url = posted["data"]["attachments"][0]["url"].as_str().unwrap_or_default().to_owned();
                    urls.lock().unwrap().push(url);
                }
                Ok(sent)
            }
        })
        .await?;
        let urls: Vec<String> = urls.lock().unwrap().clone();
        let download = phase(pid, clients, |client| {
            let (http, base, token) = (http.clone(), server.base.clone(), token.clone());
            let mine: Vec<String> = urls.iter().skip(client).step_by(clients).cloned().collect();
            async move {
                let mut received = 0;
                for url in mine {
                    let mut response = http.get(format!("{base}{url}")).bearer_auth(&token).send().await?.error_for_status()?;
                    while let Some(chunk) = response.chunk().await? {
                        received += chunk.len();
                    }
                }
                Ok(received)
            }
        })
        .await?;
        for (name, result) in [("upload", upload), ("download", download)] {
            let growth = if size == 1024 { String::new() } else { format!(" (+{:.1})", result.peak_mib - at_work) };
            println!(
                "{:<22} {:>7.1} MB {:>7.2} s {:>7.0} MB/s {:>9.1} MiB{growth}",
                format!("{name} {label} × {}", clients * rounds),
                result.megabytes,
                result.seconds,
                result.megabytes / result.seconds,
                result.peak_mib,
            );
        }
        if size == 1024 {
            at_work = memory_mib(pid, "VmRSS");
            println!("{:<22} {:>51.1} MiB resident", "at work", at_work);
        }
    }
    Ok(())
}
