//! The watcher's directory, `<state dir>/watch/<key>/` (layout in the module docs of
//! `journal`): its journal, its lock, its last rounds and its inbox. Only this file builds
//! these paths.
//!
//! Input: a state dir and a runbook name. Output: [`WatchStore`] (read, append under the
//! lock, rounds), [`WatchLock`] (the one watcher's flock).
//!
//! Invariants: `<key>` is the runbook's name kept to safe file-name characters plus 8 hex of
//! its SHA-256 ([`key`]), so two names never share a directory; directories are 0700, files
//! 0600, none is opened through a symbolic link, and the state dir, `watch/`, the runbook's
//! directory, its journal and its lock must be owned by this account and writable by nobody
//! else (`trust.rs`) before anything in them is read. The journal is written only under the
//! lock, one `write_all` per batch, `fdatasync`ed before [`WatchStore::append`] returns, every
//! event validated by replay first (a refused batch leaves the file untouched). Taking the
//! lock cuts a torn tail away (durably) and completes a real `fired` whose `disarmed` was torn
//! off, so a restarted watcher stays disarmed.

use super::event::{RoundLine, WatchEvent, ROUNDS_KEPT};
use super::frame;
use super::replay::WatchState;
use crate::journal::{fsx, store, trust, Inbox, JournalError};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const WATCH: &str = "watch";
const JOURNAL: &str = "journal";
const LOCK: &str = "lock";
const ROUNDS: &str = "rounds.json";

/// One runbook's watch directory.
#[derive(Clone, Debug)]
pub struct WatchStore {
    dir: PathBuf,
    runbook: String,
}

/// The one running watcher's exclusive lock on its directory; released when dropped (and
/// by the kernel when the process dies).
#[derive(Debug)]
pub struct WatchLock {
    _file: File,
    dir: PathBuf,
}

