//! The audit trail: what people did to a run, in journal order, for the life of the run.
//!
//! Input: journal events. Output: [`AuditEntry`]s, one per act of a person (an approval, a
//! denial and its reason, a decision on an interrupted step or a manual one, a re-opened
//! gate, a decision on a rollback) and per turn to rolling back (why, and who asked). Replay
//! keeps the trail in [`super::RunState::audit`], so `status` and every report show the same
//! list, and nothing a later event does (a gate asked again, a rollback) takes an entry away.
//!
//! [`entry`] is the one place an event becomes an entry. Its match names every event, so a
//! new event kind does not compile until it is sorted in: one arm.

use super::{Decision, Event, How};
use serde::{Deserialize, Serialize};

/// What a person did (or what turned the run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A role of a gate approved.
    Approved,
    /// An approval refused and not counted (a signature that did not verify).
    Refused,
    /// A gate denied: the step failed.
    Denied,
    /// A denied gate re-opened (`resume --reopen`).
    Reopened,
    /// How an interrupted step ended, or a person's answer to a manual step.
    Decided,
    /// How an interrupted or manual rollback ended.
    UndoDecided,
    /// The run turned to rolling back.
    RollbackStarted,
    /// A step's `verify` probe looked at the world on resume or in a rollback; `decision` is
    /// `done` when what it saw decided the step.
    Probed,
    /// A failed rollback is tried again (`drbook rollback` after `rollback_failed`).
    RollbackRetried,
    /// A tabletop drill's step discussed: `reason` is the issue found, if any.
    Discussed,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Approved => "approved",
            AuditAction::Refused => "refused",
            AuditAction::Denied => "denied",
            AuditAction::Reopened => "reopened",
            AuditAction::Decided => "decided",
            AuditAction::UndoDecided => "undo_decided",
            AuditAction::RollbackStarted => "rollback_started",
            AuditAction::Probed => "probed",
            AuditAction::RollbackRetried => "rollback_retried",
            AuditAction::Discussed => "discussed",
        }
    }
}

/// One entry of the trail. Texts are as journaled (masked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub action: AuditAction,
    pub by: String,
    /// The step acted on; `None` for the run as a whole.
    pub step: Option<String>,
    /// The role an approval counts for.
    pub role: Option<String>,
    /// How the answer reached the run (`prompt`, `cli`, `flag`).
    pub how: Option<How>,
    pub decision: Option<Decision>,
    /// Why: a denial's reason, a decision's or re-open's `--reason`, a rollback's cause.
    pub reason: Option<String>,
    /// An approval's `--comment`.
    pub comment: Option<String>,
    /// The decision was given with `--force` against what the step's probe saw.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

impl AuditEntry {
    fn new(at: &str, action: AuditAction, by: &str, step: Option<&str>) -> AuditEntry {
        AuditEntry {
            at: at.to_string(),
            action,
            by: by.to_string(),
            step: step.map(str::to_string),
            role: None,
            how: None,
            decision: None,
            reason: None,
            comment: None,
            forced: false,
        }
    }
}

/// The entry an event makes in the trail, if any.
pub fn entry(e: &Event) -> Option<AuditEntry> {
    use AuditAction as A;
    fn s(step: &str) -> Option<&str> {
        Some(step)
    }
    Some(match e {
        Event::Approved { step, role, by, at, how, comment, .. } => AuditEntry {
            role: Some(role.clone()),
            how: Some(*how),
            comment: comment.clone(),
            ..AuditEntry::new(at, A::Approved, by, s(step))
        },
        Event::ApprovalRefused { step, by, at, how, reason, .. } => AuditEntry {
            how: Some(*how),
            reason: Some(reason.clone()),
            ..AuditEntry::new(at, A::Refused, by, s(step))
        },
        Event::ApprovalDenied { step, by, at, how, reason, .. } => AuditEntry {
            how: Some(*how),
            reason: Some(reason.clone()),
            ..AuditEntry::new(at, A::Denied, by, s(step))
        },
        Event::GateReopened { step, by, at, reason } => {
            AuditEntry { reason: reason.clone(), ..AuditEntry::new(at, A::Reopened, by, s(step)) }
        }
        Event::StepDecided { step, decision, by, at, reason, forced } => AuditEntry {
            decision: Some(*decision),
            reason: reason.clone(),
            forced: *forced,
            ..AuditEntry::new(at, A::Decided, by, s(step))
        },
        Event::UndoDecided { step, decision, by, at, reason } => AuditEntry {
            decision: Some(*decision),
            reason: reason.clone(),
            ..AuditEntry::new(at, A::UndoDecided, by, s(step))
        },
        Event::RollbackStarted { at, reason, by } => AuditEntry {
            reason: Some(reason.clone()),
            ..AuditEntry::new(at, A::RollbackStarted, by, None)
        },
        Event::StepProbed { step, at, seen, output, decides } => AuditEntry {
            decision: decides.then_some(Decision::Done),
            reason: Some(if output.is_empty() {
                format!("effect {}", seen.as_str())
            } else {
                format!("effect {}: {output}", seen.as_str())
            }),
            ..AuditEntry::new(at, A::Probed, "verify probe", s(step))
        },
        Event::RollbackRetried { at, by } => AuditEntry::new(at, A::RollbackRetried, by, None),
        Event::StepDiscussed { step, at, by, how, issue, comment, .. } => AuditEntry {
            how: Some(*how),
            reason: issue.clone(),
            comment: comment.clone(),
            ..AuditEntry::new(at, A::Discussed, by, s(step))
        },
        Event::RunStarted { .. }
        | Event::RunResumed { .. }
        | Event::StepStarted { .. }
        | Event::StepProcess { .. }
        | Event::StepRemote { .. }
        | Event::StepSucceeded { .. }
        | Event::StepFailed { .. }
        | Event::StepSkipped { .. }
        | Event::StepWaiting { .. }
        | Event::StepInterrupted { .. }
        | Event::ApprovalRequested { .. }
        | Event::DecisionAsked { .. }
        | Event::ApprovalTimedOut { .. }
        | Event::UndoStarted { .. }
        | Event::UndoProcess { .. }
        | Event::UndoSucceeded { .. }
        | Event::UndoFailed { .. }
        | Event::UndoWaiting { .. }
        | Event::UndoSkipped { .. }
        | Event::RunPaused { .. }
        | Event::RunInterrupted { .. }
        | Event::FinallyStarted { .. }
        | Event::RunFinished { .. } => return None,
    })
}

/// The trail of a whole journal.
pub fn trail(events: &[Event]) -> Vec<AuditEntry> {
    events.iter().filter_map(entry).collect()
}
