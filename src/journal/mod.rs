//! The durable journal: an append-only list of [`Event`]s per run, a pure [`replay`] that turns
//! them into a [`RunState`], and a [`Store`] that keeps runs on disk under the state dir.
//!
//! Input: events from the executor (through a [`Journal`], or the [`Sink`] trait) and journal
//! files on disk. Output: [`RunState`] (what happened, step by step), [`Durable`] tickets that
//! say when a record is on disk, and typed [`JournalError`]s.
//!
//! Two ways to write a run: a [`RunHandle`] appends and `fdatasync`s under the caller's
//! `&mut` (the CLI, before and after the executor); a [`Journal`] takes a handle over and makes
//! records durable in groups on one writer thread, for the executor's concurrent tasks
//! (`writer.rs`). [`MemoryJournal`] and [`Journal::in_memory`] validate the same way and write
//! nothing.
//!
//! Layout of a state dir (directories 0700, files 0600):
//!
//! ```text
//! <state dir>/runs/<run id>/journal             one framed record per line (see `record`)
//! <state dir>/runs/<run id>/head                the chain head anchor: records, hash, open|closed (`chain`)
//! <state dir>/runs/<run id>/lock                flock'ed by the runner driving the run; holds its pid
//! <state dir>/runs/<run id>/logs/<step>.<n>.log output of attempt n of a step
//! <state dir>/runs/<run id>/inbox/<request>.json  a request from `drbook approve|deny` (`inbox`)
//! <state dir>/runs/<run id>/summary.json        the run in short, written when a runner stops (`summaries`)
//! <state dir>/watch/<key>/journal               the watcher's events, one framed record per line (`watch`)
//! <state dir>/watch/<key>/lock                  flock'ed by the one running watcher; holds its pid
//! <state dir>/watch/<key>/rounds.json           the last 20 rounds (atomically replaced; display only)
//! <state dir>/watch/<key>/inbox/<request>.json  an ack, approval or denial from `drbook watch ack|approve|deny`
//! ```
//!
//! Only this module builds these paths (`store.rs`, `watch/store.rs`); the rest of the program is handed a
//! [`RunHandle`], an [`Inbox`] or [`StepLogs`].
//!
//! # Crash-safety contract
//!
//! - **Durable before acknowledged.** An event is acknowledged when its record is on disk:
//!   [`RunHandle::append`] writes it with a single `write_all` and calls `fdatasync` before it
//!   returns; [`Journal::append`] returns a [`Durable`] ticket at once, and the event is
//!   acknowledged only when [`Durable::wait`] (or `wait_blocking`) returns `Ok`, which is after
//!   the `fdatasync` covering the record has returned. The executor appends `step_started` and
//!   waits for its ticket before an action begins, and records the step's end after it, so
//!   after a crash at any instant a step is exactly one of: never started (safe to start),
//!   `running` (it may or may not have acted: re-run only if idempotent, otherwise a person
//!   decides), or finished with its result recorded.
//! - **Only unacknowledged records are lost.** A crash loses at most records nobody was told
//!   were durable (an `append` that had not returned, or a ticket not yet resolved). The
//!   journal writer appends in order, so what survives of them is a prefix, of which only the
//!   last record may be torn; readers drop a torn record and [`Store::resume_run`] truncates
//!   it away (and fsyncs) before appending again. A surviving `step_started` whose action
//!   never began is read as `running`: the safe side.
//! - **Damage is diagnosed, never trusted.** A bad record anywhere but at the very end, an
//!   impossible transition, or an unknown format version is a [`JournalError`] naming the
//!   record; nothing is repaired or skipped silently, and nothing panics.
//! - **Impossible events never reach the disk.** Every append is validated by
//!   [`RunState::apply`] first; a refused event leaves the journal untouched. Records reach
//!   the file in the order their appends succeeded.
//! - **A failed write stops the journal.** After a failed write or sync the file is cut back
//!   to its last good record and every later append (and every ticket not yet durable) gets
//!   the error; the run goes on only by being resumed, from a fresh replay.
//! - **One runner per run.** The runner holds an exclusive `flock` on the run's lock file for
//!   the life of its [`RunHandle`] (and of the [`Journal`] that took it over, until its last
//!   clone is dropped). The kernel drops it when the process dies, so a run left by
//!   a crashed runner is taken over without stale-lock guessing.
//! - **A run exists whole or not at all.** [`Store::create_run`] builds a new run (lock
//!   taken, first record synced) in a temporary directory and renames it into place without
//!   replacing anything; the directory, and its entry in `runs/`, are fsynced before it
//!   returns. A crash during creation leaves no run of that id, and the next creation clears
//!   what it left (see `store.rs`).