/// `<key>` of a runbook name: its characters outside `A-Z a-z 0-9 . _ -` replaced by `_`,
/// at most 64 of them, a leading `.` replaced, then `-` and the first 8 hex digits of the
/// SHA-256 of the name.
pub fn key(runbook: &str) -> String {
    let mut safe: String = runbook
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    if safe.starts_with('.') || safe.is_empty() {
        safe.insert(0, '_');
    }
    let hash = Sha256::digest(runbook.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{safe}-{hex}")
}

impl WatchStore {
    /// Opens (creating when missing, 0700) the watch directory of `runbook_name` in
    /// `state_dir`, after the trust checks.
    pub fn open(state_dir: &Path, runbook_name: &str) -> Result<WatchStore, JournalError> {
        let store = WatchStore::at(state_dir, runbook_name);
        if let Ok(meta) = fs::metadata(state_dir) {
            if !meta.is_dir() {
                let e = io::Error::new(io::ErrorKind::NotADirectory, "not a directory");
                return Err(JournalError::io(state_dir, e));
            }
        }
        trust::check(state_dir, true)?;
        fs::create_dir_all(state_dir).map_err(|e| JournalError::io(state_dir, e))?;
        let watch = state_dir.join(WATCH);
        for d in [&watch, &store.dir] {
            trust::check(d, false)?;
            fsx::dir(d, 0o700).map_err(|e| JournalError::io(d, e))?;
        }
        store.trusted()?;
        Ok(store)
    }

    /// The watch directory of `runbook_name`, for reading: nothing is created.
    pub fn at(state_dir: &Path, runbook_name: &str) -> WatchStore {
        let dir = state_dir.join(WATCH).join(key(runbook_name));
        WatchStore { dir, runbook: runbook_name.to_string() }
    }

    /// The runbook names (as their watchers journaled them) of every watch directory in
    /// `state_dir` holding a journal, sorted; unreadable ones are skipped.
    pub fn list(state_dir: &Path) -> Vec<String> {
        let Ok(entries) = fs::read_dir(state_dir.join(WATCH)) else { return Vec::new() };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let bytes = fsx::read(&e.path().join(JOURNAL)).ok()?;
                let decoded = frame::decode(&bytes).ok()?;
                let name = decoded.events.iter().rev().find_map(|ev| match ev {
                    WatchEvent::WatchStarted { runbook, .. } => Some(runbook.clone()),
                    _ => None,
                })?;
                // A directory copied or renamed under another key is not this runbook's.
                (e.file_name().to_str() == Some(key(&name).as_str())).then_some(name)
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn runbook(&self) -> &str {
        &self.runbook
    }

    /// The directory (for messages).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this runbook has a watch journal.
    pub fn exists(&self) -> bool {
        fs::symlink_metadata(self.dir.join(JOURNAL)).is_ok()
    }

    /// The approval and acknowledgement requests of other shells (`inbox.rs`'s protocol).
    pub fn inbox(&self) -> Inbox {
        Inbox::new(&self.dir)
    }

    fn trusted(&self) -> Result<(), JournalError> {
        let state_dir = self.dir.parent().and_then(Path::parent).unwrap_or(Path::new("."));
        trust::check(state_dir, true)?;
        for p in
            [state_dir.join(WATCH), self.dir.clone(), self.dir.join(JOURNAL), self.dir.join(LOCK)]
        {
            trust::check(&p, false)?;
        }
        Ok(())
    }

    /// Takes the watcher's lock: exclusive, non-blocking. Held by another process (or another
    /// open in this one): [`JournalError::WatchLocked`] with the holder's pid. Then a torn
    /// tail is cut away and an unfinished disarm completed, both durably.
    pub fn lock(&self) -> Result<WatchLock, JournalError> {
        self.trusted()?;
        fsx::dir(&self.dir, 0o700).map_err(|e| JournalError::io(&self.dir, e))?;
        let path = self.dir.join(LOCK);
        let file = store::lock_file(&path)?.ok_or_else(|| JournalError::WatchLocked {
            runbook: self.runbook.clone(),
            pid: store::holder(&path),
        })?;
        let lock = WatchLock { _file: file, dir: self.dir.clone() };
        self.repair(&lock)?;
        Ok(lock)
    }

    /// Whether a watcher holds the lock now, and its pid.
    pub fn holder(&self) -> Result<Option<Option<u32>>, JournalError> {
        store::lock_holder(&self.dir.join(LOCK))
    }

    /// The journal and its replayed state; a missing journal is an empty one. A torn tail
    /// is left in place (only the lock holder cuts it) and not read.
    pub fn read(&self) -> Result<(Vec<WatchEvent>, WatchState), JournalError> {
        let (events, _) = self.decoded()?;
        let path = self.dir.join(JOURNAL);
        let state = super::replay(&events).map_err(|e| e.in_journal(&path))?;
        Ok((events, state))
    }

    fn decoded(&self) -> Result<(Vec<WatchEvent>, Option<u64>), JournalError> {
        self.trusted()?;
        let path = self.dir.join(JOURNAL);
        let bytes = match fsx::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
            Err(e) => return Err(JournalError::io(&path, e)),
        };
        let d = frame::decode(&bytes).map_err(|e| e.in_journal(&path))?;
        Ok((d.events, d.torn_tail.then_some(d.good_len)))
    }

    /// Appends `events` as one write and `fdatasync`s before returning; every event is
    /// validated against the journal's replay first, and a refused batch writes nothing.
    pub fn append(&self, lock: &WatchLock, events: &[WatchEvent]) -> Result<(), JournalError> {
        self.held(lock)?;
        let (mut state, path) = (self.read()?.1, self.dir.join(JOURNAL));
        for e in events {
            state.apply(e).map_err(|e| e.in_journal(&path))?;
        }
        self.write(events)
    }

    /// Writes a batch at the end of the journal, durably (the caller validated it).
    fn write(&self, events: &[WatchEvent]) -> Result<(), JournalError> {
        let path = self.dir.join(JOURNAL);
        let mut f = fsx::append(&path).map_err(|e| JournalError::io(&path, e))?;
        let created = f.metadata().map(|m| m.len() == 0).unwrap_or(false);
        f.write_all(&frame::encode(events))
            .and_then(|()| f.sync_data())
            .map_err(|e| JournalError::io(&path, e))?;
        if created {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| JournalError::io(&self.dir, e))?;
        }
        Ok(())
    }

    /// Appends one `acknowledged` without a watcher running: takes the lock for the write
    /// (refused with [`JournalError::WatchLocked`] while a watcher holds it: then the
    /// request goes through the inbox, see `requests.rs`).
    pub fn append_unlocked_ack(&self, e: &WatchEvent) -> Result<(), JournalError> {
        let lock = self.lock()?;
        self.append(&lock, std::slice::from_ref(e))
    }

    fn held(&self, lock: &WatchLock) -> Result<(), JournalError> {
        if lock.dir == self.dir {
            Ok(())
        } else {
            Err(JournalError::io(
                &self.dir,
                io::Error::other(format!("the lock held is that of `{}`", lock.dir.display())),
            ))
        }
    }

    /// Under the lock: cuts a torn tail away, then completes a real `fired` left without its
    /// `disarmed` (the batch's second record was torn off).
    fn repair(&self, lock: &WatchLock) -> Result<(), JournalError> {
        let (_, torn) = self.decoded()?;
        let path = self.dir.join(JOURNAL);
        if let Some(good) = torn {
            let f = fsx::open(OpenOptions::new().write(true), &path)
                .map_err(|e| JournalError::io(&path, e))?;
            f.set_len(good).and_then(|()| f.sync_all()).map_err(|e| JournalError::io(&path, e))?;
        }
        let (_, state) = self.read()?;
        if let Some(run_id) = state.unfinished_disarm.clone() {
            let at = state.last_event_at.clone().unwrap_or_else(crate::model::time::now);
            self.append(lock, &[WatchEvent::Disarmed { at, run_id }])?;
        }
        Ok(())
    }

    /// Replaces `rounds.json` with the last [`ROUNDS_KEPT`] of `rounds` (atomically:
    /// temporary file, fsync, rename, fsync of the directory).
    pub fn write_rounds(&self, lock: &WatchLock, rounds: &[RoundLine]) -> Result<(), JournalError> {
        self.held(lock)?;
        let keep = &rounds[rounds.len().saturating_sub(ROUNDS_KEPT)..];
        let path = self.dir.join(ROUNDS);
        let bytes = serde_json::to_vec_pretty(keep)
            .expect("invariant: round lines are plain data and serialize");
        fsx::write_atomic(&path, &bytes, 0o600).map_err(|e| JournalError::io(&path, e))
    }

    /// The last rounds, oldest first; none when the file is missing or not round lines
    /// (it is for display only).
    pub fn rounds(&self) -> Vec<RoundLine> {
        fsx::read(&self.dir.join(ROUNDS))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}
