//! What the executor reports as it goes: [`Note`]s, sent to an [`Observer`] (the CLI renders
//! them: live view, text lines, JSON lines, step logs).
//!
//! A note about a state change is never written by hand: [`Note::of`] derives it from the
//! journal event that made the change, and the executor's one `record` path journals the event
//! and then sends its note. Notes that are not state changes (output lines, the RTO clock, an
//! overrun, a prompt's view of a gate) are sent as they are.
//!
//! Every note passes through [`Masked`] first, which masks each secret value in each of its
//! texts: no output path can show a secret by forgetting to mask it.

use super::action::Stream;
use super::secrets::Secrets;
use crate::journal::{Event, RunState};
use crate::model::Millis;
use std::sync::Arc;

/// Something the executor reports as it goes; the CLI renders it (terminal, JSON lines).
#[derive(Clone, Debug)]
pub enum Note {
    StepStarted {
        step: String,
        attempt: u32,
        expected_ms: Option<Millis>,
    },
    Output {
        step: String,
        stream: Stream,
        line: String,
    },
    StepSucceeded {
        step: String,
        attempt: u32,
        took_ms: u64,
        expected_ms: Option<Millis>,
    },
    StepFailed {
        step: String,
        attempt: u32,
        error: String,
        retry_in_ms: Option<u64>,
    },
    StepSkipped {
        step: String,
        reason: String,
    },
    StepWaiting {
        step: String,
        reason: String,
    },
    StepInterrupted {
        step: String,
    },
    Overrun {
        step: String,
        expected_ms: Millis,
        elapsed_ms: u64,
    },
    Clock {
        elapsed_ms: u64,
        projected_ms: u64,
        rto_ms: Option<Millis>,
        over: bool,
    },
    /// A gated step waits; shown again each time an approval comes in.
    AwaitingApproval {
        step: String,
        missing: Vec<String>,
        approved: Vec<(String, String)>,
    },
    ApprovalRecorded {
        step: String,
        message: String,
    },
    ApprovalRefused {
        step: String,
        by: String,
        reason: String,
    },
    /// The run turned to undoing what it did.
    RollbackStarted {
        reason: String,
    },
    /// The run ended (`succeeded`, `failed`, ...) and its finally steps start.
    FinallyStarted {
        status: String,
    },
    UndoStarted {
        step: String,
    },
    UndoSucceeded {
        step: String,
        took_ms: u64,
    },
    UndoFailed {
        step: String,
        error: String,
    },
    /// Nothing to undo (no rollback action).
    UndoSkipped {
        step: String,
        reason: String,
    },
    /// A manual rollback: a person must do it and say so.
    UndoWaiting {
        step: String,
        instructions: String,
    },
    /// The runner stopped while the rollback ran; a person decides how it ended.
    UndoInterrupted {
        step: String,
    },
    /// A tabletop drill's step is up for discussion and no terminal asks: what the team is
    /// shown (the prompt shows the same card when there is one).
    Discuss {
        ask: super::port::DiscussAsk,
    },
    /// A tabletop drill's step was discussed (nothing ran): by whom, the issue found (if
    /// any), the runbook update needed (if any), and how long it took to discuss.
    Discussed {
        step: String,
        by: String,
        issue: Option<String>,
        update: Option<String>,
        took_ms: u64,
    },
    /// A step's `verify` probe ran: what it saw (`in place`, `not in place`, `unknown`), what
    /// it printed, and whether that decided the step (succeeded).
    Probed {
        step: String,
        seen: String,
        output: String,
        decided: bool,
    },
}

pub trait Observer: Send + Sync {
    fn note(&self, n: Note);
}

