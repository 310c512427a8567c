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

mod action;
pub mod clock;
mod gate;
mod http;
pub mod remote;
pub mod remote_action;
pub mod run;
pub mod secrets;
pub mod shell;
pub mod simulate;
#[cfg(feature = "aws")]
pub mod ssm;
#[cfg(not(feature = "aws"))]
#[path = "ssm_off.rs"]
pub mod ssm;
mod undo;
pub mod values;