pub mod audit;
pub mod chain;
pub mod drill;
pub mod event;
pub mod fsx;
pub mod gate;
mod handle;
pub mod identity;
pub mod inbox;
mod logs;
mod masked;
pub mod readiness;
mod record;
mod replay;
pub mod results;
pub mod services;
pub mod sign;
mod store;
mod summaries;
pub mod summary;
pub mod tabletop;
mod transitions;
mod trust;
pub mod watch;
mod writer;

#[cfg(test)]
mod tests;

pub use audit::{AuditAction, AuditEntry};

pub use event::*;
pub use gate::{judge, ApprovalRecord, Gate};
pub use handle::{MemoryJournal, RunHandle, Sink};
pub use inbox::{Inbox, RequestRef};
pub use logs::StepLogs;
pub use record::{decode_all, encode, Decoded};
pub use replay::{
    replay, Denial, FinallyInfo, RollbackInfo, RunState, RunStatus, StepRecord, StepState,
    UndoRecord,
};
pub use store::{new_run_id, valid_run_id, ReadInfo, Store};
pub use summaries::Found;
pub use writer::{Durable, Journal, Mask};

use std::path::PathBuf;

/// Everything that can go wrong reading or writing a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A record that is not a torn tail failed its checksum, did not parse, or was not framed.
    #[error("record {record} (byte {offset}) is damaged: {reason}")]
    Damaged { record: usize, offset: u64, reason: String },
    /// A record that is well framed but does not belong where it is in the hash chain.
    #[error("record {record} (byte {offset}) {what}")]
    Tampered { record: usize, offset: u64, what: String },
    /// The anchor of a chained journal is missing or does not match the journal.
    #[error("the journal's anchor `{}` {what}", path.display())]
    Anchor { path: PathBuf, what: String },
    /// A well-formed record that cannot follow the ones before it.
    #[error("record {record}: {reason}")]
    Impossible { record: usize, step: Option<String>, reason: String },
    #[error(
        "journal format version {found} is not supported (this drbook reads version {VERSION})"
    )]
    Version { found: u32 },
    /// Damaged, Impossible or Version, with the journal file it was found in.
    #[error("journal `{}`: {source}", path.display())]
    InJournal {
        path: PathBuf,
        #[source]
        source: Box<JournalError>,
    },
    #[error("run `{0}` already exists")]
    RunExists(String),
    /// The run id, and the state dir looked in.
    #[error("no run `{0}` in the state dir `{dir}`", dir = .1.display())]
    NoSuchRun(String, PathBuf),
    #[error("run `{run_id}` is being driven by another runner{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { run_id: String, pid: Option<u32> },
    /// Another process (`pid`, when it wrote one) holds the watcher's lock of `runbook`.
    #[error("another watcher{} is watching `{runbook}`", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    WatchLocked { runbook: String, pid: Option<u32> },
    #[error(
        "`{0}` is not a valid run id (use 1 to 100 of A-Z a-z 0-9 . _ -, not starting with `.`)"
    )]
    BadRunId(String),
    /// A state dir, run dir or journal that someone else could have changed (`trust.rs`).
    #[error("refusing `{}`: {why}; drbook trusts only a state dir that nobody else controls\nhelp: {fix}", path.display())]
    Untrusted { path: PathBuf, why: String, fix: String },
}

impl JournalError {
    /// The error without its file context: what [`JournalError::InJournal`] wraps.
    pub fn root(&self) -> &JournalError {
        match self {
            JournalError::InJournal { source, .. } => source.root(),
            other => other,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        JournalError::Io { path: path.into(), source }
    }

    /// Names the journal file a content error came from; other errors pass through.
    pub(crate) fn in_journal(self, path: &std::path::Path) -> Self {
        match self {
            JournalError::Damaged { .. }
            | JournalError::Tampered { .. }
            | JournalError::Impossible { .. }
            | JournalError::Version { .. } => {
                JournalError::InJournal { path: path.to_path_buf(), source: Box::new(self) }
            }
            other => other,
        }
    }
}
