//! What the executor is asked to do ([`Job`]), how a run of it ends ([`Finish`]), and why it
//! could not go on at all ([`ExecError`]).

use super::action::aws::Aws;
use super::secrets::Secrets;
use crate::graph::Dag;
use crate::journal::{Decision, JournalError};
use crate::model::{ParamValue, Runbook};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What the runner was asked to do.
pub struct Job {
    pub rb: Arc<Runbook>,
    pub dag: Arc<Dag>,
    pub values: Arc<HashMap<String, ParamValue>>,
    pub secrets: Arc<Secrets>,
    pub run_id: String,
    /// Directory of the runbook file: relative `workdir`s start here.
    pub base_dir: PathBuf,
    pub parallel: usize,
    /// When the RTO clock started (ms since the epoch).
    pub clock_start_ms: i64,
    /// Who runs it (journaled with decisions).
    pub user: String,
    /// Steps a person decided `fail` before this session: not run again in it.
    pub keep_failed: Vec<usize>,
    /// How steps that were in flight when their runner died ended, as given in advance
    /// (`--interrupted STEP=retry|done|fail`); the others are asked (see `interrupted.rs`).
    pub decisions: BTreeMap<String, Decision>,
    /// Why, for those decisions (`resume --reason`): journaled with each of them.
    pub decision_reason: Option<String>,
    /// Steps the invoking person approves (`--approve STEP`).
    pub approve: Vec<String>,
    /// Keep waiting at gates without a terminal (`--wait`) instead of pausing.
    pub wait: bool,
    /// `--force`: a person's `retry` or `done` stands against what the step's probe saw
    /// (journaled as forced).
    pub force: bool,
    /// The SSM client, when the runbook has `ssm` actions.
    pub aws: Option<Arc<Aws>>,
    /// How a person runs drbook again on this run (in the commands messages suggest).
    pub invocation: Invocation,
}

/// How a person invokes drbook on the same state dir again: the program as it was started
/// (`target/release/drbook` after `cargo run`, `drbook` from `PATH`) and the state dir when it
/// is not the default. Messages build every command they suggest with it, so a suggestion can
/// be pasted as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The program, shell-quoted.
    pub program: String,
    /// `--state-dir DIR`, shell-quoted, when the state dir is not `.drbook`.
    pub state_dir: Option<String>,
}

impl Default for Invocation {
    fn default() -> Self {
        Invocation { program: "drbook".into(), state_dir: None }
    }
}

impl Invocation {
    /// The command line `PROGRAM WORDS [--state-dir DIR]`; `words` starts with the subcommand.
    pub fn command(&self, words: &str) -> String {
        match &self.state_dir {
            Some(dir) => format!("{} {words} --state-dir {dir}", self.program),
            None => format!("{} {words}", self.program),
        }
    }
}

/// How a run of the scheduler ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finish {
    Succeeded,
    /// A step failed under `abort` (resumable).
    Failed(String),
    /// Waiting for a person (exit 3).
    Paused(String),
    /// Stopped by a signal (exit 130).
    Interrupted(String),
    /// Every step that succeeded was undone or had nothing to undo (exit 4).
    RolledBack(String),
    /// A rollback action failed; the text names it and the steps left as they were (exit 5).
    RollbackFailed(String),
}

impl Finish {
    /// The finish with `f` applied to its text.
    pub fn map_text(self, f: impl Fn(&str) -> String) -> Finish {
        match self {
            Finish::Succeeded => Finish::Succeeded,
            Finish::Failed(t) => Finish::Failed(f(&t)),
            Finish::Paused(t) => Finish::Paused(f(&t)),
            Finish::Interrupted(t) => Finish::Interrupted(f(&t)),
            Finish::RolledBack(t) => Finish::RolledBack(f(&t)),
            Finish::RollbackFailed(t) => Finish::RollbackFailed(f(&t)),
        }
    }
}

/// Why the scheduler could not go on at all.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}")]
    Refused(String),
}
