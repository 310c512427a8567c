//! The harness of the `drbook watch` tests: a watcher process whose output is read line by
//! line while it runs (so a test waits for a round or a transition instead of sleeping), a
//! runbook generator around a `trigger { }` block, readers of the state dir, and RFC 3339
//! times as milliseconds.
//!
//! Every wait polls for at most [`LIMIT`]; a watcher that exits early or a wait that times out
//! panics with everything the watcher printed. A watcher still running when its test ends
//! (a failed assertion included) is killed by `Drop`.

use crate::httpd::{Reply, Server};
use crate::runkit::{drb, state, STATE};
use crate::{Output, Test};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for any one thing (a loaded 2-core machine, a debug build).
pub const LIMIT: Duration = Duration::from_secs(60);

/// A running `drbook watch` (or any long-running drbook command), its output collected as it
/// comes.
pub struct Watcher {
    child: Child,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    args: Vec<String>,
}

impl Watcher {
    /// `drbook ARGS --state-dir <tmp>/state`, in the test's directory and environment.
    pub fn start(t: &Test, args: &[&str]) -> Watcher {
        let st = state(t);
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["--state-dir".to_string(), st]);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_drbook"));
        cmd.args(["--color", "never"])
            .args(&all)
            .current_dir(t.cwd.as_deref().unwrap_or(t.dir.path()))
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("DRBOOK_STATE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for k in &t.removed_envs {
            cmd.env_remove(k);
        }
        for (k, v) in &t.envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the drbook binary");
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let o = out.clone();
        let lines = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lock(&o).push(line);
            }
        });
        let e = err.clone();
        let text = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut r = stderr;
            let mut chunk = [0u8; 4096];
            while let Ok(n) = r.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                *lock(&e) = String::from_utf8_lossy(&buf).into_owned();
            }
        });
        Watcher { child, out, err, readers: vec![lines, text], args: all }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.out).clone()
    }

    pub fn stderr(&self) -> String {
        lock(&self.err).clone()
    }

    /// Everything printed so far, for failure messages.
    pub fn dump(&self) -> String {
        format!(
            "drbook {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.lines().join("\n"),
            self.stderr()
        )
    }

    /// The lines so far, each parsed as JSON (`--log-format json`); panics on one that is not.
    #[track_caller]
    pub fn json(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("a line is not JSON ({e}): {l:?}\n{}", self.dump()))
            })
            .collect()
    }

    /// Polls `found` over the lines printed so far until it returns something; panics when
    /// the watcher exits first or after [`LIMIT`].
    #[track_caller]
    pub fn until<T>(&mut self, what: &str, found: impl Fn(&[String]) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(x) = found(&self.lines()) {
                return x;
            }
            let exited = self.child.try_wait().expect("poll drbook").is_some();
            if exited {
                // What it printed last may still be in the pipe.
                std::thread::sleep(Duration::from_millis(200));
                if let Some(x) = found(&self.lines()) {
                    return x;
                }
                panic!("the watcher exited before {what}\n{}", self.dump());
            }
            assert!(start.elapsed() < LIMIT, "no {what} within {LIMIT:?}\n{}", self.dump());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for a line containing `needle`; returns it.
    #[track_caller]
    pub fn line(&mut self, needle: &str) -> String {
        self.until(&format!("a line with {needle:?}"), |ls| {
            ls.iter().find(|l| l.contains(needle)).cloned()
        })
    }

    /// Like [`Watcher::until`] over the JSON lines (`--log-format json`).
    #[track_caller]
    pub fn until_json<T>(&mut self, what: &str, found: impl Fn(&[Value]) -> Option<T>) -> T {
        self.until(what, |lines| {
            let values: Vec<Value> =
                lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
            found(&values)
        })
    }

    /// Waits for the `n`th (1-based) JSON event named `event`; returns it.
    #[track_caller]
    pub fn event(&mut self, event: &str, n: usize) -> Value {
        self.until_json(&format!("event `{event}` #{n}"), |vs| {
            events(vs, event).get(n - 1).cloned()
        })
    }

    /// Waits until at least `n` rounds (JSON `round` lines) were printed; returns them all.
    #[track_caller]
    pub fn rounds(&mut self, n: usize) -> Vec<Value> {
        self.until_json(&format!("{n} rounds"), |vs| {
            let r = rounds(vs);
            (r.len() >= n).then_some(r)
        })
    }

    /// Waits until `n` more rounds than now were printed.
    #[track_caller]
    pub fn more_rounds(&mut self, n: usize) -> Vec<Value> {
        let now = rounds(&self.json_lossy()).len();
        self.rounds(now + n)
    }

    /// The lines so far that parse as JSON.
    pub fn json_lossy(&self) -> Vec<Value> {
        self.lines().iter().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).expect("a pid fits i32"));
        nix::sys::signal::kill(pid, sig).expect("signal the drbook process");
    }

    /// Sends `sig` and waits (at most [`LIMIT`]) for the process to end; its output.
    pub fn stop(mut self, sig: nix::sys::signal::Signal) -> Output {
        self.signal(sig);
        self.finish()
    }

    /// Waits (at most [`LIMIT`]) for the process to end on its own; its output.
    pub fn finish(&mut self) -> Output {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for drbook") {
                break s;
            }
            if start.elapsed() > LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("drbook did not end within {LIMIT:?}\n{}", self.dump());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        use std::os::unix::process::ExitStatusExt;
        Output {
            status: status.code().or_else(|| status.signal().map(|s| -s)).unwrap_or(-1),
            stdout: self.lines().join("\n") + "\n",
            stderr: self.stderr(),
            elapsed: start.elapsed(),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The `{"type":"round"}` lines of `--log-format json`.
pub fn rounds(vs: &[Value]) -> Vec<Value> {
    vs.iter().filter(|v| v["type"] == "round").cloned().collect()
}

/// The `{"type":"event"}` lines named `event`.
pub fn events(vs: &[Value], event: &str) -> Vec<Value> {
    vs.iter().filter(|v| v["type"] == "event" && v["event"] == event).cloned().collect()
}

/// A health endpoint whose answer the test flips while the watcher runs.
pub struct Health {
    pub server: Server,
}

impl Health {
    /// `/a` and `/b` both healthy at first.
    pub fn start() -> Health {
        let h = Health { server: Server::start() };
        h.set("/a", true);
        h.set("/b", true);
        h
    }

    /// `path` answers 200 (`up`) or 503.
    pub fn set(&self, path: &str, up: bool) {
        let reply = if up { Reply::new(200, "ok") } else { Reply::new(503, "down") };
        self.server.route(path, reply);
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }
}

/// A runbook named `name`: owner, `rto 1h`, a monthly full drill, a param `change_ticket`,
/// `header` (more header items), the `trigger { }` block made of `trigger` (one item per
/// line), `steps` (more steps) and two harmless steps, the first appending `failed-over` to
/// the file `effects`.
pub fn book(name: &str, header: &str, trigger: &str, steps: &str) -> String {
    let trigger: String = trigger.lines().map(|l| format!("    {}\n", l.trim())).collect();
    format!(
        r#"runbook "{name}" {{
  owner "ops"
  rto   1h
{header}
  param change_ticket = "manual"

  drills {{
    full every 30d
  }}

  trigger {{
{trigger}  }}
{steps}
  step promote {{
    duration 1s
    run      "echo failed-over >> effects"
    idempotent
  }}

  step announce {{
    needs    promote
    duration 1s
    run      "echo announced ${{change_ticket}}"
    idempotent
  }}
}}
"#
    )
}

