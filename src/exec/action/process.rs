//! A step's process: the runbook's shell (`/bin/sh` by default) in its own process group, with
//! the step's `env` and `workdir`, stdout and stderr streamed line by line to the caller, stdout
//! kept (bounded) for captures, and the last lines of stderr kept in a small ring (bounded) for
//! failure messages. A
//! timeout or a stop request terminates the whole group — grandchildren included — with
//! SIGTERM, then SIGKILL after a grace period.
//!
//! **No script runs before its caller says go.** The shell is spawned blocked: it first reads
//! one line from a pipe on its stdin and runs the script only if that line is `go`; then its
//! stdin is `/dev/null` as before. [`run`] hands the spawned process to `on_spawn` and waits
//! for it, so the caller can make the record that lets `resume` find and stop the process
//! durable first. If the caller dies instead, the pipe closes, the shell reads end of file and
//! exits with code 125 without running anything.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

/// Stdout kept for captures; the rest is streamed and logged but not kept.
pub const KEEP_STDOUT: usize = 4 << 20;
/// Lines of stderr kept for a failure message: the last ones, blank lines left out.
pub const TAIL_LINES: usize = 5;
/// Bytes of each such line kept (its start): enough to mask a secret in it before the message
/// cuts it much shorter.
pub const TAIL_LINE_BYTES: usize = 8 << 10;
/// Between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A script to run.
pub struct Script {
    pub script: String,
    pub env: Vec<(String, String)>,
    pub workdir: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// The step it belongs to (for the test-only crash points).
    pub name: String,
    /// The shell, run as `SHELL -c` (`/bin/sh` unless the runbook says otherwise).
    pub shell: PathBuf,
}

/// How it ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    Stopped,
}

pub struct Finished {
    pub ended: Ended,
    /// Stdout, up to [`KEEP_STDOUT`] bytes.
    pub stdout: String,
    /// The last [`TAIL_LINES`] non-blank lines of stderr, each up to [`TAIL_LINE_BYTES`].
    pub stderr_tail: Vec<String>,
}

/// The exit code of a shell whose pipe closed before it was told to go: it ran nothing.
#[cfg(test)]
const NOT_RELEASED: i32 = 125;

/// Waits for `go` on stdin, then runs the script (`$1`) with stdin from `/dev/null`. The
/// script runs through `eval` in this same shell: `$0` stays `sh`, `$@` is empty, and the
/// one helper variable is unset before the script's first command.
const GATE: &str = "IFS= read -r _drbook_go && [ \"$_drbook_go\" = go ] || exit 125\n\
exec </dev/null\n_drbook_s=$1\nshift\nunset -v _drbook_go\neval \"unset -v _drbook_s\n$_drbook_s\"";

/// Finds the shell that `run` actions use: the runbook's `shell` (a name looked up in `PATH`,
/// or a path), or POSIX `sh` (at `/bin/sh` when it is there). The shell must take `-c SCRIPT`
/// and POSIX quoting (bash, zsh, dash, ksh do). `Err` names the shell that cannot be found.
pub fn find_shell(shell: Option<&str>) -> Result<PathBuf, String> {
    let name = match shell {
        None if Path::new("/bin/sh").exists() => return Ok(PathBuf::from("/bin/sh")),
        None => "sh",
        Some(s) => s,
    };
    let runnable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return if runnable(&p) {
            Ok(p)
        } else {
            Err(format!("the shell `{name}` is not an executable file"))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| runnable(p))
        .ok_or_else(|| format!("the shell `{name}` is not found in PATH"))
}

/// The name a shell is called by (`$0`, messages): `bash` for `/usr/bin/bash`.
pub fn shell_name(shell: &Path) -> String {
    shell.file_name().map_or_else(|| shell.display().to_string(), |n| n.to_string_lossy().into())
}

/// The spawned process: reported before the caller waits for it, so the journal can record it.
#[derive(Clone, Copy, Debug)]
pub struct Spawned {
    pub pid: u32,
    pub pgid: u32,
    pub pid_start: u64,
}

