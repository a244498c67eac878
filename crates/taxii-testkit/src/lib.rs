//! Test-only helpers for taxiid (never a dependency of a shipped crate).
//!
//! [`PgCluster`] is a throwaway PostgreSQL server that a test starts itself: `initdb` into a fresh
//! directory, `pg_ctl start` on a free port of 127.0.0.1, databases made on demand, and
//! everything stopped and removed afterwards. There is no "skip when PostgreSQL is missing": a
//! missing binary or a failing step panics with a message that says what is missing (and that
//! `apt-get install -y postgresql` installs it) and the stderr of the step that failed.
//!
//! # Where the binaries come from
//!
//! `$TAXIID_PG_BINDIR` if set, else the highest `/usr/lib/postgresql/<version>/bin` that has
//! `initdb` (Debian's layout), else `initdb` on `PATH`. `initdb` refuses to run as root, so when
//! the tests run as root (CI) `initdb`, `pg_ctl` and the server run as the OS user `postgres`
//! through `runuser -u postgres --`; otherwise as the current user. `psql` (used to make
//! databases and by [`PgCluster::psql`]) runs as the current user and connects over TCP.
//!
//! # Layout and clean-up
//!
//! Every cluster lives in its own `tempfile::TempDir` below the well-known directory
//! `/tmp/taxiid-pg-tests/` (fixed rather than `$TMPDIR`, so that the `postgres` user can reach
//! it and the unix socket path stays short):
//!
//! ```text
//! /tmp/taxiid-pg-tests/cluster-XXXXXX/   owned by postgres when run as root
//!     owner          "<pid> <start time>" of the test process that made it
//!     data/          the data directory (initdb)
//!     sock/          unix_socket_directories
//!     server.log     the server's log (pg_ctl -l)
//! ```
//!
//! A cluster made with [`PgCluster::start`] is stopped (`-m immediate`) and removed by `Drop`.
//! The cluster of [`shared`] sits in a `static` and Rust never drops statics, and `pg_ctl start`
//! detaches the server from the test process, so without more the server would outlive every
//! test binary. Two mechanisms close that gap:
//!
//! - **A watchdog per cluster**: a small `sh` process in its own process group, ignoring
//!   SIGINT/SIGTERM/SIGHUP, polls once a second whether the test process is still alive; when it
//!   is gone (normal exit, panic, abort, `kill -9`), it stops the server (`-m immediate`) and
//!   removes the directory. `Drop` kills the watchdog first and cleans up itself.
//! - **A sweep at every start**: [`PgCluster::start`] first removes leftovers of earlier runs
//!   whose watchdog did not get to run (machine reset, watchdog killed): every
//!   `/tmp/taxiid-pg-tests/cluster-*` whose owning test process no longer exists (pid plus start
//!   time, so a reused pid does not count) has its server stopped and its directory removed.
//!   Clusters of test processes that are still running, such as those of another engineer's
//!   `cargo test` in the same checkout, are left alone.
//!
//! The helpers assume Linux (`/proc`, `runuser`).

use std::fs;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use tempfile::TempDir;

/// The parent of every cluster directory; see the crate documentation.
pub const CLUSTERS_DIR: &str = "/tmp/taxiid-pg-tests";

/// Overrides where `initdb`, `pg_ctl`, `postgres` and `psql` are looked up.
pub const BINDIR_ENV: &str = "TAXIID_PG_BINDIR";

const INSTALL_HINT: &str = "install PostgreSQL with `apt-get install -y postgresql` \
     (Debian/Ubuntu; the tests start their own server and never skip)";

/// How long `pg_ctl` may wait for a start or stop, and how long the server may take to accept
/// connections after `pg_ctl start` returned.
const PG_CTL_TIMEOUT_SECS: u32 = 60;
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Environment variables of libpq and the server that would change what the commands do.
const PG_ENV: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGDATA",
    "PGTZ",
    "PGCLIENTENCODING",
];

/// A PostgreSQL server of its own, for tests: superuser `postgres`, `trust` authentication,
/// listening on `127.0.0.1:<port>` (see [`PgCluster::url`]).
pub struct PgCluster {
    /// `/tmp/taxiid-pg-tests/cluster-XXXXXX`, removed when dropped.
    dir: TempDir,
    port: u16,
    tools: Tools,
    /// Whether the server runs (guards `stop`/`start_again` against each other).
    running: Mutex<bool>,
    databases: AtomicU64,
    watchdog: Option<Child>,
    /// `fsync=on` (the benchmark) rather than the tests' `fsync=off`.
    durable: bool,
}

