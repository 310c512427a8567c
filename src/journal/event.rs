//! Journal events: what happened to a run, in order. The journal is an append-only list of
//! these; a run's state is what [`super::replay`] makes of them.
//!
//! Events are versioned (`v` on [`Event::RunStarted`]); a reader refuses versions it does not
//! know. Steps are keyed by their id, never by graph index, so a journal stays meaningful when
//! a runbook is edited (LANGUAGE.md §8, `--allow-edited`). No event ever holds a secret's value:
//! [`Event::masked`] (`masked.rs`) scrubs every free-text field, and a masking journal writer
//! ([`super::Journal::with_masking`]) passes every event through it before it is validated,
//! kept or written.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The journal format version this build writes and reads.
pub const VERSION: u32 = 1;

/// How a person decided an interrupted step on resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Run it again.
    Retry,
    /// It finished: count it as succeeded.
    Done,
    /// It did not: count it as failed.
    Fail,
}

/// What a step's `verify` probe saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// The step's effect is in place (exit 0, or the expected HTTP answer).
    InPlace,
    /// It answered: the effect is not in place.
    NotInPlace,
    /// The probe could not tell (it could not run, timed out, or got no answer).
    Unknown,
}

impl Seen {
    pub fn as_str(self) -> &'static str {
        match self {
            Seen::InPlace => "in place",
            Seen::NotInPlace => "not in place",
            Seen::Unknown => "unknown",
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Every step that succeeded was undone (or had nothing to undo).
    RolledBack,
    /// A rollback action failed (or a person marked it failed).
    RollbackFailed,
}

/// How an approval or a denial reached the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// Answered at the runner's terminal prompt.
    Prompt,
    /// `drbook approve` / `drbook deny` from another shell.
    Cli,
    /// `--approve STEP` given to `run` or `resume`.
    Flag,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Prompt => "prompt",
            How::Cli => "cli",
            How::Flag => "flag",
        }
    }
}

/// What kind of drill a run is (`drbook drill FILE --type T [--only STEP,...]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillInfo {
    #[serde(rename = "type")]
    pub kind: crate::model::DrillKind,
    /// A partial drill's `--only` steps, as given (their ancestors run too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// Why `drbook watch` started a run (issue 14): the outage its trigger saw and who let it fire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerInfo {
    /// The first failed round of the outage (the run's clock start).
    pub detected_at: String,
    pub fired_at: String,
    /// The probes of the round that reached the threshold (details masked).
    pub evidence: Vec<crate::journal::watch::ProbeOutcome>,
    /// `auto` (the practice rule allowed it), or the approvers: `alice (lead), bob (manager)`.
    pub by: String,
    /// The watcher's process id.
    pub watcher_pid: u32,
}

/// What a tabletop drill's team said about one step (see `RunState::findings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub step: String,
    pub by: String,
    pub at: String,
    /// An issue found; `None`: the step was answered "ready".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// A runbook update needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    /// How long the step took to discuss (recorded, never compared with `duration`).
    pub duration_ms: u64,
}

