//! Where a run keeps its steps' output: `runs/<id>/logs/<step>.<attempt>.log`.
//!
//! Input: a step id and an attempt number. Output: the log file's path, or the file opened for
//! appending.
//!
//! Invariants: `logs/` is created 0700 on first use and log files 0600 (output may hold
//! values a person would not print); a step id never escapes `logs/`: every character that is
//! not `A-Za-z0-9_-` becomes `_`, so `..` and `/` cannot appear in a file name.

use super::fsx;
use super::store::LOGS;
use super::JournalError;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The log files of one run. Cheap to clone; holds only the directory's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLogs {
    dir: PathBuf,
}

impl StepLogs {
    /// The logs of the run whose directory is `run_dir`.
    pub(super) fn new(run_dir: &Path) -> StepLogs {
        StepLogs { dir: run_dir.join(LOGS) }
    }

    /// The run's `logs/` directory (which may not exist yet).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Refuses a `logs/` that is, or holds, a symbolic link (planted in a state dir others can
    /// write): checked before any step writes to it. Creates `logs/` (0700) when missing.
    pub fn check(&self) -> Result<(), JournalError> {
        fsx::dir(&self.dir, 0o700).map_err(|e| JournalError::io(&self.dir, e))?;
        let entries = std::fs::read_dir(&self.dir).map_err(|e| JournalError::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| JournalError::io(&self.dir, e))?;
            if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                return Err(JournalError::io(entry.path(), fsx::linked(&entry.path())));
            }
        }
        Ok(())
    }

    /// The log file of a step's attempt; creates `logs/` (0700) on first use.
    pub fn path(&self, step: &str, attempt: u32) -> Result<PathBuf, JournalError> {
        fsx::dir(&self.dir, 0o700).map_err(|e| JournalError::io(&self.dir, e))?;
        let safe: String = step
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') { c } else { '_' })
            .collect();
        Ok(self.dir.join(format!("{safe}.{attempt}.log")))
    }

    /// Opens (creating, 0600, appending) the log of a step, all its attempts and its
    /// rollback in one file: `logs/<step>.log`.
    pub fn open_step(&self, step: &str) -> Result<File, JournalError> {
        append_to(&self.path(step, 0)?.with_extension("").with_extension("log"))
    }

    /// Opens (creating, 0600, appending) the log file of a step's attempt.
    pub fn open(&self, step: &str, attempt: u32) -> Result<File, JournalError> {
        append_to(&self.path(step, attempt)?)
    }
}

/// Opens `path` for appending, creating it owner-only (0600), never through a link.
fn append_to(path: &Path) -> Result<File, JournalError> {
    fsx::append(path).map_err(|e| JournalError::io(path, e))
}
