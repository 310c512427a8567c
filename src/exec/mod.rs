//! Exec: runs a checked runbook's DAG (LANGUAGE.md §8).
//!
//! Crash-safety contract: a step's start is written to the journal durably (fdatasync)
//! before its action begins, and its end before its dependents start or the run reports it. A
//! `run` action's process is spawned blocked and released only once the record that lets
//! `resume` find and stop it is durable, so no script runs that `resume` cannot see. A crash
//! between start and end leaves the step `running` in the journal; `resume` re-runs it only if
//! it is `idempotent`, and otherwise asks a person. A step interrupted mid-flight may have had
//! effects.
//!
//! When a runner stops, no step is left `running` in the journal: one a dead runner left in
//! flight and this session did not run again is journaled `step_interrupted`. A gate that was
//! denied stays denied (its step failed, its policy applies) until a person re-opens it.
//!
//! Rollback follows the same contract: `rollback_started` is durable before any rollback
//! begins, and each step's `undo_started` before its rollback action. A rollback action is
//! never run twice: one interrupted mid-flight stays `undoing` until a person decides `done`
//! or `fail` on `resume`.
//!
//! This file is the front door: the rest of the program uses only what it re-exports. Inside:
//!
//! - `scheduler` — the one loop, forward and undo; `board` — its pure state and readiness;
//!   `finally` — the finally steps, once the run's outcome is decided;
//! - `interrupted` — before a resumed run goes on: how the steps in flight when its runner
//!   died ended (given in advance, or asked through the person loop); [`on_resume`] is the
//!   one rule for what resume does with each (rerun, re-attach, ask), which `status` shows;
//! - `step` — one forward step (when, gate, attempts, retries); `undo` — one step's rollback;
//!   `tabletop` — a tabletop drill's step instead: shown to the team and discussed, never run;
//! - `probe` — a step's `verify` probe: is its effect in place? `doubt` — as a run rolls
//!   back, failed steps whose effect may be in place (probed, or "was it done?");
//! - `gate` — approval gates; `person` — the one loop that waits for a person (gates, manual
//!   steps, manual rollbacks, interrupted-step decisions); `port` — the terminal-person port
//!   ([`Person`]);
//! - `ctx` — the shared run context and the one `record` path (journal event, then its note);
//! - `note` — the UI events ([`Note`]), derived from journal events, and the masking observer;
//! - `action/` — every action behind one entry; `leftover` — processes a dead runner left;
//! - `values`, `secrets` — what names mean at run time; `simulate` — the dry run's timeline;
//! - `announce` — the drill notification posted when a drill ends; `standalone` — one action
//!   run on its own, without a run or journal (a trigger's probe, its RPO gate step);
//! - `scope` — which steps a drill runs (the others are journaled skipped by the drill).

mod action;
mod announce;
mod board;
mod ctx;
mod doubt;
mod finally;
mod gate;
mod interrupted;
mod job;
pub mod leftover;
mod note;
mod person;
mod port;
mod probe;
mod scheduler;
mod scope;
mod secrets;
mod simulate;
mod standalone;
mod step;
mod tabletop;
#[cfg(test)]
mod tests;
mod undo;
mod values;

pub use action::aws::Aws;
pub use action::process::find_shell;
pub use action::remote::AwsOptions;
pub use action::{ActionEnv, Actions, Attempt, BoxFuture, Stream};
pub use announce::Announce;
pub use interrupted::{after_probe, on_resume, OnResume};
pub use job::{ExecError, Finish, Invocation, Job};
pub use note::{Note, Observer};
pub use port::{ApprovalAnswer, ApprovalAsk, DecideAsk, DiscussAnswer, DiscussAsk, Person};
pub use scheduler::{execute, execute_with};
pub use scope::drill_skips;
pub use secrets::Secrets;
pub use simulate::{simulate, Slot};
pub use standalone::{bound, Ran, Standalone};
pub use step::backoff;
pub use values::seconds;
