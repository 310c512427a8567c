//! A real PostgreSQL for `run_postgres`: servers started with the distribution's binaries
//! (`/usr/lib/postgresql/*/bin`, or `DRBOOK_PG_BIN`) on 127.0.0.1 and free ports, data
//! directories in a temporary directory, all stopped when the [`Pg`] is dropped (also when
//! the test fails). PostgreSQL refuses to run as root, so when the tests run as root (as CI
//! does) the servers and the drbook runs that touch their data directories run as the
//! `postgres` OS user the Debian package creates, through `runuser`.
//!
//! Without PostgreSQL the tests say why on stderr and pass; when `.ci/run` found it, it sets
//! `DRBOOK_PG_BIN`, and then a PostgreSQL that cannot be used fails the tests instead.
//!
//! [`Proxy`] is a TCP relay between a replica and its primary that delivers the primary's
//! bytes late and drops what it still holds when the primary goes away: a replication link
//! that lags the way a long-distance one does, and loses what is in flight when the primary's
//! site dies.

use crate::Test;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// PostgreSQL's binaries, the OS user that runs them and a directory that user owns.
pub struct Pg {
    pub bin: PathBuf,
    /// `Some(name)`: run servers and drbook as this user (we are root).
    user: Option<(String, u32, u32)>,
    dir: tempfile::TempDir,
    servers: Mutex<Vec<PathBuf>>,
}

/// One running server.
pub struct Server {
    pub port: u16,
    pub data: PathBuf,
}

impl Pg {
    /// PostgreSQL, or `None` after saying on stderr why the test is skipped.
    pub fn get() -> Option<Pg> {
        let required = std::env::var_os("DRBOOK_PG_BIN").filter(|v| !v.is_empty());
        let found = match &required {
            Some(bin) if Path::new(bin).join("initdb").is_file() => Ok(PathBuf::from(bin)),
            Some(_) => Err("it has no initdb".to_string()),
            None => find_bin(),
        };
        let pg = found.and_then(|bin| {
            let user = os_user()?;
            let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
            if let Some((_, uid, gid)) = &user {
                std::os::unix::fs::chown(dir.path(), Some(*uid), Some(*gid))
                    .map_err(|e| format!("cannot chown {}: {e}", dir.path().display()))?;
            }
            Ok(Pg { bin, user, dir, servers: Mutex::new(Vec::new()) })
        });
        match (pg, required) {
            (Ok(pg), _) => Some(pg),
            (Err(why), Some(bin)) => panic!("DRBOOK_PG_BIN={bin:?} is set but unusable: {why}"),
            (Err(why), None) => {
                eprintln!("PostgreSQL not available ({why}): skipped");
                None
            }
        }
    }

