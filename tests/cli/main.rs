//! Integration tests: run the real `drbook` binary against fixtures and inline runbooks.
//!
//! Golden files (`tests/fixtures/**/*.expected`, `tests/golden/**`) are compared byte for byte;
//! run with `DRBOOK_BLESS=1` to rewrite them from the actual output, then read the diff.

mod advise;
mod ci_workflows;
mod contrib_files;
mod corpus;
mod diag_formats;
mod diff;
mod drill_notify;
mod drill_resume;
mod drill_runs;
mod drill_tabletop;
mod export;
mod first_minutes;
mod fixtures;
mod fmt;
mod fmt_io;
mod forge;
mod head_sign;
mod history;
mod hostile;
mod httpd;
mod import;
mod inputs;
mod layout;
mod lsp;
mod lsp_nvim;
mod os_accounts;
mod params_file;
mod pgd;
mod plan;
mod plan_comment;
mod promtool;
mod readiness;
mod run_approval;
mod run_audit;
mod run_crash;
mod run_exit;
mod run_failover;
mod run_fleet;
mod run_flow;
mod run_hot_standby;
mod run_http;
mod run_journal;
mod run_lang;
mod run_leftover;
mod run_links;
mod run_masking;
mod run_moto;
mod run_people;
mod run_postgres;
mod run_regional;
mod run_results;
mod run_resume;
mod run_rollback;
mod run_safety;
mod run_services;
mod run_ssm;
mod run_tamper;
mod run_verify;
mod run_windows;
mod runkit;
mod secrets;
mod shipped_drills;
mod signed;
mod ssmd;
mod state_trust;
mod usage;
mod watch_admin;
mod watch_e2e;
mod watch_loop;

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The date every test checks against, so stale-review warnings never depend on the clock.
pub const TODAY: &str = "2026-11-23";

/// How long one run of the binary may take before the test fails (debug build, slow CI).
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn expect_status(&self, code: i32) -> &Self {
        assert_eq!(
            self.status, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        );
        self
    }

    /// Panics unless stderr contains `needle`.
    #[track_caller]
    pub fn expect_stderr(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr should contain {needle:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    /// Panics if the process panicked or died of a signal.
    #[track_caller]
    pub fn expect_no_crash(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("overflowed its stack"),
            "drbook crashed\n--- stderr (first 4000 bytes)\n{}",
            head(&self.stderr, 4000)
        );
        assert!(self.status >= 0, "drbook was killed by a signal (status {})", self.status);
        self
    }
}

/// A run of the binary in a fresh temporary directory.
pub struct Test {
    dir: tempfile::TempDir,
    cwd: Option<PathBuf>,
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    removed_envs: Vec<String>,
    color_flag: bool,
    /// The command line that stands for the binary; empty: the binary itself.
    program: Vec<OsString>,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    pub fn new() -> Self {
        Test {
            dir: tempfile::tempdir().expect("create a temporary directory"),
            cwd: None,
            args: Vec::new(),
            envs: Vec::new(),
            removed_envs: Vec::new(),
            color_flag: true,
            program: Vec::new(),
        }
    }

    /// Writes `name` (a path relative to the temporary directory) with `text`.
    pub fn file(self, name: &str, text: &str) -> Self {
        self.bytes(name, text.as_bytes())
    }

    /// Writes `name` with arbitrary bytes.
    pub fn bytes(self, name: &str, bytes: &[u8]) -> Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the fixture's directory");
        }
        std::fs::write(&path, bytes).expect("write a fixture file");
        self
    }

    /// Copies a file or directory of the crate (path relative to the crate root) to `to`.
    pub fn copy(self, from: &str, to: &str) -> Self {
        copy_tree(&crate_root().join(from), &self.dir.path().join(to));
        self
    }

    /// Copies `name` (a file or directory) from another test's temporary directory.
    pub fn copy_from(self, other: &Test, name: &str) -> Self {
        copy_tree(&other.path(name), &self.dir.path().join(name));
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// Removes `key` from the environment the binary inherits.
    pub fn without_env(mut self, key: &str) -> Self {
        self.removed_envs.push(key.to_string());
        self
    }

    /// Runs in the crate root instead of the temporary directory, so fixture paths given
    /// relative to it (`tests/fixtures/...`) appear as such in the output.
    pub fn in_crate_root(mut self) -> Self {
        self.cwd = Some(crate_root());
        self
    }

    /// Leaves out the `--color never` that is otherwise passed first.
    pub fn without_color_flag(mut self) -> Self {
        self.color_flag = false;
        self
    }

    /// Runs `argv` (whose last word is the binary) instead of the binary itself, e.g.
    /// `runuser -u postgres -- <drbook>` to run it as another OS user.
    pub fn program(mut self, argv: Vec<OsString>) -> Self {
        self.program = argv;
        self
    }

    /// A path inside the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Reads back a file of the temporary directory.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read a file back")
    }

    pub fn run(&self) -> Output {
        self.spawn_with(&self.args).wait()
    }

    /// Runs the binary with `args` instead of the builder's, in the same directory and
    /// environment: several commands of one scenario (`run`, then `status`, then `resume`).
    pub fn cmd(&self, args: &[&str]) -> Output {
        self.spawn(args).wait()
    }

    /// Starts the binary with `args` without waiting for it (stdin null, output captured).
    pub fn spawn(&self, args: &[&str]) -> Live {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.spawn_with(&args)
    }

    fn spawn_with(&self, args: &[OsString]) -> Live {
        let mut cmd = match self.program.split_first() {
            Some((program, words)) => {
                let mut cmd = Command::new(program);
                cmd.args(words);
                cmd
            }
            None => Command::new(env!("CARGO_BIN_EXE_drbook")),
        };
        if self.color_flag {
            cmd.args(["--color", "never"]);
        }
        cmd.args(args)
            .current_dir(self.cwd.as_deref().unwrap_or(self.dir.path()))
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("DRBOOK_STATE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for k in &self.removed_envs {
            cmd.env_remove(k);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let start = Instant::now();
        let mut child = cmd.spawn().expect("start the drbook binary");
        let out = reader(child.stdout.take().expect("piped stdout"));
        let err = reader(child.stderr.take().expect("piped stderr"));
        Live { child, out, err, start, args: args.to_vec() }
    }
}