/// One record of the journal. Times are RFC 3339 UTC with milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The first record of every journal.
    RunStarted {
        v: u32,
        run_id: String,
        runbook: String,
        /// The runbook file as given, and its absolute path.
        file: String,
        path: String,
        /// SHA-256 of the runbook file's bytes, hex.
        content_hash: String,
        /// Each step's definition hash (its checked model), by step id, in declaration order.
        step_hashes: Vec<(String, String)>,
        /// Param values as rendered (secrets are never params).
        params: BTreeMap<String, String>,
        at: String,
        /// When the RTO clock started: `--since`, or `at`.
        clock_start: String,
        rto_ms: Option<u64>,
        rpo_ms: Option<u64>,
        user: String,
        pid: u32,
        /// Set when the run is a drill (`drbook drill`): its type and targets. Absent: a run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drill: Option<DrillInfo>,
        /// Set when `drbook watch` started the run: its trigger fired. Absent: a person did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trigger: Option<TriggerInfo>,
    },
    /// A runner took the run over (`resume`).
    RunResumed {
        at: String,
        pid: u32,
        user: String,
    },
    /// Written durably *before* the step's action begins.
    StepStarted {
        step: String,
        attempt: u32,
        at: String,
    },
    /// The action's process was spawned: enough to find it again after a crash.
    StepProcess {
        step: String,
        attempt: u32,
        pid: u32,
        pgid: u32,
        pid_start: u64,
    },
    /// A remote operation the step's action started (an SSM command or automation
    /// execution): written durably as soon as its id is known, so `resume` after a crash
    /// re-attaches to it instead of starting it again.
    StepRemote {
        step: String,
        attempt: u32,
        /// `command` or `automation`.
        kind: String,
        id: String,
    },
    StepSucceeded {
        step: String,
        attempt: u32,
        at: String,
        duration_ms: u64,
        /// Capture values (scrubbed).
        captures: BTreeMap<String, String>,
        /// Achieved RPO when the step measures it.
        rpo_ms: Option<u64>,
    },
    StepFailed {
        step: String,
        attempt: u32,
        at: String,
        error: String,
        will_retry: bool,
        /// What the attempt captured before a check (or its measurement) failed (scrubbed):
        /// kept to be reported, never for later steps to use.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        captures: BTreeMap<String, String>,
        /// It failed before its action could begin (a text that cannot be rendered, a shell
        /// that cannot start): it did nothing.
        #[serde(default, skip_serializing_if = "is_false")]
        unbegun: bool,
    },
    /// `when` was false, or a dependency failed under `continue` and the step could not run.
    StepSkipped {
        step: String,
        at: String,
        reason: String,
    },
    /// A person must act (manual step); the run pauses here without a terminal.
    StepWaiting {
        step: String,
        at: String,
        reason: String,
    },
    /// The runner stopped (signal) while the step ran.
    StepInterrupted {
        step: String,
        attempt: u32,
        at: String,
    },
    /// A decision about an interrupted step, or a person's answer to a manual step.
    StepDecided {
        step: String,
        decision: Decision,
        by: String,
        at: String,
        reason: Option<String>,
        /// Given with `--force` against what the step's probe saw.
        #[serde(default, skip_serializing_if = "is_false")]
        forced: bool,
    },
    /// The step's `verify` probe ran (on resume, or as the run rolls back) and saw `seen`;
    /// `output` is what it printed or answered, masked and bounded. With `decides`, the probe
    /// settled the step: its effect is in place, so it counts as succeeded.
    StepProbed {
        step: String,
        at: String,
        seen: Seen,
        output: String,
        decides: bool,
    },
    /// A tabletop drill's team answered for a step (issue 12): "ready" (`issue` absent), or an
    /// issue found, either optionally with a runbook update needed. Nothing ran: the step
    /// counts as succeeded (discussed) either way, and its [`Finding`] is kept. `duration_ms`
    /// runs from the step being shown (its `step_waiting`) to this answer, and is never
    /// compared with the step's `duration`. Valid only in a tabletop drill.
    StepDiscussed {
        step: String,
        at: String,
        by: String,
        how: How,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issue: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update: Option<String>,
        /// `drbook approve --comment`: a note kept with a "ready".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        duration_ms: u64,
        /// The id of the `drbook approve|deny` request that carried it, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
    },
    /// A gated step is ready and waits for its approvals (LANGUAGE.md §5 `approval`). The gate
    /// is copied here so approvals can be judged from the journal alone.
    ApprovalRequested {
        step: String,
        at: String,
        /// One approval per role, each by a different person.
        roles: Vec<String>,
        /// Who may hold each role, when the runbook declares `roles`; `None`: anyone.
        members: Option<BTreeMap<String, Vec<String>>>,
        timeout_ms: Option<u64>,
        /// A person who may not approve this gate at all: the run's initiator, when the
        /// runbook says `initiator_may_approve false`. Absent in older journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        excluded: Option<String>,
        /// How approvers prove who they are (header `approvals`); absent: `typed`.
        #[serde(default, skip_serializing_if = "crate::model::ApprovalMode::is_typed")]
        approvals: crate::model::ApprovalMode,
        /// The runbook's `signers` file (allowed_signers text) when the gate was asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signers: Option<String>,
    },
    /// One role of a gate approved by one person.
    Approved {
        step: String,
        role: String,
        by: String,
        at: String,
        how: How,
        comment: Option<String>,
        /// The id of the `drbook approve` request that carried it, if any.
        request: Option<String>,
        /// The SSH signature that proved the approver (`approvals signed`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signed: Option<super::gate::SignedBy>,
    },
    /// An approval that did not count: its signature did not verify, or it was unsigned at a
    /// gate that needs signatures (`approvals signed`). The gate stays as it was. `by` is the
    /// name the request gave (unproved).
    ApprovalRefused {
        step: String,
        by: String,
        at: String,
        how: How,
        reason: String,
        request: Option<String>,
    },
    /// A person refused the gate: the step fails.
    ApprovalDenied {
        step: String,
        by: String,
        at: String,
        how: How,
        reason: String,
        request: Option<String>,
    },
    /// A person re-opened a denied gate (`resume --reopen STEP`): the step's gate asks for its
    /// approvals afresh. Until then a denied gate stays denied, whatever resumes the run.
    GateReopened {
        step: String,
        by: String,
        at: String,
        reason: Option<String>,
    },
    /// A resuming runner asks a person how a step that was in flight when its runner died
    /// ended (`undo`: its rollback): at the terminal, or with `drbook approve` (done) / `deny`
    /// (failed) from another shell. Answered by `step_decided` / `undo_decided`.
    DecisionAsked {
        step: String,
        at: String,
        undo: bool,
    },
    /// The gate's `timeout` passed: the step fails with "approval timed out".
    ApprovalTimedOut {
        step: String,
        at: String,
    },
    /// The run turns to undoing what it did (failure under `rollback`, or `drbook rollback`).
    RollbackStarted {
        at: String,
        reason: String,
        by: String,
    },
    /// Written durably *before* a step's rollback action begins.
    UndoStarted {
        step: String,
        at: String,
    },
    /// The rollback action's process (see `step_process`).
    UndoProcess {
        step: String,
        pid: u32,
        pgid: u32,
        pid_start: u64,
    },
    UndoSucceeded {
        step: String,
        at: String,
        duration_ms: u64,
    },
    UndoFailed {
        step: String,
        at: String,
        error: String,
        /// The rollback block's `retry` makes another attempt.
        #[serde(default, skip_serializing_if = "is_false")]
        will_retry: bool,
    },
    /// `drbook rollback` tries the failed rollbacks of a run that ended `rollback_failed`
    /// again.
    RollbackRetried {
        at: String,
        by: String,
    },
    /// A manual rollback waits for a person to do it and say so (at the prompt, with
    /// `drbook approve|deny`, or `resume --interrupted STEP=done|fail`).
    UndoWaiting {
        step: String,
        at: String,
        instructions: String,
    },
    /// The step has no rollback action: reported as not undone.
    UndoSkipped {
        step: String,
        at: String,
        reason: String,
    },
    /// A person's answer about a rollback that was interrupted or is manual: `done` or `fail`
    /// (a rollback action never runs twice).
    UndoDecided {
        step: String,
        decision: Decision,
        by: String,
        at: String,
        reason: Option<String>,
    },
    /// The runner stopped with work left for a person (exit 3).
    RunPaused {
        at: String,
        reason: String,
    },
    /// The runner was stopped by a signal (exit 130).
    RunInterrupted {
        at: String,
        signal: String,
    },
    RunFinished {
        at: String,
        outcome: Outcome,
    },
    /// The run's outcome is decided and its `finally` steps run now, before `run_finished`
    /// (which must then have this outcome). Steps may start again, even after
    /// `rollback_started`. Written only by runbooks with finally steps.
    FinallyStarted {
        at: String,
        outcome: Outcome,
        /// From the RTO clock's start to this record: `${run.elapsed}`.
        elapsed_ms: u64,
        /// How the run ended, as said at its end (a failure's reason, what was undone).
        detail: String,
    },
}

