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
//!
//! # Creating a run
//!
//! A run exists whole or not at all. [`Store::create_run`] builds it in a temporary directory
//! `runs/.tmp.<pid>.<4 hex>.<run id>` (a name no run id can have, so [`Store::list_runs`]
//! never shows it): lock file created and `flock`ed first, journal written and `sync_all`ed,
//! directory fsynced. Then it renames the directory to `runs/<run id>` with
//! `renameat2(RENAME_NOREPLACE)` (an existing run makes that fail: [`JournalError::RunExists`],
//! nothing is replaced) and fsyncs `runs/`. The lock's descriptor survives the rename, so the
//! run is locked from the instant it has a name. Only Linux with glibc has the call; elsewhere
//! creation fails with a clear error.
//!
//! A crash leaves either nothing under the run's name, or the whole run. What it may leave
//! besides is cleared by the next `create_run` in the same state dir:
//!
//! - a temporary directory whose creator (the pid in its name) is gone and whose lock nobody
//!   holds is removed;
//! - `runs/<run id>` without a journal and without a live lock holder, which older builds (that
//!   made the directory before the journal) could leave, is debris: it is no run to
//!   [`Store::read_run`], [`Store::resume_run`] and [`Store::list_runs`], and creating that id
//!   moves it aside to `runs/.gone.<pid>.<4 hex>.<run id>` and removes it first.
//!
//! # Test-only fault switch
//!
//! With the environment variable `DRBOOK_TEST_KILL=after_run_dir`, `create_run` SIGKILLs its
//! own process once the temporary directory holds the journal and the lock, just before the
//! rename: what a runner killed mid-creation leaves behind. Tests set it; nothing else should.

use super::chain::{self, Anchor, ChainInfo, Head, ANCHOR};
use super::handle::{self, RunHandle};
use super::{decode_all, fsx, replay, Event, Inbox, JournalError, RunState, StepLogs};
use nix::sys::signal::Signal;
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
/// Prefixes of directories in `runs/` that are not runs: one being created, debris being
/// removed. Both start with `.`, which no run id does.
const TMP: &str = ".tmp.";
const GONE: &str = ".gone.";
/// Test-only fault switch (see the module docs).
const KILL_SWITCH: &str = "DRBOOK_TEST_KILL";
pub(super) const LOGS: &str = "logs";
pub(super) const INBOX: &str = "inbox";
/// The runner's signature of the journal's head (`run --sign KEY`), beside the anchor.
const HEAD_SIGNATURE: &str = "head.sig";