/// Runs the script. `on_spawn` is called once the process exists, before it runs anything: the
/// script starts when the future it returns yields `true`; on `false` the process is ended
/// unreleased and the run is [`Ended::Stopped`]. `on_line` is called for every line of output;
/// `stop` turning true terminates the group.
pub async fn run<F>(
    s: Script,
    on_spawn: impl FnOnce(Spawned) -> F,
    mut on_line: impl FnMut(Stream, &str),
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<Finished>
where
    F: std::future::Future<Output = bool>,
{
    // The shell at the path found once before the run: a PATH search per step costs several
    // failed execs.
    let mut cmd = Command::new(&s.shell);
    cmd.arg("-c")
        .arg(GATE)
        .arg(shell_name(&s.shell))
        .arg(&s.script)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.kill_on_drop(false);
    for (k, v) in &s.env {
        cmd.env(k, v);
    }
    if let Some(dir) = &s.workdir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let gate = child.stdin.take();
    let go = on_spawn(Spawned { pid, pgid: pid, pid_start: process_start(pid).unwrap_or(0) }).await;
    let released = match (go, gate) {
        (true, Some(mut gate)) => {
            use tokio::io::AsyncWriteExt;
            let sent = gate.write_all(b"go\n").await.is_ok();
            super::fault::crash_point("after_go", &s.name);
            sent
        }
        _ => false,
    };
    if !released {
        // Dropping the pipe unwritten makes the shell exit without running the script.
        signal_group(pid, Signal::SIGKILL);
        let _ = child.wait().await;
        return Ok(Finished {
            ended: Ended::Stopped,
            stdout: String::new(),
            stderr_tail: Vec::new(),
        });
    }

    // Both pipes are read in this task (no reader tasks, no channel): a line is handed on as
    // soon as it is complete.
    let mut out = child.stdout.take().map(BufReader::new);
    let mut err = child.stderr.take().map(BufReader::new);
    let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
    let mut stdout = String::new();
    let mut tail = std::collections::VecDeque::with_capacity(TAIL_LINES + 1);
    let mut line_of = |stream: Stream, buf: &mut Vec<u8>, stdout: &mut String| {
        let text = String::from_utf8_lossy(buf);
        let line = text.trim_end_matches(['\n', '\r']);
        on_line(stream, line);
        if stream == Stream::Stdout && stdout.len() + line.len() < KEEP_STDOUT {
            stdout.push_str(line);
            stdout.push('\n');
        }
        if stream == Stream::Stderr && !line.trim().is_empty() {
            let mut end = line.len().min(TAIL_LINE_BYTES);
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            tail.push_back(line[..end].to_string());
            if tail.len() > TAIL_LINES {
                tail.pop_front();
            }
        }
        buf.clear();
    };
    let deadline = s.timeout.map(|t| tokio::time::Instant::now() + t);
    let sleep_until = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(sleep_until);
    // Once the shell is gone, what its pipes still hold is taken for a moment, without
    // waiting on background processes that inherited them.
    let drain = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(drain);
    let mut outcome: Option<Ended> = None;
    let mut status = None;
    while status.is_none() || out.is_some() || err.is_some() {
        tokio::select! {
            st = child.wait(), if status.is_none() => {
                status = Some(st?);
                drain.as_mut().reset(tokio::time::Instant::now() + Duration::from_millis(300));
            }
            n = read_line(&mut out, &mut out_buf), if out.is_some() => match n {
                Some(_) => line_of(Stream::Stdout, &mut out_buf, &mut stdout),
                // A read cut short by another branch keeps its bytes in the buffer; the
                // last line without a newline is handed on at the end of the stream.
                None => {
                    if !out_buf.is_empty() {
                        line_of(Stream::Stdout, &mut out_buf, &mut stdout);
                    }
                    out = None;
                }
            },
            n = read_line(&mut err, &mut err_buf), if err.is_some() => match n {
                Some(_) => line_of(Stream::Stderr, &mut err_buf, &mut stdout),
                // A read cut short by another branch keeps its bytes in the buffer; the
                // last line without a newline is handed on at the end of the stream.
                None => {
                    if !err_buf.is_empty() {
                        line_of(Stream::Stderr, &mut err_buf, &mut stdout);
                    }
                    err = None;
                }
            },
            () = &mut drain, if status.is_some() => break,
            () = &mut sleep_until, if outcome.is_none() && status.is_none() => {
                outcome = Some(Ended::TimedOut);
                terminate(pid, &mut child).await;
            }
            changed = stop.changed(), if outcome.is_none() && status.is_none() => {
                if changed.is_err() || *stop.borrow() {
                    outcome = Some(Ended::Stopped);
                    terminate(pid, &mut child).await;
                }
            }
        }
    }
    // Lines left without a newline when the drain ended are still lines.
    if !out_buf.is_empty() {
        line_of(Stream::Stdout, &mut out_buf, &mut stdout);
    }
    if !err_buf.is_empty() {
        line_of(Stream::Stderr, &mut err_buf, &mut stdout);
    }
    let status = match status {
        Some(s) => s,
        None => child.wait().await?,
    };
    use std::os::unix::process::ExitStatusExt;
    let ended = outcome.unwrap_or_else(|| match (status.code(), status.signal()) {
        (Some(c), _) => Ended::Exited(c),
        (None, Some(sig)) => Ended::Signalled(sig),
        (None, None) => Ended::Exited(-1),
    });
    Ok(Finished { ended, stdout, stderr_tail: tail.into() })
}

/// Reads one line (or the last, unterminated, piece) into `buf`; `None` at the end of the
/// pipe or on an error. Cancel-safe: a partial line stays in `buf` for the next call.
async fn read_line<R>(r: &mut Option<BufReader<R>>, buf: &mut Vec<u8>) -> Option<usize>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let r = r.as_mut()?;
    match r.read_until(b'\n', buf).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

/// SIGTERM to the group, SIGKILL after [`GRACE`] if the shell is still there.
async fn terminate(pgid: u32, child: &mut tokio::process::Child) {
    signal_group(pgid, Signal::SIGTERM);
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        signal_group(pgid, Signal::SIGKILL);
    }
    // Grandchildren that ignored SIGTERM go too.
    signal_group(pgid, Signal::SIGKILL);
}