/// The one cluster of this test process, started on first use (see the crate documentation for
/// how it is removed). Tests that stop or restart the server must use their own
/// [`PgCluster::start`] instead: tests run in parallel and share this one.
pub fn shared() -> &'static PgCluster {
    static SHARED: OnceLock<PgCluster> = OnceLock::new();
    SHARED.get_or_init(PgCluster::start)
}

impl PgCluster {
    /// Makes a new cluster and starts it: `initdb -A trust -U postgres -E UTF8`, then
    /// `pg_ctl -w start` on a free port of 127.0.0.1 with `fsync=off` and `max_connections=200`,
    /// and waits until it accepts connections. Removes leftovers of crashed earlier runs first.
    ///
    /// # Panics
    ///
    /// When PostgreSQL is not installed (the message names what is missing and how to install
    /// it), or when a step fails (the message names the step and has its stderr or the server
    /// log).
    pub fn start() -> PgCluster {
        Self::start_with(false)
    }

    /// Like [`start`](Self::start), but with `fsync=on` as a production server has it: for
    /// measurements (bench/run), where the tests' `fsync=off` would flatter every write.
    pub fn start_durable() -> PgCluster {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> PgCluster {
        match Self::try_start(durable) {
            Ok(cluster) => cluster,
            Err(message) => {
                panic!("taxii-testkit: cannot start a PostgreSQL test cluster: {message}")
            }
        }
    }

    fn try_start(durable: bool) -> Result<PgCluster, String> {
        let tools = Tools::find()?;
        let parent = Path::new(CLUSTERS_DIR);
        fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
        // Open to every user, like /tmp, so that root's and other users' runs can share it.
        let _ = fs::set_permissions(parent, fs::Permissions::from_mode(0o1777));
        sweep_stale(parent, &tools);

        let dir = tempfile::Builder::new()
            .prefix("cluster-")
            .tempdir_in(parent)
            .map_err(|e| format!("creating a directory in {}: {e}", parent.display()))?;
        fs::write(dir.path().join("owner"), owner_stamp())
            .map_err(|e| format!("writing {}/owner: {e}", dir.path().display()))?;
        fs::create_dir(dir.path().join("sock"))
            .map_err(|e| format!("creating {}/sock: {e}", dir.path().display()))?;
        if let Some((uid, gid)) = tools.postgres_ids {
            for path in [dir.path().to_path_buf(), dir.path().join("sock")] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .map_err(|e| format!("chown postgres {}: {e}", path.display()))?;
            }
        }

        let mut cluster = PgCluster {
            port: 0,
            tools,
            running: Mutex::new(false),
            databases: AtomicU64::new(0),
            watchdog: None,
            durable,
            dir,
        };
        cluster.watchdog = Some(cluster.spawn_watchdog()?);

        let mut initdb = cluster.tools.as_server_user(&cluster.tools.initdb);
        initdb
            .arg("-D")
            .arg(cluster.data_dir())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"])
            .args(["--no-locale", "--no-sync"]);
        cluster.run("initdb", initdb)?;

        // The port is free when chosen but may be taken before the server binds it: retry.
        let mut attempt = 0;
        loop {
            attempt += 1;
            cluster.port = free_port()?;
            match cluster.server_start() {
                Ok(()) => break,
                Err(_) if attempt < 5 && cluster.server_log().contains("could not bind") => {
                    let _ = fs::remove_file(cluster.log_file());
                }
                Err(e) => return Err(e),
            }
        }
        *cluster.state() = true;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Makes a new, empty database with a name unique in this cluster (`taxiid_test_<n>`,
    /// UTF8, from `template0`) and returns its [`url`](Self::url).
    ///
    /// # Panics
    ///
    /// When `CREATE DATABASE` fails (the message has psql's stderr).
    pub fn create_database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("taxiid_test_{n}");
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'");
        if let Err(e) = self.psql("postgres", &sql) {
            panic!("taxii-testkit: creating database {name}: {e}");
        }
        self.url(&name)
    }

    /// Runs SQL with `psql` against `database` (as `postgres`, over TCP) and returns its
    /// unaligned, tuples-only output, trimmed (`select 41+1` → `"42"`); `Err` has psql's stderr.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let mut cmd = Command::new(&self.tools.psql);
        cmd.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .args([
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            database,
        ])
        .arg("-c")
        .arg(sql)
        .env("PGCONNECT_TIMEOUT", "10");
        let out = self.run("psql", cmd)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Stops the server (`pg_ctl -m fast stop`, waiting until it is down): connections are then
    /// refused until [`start_again`](Self::start_again). Does nothing when it is stopped.
    ///
    /// # Panics
    ///
    /// When `pg_ctl stop` fails.
    pub fn stop(&self) {
        let mut running = self.state();
        if *running {
            if let Err(e) = self.server_stop("fast") {
                panic!("taxii-testkit: stopping PostgreSQL: {e}");
            }
            *running = false;
        }
    }

    /// Starts the stopped server again on the same data directory and port, and waits until it
    /// accepts connections. Does nothing when it runs.
    ///
    /// # Panics
    ///
    /// When `pg_ctl start` fails (e.g. the port was taken meanwhile); the message has the log.
    pub fn start_again(&self) {
        let mut running = self.state();
        if !*running {
            if let Err(e) = self.server_start() {
                panic!("taxii-testkit: starting PostgreSQL again: {e}");
            }
            *running = true;
        }
    }

    /// [`stop`](Self::stop), then [`start_again`](Self::start_again).
    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory (data directory, socket directory, server log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log so far (empty when unreadable), for failing tests to print.
    pub fn server_log(&self) -> String {
        fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn state(&self) -> MutexGuard<'_, bool> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `pg_ctl start` with this cluster's options, then waits until a query succeeds.
    fn server_start(&self) -> Result<(), String> {
        let sock = self.dir.path().join("sock");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='{}' \
             -c fsync={} -c max_connections=200",
            self.port,
            sock.display(),
            if self.durable { "on" } else { "off" }
        );
        let mut cmd = self.tools.as_server_user(&self.tools.pg_ctl);
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args([
                "-w",
                "-t",
                &PG_CTL_TIMEOUT_SECS.to_string(),
                "-o",
                &options,
                "start",
            ]);
        if let Err(e) = self.run("pg_ctl start", cmd) {
            return Err(format!("{e}\nserver log:\n{}", self.server_log()));
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.psql("postgres", "select 1") {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!(
                        "the server started but accepts no connections on 127.0.0.1:{} \
                         after {READY_TIMEOUT:?}: {e}\nserver log:\n{}",
                        self.port,
                        self.server_log()
                    ));
                }
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn server_stop(&self, mode: &str) -> Result<(), String> {
        let mut cmd = self.tools.as_server_user(&self.tools.pg_ctl);
        cmd.arg("-D").arg(self.data_dir()).args([
            "-m",
            mode,
            "-w",
            "-t",
            &PG_CTL_TIMEOUT_SECS.to_string(),
            "stop",
        ]);
        self.run("pg_ctl stop", cmd).map(drop)
    }

    /// Runs a command to completion in the cluster directory; `Err` names the step and has the
    /// command's stderr and stdout.
    fn run(&self, step: &str, mut cmd: Command) -> Result<Output, String> {
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        run_command(step, &mut cmd)
    }

    /// The process that stops the server and removes the directory once this process is gone.
    fn spawn_watchdog(&self) -> Result<Child, String> {
        const SCRIPT: &str = r#"trap '' INT TERM HUP
owner=$1 dir=$2
shift 2
while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -d "$dir" ] || exit 0
"$@" >/dev/null 2>&1
rm -rf "$dir""#;
        let stop = self.tools.as_server_user(&self.tools.pg_ctl);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg("taxii-testkit-watchdog")
            .arg(std::process::id().to_string())
            .arg(self.dir.path())
            .arg(stop.get_program())
            .args(stop.get_args())
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        cmd.spawn()
            .map_err(|e| format!("starting the clean-up watchdog (sh): {e}"))
    }
}

impl Drop for PgCluster {
    /// Stops the server (`-m immediate`) and removes the directory.
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let _ = self.server_stop("immediate");
        // TempDir's own removal follows and ignores errors; try a little harder first.
        for _ in 0..3 {
            match fs::remove_dir_all(self.dir.path()) {
                Err(e) if e.kind() != ErrorKind::NotFound => {
                    thread::sleep(Duration::from_millis(100));
                }
                _ => break,
            }
        }
    }
}

/// Where the PostgreSQL programs are, and as whom the server runs.
struct Tools {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
    /// `Some((uid, gid))` of the OS user `postgres` when this process is root: the server runs
    /// as that user through `runuser`.
    postgres_ids: Option<(u32, u32)>,
    runuser: PathBuf,
}

impl Tools {
    fn find() -> Result<Tools, String> {
        let bindir = find_bindir()?;
        let psql = [bindir.join("psql"), PathBuf::from("/usr/bin/psql")]
            .into_iter()
            .find(|p| p.is_file())
            .or_else(|| find_on_path("psql"))
            .ok_or_else(|| {
                format!(
                    "psql is missing (not in {} nor on PATH); {INSTALL_HINT}",
                    bindir.display()
                )
            })?;
        let postgres_ids = if current_uid()? == 0 {
            Some(postgres_user_ids()?)
        } else {
            None
        };
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .or_else(|| find_on_path("runuser"))
            .unwrap_or_else(|| PathBuf::from("runuser"));
        Ok(Tools {
            initdb: bindir.join("initdb"),
            pg_ctl: bindir.join("pg_ctl"),
            psql,
            postgres_ids,
            runuser,
        })
    }