/// What a read-only look at a run found besides its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadInfo {
    /// The journal ends in a torn record (left as it is: only a resuming runner truncates).
    pub torn_tail: bool,
    /// A runner holds the run's lock right now.
    pub live: bool,
    /// The pid the lock holder wrote, when `live` and readable.
    pub runner_pid: Option<u32>,
    /// The hash chain and its anchor (verified: a mismatch is an error, not a `ReadInfo`).
    pub chain: ChainInfo,
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
        trusted(state_dir, None)?;
        let runs = state_dir.join(RUNS);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&runs)
            .and_then(|()| fsx::dir(&runs, 0o700))
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

    /// Writes the signature of run `run_id`'s journal head (`run --sign KEY`), owner-only,
    /// never through a link, replacing the one before.
    pub fn write_head_signature(&self, run_id: &str, pem: &str) -> Result<(), JournalError> {
        check_id(run_id)?;
        let path = self.run_dir(run_id).join(HEAD_SIGNATURE);
        super::fsx::write_atomic(&path, pem.as_bytes(), 0o600)
            .map_err(|source| JournalError::Io { path, source })
    }

    /// The signature of run `run_id`'s journal head, when its runner signed one.
    pub fn read_head_signature(&self, run_id: &str) -> Result<Option<String>, JournalError> {
        check_id(run_id)?;
        let path = self.run_dir(run_id).join(HEAD_SIGNATURE);
        match super::fsx::read(&path) {
            Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(JournalError::Io { path, source }),
        }
    }

    /// Run `run_id`'s step logs (whether or not the run exists).
    pub fn logs(&self, run_id: &str) -> Result<StepLogs, JournalError> {
        check_id(run_id)?;
        Ok(StepLogs::new(&self.run_dir(run_id)))
    }

    /// Creates a run whose journal starts with `first` (its `run_started`), locked by the
    /// returned handle. The run appears whole or not at all: it is built in a temporary
    /// directory (journal written and synced, lock taken), renamed into place without
    /// replacing anything, and `runs/` is fsynced before this returns. An existing run is
    /// [`JournalError::RunExists`]; debris of an interrupted creation is cleared first (see
    /// the module docs).
    pub fn create_run(&self, run_id: &str, first: &Event) -> Result<RunHandle, JournalError> {
        check_id(run_id)?;
        let state = RunState::start(first)?;
        same_run(&state, run_id)?;
        let runs = self.root.join(RUNS);
        let dir = runs.join(run_id);
        reclaim(&runs, run_id)?;
        sweep(&runs);
        let tmp = temp_dir(&runs, TMP, run_id)?;
        let built = build(&tmp, run_id, first).and_then(|(journal, lock, len, chain)| {
            if std::env::var_os(KILL_SWITCH).is_some_and(|v| v == "after_run_dir") {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), Signal::SIGKILL);
            }
            rename_noreplace(&tmp, &dir).map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => JournalError::RunExists(run_id.to_string()),
                _ => JournalError::io(&dir, e),
            })?;
            Ok((journal, lock, len, chain))
        });
        let (journal, lock, len, chain) = built.inspect_err(|_| {
            let _ = fs::remove_dir_all(&tmp);
        })?;
        sync_dir(&runs)?;
        Ok(handle::new(dir, journal, lock, state, len, Some(chain)))
    }

    /// Takes a run over: its lock, then its journal, truncating a torn tail (durably) so the
    /// next append follows the last good record. The chain and its anchor are verified
    /// first: a journal that shows tampering is refused, and nothing is written.
    pub fn resume_run(&self, run_id: &str) -> Result<RunHandle, JournalError> {
        let dir = self.existing(run_id)?;
        let lock = lock(&dir, run_id)?;
        let anchored = chain::read_anchor(&dir.join(ANCHOR))?;
        let path = dir.join(JOURNAL);
        let mut journal = match fsx::open(OpenOptions::new().read(true).append(true), &path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing(&path)),
            Err(e) => return Err(JournalError::io(&path, e)),
        };
        let mut bytes = Vec::new();
        journal.read_to_end(&mut bytes).map_err(|e| JournalError::io(&path, e))?;
        let decoded = decode_all(&bytes).map_err(|e| e.in_journal(&path))?;
        let state = replay(&decoded.events).map_err(|e| e.in_journal(&path))?;
        same_run(&state, run_id).map_err(|e| e.in_journal(&path))?;
        let info = match &decoded.chain {
            Some(hashes) => chain::check_anchor(&dir.join(ANCHOR), anchored, hashes)?,
            None => ChainInfo::NotChained,
        };
        if decoded.torn_tail {
            journal
                .set_len(decoded.good_len)
                .and_then(|()| journal.sync_all())
                .map_err(|e| JournalError::io(&path, e))?;
        }
        let chain = match info.head() {
            Some(head) => Some((head, Anchor::create(&dir, head, &journal)?)),
            None => None,
        };
        Ok(handle::new(dir, journal, lock, state, decoded.good_len, chain))
    }

    /// Reads a run without taking it over: no lock is held and a torn tail is left in place.
    pub fn read_run(&self, run_id: &str) -> Result<(RunState, ReadInfo), JournalError> {
        self.read_run_sized(run_id).map(|(state, info, _)| (state, info))
    }

    /// [`Store::read_run`], and how many bytes of journal the state was replayed from.
    pub(super) fn read_run_sized(
        &self,
        run_id: &str,
    ) -> Result<(RunState, ReadInfo, u64), JournalError> {
        let dir = self.existing(run_id)?;
        // Before the journal: a live runner anchors only records already in it.
        let anchored = chain::read_anchor(&dir.join(ANCHOR))?;
        let path = dir.join(JOURNAL);
        let bytes = match fsx::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing(&path)),
            Err(e) => return Err(JournalError::io(&path, e)),
        };
        let decoded = decode_all(&bytes).map_err(|e| e.in_journal(&path))?;
        let state = replay(&decoded.events).map_err(|e| e.in_journal(&path))?;
        same_run(&state, run_id).map_err(|e| e.in_journal(&path))?;
        let chain = match &decoded.chain {
            Some(hashes) => chain::check_anchor(&dir.join(ANCHOR), anchored, hashes)?,
            None => ChainInfo::NotChained,
        };
        let (live, runner_pid) = probe(&dir)?;
        let info = ReadInfo { torn_tail: decoded.torn_tail, live, runner_pid, chain };
        Ok((state, info, bytes.len() as u64))
    }

    /// The ids of every run in the state dir, sorted. Temporary directories (their names
    /// start with `.`) and debris without a journal are not runs.
    pub fn list_runs(&self) -> Result<Vec<String>, JournalError> {
        trusted(&self.root, None)?;
        let runs = self.root.join(RUNS);
        fsx::refuse_link(&runs).map_err(|e| JournalError::io(&runs, e))?;
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
                if valid_run_id(id) && has_journal(&entry.path())? {
                    ids.push(id.to_string());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The directory of a run that exists: one holding a journal. A directory without one is
    /// debris of a creation that never finished (see the module docs): no run.
    pub(super) fn existing(&self, run_id: &str) -> Result<PathBuf, JournalError> {
        check_id(run_id)?;
        let runs = self.root.join(RUNS);
        fsx::refuse_link(&runs).map_err(|e| JournalError::io(&runs, e))?;
        let dir = self.run_dir(run_id);
        trusted(&self.root, Some(&dir))?;
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => Err(JournalError::io(&dir, fsx::linked(&dir))),
            Ok(m) if m.is_dir() && has_journal(&dir)? => Ok(dir),
            Ok(_) => Err(JournalError::NoSuchRun(run_id.to_string(), self.root.clone())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(JournalError::NoSuchRun(run_id.to_string(), self.root.clone()))
            }
            Err(e) => Err(JournalError::io(&dir, e)),
        }
    }
}