/// Sends a signal to a process group; a group that is already gone is fine.
pub fn signal_group(pgid: u32, sig: Signal) {
    if let Ok(p) = i32::try_from(pgid) {
        if p > 1 {
            let _ = killpg(Pid::from_raw(p), sig);
        }
    }
}

/// The process's start time in clock ticks since boot (`/proc/PID/stat`, field 22): with the
/// pid, it identifies a process across pid reuse.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process recorded as (pid, start) still runs.
pub fn still_running(pid: u32, start: u64) -> bool {
    pid > 1 && process_start(pid).is_some_and(|s| s == start) && !is_zombie(pid)
}

/// A process that has exited but was not reaped yet: dead for every purpose here.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.get(s.rfind(')')? + 1..).map(|a| a.split_whitespace().next() == Some("Z")))
        .unwrap_or(false)
}

/// Live (not zombie) processes of process group `pgid` started no earlier than `since` (clock
/// ticks since boot): what is left of a step whose runner died, even after its shell is gone.
pub fn group_members(pgid: u32, since: u64) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).ok().is_some_and(|s| {
                let Some(after) = s.rfind(')').and_then(|i| s.get(i + 1..)) else { return false };
                let f: Vec<&str> = after.split_whitespace().collect();
                let state = f.first().copied().unwrap_or("Z");
                let group = f.get(2).and_then(|g| g.parse::<u32>().ok());
                let start = f.get(19).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
                state != "Z" && group == Some(pgid) && start >= since
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(s: &str, timeout: Option<Duration>) -> Script {
        Script {
            script: s.into(),
            env: vec![("GREETING".into(), "hi there".into())],
            workdir: None,
            timeout,
            name: "t".into(),
            shell: "/bin/sh".into(),
        }
    }

    #[tokio::test]
    async fn streams_lines_keeps_stdout_and_reports_exit_codes() {
        let (_tx, rx) = watch::channel(false);
        let mut lines = Vec::new();
        let f = run(
            script("echo \"$GREETING\"; echo oops >&2; exit 3", None),
            |_| async { true },
            |s, l| lines.push((s, l.to_string())),
            rx,
        )
        .await
        .expect("runs");
        assert_eq!(f.ended, Ended::Exited(3));
        assert_eq!(f.stdout, "hi there\n");
        assert!(lines.contains(&(Stream::Stderr, "oops".to_string())));
        assert_eq!(f.stderr_tail, ["oops"]);
    }

    #[tokio::test]
    async fn a_last_line_without_a_newline_is_kept_however_the_reads_interleave() {
        // The exit and the last bytes race: a read cut short by the exit must not lose them.
        for _ in 0..40 {
            let (_tx, rx) = watch::channel(false);
            let f = run(
                script("printf out; printf 'bad\\r' >&2; exit 3", None),
                |_| async { true },
                |_, _| {},
                rx,
            )
            .await
            .expect("runs");
            assert_eq!(f.stdout, "out\n");
            assert_eq!(f.stderr_tail, ["bad"]);
        }
    }

    #[tokio::test]
    async fn the_stderr_tail_keeps_the_last_non_blank_lines_bounded() {
        let (_tx, rx) = watch::channel(false);
        let s = script(
            "for i in 1 2 3 4 5 6 7; do echo \"e$i\" >&2; echo >&2; done; head -c 9000 /dev/zero | tr '\\0' y >&2; echo >&2; sleep 0.3",
            None,
        );
        let f = run(s, |_| async { true }, |_, _| {}, rx).await.expect("runs");
        let mut want: Vec<String> = ["e4", "e5", "e6", "e7"].map(String::from).to_vec();
        want.push("y".repeat(TAIL_LINE_BYTES));
        assert_eq!(f.stderr_tail, want);
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group_including_grandchildren() {
        let (_tx, rx) = watch::channel(false);
        let mut spawned = None;
        let started = std::time::Instant::now();
        let f = run(
            script("sleep 100 & sleep 100", Some(Duration::from_millis(300))),
            |s| {
                spawned = Some(s);
                async { true }
            },
            |_, _| {},
            rx,
        )
        .await
        .expect("runs");
        assert_eq!(f.ended, Ended::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
        let pgid = spawned.expect("spawned").pgid;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let alive = std::fs::read_dir("/proc")
            .expect("proc")
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
            .filter(|p| {
                // Zombies (state Z) are dead, waiting to be reaped by whoever adopted them.
                std::fs::read_to_string(format!("/proc/{p}/stat")).ok().and_then(|s| {
                    let after = s[s.rfind(')')? + 1..].to_string();
                    let mut f = after.split_whitespace();
                    let state = f.next()?;
                    let group = f.nth(1)?.parse::<u32>().ok()?;
                    (state != "Z").then_some(group)
                }) == Some(pgid)
            })
            .count();
        assert_eq!(alive, 0, "processes of group {pgid} survived the timeout");
    }

    #[tokio::test]
    async fn a_stop_request_terminates_the_action() {
        let (tx, rx) = watch::channel(false);
        let handle =
            tokio::spawn(run(script("sleep 100", None), |_| async { true }, |_, _| {}, rx));
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(true).expect("send");
        let f = handle.await.expect("joins").expect("runs");
        assert_eq!(f.ended, Ended::Stopped);
    }

    #[tokio::test]
    async fn a_process_not_released_runs_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mark = dir.path().join("ran");
        let (_tx, rx) = watch::channel(false);
        let s = script(&format!("touch '{}'", mark.display()), None);
        let f = run(s, |_| async { false }, |_, _| {}, rx).await.expect("runs");
        assert_eq!(f.ended, Ended::Stopped);
        // And a shell whose pipe closes unwritten exits with NOT_RELEASED, running nothing.
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", GATE, "sh", &format!("touch '{}'", mark.display())])
            .stdin(Stdio::null())
            .status()
            .expect("sh runs");
        assert_eq!(out.code(), Some(NOT_RELEASED));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!mark.exists(), "the script ran although it was never released");
    }

    #[tokio::test]
    async fn a_released_script_sees_what_sh_c_would_give_it() {
        let (_tx, rx) = watch::channel(false);
        let s =
            script("echo \"$0|$#|${_drbook_s-unset}|${_drbook_go-unset}\"; cat; echo done", None);
        let f = run(s, |_| async { true }, |_, _| {}, rx).await.expect("runs");
        assert_eq!(f.ended, Ended::Exited(0));
        assert_eq!(f.stdout, "sh|0|unset|unset\ndone\n");
    }
}
