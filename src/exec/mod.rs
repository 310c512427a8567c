//! Exec: runs a checked runbook's DAG (LANGUAGE.md §8).
//!
//! Crash-safety contract: a step's start is written to the journal durably (fdatasync)
//! before its action begins, and its end after the action ends. A crash between the two leaves
//! the step `running` in the journal; `resume` re-runs it only if it is `idempotent`, and
//! otherwise asks a person. A step interrupted mid-flight may have had effects.
//!
//! Rollback follows the same contract: `rollback_started` is durable before any rollback
//! begins, and each step's `undo_started` before its rollback action. A rollback action is
//! never run twice: one interrupted mid-flight stays `undoing` until a person decides `done`
//! or `fail` on `resume` (see `undo.rs`).
//!
//! This file is the front door: the rest of the program uses only what it re-exports.

mod action;
mod gate;
mod http;
mod remote;
mod remote_action;
mod run;
mod secrets;
mod shell;
mod simulate;
#[cfg(feature = "aws")]
mod ssm;
#[cfg(not(feature = "aws"))]
#[path = "ssm_off.rs"]
mod ssm;
mod undo;
mod values;

pub use remote::AwsOptions;
pub use run::{
    backoff, execute, ApprovalAnswer, ApprovalAsk, ExecError, Finish, Job, Note, Observer, Person,
};
pub use secrets::Secrets;
pub use shell::{group_members, signal_group, still_running, Stream, GRACE};
pub use simulate::{simulate, Slot};
pub use ssm::Aws;
