//! What a runner that died left running: a step's (or a rollback's) process group, found again
//! from the journal's process record (pid, process group, start time) and stopped before anyone
//! decides about the step, so a step never runs twice at once.

use super::action::process::{group_members, signal_group, still_running, GRACE};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// A process record from the journal: `(pid, pgid, start)`.
pub type Recorded = (u32, u32, u64);

/// Whether anything of the recorded process still runs: the shell itself, or members of its
/// group started after it (the shell may be gone while its children still run).
pub fn alive(p: Recorded) -> bool {
    let (pid, pgid, start) = p;
    still_running(pid, start) || !group_members(pgid, start).is_empty()
}

/// How stopping a leftover went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Nothing of it was running.
    WasGone,
    /// It was running and ended by itself while we waited.
    EndedOnItsOwn,
    /// It ran and is gone now (SIGTERM, then SIGKILL after [`GRACE`]).
    Stopped,
    /// It survived SIGKILL (an uninterruptible sleep, another user's process...).
    Survived,
}

/// Waits up to `patience` for the recorded process group to end by itself, then stops it,
/// blocking until it is gone or survived SIGKILL.
pub fn wait_or_stop(p: Recorded, patience: Duration) -> Stopped {
    if !alive(p) {
        return Stopped::WasGone;
    }
    let deadline = Instant::now() + patience;
    while alive(p) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !alive(p) {
        return Stopped::EndedOnItsOwn;
    }
    stop(p)
}

/// Stops the recorded process group, blocking until it is gone or survived SIGKILL.
pub fn stop(p: Recorded) -> Stopped {
    if !alive(p) {
        return Stopped::WasGone;
    }
    let pgid = p.1;
    signal_group(pgid, Signal::SIGTERM);
    let gone_by = |deadline: Instant, every: u64| {
        while alive(p) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(every));
        }
        !alive(p)
    };
    if gone_by(Instant::now() + GRACE, 100) {
        return Stopped::Stopped;
    }
    signal_group(pgid, Signal::SIGKILL);
    if gone_by(Instant::now() + GRACE, 50) {
        Stopped::Stopped
    } else {
        Stopped::Survived
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn a_leftover_group_is_found_and_stopped() {
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .process_group(0)
            .spawn()
            .expect("sh starts");
        let pid = child.id();
        let start = super::super::action::process::process_start(pid).expect("start time");
        let rec = (pid, pid, start);
        assert!(alive(rec));
        // Reap the shell in the background, as a dead runner's init would.
        let reaper = std::thread::spawn(move || child.wait());
        assert_eq!(stop(rec), Stopped::Stopped);
        assert!(!alive(rec));
        let _ = reaper.join();
        assert_eq!(stop(rec), Stopped::WasGone);
    }

    #[test]
    fn a_leftover_that_ends_by_itself_is_waited_for_not_stopped() {
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "sleep 0.2"])
            .process_group(0)
            .spawn()
            .expect("sh starts");
        let pid = child.id();
        let start = super::super::action::process::process_start(pid).expect("start time");
        let reaper = std::thread::spawn(move || child.wait());
        let rec = (pid, pid, start);
        assert_eq!(wait_or_stop(rec, Duration::from_secs(5)), Stopped::EndedOnItsOwn);
        let _ = reaper.join();
    }
}
