//! Writing a run: the [`Sink`] the executor appends to, on disk ([`RunHandle`]) or in memory
//! ([`MemoryJournal`], for `--dry-run` and tests). For concurrent appenders, a handle is
//! taken over by [`super::Journal::on_disk`], which syncs in groups.
//!
//! Input: events. Output: the same events made durable (or kept in memory) and the replayed
//! [`RunState`] kept up to date.
//!
//! Invariants: an event is validated by [`RunState::apply`] before it is written, so an
//! impossible event never reaches the journal; [`RunHandle::append`] returns only after the
//! record is written with one `write_all` and `fdatasync`ed; a handle holds the run's lock for
//! its whole life; after a failed write the handle refuses further appends (its state may be
//! ahead of the disk) and the runner must stop and `resume` later.

use super::chain::{Anchor, Head};
use super::record::{frame, json};
use super::store::JOURNAL;
use super::{Event, Inbox, JournalError, RunState, StepLogs};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where the executor records events.
pub trait Sink {
    /// Validates `e` against the run so far and records it; an impossible event is refused
    /// and leaves nothing behind.
    fn append(&mut self, e: &Event) -> Result<(), JournalError>;
    /// Like `append`, without waiting for the disk: the record is flushed by the next
    /// `append`. For records a crash may lose without harm (a step's process id, which only
    /// helps `resume` find a leftover process).
    fn append_lazy(&mut self, e: &Event) -> Result<(), JournalError> {
        self.append(e)
    }
    /// Several events, validated all before any is recorded, made durable together.
    fn append_all(&mut self, events: &[Event]) -> Result<(), JournalError> {
        let mut check = self.state().clone();
        for e in events {
            check.apply(check.records + 1, e)?;
        }
        for e in events {
            self.append(e)?;
        }
        Ok(())
    }
    /// The run as recorded so far.
    fn state(&self) -> &RunState;
}

/// A run being driven by this process: holds its lock and appends to its journal.
#[derive(Debug)]
pub struct RunHandle {
    pub state: RunState,
    dir: PathBuf,
    journal: File,
    /// Bytes of good records in the journal: where a failed write is cut back to.
    len: u64,
    /// Held, never read: the `flock` lives as long as this descriptor.
    _lock: File,
    broken: bool,
    /// The chain head after the last good record and the anchor it is kept in; `None` for a
    /// journal written by an older drbook (not chained), which goes on unchained.
    chain: Option<(Head, Anchor)>,
}

pub(super) fn new(
    dir: PathBuf,
    journal: File,
    lock: File,
    state: RunState,
    len: u64,
    chain: Option<(Head, Anchor)>,
) -> RunHandle {
    RunHandle { state, dir, journal, len, _lock: lock, broken: false, chain }
}

/// A [`RunHandle`] taken apart, for the journal writer that takes it over.
pub(super) struct Parts {
    pub state: RunState,
    pub dir: PathBuf,
    pub journal: File,
    pub len: u64,
    pub lock: File,
    pub broken: bool,
    pub chain: Option<(Head, Anchor)>,
}

impl RunHandle {
    pub(super) fn into_parts(self) -> Parts {
        let RunHandle { state, dir, journal, len, _lock: lock, broken, chain } = self;
        Parts { state, dir, journal, len, lock, broken, chain }
    }

    /// The chain head after the last record written; `None` when the journal is not chained.
    pub fn head(&self) -> Option<Head> {
        self.chain.as_ref().map(|(h, _)| *h)
    }

    /// The frames of `events` after the current head, and the head after them.
    fn frames(&self, events: &[Event]) -> (Vec<u8>, Option<Head>) {
        let mut head = self.head();
        let mut bytes = Vec::new();
        for e in events {
            bytes.extend_from_slice(&frame(head.as_mut(), &json(e)));
        }
        (bytes, head)
    }
}

impl RunHandle {
    /// Validates, writes and fdatasyncs one record: when this returns `Ok`, the event is
    /// durably recorded (LANGUAGE.md §8).
    pub fn append(&mut self, e: &Event) -> Result<(), JournalError> {
        self.usable()?;
        let record = self.state.records + 1;
        self.state.apply(record, e).map_err(|err| err.in_journal(&self.journal_path()))?;
        let (bytes, head) = self.frames(std::slice::from_ref(e));
        self.write(&bytes, head)
    }