/// Refuses a state dir (and its `runs/`), and a run's directory, journal and lock, that
/// anyone but this account could have changed (see `trust.rs`). Called before anything in
/// them is read.
fn trusted(root: &Path, run_dir: Option<&Path>) -> Result<(), JournalError> {
    super::trust::check(root, true)?;
    super::trust::check(&root.join(RUNS), false)?;
    if let Some(dir) = run_dir {
        for path in [dir.to_path_buf(), dir.join(JOURNAL), dir.join(LOCK)] {
            super::trust::check(&path, false)?;
        }
    }
    Ok(())
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

/// The journal vanished between the look at the directory and the open.
fn missing(path: &Path) -> JournalError {
    let reason = "the journal file is missing (the run was never fully created)".to_string();
    JournalError::Damaged { record: 1, offset: 0, reason }.in_journal(path)
}

fn has_journal(dir: &Path) -> Result<bool, JournalError> {
    let path = dir.join(JOURNAL);
    match fs::symlink_metadata(&path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(JournalError::io(&path, e)),
    }
}

/// Writes a new run into `tmp`: its lock (taken first, so the directory is never without a
/// live holder once it has a journal), then its journal, synced, then the directory itself.
fn build(
    tmp: &Path,
    run_id: &str,
    first: &Event,
) -> Result<(File, File, u64, (Head, Anchor)), JournalError> {
    let lock = lock(tmp, run_id)?;
    let path = tmp.join(JOURNAL);
    let mut journal =
        fsx::open(OpenOptions::new().read(true).append(true).create_new(true).mode(0o600), &path)
            .map_err(|e| JournalError::io(&path, e))?;
    let mut head = Head::GENESIS;
    let bytes = super::record::frame(Some(&mut head), &super::record::json(first));
    journal
        .write_all(&bytes)
        .and_then(|()| journal.sync_all())
        .map_err(|e| JournalError::io(&path, e))?;
    let anchor = Anchor::create(tmp, head, &journal)?;
    sync_dir(tmp)?;
    Ok((journal, lock, bytes.len() as u64, (head, anchor)))
}

/// A fresh directory `runs/<prefix><pid>.<4 hex>.<run id>` (0700). Its name starts with `.`,
/// so it is never a run id, and carries our pid, so [`sweep`] leaves it alone while we live.
fn temp_dir(runs: &Path, prefix: &str, run_id: &str) -> Result<PathBuf, JournalError> {
    let mut tries = 0;
    loop {
        let name = format!("{prefix}{}.{:04x}.{run_id}", std::process::id(), random_u16());
        let path = runs.join(name);
        match DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(JournalError::io(&path, e)),
        }
    }
}

/// Clears `runs/<run id>` if it is debris: a directory with no journal and no live lock
/// holder, left by a build that created the directory before the journal. It is first moved
/// aside (so that what is removed is what was looked at), looked at again, then removed.
/// Anything else at that name is a run: [`JournalError::RunExists`].
fn reclaim(runs: &Path, run_id: &str) -> Result<(), JournalError> {
    let dir = runs.join(run_id);
    let exists = || JournalError::RunExists(run_id.to_string());
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(exists()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(JournalError::io(&dir, e)),
    }
    if !is_debris(&dir)? {
        return Err(exists());
    }
    let aside = temp_dir(runs, GONE, run_id)?;
    match fs::rename(&dir, &aside) {
        Ok(()) => {}
        Err(e) => {
            let _ = fs::remove_dir(&aside);
            return match e.kind() {
                // Someone else cleared it first.
                io::ErrorKind::NotFound => Ok(()),
                _ => Err(JournalError::io(&dir, e)),
            };
        }
    }
    if !is_debris(&aside)? {
        // A run took the name between the look and the move: put it back. Should that fail
        // too, the run stays at `aside` (never swept: it has a journal) rather than be lost.
        rename_noreplace(&aside, &dir).map_err(|e| JournalError::io(&aside, e))?;
        return Err(exists());
    }
    fs::remove_dir_all(&aside).map_err(|e| JournalError::io(&aside, e))?;
    sync_dir(runs)
}

