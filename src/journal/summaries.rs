//! Run summaries on disk: `runs/<id>/summary.json` (0600), written by a runner when it stops,
//! read by `history` and `readiness` instead of replaying every journal.
//!
//! Input: the state dir. Output: a [`Summary`] per run, either read from its file or computed
//! from a fresh replay of the journal.
//!
//! Invariants: the state dir is untrusted input, so a summary file counts only while it still
//! describes its journal: it parses, has this [`SUMMARY_VERSION`] and the run's id, is owned by
//! this account and writable by nobody else, its `journal_bytes` is the journal's size now,
//! and its `records` is the record count the run's anchor holds.
//! Anything else is ignored, never an error, and the journal is replayed (as `status` would);
//! readers never rewrite it (only [`Store::write_summary`], called by a runner, writes). The
//! file is replaced atomically (temporary file + rename, `fsx`), never through a link.

use super::chain::{self, ANCHOR};
use super::store::{probe, JOURNAL};
use super::summary::{summarize, Summary, SUMMARY_VERSION};
use super::{fsx, JournalError, Store};
use std::path::Path;

/// The summary file in a run's directory.
const SUMMARY: &str = "summary.json";

/// A run's summary, and how it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub summary: Summary,
    /// Read from `summary.json` (true) or replayed from the journal (false).
    pub from_file: bool,
    /// A runner holds the run's lock right now (looked at only for a run not over).
    pub live: bool,
}

impl Store {
    /// Replays run `run_id` and writes its summary, replacing the one before: called by the
    /// runner when it stops (finished, failed, paused or interrupted). `now_ms`: the time now.
    pub fn write_summary(&self, run_id: &str, now_ms: i64) -> Result<Summary, JournalError> {
        let (state, _, len) = self.read_run_sized(run_id)?;
        let summary = summarize(&state, len, now_ms);
        let path = self.run_dir(run_id).join(SUMMARY);
        let mut bytes = serde_json::to_vec(&summary).expect("a summary always serializes");
        bytes.push(b'\n');
        fsx::write_atomic(&path, &bytes, 0o600).map_err(|e| JournalError::io(&path, e))?;
        Ok(summary)
    }

    /// Run `run_id`'s summary: its file when it is fresh, else replayed from the journal (and
    /// not written: only a runner writes summaries).
    pub fn summary(&self, run_id: &str, now_ms: i64) -> Result<Found, JournalError> {
        let dir = self.existing(run_id)?;
        if let Some(summary) = fresh(&dir, run_id) {
            let live = !summary.is_over() && probe(&dir)?.0;
            return Ok(Found { summary, from_file: true, live });
        }
        let (state, info, len) = self.read_run_sized(run_id)?;
        Ok(Found { summary: summarize(&state, len, now_ms), from_file: false, live: info.live })
    }

    /// Every run's summary, in run id order, and the runs that could not be read (with why).
    #[allow(clippy::type_complexity)]
    pub fn summaries(
        &self,
        now_ms: i64,
    ) -> Result<(Vec<Found>, Vec<(String, JournalError)>), JournalError> {
        let mut found = Vec::new();
        let mut bad = Vec::new();
        for id in self.list_runs()? {
            match self.summary(&id, now_ms) {
                Ok(f) => found.push(f),
                Err(e) => bad.push((id, e)),
            }
        }
        Ok((found, bad))
    }
}

/// The summary file in `dir` when it still describes the journal there; `None` otherwise.
fn fresh(dir: &Path, run_id: &str) -> Option<Summary> {
    let path = dir.join(SUMMARY);
    super::trust::check(&path, false).ok()?;
    let bytes = fsx::read(&path).ok()?;
    let summary: Summary = serde_json::from_slice(&bytes).ok()?;
    if summary.v != SUMMARY_VERSION || summary.run_id != run_id {
        return None;
    }
    let journal = std::fs::symlink_metadata(dir.join(JOURNAL)).ok()?;
    if !journal.is_file() || journal.len() != summary.journal_bytes {
        return None;
    }
    match chain::read_anchor(&dir.join(ANCHOR)) {
        Ok(Some(a)) if a.head.records as usize == summary.records => Some(summary),
        // Every journal a summary is written for is chained: without its anchor, the replay
        // says what is wrong.
        _ => None,
    }
}