    /// `prog` (a PostgreSQL binary) as the servers' OS user.
    fn command(&self, prog: &str) -> Command {
        let path = self.bin.join(prog);
        match &self.user {
            Some((name, _, _)) => {
                let mut c = Command::new("runuser");
                c.args(["-u", name, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    /// Runs `prog args` as the servers' user; panics with its output when it fails.
    #[track_caller]
    fn run(&self, prog: &str, args: &[&str]) -> String {
        let out = self.command(prog).args(args).stdin(Stdio::null()).output().expect(prog);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{prog} {args:?} failed:\n{text}");
        text
    }

    /// A path in the servers' directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new primary `name`. `hba` lines come before the ones that trust every local
    /// connection (the first matching line decides).
    pub fn primary(&self, name: &str, hba: &[&str]) -> Server {
        let data = self.path(name);
        let d = data.display().to_string();
        self.run("initdb", &["-D", &d, "-U", "postgres", "-A", "trust", "--data-checksums"]);
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             max_connections = 20\nshared_buffers = 16MB\nfsync = off\n\
             wal_keep_size = 256MB\nwal_log_hints = on\n",
            self.dir.path().display()
        );
        append(&data.join("postgresql.conf"), &conf);
        let mut rules: Vec<&str> = hba.to_vec();
        rules.extend([
            "local all all trust",
            "host all all 127.0.0.1/32 trust",
            "host replication all 127.0.0.1/32 trust",
        ]);
        std::fs::write(data.join("pg_hba.conf"), rules.join("\n") + "\n").expect("pg_hba.conf");
        self.start(name, data)
    }

    /// A streaming replica `name` of the server listening on `upstream` (its own port or a
    /// [`Proxy`]'s), started and connected.
    pub fn replica(&self, name: &str, upstream: u16) -> Server {
        let data = self.path(name);
        let (d, p) = (data.display().to_string(), upstream.to_string());
        self.run(
            "pg_basebackup",
            &["-h", "127.0.0.1", "-p", &p, "-U", "postgres", "-D", &d, "-R", "-X", "stream"],
        );
        self.start(name, data)
    }

    /// Starts the server of `data` on a free port. The port is given on the command line
    /// (not in postgresql.conf, which pg_rewind copies between servers).
    fn start(&self, name: &str, data: PathBuf) -> Server {
        let port = free_port();
        let log = self.path(&format!("{name}.log")).display().to_string();
        let d = data.display().to_string();
        let opts = format!("-p {port}");
        self.servers.lock().expect("server list").push(data.clone());
        self.run("pg_ctl", &["start", "-w", "-D", &d, "-l", &log, "-o", &opts]);
        Server { port, data }
    }

    /// SIGKILLs the server's postmaster and every process it started, as when its host dies:
    /// nothing is flushed or sent after this.
    pub fn crash(&self, s: &Server) {
        let pid_file = std::fs::read_to_string(s.data.join("postmaster.pid")).expect("pid file");
        let pm: i32 = pid_file.lines().next().and_then(|l| l.trim().parse().ok()).expect("pid");
        let mut pids = children(pm);
        pids.push(pm);
        for pid in &pids {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::SIGKILL);
        }
    }

    /// `psql -c sql` against the server on `port` as `postgres`, its output trimmed.
    pub fn psql(&self, port: u16, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-XAtq", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres"])
            .args(["-d", "postgres", "-p", &port.to_string(), "-c", sql])
            .env("PGCONNECT_TIMEOUT", "5")
            .stdin(Stdio::null())
            .output()
            .expect("run psql");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Polls `sql` on `port` until it prints `want`; panics after `limit`.
    #[track_caller]
    pub fn wait_for(&self, port: u16, sql: &str, want: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let got = self.psql(port, sql);
            if got.as_deref() == Ok(want) {
                return;
            }
            assert!(start.elapsed() < limit, "`{sql}` on {port} is {got:?}, not {want:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A test directory with `files` that drbook, run as the servers' user, can use.
    pub fn test(&self, files: &[(&str, &str)]) -> Test {
        let t = files.iter().fold(Test::new(), |t, (name, text)| t.file(name, text));
        let Some((name, uid, gid)) = &self.user else { return t };
        chown_tree(&t.path(""), *uid, *gid);
        let mut drbook = PathBuf::from(env!("CARGO_BIN_EXE_drbook"));
        let usable = Command::new("runuser")
            .args(["-u", name, "--", "test", "-x"])
            .arg(&drbook)
            .status()
            .is_ok_and(|s| s.success());
        if !usable {
            // The build directory is private to root: run a copy that user can read.
            let copy = self.path("drbook");
            if !copy.exists() {
                std::fs::copy(&drbook, &copy).expect("copy the drbook binary");
                std::os::unix::fs::chown(&copy, Some(*uid), Some(*gid)).expect("chown drbook");
            }
            drbook = copy;
        }
        let argv = ["runuser", "-u", name, "--"].map(OsString::from);
        t.program(argv.into_iter().chain([drbook.into_os_string()]).collect())
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let servers = std::mem::take(&mut *self.servers.lock().unwrap_or_else(|e| e.into_inner()));
        for data in servers {
            let d = data.display().to_string();
            let _ = self
                .command("pg_ctl")
                .args(["stop", "-m", "immediate", "-w", "-D", &d])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The newest `/usr/lib/postgresql/N/bin` with an `initdb`.
fn find_bin() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|_| format!("no {}", root.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).ok_or_else(|| format!("no initdb under {}", root.display()))
}

/// As root, the `postgres` user (PostgreSQL refuses root); otherwise ourselves.
fn os_user() -> Result<Option<(String, u32, u32)>, String> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .map_err(|e| format!("cannot look up the postgres user: {e}"))?
        .ok_or("running as root and there is no `postgres` OS user")?;
    Ok(Some(("postgres".to_string(), user.uid.as_raw(), user.gid.as_raw())))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("list").filter_map(Result::ok) {
            chown_tree(&e.path(), uid, gid);
        }
    }
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).expect("open to append");
    f.write_all(text.as_bytes()).expect("append");
}

/// The processes whose parent is `parent`.
fn children(parent: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // `pid (comm) state ppid ...`; comm may hold spaces, so split after the last `)`.
            let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
            rest.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok()) == Some(parent)
        })
        .collect()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// A TCP relay to `127.0.0.1:upstream` that holds what the upstream sends for
/// [`Proxy::set_delay`] before passing it on (what the client sends goes through at once).
/// When the upstream closes, the client's connection is cut at once: what the relay still
/// holds is lost.
pub struct Proxy {
    pub port: u16,
    delay_ms: Arc<AtomicU64>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let delay = Arc::clone(&delay_ms);
        std::thread::spawn(move || {
            for client in listener.incoming().filter_map(Result::ok) {
                if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) {
                    relay(client, server, Arc::clone(&delay));
                }
            }
        });
        Proxy { port, delay_ms }
    }

    pub fn set_delay(&self, d: Duration) {
        self.delay_ms.store(u64::try_from(d.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }
}

fn relay(client: TcpStream, server: TcpStream, delay: Arc<AtomicU64>) {
    let (Ok(mut c_in), Ok(mut s_out), Ok(mut s_in), Ok(mut c_out), Ok(c_cut)) = (
        client.try_clone(),
        server.try_clone(),
        server.try_clone(),
        client.try_clone(),
        client.try_clone(),
    ) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    // Client to server: at once.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_in, &mut s_out);
        let _ = s_out.shutdown(Shutdown::Write);
    });
    // Server to client: each chunk stamped when read, written `delay` later.
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match s_in.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
        // The server is gone: so is everything still in flight.
        let _ = c_cut.shutdown(Shutdown::Both);
    });
    std::thread::spawn(move || {
        for (read_at, bytes) in rx {
            let due = read_at + Duration::from_millis(delay.load(Ordering::SeqCst));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if c_out.write_all(&bytes).is_err() {
                break;
            }
        }
    });
}