fn is_debris(dir: &Path) -> Result<bool, JournalError> {
    Ok(!has_journal(dir)? && !probe(dir)?.0)
}

/// Removes what interrupted creations and reclaims left in `runs/`: a temporary directory
/// whose creator (the pid in its name) is gone and whose lock nobody holds. A `.gone.`
/// directory that holds a journal is kept (see [`reclaim`]). Best effort: a directory that
/// cannot be removed now is tried again by the next creation.
fn sweep(runs: &Path) {
    let Ok(entries) = fs::read_dir(runs) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(TMP).or_else(|| name.strip_prefix(GONE)) else {
            continue;
        };
        let path = entry.path();
        let creator_alive = rest
            .split('.')
            .next()
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|pid| alive(nix::unistd::Pid::from_raw(pid)));
        let keep = creator_alive
            || !matches!(probe(&path), Ok((false, _)))
            || (name.starts_with(GONE) && !matches!(has_journal(&path), Ok(false)));
        if !keep {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Whether process `pid` exists (signal 0: nothing is sent). `EPERM`: it exists, as another
/// user's.
fn alive(pid: nix::unistd::Pid) -> bool {
    pid.as_raw() > 0 && !matches!(nix::sys::signal::kill(pid, None), Err(nix::errno::Errno::ESRCH))
}

/// `rename(from, to)` that fails with `AlreadyExists` instead of replacing `to`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use nix::fcntl::{renameat2, RenameFlags};
    renameat2(None, from, None, to, RenameFlags::RENAME_NOREPLACE).map_err(io::Error::from)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn rename_noreplace(_from: &Path, _to: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "creating a run needs renameat2(RENAME_NOREPLACE), which this build of drbook only has on Linux with glibc",
    ))
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| JournalError::io(dir, e))
}

/// Takes the run's lock (exclusive `flock`, per open file description, so it conflicts even
/// within one process) and writes our pid into it.
fn lock(dir: &Path, run_id: &str) -> Result<File, JournalError> {
    let path = dir.join(LOCK);
    lock_file(&path)?
        .ok_or_else(|| JournalError::Locked { run_id: run_id.to_string(), pid: holder(&path) })
}

/// Whether a runner holds the lock, and its pid. The shared lock taken to find out is
/// released at once.
pub(super) fn probe(dir: &Path) -> Result<(bool, Option<u32>), JournalError> {
    Ok(match lock_holder(&dir.join(LOCK))? {
        Some(pid) => (true, pid),
        None => (false, None),
    })
}

/// Takes the exclusive, non-blocking `flock` of the lock file at `path` (a run's or a
/// watcher's) and writes our pid into it, synced; `None` when another holds it. A `status`
/// probe holds a shared lock for an instant, so a refusal is retried briefly before it is
/// believed.
pub(super) fn lock_file(path: &Path) -> Result<Option<File>, JournalError> {
    let mut file = fsx::open(
        OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600),
        path,
    )
    .map_err(|e| JournalError::io(path, e))?;
    let mut tries = 0;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if tries < 3 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(JournalError::io(path, e)),
        }
    }
    file.set_len(0)
        .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .and_then(|()| file.sync_data())
        .map_err(|e| JournalError::io(path, e))?;
    Ok(Some(file))
}

/// Whether someone holds the lock file at `path` now: `Some(pid)` (the pid it wrote, when
/// readable), `None` when the file is missing or free. The shared lock taken to find out is
/// released at once.
pub(super) fn lock_holder(path: &Path) -> Result<Option<Option<u32>>, JournalError> {
    let file = match fsx::open(OpenOptions::new().read(true), path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(JournalError::io(path, e)),
    };
    match file.try_lock_shared() {
        Ok(()) => {
            file.unlock().map_err(|e| JournalError::io(path, e))?;
            Ok(None)
        }
        Err(TryLockError::WouldBlock) => Ok(Some(holder(path))),
        Err(TryLockError::Error(e)) => Err(JournalError::io(path, e)),
    }
}

pub(super) fn holder(lock: &Path) -> Option<u32> {
    String::from_utf8(fsx::read(lock).ok()?).ok()?.trim().parse().ok()
}
