//! The PostgreSQL server the tests run against: the one `TEST_POSTGRES_URL` names, or else
//! a private, throwaway cluster started once for this test run from the installed server
//! binaries. The private one listens on a Unix socket in a directory of its own (no port to
//! collide with), trusts local connections, skips fsync (its data is thrown away), and is
//! stopped when the test process ends, however it ends.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where the server is: a URL to the `postgres` maintenance database, and how to build the
/// URL of another database on it.
pub struct Server {
    /// `postgres://user@host` (or `…@localhost` for a socket), without a database.
    base: String,
    /// The query string that goes after a database name (`?host=/socket/dir`), if any.
    query: String,
    maintenance_database: String,
}

impl Server {
    pub fn database_url(&self, name: &str) -> String {
        format!("{}/{name}{}", self.base, self.query)
    }

    pub fn maintenance_url(&self) -> String {
        self.database_url(&self.maintenance_database)
    }
}

/// The server for this run, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => existing(url.trim()),
        _ => private_cluster(),
    })
}

/// `postgres://user@host:5432/db?params` → the base, the query and the database.
fn existing(url: &str) -> Server {
    let (without_query, query) = url.split_once('?').map_or((url, String::new()), |(head, query)| (head, format!("?{query}")));
    let (base, database) =
        without_query.rsplit_once('/').filter(|(base, _)| base.contains("//")).unwrap_or((without_query, "postgres"));
    let database = if database.is_empty() { "postgres" } else { database };
    Server { base: base.to_owned(), query, maintenance_database: database.to_owned() }
}

/// The newest installed PostgreSQL's binaries.
fn binaries() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|entry| entry.ok()).map(|entry| entry.path().join("bin")).collect())
        .unwrap_or_default();
    versions.retain(|bin| bin.join("initdb").exists() && bin.join("postgres").exists());
    versions.sort_by_key(|bin| bin.parent().and_then(|dir| dir.file_name()).and_then(|name| name.to_str()?.parse::<u32>().ok()));
    versions.pop().unwrap_or_else(|| {
        panic!(
            "No PostgreSQL server is installed (looked in /usr/lib/postgresql/*/bin), and TEST_POSTGRES_URL is not set. \
             Install it (Debian: `apt-get install postgresql`), or point TEST_POSTGRES_URL at a server where the user \
             may create databases."
        )
    })
}

/// The account the server runs as: PostgreSQL refuses to run as root.
fn server_account() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let id = |flag: &str| {
        let output = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8(output.stdout).ok()?.trim().parse::<u32>().ok()
    };
    Some((id("-u").expect("running as root needs the `postgres` account to run the server"), id("-g").unwrap_or(0)))
}

/// A command that runs as `account` and, for the server, ends when this process does.
fn command(program: &Path, account: Option<(u32, u32)>, die_with_us: bool) -> Command {
    let mut command = Command::new(program);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if let Some((uid, gid)) = account
                && (libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0)
            {
                return Err(std::io::Error::last_os_error());
            }
            // After the change of user, which would clear it: stop (fast) when we are gone.
            if die_with_us && libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

fn private_cluster() -> Server {
    let bin = binaries();
    let account = server_account();
    let root = std::env::temp_dir().join(format!("helpdesk-test-postgres-{}", std::process::id()));
    remove_stale_clusters();
    let data = root.join("data");
    std::fs::create_dir_all(&root).expect("a directory for the test cluster");
    if let Some((uid, gid)) = account {
        std::os::unix::fs::chown(&root, Some(uid), Some(gid)).expect("the test cluster's directory given to postgres");
    }
    let initialised = command(&bin.join("initdb"), account, false)
        .args(["--auth=trust", "--username=postgres", "--no-sync", "--no-instructions", "--encoding=UTF8", "--locale=C"])
        .arg("-D")
        .arg(&data)
        .stdout(Stdio::null())
        .output()
        .expect("initdb runs");
    assert!(initialised.status.success(), "initdb failed: {}", String::from_utf8_lossy(&initialised.stderr));
    // The server is started from a thread that lives as long as the process: the parent-death
    // signal follows the thread that started the child.
    let (socket_dir, log, server_bin) = (root.clone(), root.join("server.log"), bin.clone());
    std::thread::spawn(move || {
        let log = std::fs::File::create(&log).expect("the server's log file");
        let mut server = command(&server_bin.join("postgres"), account, true)
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&socket_dir)
            .args(["-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=400", "-c", "shared_buffers=64MB"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("postgres starts");
        let _ = server.wait();
        loop {
            std::thread::park();
        }
    });
    let server = Server {
        base: "postgres://postgres@localhost".into(),
        query: format!("?host={}", root.display()),
        maintenance_database: "postgres".into(),
    };
    wait_until_ready(&bin, &root);
    server
}

/// Waits until the server accepts sessions (a socket that answers may still say "starting
/// up"): `pg_isready` asks it properly.
fn wait_until_ready(bin: &Path, socket_dir: &Path) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let ready = Command::new(bin.join("pg_isready"))
            .arg("-q")
            .arg("-h")
            .arg(socket_dir)
            .args(["-p", "5432", "-U", "postgres"])
            .status()
            .is_ok_and(|status| status.success());
        if ready {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(socket_dir.join("server.log")).unwrap_or_default();
    panic!("the test PostgreSQL cluster did not start within a minute:\n{log}");
}

/// Clusters of earlier runs that ended without cleaning up (their process is gone).
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.filter_map(|entry| entry.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("helpdesk-test-postgres-").and_then(|pid| pid.parse::<i32>().ok()) else { continue };
        // Another user's live process answers "not permitted": alive all the same.
        let alive = unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