    /// `program`, run as `postgres` when this process is root.
    fn as_server_user(&self, program: &Path) -> Command {
        let mut cmd = if self.postgres_ids.is_some() {
            let mut cmd = Command::new(&self.runuser);
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        for var in PG_ENV {
            cmd.env_remove(var);
        }
        cmd
    }
}

/// The directory with `initdb`, `pg_ctl` and `postgres`.
fn find_bindir() -> Result<PathBuf, String> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os(BINDIR_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return if complete(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "${BINDIR_ENV} is {} but initdb, pg_ctl or postgres is missing there; {INSTALL_HINT}",
                dir.display()
            ))
        };
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| complete(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let on_path = find_on_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf));
    if let Some(dir) = on_path.filter(|dir| complete(dir)) {
        return Ok(dir);
    }
    Err(format!(
        "the PostgreSQL server programs (initdb, pg_ctl, postgres) are missing: not found in \
         /usr/lib/postgresql/*/bin nor on PATH (or set ${BINDIR_ENV}); {INSTALL_HINT}"
    ))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn current_uid() -> Result<u32, String> {
    use std::os::unix::fs::MetadataExt;
    if let Ok(meta) = fs::metadata("/proc/self") {
        return Ok(meta.uid());
    }
    let out = run_command("id -u", Command::new("id").arg("-u"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("reading the output of `id -u`: {e}"))
}

fn postgres_user_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running `id {flag} postgres`: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "the tests run as root and initdb refuses root, so PostgreSQL runs as the OS user \
                 `postgres`, which does not exist (`id postgres`: {}); it is created when you {INSTALL_HINT}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|e| format!("reading the output of `id {flag} postgres`: {e}"))
    };
    Ok((id("-u")?, id("-g")?))
}