impl Note {
    /// The note for a journal event, if it shows as one; `after` is the run with the event
    /// applied, `expected` a step's expected duration by id.
    pub fn of(
        e: &Event,
        expected: &dyn Fn(&str) -> Option<Millis>,
        after: &RunState,
    ) -> Option<Note> {
        let step = |id: &String| id.clone();
        Some(match e {
            Event::StepStarted { step: id, attempt, .. } => {
                Note::StepStarted { step: step(id), attempt: *attempt, expected_ms: expected(id) }
            }
            Event::StepSucceeded { step: id, attempt, duration_ms, .. } => Note::StepSucceeded {
                step: step(id),
                attempt: *attempt,
                took_ms: *duration_ms,
                expected_ms: expected(id),
            },
            Event::StepFailed { step: id, attempt, error, .. } => Note::StepFailed {
                step: step(id),
                attempt: *attempt,
                error: error.clone(),
                retry_in_ms: None,
            },
            Event::StepSkipped { step: id, reason, .. } => {
                Note::StepSkipped { step: step(id), reason: reason.clone() }
            }
            Event::StepWaiting { step: id, reason, .. } => {
                Note::StepWaiting { step: step(id), reason: reason.clone() }
            }
            Event::StepInterrupted { step: id, .. } => Note::StepInterrupted { step: step(id) },
            Event::StepProbed { step: id, seen, output, decides, .. } => Note::Probed {
                step: step(id),
                seen: seen.as_str().to_string(),
                output: output.clone(),
                decided: *decides,
            },
            Event::StepDiscussed { step: id, by, issue, update, duration_ms, .. } => {
                Note::Discussed {
                    step: step(id),
                    by: by.clone(),
                    issue: issue.clone(),
                    update: update.clone(),
                    took_ms: *duration_ms,
                }
            }
            // A person's answer to a manual step (from the prompt or another shell).
            Event::StepDecided { step: id, .. } => {
                let rec = after.step(id)?;
                match rec.state {
                    crate::journal::StepState::Succeeded => Note::StepSucceeded {
                        step: step(id),
                        attempt: 0,
                        took_ms: 0,
                        expected_ms: None,
                    },
                    crate::journal::StepState::Failed => Note::StepFailed {
                        step: step(id),
                        attempt: 0,
                        error: rec.error.clone().unwrap_or_else(|| "marked failed".into()),
                        retry_in_ms: None,
                    },
                    _ => return None,
                }
            }
            Event::ApprovalDenied { step: id, .. } | Event::ApprovalTimedOut { step: id, .. } => {
                let rec = after.step(id)?;
                Note::StepFailed {
                    step: step(id),
                    attempt: rec.attempts,
                    error: rec.error.clone().unwrap_or_else(|| "approval denied".into()),
                    retry_in_ms: None,
                }
            }
            Event::RollbackStarted { reason, .. } => {
                Note::RollbackStarted { reason: reason.clone() }
            }
            Event::FinallyStarted { outcome, .. } => {
                let word = serde_json::to_value(outcome).unwrap_or_default();
                Note::FinallyStarted { status: word.as_str().unwrap_or_default().to_string() }
            }
            Event::UndoStarted { step: id, .. } => Note::UndoStarted { step: step(id) },
            Event::UndoSucceeded { step: id, duration_ms, .. } => {
                Note::UndoSucceeded { step: step(id), took_ms: *duration_ms }
            }
            Event::UndoFailed { step: id, error, .. } => {
                Note::UndoFailed { step: step(id), error: error.clone() }
            }
            Event::UndoSkipped { step: id, reason, .. } => {
                Note::UndoSkipped { step: step(id), reason: reason.clone() }
            }
            Event::UndoWaiting { step: id, instructions, .. } => {
                Note::UndoWaiting { step: step(id), instructions: instructions.clone() }
            }
            // A person's answer about a manual or interrupted rollback.
            Event::UndoDecided { step: id, at, .. } => {
                let rec = after.step(id)?;
                let undo = rec.undo.as_ref()?;
                match rec.state {
                    crate::journal::StepState::Undone => {
                        let began = undo.started_at.as_deref().and_then(crate::model::time::parse);
                        let now = crate::model::time::parse(at);
                        let took = match (began, now) {
                            (Some(b), Some(n)) => u64::try_from(n - b).unwrap_or(0),
                            _ => 0,
                        };
                        Note::UndoSucceeded { step: step(id), took_ms: took }
                    }
                    crate::journal::StepState::UndoFailed => Note::UndoFailed {
                        step: step(id),
                        error: undo.error.clone().unwrap_or_else(|| "marked failed".into()),
                    },
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// The note with `f` applied to every text in it (not to step ids).
    fn map_text(self, f: impl Fn(&str) -> String) -> Note {
        match self {
            Note::Output { step, stream, line } => Note::Output { step, stream, line: f(&line) },
            Note::StepFailed { step, attempt, error, retry_in_ms } => {
                Note::StepFailed { step, attempt, error: f(&error), retry_in_ms }
            }
            Note::StepSkipped { step, reason } => Note::StepSkipped { step, reason: f(&reason) },
            Note::StepWaiting { step, reason } => Note::StepWaiting { step, reason: f(&reason) },
            Note::ApprovalRecorded { step, message } => {
                Note::ApprovalRecorded { step, message: f(&message) }
            }
            Note::ApprovalRefused { step, by, reason } => {
                Note::ApprovalRefused { step, by: f(&by), reason: f(&reason) }
            }
            Note::AwaitingApproval { step, missing, approved } => Note::AwaitingApproval {
                step,
                missing,
                approved: approved.into_iter().map(|(r, b)| (r, f(&b))).collect(),
            },
            Note::RollbackStarted { reason } => Note::RollbackStarted { reason: f(&reason) },
            Note::Probed { step, seen, output, decided } => {
                Note::Probed { step, seen, output: f(&output), decided }
            }
            Note::FinallyStarted { status } => Note::FinallyStarted { status },
            Note::Discuss { ask } => Note::Discuss {
                ask: super::port::DiscussAsk {
                    action: f(&ask.action),
                    rollback: ask.rollback.map(|r| f(&r)),
                    when: ask.when.map(|w| f(&w)),
                    ..ask
                },
            },
            Note::Discussed { step, by, issue, update, took_ms } => Note::Discussed {
                step,
                by,
                issue: issue.map(|t| f(&t)),
                update: update.map(|t| f(&t)),
                took_ms,
            },
            Note::UndoFailed { step, error } => Note::UndoFailed { step, error: f(&error) },
            Note::UndoSkipped { step, reason } => Note::UndoSkipped { step, reason: f(&reason) },
            Note::UndoWaiting { step, instructions } => {
                Note::UndoWaiting { step, instructions: f(&instructions) }
            }
            other @ (Note::StepStarted { .. }
            | Note::StepSucceeded { .. }
            | Note::StepInterrupted { .. }
            | Note::Overrun { .. }
            | Note::Clock { .. }
            | Note::UndoStarted { .. }
            | Note::UndoSucceeded { .. }
            | Note::UndoInterrupted { .. }) => other,
        }
    }
}

/// An observer that masks every secret value before the note goes on.
pub struct Masked {
    inner: Arc<dyn Observer>,
    secrets: Arc<Secrets>,
}

impl Masked {
    pub fn new(inner: Arc<dyn Observer>, secrets: Arc<Secrets>) -> Masked {
        Masked { inner, secrets }
    }
}

impl Observer for Masked {
    fn note(&self, n: Note) {
        let n = if self.secrets.is_empty() { n } else { n.map_text(|t| self.secrets.scrub(t)) };
        self.inner.note(n);
    }
}