/// The probe line of `health`'s `/a`.
pub fn probe_a(h: &Health) -> String {
    format!("probe primary http GET \"{}\" {{ status 200..299 }}", h.url("/a"))
}

/// A test directory holding `f.drbook` = `text`.
pub fn test_with(text: &str) -> Test {
    Test::new().file("f.drbook", text)
}

/// A successful `drbook drill f.drbook --type full`: the practice run `requires auto` needs.
#[track_caller]
pub fn drill(t: &Test) {
    let out = drb(t, &["drill", "f.drbook", "--type", "full", "--non-interactive"]);
    out.expect_status(0);
}

/// The runs of the state dir that are runs (not drills): `(run_id, status)`, from
/// `drbook status --format json`.
#[track_caller]
pub fn real_runs(t: &Test) -> Vec<(String, String)> {
    let out = drb(t, &["status", "--format", "json"]);
    if out.status != 0 && !t.path(STATE).join("runs").exists() {
        return Vec::new();
    }
    out.expect_status(0);
    crate::json(&out)["runs"]
        .as_array()
        .expect("`runs` is an array")
        .iter()
        .filter(|r| r["kind"] == "run")
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("?").to_string();
            (s("run_id"), s("status"))
        })
        .collect()
}

/// Polls until run `id` is listed by `drbook status` (a watcher prints `fired` before the
/// run it starts has written its journal).
#[track_caller]
pub fn wait_run(t: &Test, id: &str) {
    let start = Instant::now();
    while !real_runs(t).iter().any(|(r, _)| r == id) {
        assert!(start.elapsed() < LIMIT, "run {id} did not appear within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `run_started` record of run `id` (waiting for the run to exist).
#[track_caller]
pub fn run_started(t: &Test, id: &str) -> Value {
    wait_run(t, id);
    let records = crate::runkit::journal(t, id);
    let first = records.first().unwrap_or_else(|| panic!("run {id} has an empty journal"));
    assert_eq!(first["event"], "run_started", "{first}");
    first.clone()
}

/// `drbook watch status f.drbook --format json`, parsed (exit 0 required).
#[track_caller]
pub fn watch_status(t: &Test) -> Value {
    let out = drb(t, &["watch", "status", "f.drbook", "--format", "json"]);
    out.expect_status(0);
    crate::json(&out)
}

/// Polls `drbook status` until run `id` has ended (any status but running); returns it.
#[track_caller]
pub fn wait_run_ended(t: &Test, id: &str) -> String {
    let start = Instant::now();
    loop {
        let out = drb(t, &["status", id, "--format", "json"]);
        if out.status == 0 {
            let v = crate::json(&out);
            let s = v["status"].as_str().unwrap_or("").to_string();
            if !s.is_empty() && s != "running" {
                return s;
            }
        }
        assert!(start.elapsed() < LIMIT, "run {id} did not end within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Milliseconds since the epoch of an RFC 3339 UTC time (`2026-11-23T21:40:00.123Z`, the
/// fraction optional, `Z` or `+00:00`).
#[track_caller]
pub fn ms(at: &str) -> i64 {
    let bad = || -> ! { panic!("not an RFC 3339 UTC time: {at:?}") };
    let b = at.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' {
        bad();
    }
    let num = |r: std::ops::Range<usize>| -> i64 {
        at.get(r).and_then(|s| s.parse().ok()).unwrap_or_else(|| bad())
    };
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, s) = (num(11..13), num(14..16), num(17..19));
    let rest = &at[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(f) => {
            let digits = f.bytes().take_while(u8::is_ascii_digit).count();
            let mut ms_text: String = f[..digits].chars().take(3).collect();
            while ms_text.len() < 3 {
                ms_text.push('0');
            }
            (ms_text.parse::<i64>().unwrap_or_else(|_| bad()), &f[digits..])
        }
        None => (0, rest),
    };
    if zone != "Z" && zone != "+00:00" {
        bad();
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + frac
}

#[test]
fn rfc3339_times_become_milliseconds() {
    assert_eq!(ms("1970-01-01T00:00:00Z"), 0);
    assert_eq!(ms("1970-01-02T00:00:01.5Z"), 86_401_500);
    assert_eq!(ms("2026-11-23T21:40:00.123Z"), 1_795_470_000_123);
    assert_eq!(ms("2000-03-01T00:00:00+00:00"), 951_868_800_000);
}