impl Event {
    /// The step an event is about, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            Event::StepStarted { step, .. }
            | Event::StepProcess { step, .. }
            | Event::StepRemote { step, .. }
            | Event::StepSucceeded { step, .. }
            | Event::StepFailed { step, .. }
            | Event::StepSkipped { step, .. }
            | Event::StepWaiting { step, .. }
            | Event::StepInterrupted { step, .. }
            | Event::StepDecided { step, .. }
            | Event::StepProbed { step, .. }
            | Event::StepDiscussed { step, .. }
            | Event::ApprovalRequested { step, .. }
            | Event::Approved { step, .. }
            | Event::ApprovalRefused { step, .. }
            | Event::ApprovalDenied { step, .. }
            | Event::GateReopened { step, .. }
            | Event::ApprovalTimedOut { step, .. }
            | Event::DecisionAsked { step, .. }
            | Event::UndoStarted { step, .. }
            | Event::UndoProcess { step, .. }
            | Event::UndoSucceeded { step, .. }
            | Event::UndoWaiting { step, .. }
            | Event::UndoFailed { step, .. }
            | Event::UndoSkipped { step, .. }
            | Event::UndoDecided { step, .. } => Some(step),
            _ => None,
        }
    }

    /// The event's name as written in the journal (its `event` tag).
    pub fn name(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::RunResumed { .. } => "run_resumed",
            Event::StepStarted { .. } => "step_started",
            Event::StepProcess { .. } => "step_process",
            Event::StepRemote { .. } => "step_remote",
            Event::StepSucceeded { .. } => "step_succeeded",
            Event::StepFailed { .. } => "step_failed",
            Event::StepSkipped { .. } => "step_skipped",
            Event::StepWaiting { .. } => "step_waiting",
            Event::StepInterrupted { .. } => "step_interrupted",
            Event::StepDecided { .. } => "step_decided",
            Event::StepProbed { .. } => "step_probed",
            Event::StepDiscussed { .. } => "step_discussed",
            Event::RollbackRetried { .. } => "rollback_retried",
            Event::ApprovalRequested { .. } => "approval_requested",
            Event::Approved { .. } => "approved",
            Event::ApprovalRefused { .. } => "approval_refused",
            Event::ApprovalDenied { .. } => "approval_denied",
            Event::GateReopened { .. } => "gate_reopened",
            Event::ApprovalTimedOut { .. } => "approval_timed_out",
            Event::DecisionAsked { .. } => "decision_asked",
            Event::RollbackStarted { .. } => "rollback_started",
            Event::UndoStarted { .. } => "undo_started",
            Event::UndoProcess { .. } => "undo_process",
            Event::UndoSucceeded { .. } => "undo_succeeded",
            Event::UndoWaiting { .. } => "undo_waiting",
            Event::UndoFailed { .. } => "undo_failed",
            Event::UndoSkipped { .. } => "undo_skipped",
            Event::UndoDecided { .. } => "undo_decided",
            Event::RunPaused { .. } => "run_paused",
            Event::RunInterrupted { .. } => "run_interrupted",
            Event::RunFinished { .. } => "run_finished",
            Event::FinallyStarted { .. } => "finally_started",
        }
    }

    /// This `run_started` record as a drill's (any other event is returned as it is).
    pub fn as_drill(mut self, info: DrillInfo) -> Event {
        if let Event::RunStarted { drill, .. } = &mut self {
            *drill = Some(info);
        }
        self
    }
}
