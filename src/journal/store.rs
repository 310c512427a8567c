//! The on-disk store: one directory per run under `<state dir>/runs/`, its journal and its lock.
//!
//! Input: a state dir and run ids. Output: [`RunHandle`]s that append durably, and read-only
//! [`RunState`]s for `status`.
//!
//! Invariants: directories are created 0700 and files 0600 (journals hold captured values);
//! a run id is a safe single path component ([`valid_run_id`]), checked before any path is
//! built from it; a journal is only written through a [`RunHandle`], which holds the run's
//! lock; a torn tail is truncated only under the lock ([`Store::resume_run`]), never by a
//! reader. See the crash-safety contract in the module docs of `journal`.

use super::handle::{self, RunHandle};
use super::{decode_all, replay, Event, Inbox, JournalError, RunState, StepLogs};
use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

// The state-dir layout, in one place (drawn in the module docs of `journal`). Nothing outside
// `journal/` builds these paths: it is handed a RunHandle, a Journal, an Inbox or StepLogs.
const RUNS: &str = "runs";
pub(super) const JOURNAL: &str = "journal";
const LOCK: &str = "lock";
pub(super) const LOGS: &str = "logs";
pub(super) const INBOX: &str = "inbox";

/// What a read-only look at a run found besides its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadInfo {
    /// The journal ends in a torn record (left as it is: only a resuming runner truncates).
    pub torn_tail: bool,
    /// A runner holds the run's lock right now.
    pub live: bool,
    /// The pid the lock holder wrote, when `live` and readable.
    pub runner_pid: Option<u32>,
}