/// A drbook process started by [`Test::spawn`] and not yet waited for.
pub struct Live {
    child: std::process::Child,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
    start: Instant,
    args: Vec<OsString>,
}

impl Live {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `sig` to the drbook process (not to its steps, which have their own groups).
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).expect("a pid fits i32"));
        nix::sys::signal::kill(pid, sig).expect("signal the drbook process");
    }

    /// Whether the process has exited (it stays reapable by [`Live::wait`]).
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().expect("poll drbook").is_some()
    }

    /// Waits for the process (at most [`TIME_LIMIT`]) and collects what it printed. A process
    /// killed by a signal has status `-signal`.
    pub fn wait(mut self) -> Output {
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for drbook") {
                break s;
            }
            if self.start.elapsed() > TIME_LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("drbook {:?} ran longer than {TIME_LIMIT:?}", self.args);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = self.start.elapsed();
        let stdout = self.out.join().expect("stdout reader thread");
        let stderr = self.err.join().expect("stderr reader thread");
        use std::os::unix::process::ExitStatusExt;
        Output {
            status: status.code().or_else(|| status.signal().map(|s| -s)).unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
        }
    }
}

fn reader(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("create a directory for the copy");
        for entry in std::fs::read_dir(from).expect("list a directory to copy") {
            let entry = entry.expect("read a directory entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).expect("create a directory for the copy");
        }
        std::fs::copy(from, to).expect("copy a file");
    }
}

/// The `.drbook` files directly in `dir` (relative to the crate root), sorted, as paths
/// relative to the crate root.
pub fn drbook_files(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(crate_root().join(dir))
        .expect("list a fixture directory")
        .map(|e| e.expect("read a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "drbook"))
        .map(|p| {
            let name = p.file_name().expect("a file name").to_string_lossy().into_owned();
            format!("{dir}/{name}")
        })
        .collect();
    files.sort();
    files
}

/// The file name without directory and extension.
pub fn stem(path: &str) -> String {
    Path::new(path).file_stem().expect("a file stem").to_string_lossy().into_owned()
}

pub fn blessing() -> bool {
    std::env::var_os("DRBOOK_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the golden file `path` (relative to the crate root), or writes it
/// when `DRBOOK_BLESS=1`. Returns a description of the mismatch instead of panicking, so a
/// corpus test can report every failing file at once.
pub fn golden(path: &str, actual: &str) -> Result<(), String> {
    let full = crate_root().join(path);
    if blessing() {
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create the golden file's directory");
        }
        std::fs::write(&full, actual).expect("write a golden file");
        return Ok(());
    }
    let expected = std::fs::read_to_string(&full).map_err(|e| {
        format!("{path}: no expected output ({e}); run with DRBOOK_BLESS=1 to create it")
    })?;
    if expected == actual {
        return Ok(());
    }
    Err(format!("{path}: output differs from the golden file\n{}", diff(&expected, actual)))
}

/// Panics with every message of `failures`, if any.
#[track_caller]
pub fn report(failures: Vec<String>) {
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}

/// The first differing line, with a few lines of context from both sides.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let first = e.iter().zip(&a).position(|(x, y)| x != y).unwrap_or(e.len().min(a.len()));
    let from = first.saturating_sub(2);
    let show = |lines: &[&str]| -> String {
        lines.iter().skip(from).take(8).map(|l| format!("    {l}\n")).collect::<String>()
    };
    format!(
        "  first difference at line {}\n  expected:\n{}  actual:\n{}",
        first + 1,
        show(&e),
        show(&a)
    )
}

pub fn head(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Parses stdout as JSON.
#[track_caller]
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON: {e}\n--- stdout\n{}\n--- stderr\n{}", out.stdout, out.stderr)
    })
}