    /// Like [`RunHandle::append`] for several events at once: all are validated before any is
    /// written, then they go out in one write and one fdatasync.
    pub fn append_batch(&mut self, events: &[Event]) -> Result<(), JournalError> {
        self.usable()?;
        let mut next = self.state.clone();
        for e in events {
            next.apply(next.records + 1, e).map_err(|err| err.in_journal(&self.journal_path()))?;
        }
        let (bytes, head) = self.frames(events);
        self.state = next;
        self.write(&bytes, head)
    }

    /// The log file of a step's attempt, `runs/<id>/logs/<step>.<attempt>.log`; creates
    /// `logs/` (0700) on first use. Characters unsafe in a file name are replaced by `_`.
    pub fn log_path(&self, step: &str, attempt: u32) -> Result<PathBuf, JournalError> {
        self.logs().path(step, attempt)
    }

    /// Opens (creating, 0600, appending) the log file of a step's attempt.
    pub fn open_log(&self, step: &str, attempt: u32) -> Result<File, JournalError> {
        self.logs().open(step, attempt)
    }

    /// The run's step logs, for the executor.
    pub fn logs(&self) -> StepLogs {
        StepLogs::new(&self.dir)
    }

    /// The run's inbox (requests from `drbook approve` / `deny`), for the executor.
    pub fn inbox(&self) -> Inbox {
        Inbox::new(&self.dir)
    }

    /// The run's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL)
    }

    fn usable(&self) -> Result<(), JournalError> {
        if self.broken {
            let e = io::Error::other(
                "an earlier write to this journal failed; resume the run to go on",
            );
            return Err(JournalError::io(self.journal_path(), e));
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8], head: Option<Head>) -> Result<(), JournalError> {
        self.write_with(bytes, head, true)
    }

    /// Writes `bytes` (the records up to `head`); the anchor moves to `head` only once they
    /// are synced, so it never leads the journal.
    fn write_with(
        &mut self,
        bytes: &[u8],
        head: Option<Head>,
        sync: bool,
    ) -> Result<(), JournalError> {
        let synced = |f: &mut File| if sync { f.sync_data() } else { Ok(()) };
        match self.journal.write_all(bytes).and_then(|()| synced(&mut self.journal)) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                if let (Some((at, anchor)), Some(head)) = (self.chain.as_mut(), head) {
                    *at = head;
                    if sync {
                        anchor.set(head);
                    } else {
                        anchor.set_unsynced(head);
                    }
                }
                Ok(())
            }
            Err(e) => {
                // The state already holds the event; only a fresh replay can be trusted now.
                // Cutting back a partial record keeps the journal free of mid-file damage.
                self.broken = true;
                let _ = self.journal.set_len(self.len);
                Err(JournalError::io(self.journal_path(), e))
            }
        }
    }
}

impl Sink for RunHandle {
    fn append(&mut self, e: &Event) -> Result<(), JournalError> {
        RunHandle::append(self, e)
    }

    fn append_all(&mut self, events: &[Event]) -> Result<(), JournalError> {
        self.append_batch(events)
    }

    fn append_lazy(&mut self, e: &Event) -> Result<(), JournalError> {
        self.usable()?;
        let record = self.state.records + 1;
        self.state.apply(record, e).map_err(|err| err.in_journal(&self.journal_path()))?;
        let (bytes, head) = self.frames(std::slice::from_ref(e));
        self.write_with(&bytes, head, false)
    }

    fn state(&self) -> &RunState {
        &self.state
    }
}

/// A journal that lives in memory: the same validation as on disk, nothing written.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryJournal {
    pub state: RunState,
    pub events: Vec<Event>,
}

impl MemoryJournal {
    /// A journal holding `first`, which must be a `run_started` of this version.
    pub fn new(first: Event) -> Result<MemoryJournal, JournalError> {
        let state = RunState::start(&first)?;
        Ok(MemoryJournal { state, events: vec![first] })
    }
}

impl Sink for MemoryJournal {
    fn append(&mut self, e: &Event) -> Result<(), JournalError> {
        self.state.apply(self.state.records + 1, e)?;
        self.events.push(e.clone());
        Ok(())
    }

    fn state(&self) -> &RunState {
        &self.state
    }
}