/// The state dir.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating when missing) the state dir and its `runs/`.
    pub fn open(state_dir: &Path) -> Result<Store, JournalError> {
        if let Ok(meta) = fs::metadata(state_dir) {
            if !meta.is_dir() {
                let e = io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "the state dir is not a directory",
                );
                return Err(JournalError::io(state_dir, e));
            }
        }
        let runs = state_dir.join(RUNS);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&runs)
            .map_err(|e| JournalError::io(&runs, e))?;
        Ok(Store { root: state_dir.to_path_buf() })
    }

    /// The state dir for reading (`status`, `approve`): nothing is created, and a missing
    /// state dir simply holds no runs.
    pub fn at(state_dir: &Path) -> Store {
        Store { root: state_dir.to_path_buf() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where run `run_id` lives (whether or not it exists).
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.root.join(RUNS).join(run_id)
    }

    /// Run `run_id`'s inbox, for `drbook approve` / `deny` (whether or not the run exists).
    pub fn inbox(&self, run_id: &str) -> Result<Inbox, JournalError> {
        check_id(run_id)?;
        Ok(Inbox::new(&self.run_dir(run_id)))
    }

    /// Run `run_id`'s step logs (whether or not the run exists).
    pub fn logs(&self, run_id: &str) -> Result<StepLogs, JournalError> {
        check_id(run_id)?;
        Ok(StepLogs::new(&self.run_dir(run_id)))
    }

    /// Creates a run whose journal starts with `first` (its `run_started`), locked by the
    /// returned handle. Durable when it returns: record, directory and directory entry.
    pub fn create_run(&self, run_id: &str, first: &Event) -> Result<RunHandle, JournalError> {
        check_id(run_id)?;
        let state = RunState::start(first)?;
        same_run(&state, run_id)?;
        let dir = self.run_dir(run_id);
        DirBuilder::new().mode(0o700).create(&dir).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => JournalError::RunExists(run_id.to_string()),
            _ => JournalError::io(&dir, e),
        })?;
        let lock = lock(&dir, run_id)?;
        let path = dir.join(JOURNAL);
        let mut journal = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| JournalError::io(&path, e))?;
        let bytes = super::encode(first);
        journal
            .write_all(&bytes)
            .and_then(|()| journal.sync_all())
            .map_err(|e| JournalError::io(&path, e))?;
        sync_dir(&dir)?;
        sync_dir(&self.root.join(RUNS))?;
        Ok(handle::new(dir, journal, lock, state, bytes.len() as u64))
    }

    /// Takes a run over: its lock, then its journal, truncating a torn tail (durably) so the
    /// next append follows the last good record.
    pub fn resume_run(&self, run_id: &str) -> Result<RunHandle, JournalError> {
        let dir = self.existing(run_id)?;
        let lock = lock(&dir, run_id)?;
        let path = dir.join(JOURNAL);
        let mut journal = match OpenOptions::new().read(true).append(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing(&path)),
            Err(e) => return Err(JournalError::io(&path, e)),
        };
        let mut bytes = Vec::new();
        journal.read_to_end(&mut bytes).map_err(|e| JournalError::io(&path, e))?;
        let decoded = decode_all(&bytes).map_err(|e| e.in_journal(&path))?;
        let state = replay(&decoded.events).map_err(|e| e.in_journal(&path))?;
        same_run(&state, run_id).map_err(|e| e.in_journal(&path))?;
        if decoded.torn_tail {
            journal
                .set_len(decoded.good_len)
                .and_then(|()| journal.sync_all())
                .map_err(|e| JournalError::io(&path, e))?;
        }
        Ok(handle::new(dir, journal, lock, state, decoded.good_len))
    }

    /// Reads a run without taking it over: no lock is held and a torn tail is left in place.
    pub fn read_run(&self, run_id: &str) -> Result<(RunState, ReadInfo), JournalError> {
        let dir = self.existing(run_id)?;
        let path = dir.join(JOURNAL);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing(&path)),
            Err(e) => return Err(JournalError::io(&path, e)),
        };
        let decoded = decode_all(&bytes).map_err(|e| e.in_journal(&path))?;
        let state = replay(&decoded.events).map_err(|e| e.in_journal(&path))?;
        same_run(&state, run_id).map_err(|e| e.in_journal(&path))?;
        let (live, runner_pid) = probe(&dir)?;
        Ok((state, ReadInfo { torn_tail: decoded.torn_tail, live, runner_pid }))
    }

    /// The ids of every run in the state dir, sorted.
    pub fn list_runs(&self) -> Result<Vec<String>, JournalError> {
        let runs = self.root.join(RUNS);
        let mut ids = Vec::new();
        let entries = match fs::read_dir(&runs) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(JournalError::io(&runs, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| JournalError::io(&runs, e))?;
            let is_dir = entry.file_type().map_err(|e| JournalError::io(entry.path(), e))?.is_dir();
            if let (true, Some(id)) = (is_dir, entry.file_name().to_str()) {
                if valid_run_id(id) {
                    ids.push(id.to_string());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    fn existing(&self, run_id: &str) -> Result<PathBuf, JournalError> {
        check_id(run_id)?;
        let dir = self.run_dir(run_id);
        match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(dir),
            Ok(_) => Err(JournalError::NoSuchRun(run_id.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(JournalError::NoSuchRun(run_id.to_string()))
            }
            Err(e) => Err(JournalError::io(&dir, e)),
        }
    }
}

/// `[A-Za-z0-9._-]{1,100}`, not starting with `.`: a single, visible path component.
pub fn valid_run_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A fresh run id: `<runbook>-<UTC stamp>-<4 random hex>`, e.g.
/// `quickstart-20261123T221530Z-3f9a`. Collisions are caught by [`Store::create_run`]
/// ([`JournalError::RunExists`]); the caller draws again.
pub fn new_run_id(runbook: &str, now_rfc3339: &str) -> String {
    let mut name: String = runbook
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .take(60)
        .collect();
    name = name.trim_start_matches('.').to_string();
    if name.is_empty() {
        name = "run".into();
    }
    let stamp: String = now_rfc3339.chars().take(19).filter(char::is_ascii_alphanumeric).collect();
    format!("{name}-{stamp}Z-{:04x}", random_u16())
}

fn random_u16() -> u16 {
    let mut buf = [0u8; 2];
    if File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).is_ok() {
        return u16::from_le_bytes(buf);
    }
    // std seeds each RandomState from the OS; mixing in time and pid is belt and braces.
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    std::time::SystemTime::now().hash(&mut h);
    std::process::id().hash(&mut h);
    (h.finish() & 0xffff) as u16
}

fn check_id(run_id: &str) -> Result<(), JournalError> {
    if valid_run_id(run_id) {
        Ok(())
    } else {
        Err(JournalError::BadRunId(run_id.to_string()))
    }
}

fn same_run(state: &RunState, run_id: &str) -> Result<(), JournalError> {
    if state.run_id == run_id {
        return Ok(());
    }
    let reason = format!("`run_started` names run `{}`, but this is run `{run_id}`", state.run_id);
    Err(JournalError::Impossible { record: 1, step: None, reason })
}

fn missing(path: &Path) -> JournalError {
    let reason = "the journal file is missing (the run was never fully created)".to_string();
    JournalError::Damaged { record: 1, offset: 0, reason }.in_journal(path)
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| JournalError::io(dir, e))
}

/// Takes the run's lock (exclusive `flock`, per open file description, so it conflicts even
/// within one process) and writes our pid into it. A `status` probe holds a shared lock for
/// an instant, so a refusal is retried briefly before it is believed.
fn lock(dir: &Path, run_id: &str) -> Result<File, JournalError> {
    let path = dir.join(LOCK);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| JournalError::io(&path, e))?;
    let mut tries = 0;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if tries < 3 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::Locked {
                    run_id: run_id.to_string(),
                    pid: holder(&path),
                });
            }
            Err(TryLockError::Error(e)) => return Err(JournalError::io(&path, e)),
        }
    }
    file.set_len(0)
        .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .and_then(|()| file.flush())
        .map_err(|e| JournalError::io(&path, e))?;
    Ok(file)
}

/// Whether a runner holds the lock, and its pid. The shared lock taken to find out is
/// released at once.
fn probe(dir: &Path) -> Result<(bool, Option<u32>), JournalError> {
    let path = dir.join(LOCK);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((false, None)),
        Err(e) => return Err(JournalError::io(&path, e)),
    };
    match file.try_lock_shared() {
        Ok(()) => {
            file.unlock().map_err(|e| JournalError::io(&path, e))?;
            Ok((false, None))
        }
        Err(TryLockError::WouldBlock) => Ok((true, holder(&path))),
        Err(TryLockError::Error(e)) => Err(JournalError::io(&path, e)),
    }
}

fn holder(lock: &Path) -> Option<u32> {
    fs::read_to_string(lock).ok()?.trim().parse().ok()
}