fn run_command(step: &str, cmd: &mut Command) -> Result<Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{step}: cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(out);
    }
    Err(format!(
        "{step} failed ({}): {cmd:?}\nstderr:\n{}\nstdout:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim_end(),
        String::from_utf8_lossy(&out.stdout).trim_end()
    ))
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port on 127.0.0.1: {e}"))
}

/// `"<pid> <start time>"` of this process, written to each cluster's `owner` file.
fn owner_stamp() -> String {
    let pid = std::process::id();
    format!("{pid} {}\n", start_time(pid).unwrap_or(0))
}

/// The start time of a process (field 22 of `/proc/<pid>/stat`), `None` when it does not exist.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process that wrote an `owner` file still runs.
fn owner_alive(stamp: &str) -> Option<bool> {
    let mut parts = stamp.split_whitespace();
    let pid: u32 = parts.next()?.parse().ok()?;
    let started: u64 = parts.next()?.parse().ok()?;
    Some(start_time(pid).is_some_and(|now| started == 0 || now == started))
}

/// Removes the clusters of test processes that no longer run (see the crate documentation).
fn sweep_stale(parent: &Path, tools: &Tools) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with("cluster-") || !path.is_dir() {
            continue;
        }
        let stale = match fs::read_to_string(path.join("owner"))
            .ok()
            .as_deref()
            .map(owner_alive)
        {
            Some(Some(alive)) => !alive,
            // No readable stamp: being created right now, or damaged. Leave young ones alone.
            _ => fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(600)),
        };
        if !stale {
            continue;
        }
        let data = path.join("data");
        let postmaster = fs::read_to_string(data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok());
        if let Some(pid) = postmaster.filter(|&pid| start_time(pid).is_some()) {
            let mut stop = tools.as_server_user(&tools.pg_ctl);
            stop.arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "-t", "30", "stop"])
                .current_dir("/")
                .stdin(Stdio::null());
            if run_command("pg_ctl stop", &mut stop).is_err() && start_time(pid).is_some() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .output();
            }
        }
        let _ = fs::remove_dir_all(&path);
    }
}

/// Whether a TCP connection to `127.0.0.1:port` is refused (nothing listens).
pub fn connection_refused(port: u16) -> bool {
    matches!(
        TcpStream::connect(("127.0.0.1", port)),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused
    )
}

#[cfg(test)]
mod tests;
