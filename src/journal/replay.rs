//! Pure replay: events in, [`RunState`] out. No I/O.
//!
//! Input: a run's events in journal order. Output: where the run and each of its steps stand.
//!
//! Invariants: the first event is `run_started` of this [`VERSION`]; the run's steps are
//! exactly the ids of its `step_hashes`, in that order; every step event is checked by the
//! transition function [`StepState::next`], and nothing follows `run_finished`. Anything else
//! is [`JournalError::Impossible`] naming the record, so a damaged or forged journal is
//! diagnosed rather than trusted. `attempts` is the highest attempt started, and every
//! `step_started` must carry exactly `attempts + 1`. A tabletop drill's journal holds nothing
//! that executes, and `step_discussed` appears in no other run (`tabletop.rs`).

use super::audit::AuditEntry;
use super::gate::{self, ApprovalRecord, Gate};
use super::transitions::{phase_allows, update};
use super::{Decision, DrillInfo, Event, Finding, JournalError, Outcome, Seen, VERSION};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Where a run stands. Whether a `running` run's runner is alive is the lock's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Paused,
    Interrupted,
    Succeeded,
    Failed,
    RolledBack,
    RollbackFailed,
}

/// Where a step stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    #[default]
    Pending,
    Running,
    Waiting,
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
    /// Its rollback action started and has not ended (or a person must answer for it).
    Undoing,
    Undone,
    UndoFailed,
    /// It succeeded, the run rolled back, and it has no rollback action.
    NotUndone,
}

/// What the journal says about a step's rollback.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UndoRecord {
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    /// Why there was nothing to undo (`not_undone`).
    pub reason: Option<String>,
    /// The rollback action's process while it may be alive.
    pub process: Option<(u32, u32, u64)>,
    /// A manual rollback waits for a person.
    pub waiting: bool,
}

/// A gate's denial: kept until a person re-opens the gate (`gate_reopened`), so a resume
/// never asks again on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Denial {
    pub by: String,
    pub at: String,
    pub reason: String,
}

/// What a step's `verify` probe saw, the latest time it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    pub at: String,
    pub seen: Seen,
    /// What it printed or answered (masked, bounded).
    pub output: String,
    /// The probe settled the step (its effect is in place).
    pub decided: bool,
}

/// Why and when the run turned to rolling back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollbackInfo {
    pub at: String,
    pub reason: String,
    pub by: String,
}

/// Everything the journal says about one step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub state: StepState,
    /// The highest attempt started (0: never started).
    pub attempts: u32,
    /// When the latest attempt started.
    pub started_at: Option<String>,
    /// When the step reached succeeded, failed or skipped.
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    /// What the latest attempt captured: when it succeeded, or when its check failed.
    pub captures: BTreeMap<String, String>,
    pub rpo_ms: Option<u64>,
    /// The latest attempt's error, or why a person marked the step failed.
    pub error: Option<String>,
    /// `(pid, pgid, pid_start)` of the action's process while it may still be alive: set by
    /// `step_process`, kept through `step_interrupted`, cleared when the step ends or restarts.
    pub process: Option<(u32, u32, u64)>,
    /// The latest attempt failed and another one is due.
    pub retrying: bool,
    pub waiting_reason: Option<String>,
    pub skipped_reason: Option<String>,
    /// The latest decision a person made about this step.
    pub decision: Option<Decision>,
    /// The approval gate the step waits (or waited) at, from its latest request.
    pub gate: Option<Gate>,
    /// Approvals given since that request.
    pub approvals: Vec<ApprovalRecord>,
    /// Set once the run rolls back and this step's rollback is decided on.
    pub undo: Option<UndoRecord>,
    /// The step waits for a person to answer its manual action (not for its gate).
    pub manual_waiting: bool,
    /// A resuming runner asks a person how the step (or, when undoing, its rollback) ended
    /// (`decision_asked`, until `step_decided` / `undo_decided`).
    pub deciding: bool,
    /// `(kind, id)` of the remote operation (SSM command or automation) an attempt started
    /// and that may still be going: kept across a crash and a new attempt, so the next
    /// attempt re-attaches; cleared when the step ends, fails an attempt, or was interrupted
    /// by a signal (the operation was cancelled then).
    pub remote: Option<(String, String)>,
    /// The gate's latest denial, until the gate is re-opened.
    pub denial: Option<Denial>,
    /// The latest result of the step's `verify` probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeRecord>,
    /// Some attempt's action began (it may have acted): not a failure before it could begin
    /// (a text that cannot be rendered, a shell that cannot start), a denied gate or a skip.
    #[serde(default)]
    pub acted: bool,
    /// The run rolls back and a person was asked whether this failed step was done.
    #[serde(default)]
    pub undo_asked: bool,
    /// Its rollback failed and is tried again (`retry` in `rollback { }`, or `drbook
    /// rollback` after `rollback_failed`).
    #[serde(default)]
    pub undo_again: bool,
    /// The latest decision was given with `--force` against the step's probe.
    #[serde(default)]
    pub forced: bool,
    /// When the step last began waiting for a person (`step_waiting`): in a tabletop drill,
    /// when it was shown to the team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<String>,
    /// The request that carried a tabletop drill's answer for the step (`step_discussed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discussion: Option<String>,
}

impl StepRecord {
    /// The step failed because its gate was denied, and nobody re-opened it: it stays failed.
    pub fn stays_denied(&self) -> bool {
        self.state == StepState::Failed && self.denial.is_some()
    }

    /// The gate's roles nobody has approved yet (empty without a gate).
    pub fn missing_roles(&self) -> Vec<&str> {
        self.gate.as_ref().map_or_else(Vec::new, |g| g.missing(&self.approvals))
    }

    /// A gate was requested and every role has its approval.
    pub fn gate_satisfied(&self) -> bool {
        self.gate.is_some() && self.missing_roles().is_empty()
    }
}

/// What `finally_started` says: how the run ended, before its finally steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinallyInfo {
    pub at: String,
    pub outcome: Outcome,
    pub elapsed_ms: u64,
    pub detail: String,
}

/// A run as its journal tells it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub run_id: String,
    pub runbook: String,
    pub file: String,
    pub path: String,
    pub content_hash: String,
    pub step_hashes: Vec<(String, String)>,
    pub params: BTreeMap<String, String>,
    pub started_at: String,
    pub clock_start: String,
    pub rto_ms: Option<u64>,
    pub rpo_ms: Option<u64>,
    pub user: String,
    pub status: RunStatus,
    pub finished_at: Option<String>,
    /// In `step_hashes` order.
    pub steps: Vec<(String, StepRecord)>,
    /// The reason of the latest `run_paused`.
    pub last_pause: Option<String>,
    /// Set by `rollback_started`: the run is undoing (or has undone) its steps.
    pub rollback: Option<RollbackInfo>,
    /// When the forward phase succeeded (its `run_finished` with `succeeded`): the moment of
    /// recovery, which a later rollback never moves (see [`super::results`]).
    #[serde(default)]
    pub recovered_at: Option<String>,
    /// When the forward phase stopped without recovering: the run failed, or turned to
    /// rolling back. Cleared when a failed run is resumed.
    #[serde(default)]
    pub forward_stopped_at: Option<String>,
    /// What people did, and each turn to rolling back, in journal order (see `audit`).
    pub audit: Vec<AuditEntry>,
    /// Set by `finally_started`: the run's outcome is decided and its finally steps run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finally: Option<FinallyInfo>,
    /// Set when the run is a drill: its type and targets (from `run_started`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillInfo>,
    /// Set when `drbook watch` started the run (from `run_started`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<super::event::TriggerInfo>,
    /// A tabletop drill's answers, one per step discussed, in journal order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// How many records have been applied.
    pub records: usize,
    /// Step id to position in `steps`.
    #[serde(skip)]
    index: HashMap<String, usize>,
}

/// Replays a whole journal. An empty one is damaged: every journal starts with `run_started`.
pub fn replay(events: &[Event]) -> Result<RunState, JournalError> {
    let Some((first, rest)) = events.split_first() else {
        return Err(JournalError::Damaged {
            record: 1,
            offset: 0,
            reason: "the journal is empty: it has no `run_started` record".into(),
        });
    };
    let mut state = RunState::start(first)?;
    for (i, e) in rest.iter().enumerate() {
        state.apply(i + 2, e)?;
    }
    Ok(state)
}

impl RunState {
    /// The state right after a run's first record.
    pub fn start(first: &Event) -> Result<RunState, JournalError> {
        let Event::RunStarted {
            v,
            run_id,
            runbook,
            file,
            path,
            content_hash,
            step_hashes,
            params,
            at,
            clock_start,
            rto_ms,
            rpo_ms,
            user,
            pid: _,
            drill,
            trigger,
        } = first
        else {
            return Err(impossible(
                1,
                first,
                format!("the first record must be `run_started`, not `{}`", first.name()),
            ));
        };
        if *v != VERSION {
            return Err(JournalError::Version { found: *v });
        }
        let mut index = HashMap::with_capacity(step_hashes.len());
        let mut steps = Vec::with_capacity(step_hashes.len());
        for (i, (id, _)) in step_hashes.iter().enumerate() {
            if index.insert(id.clone(), i).is_some() {
                return Err(JournalError::Impossible {
                    record: 1,
                    step: Some(id.clone()),
                    reason: format!("step `{id}` is listed twice in `step_hashes`"),
                });
            }
            steps.push((id.clone(), StepRecord::default()));
        }
        Ok(RunState {
            run_id: run_id.clone(),
            runbook: runbook.clone(),
            file: file.clone(),
            path: path.clone(),
            content_hash: content_hash.clone(),
            step_hashes: step_hashes.clone(),
            params: params.clone(),
            started_at: at.clone(),
            clock_start: clock_start.clone(),
            rto_ms: *rto_ms,
            rpo_ms: *rpo_ms,
            user: user.clone(),
            status: RunStatus::Running,
            finished_at: None,
            steps,
            last_pause: None,
            rollback: None,
            recovered_at: None,
            forward_stopped_at: None,
            audit: Vec::new(),
            finally: None,
            drill: drill.clone(),
            trigger: trigger.clone(),
            findings: Vec::new(),
            records: 1,
            index,
        })
    }

    /// Whether the run is a tabletop drill: nothing executes, every step is discussed.
    pub fn is_tabletop(&self) -> bool {
        self.drill.as_ref().is_some_and(|d| d.kind == crate::model::DrillKind::Tabletop)
    }

    /// A step's record, by id.
    pub fn step(&self, id: &str) -> Option<&StepRecord> {
        self.index.get(id).map(|&i| &self.steps[i].1)
    }

    /// Applies record number `record` (1-based, for messages). On error the state is unchanged.
    pub fn apply(&mut self, record: usize, e: &Event) -> Result<(), JournalError> {
        // A failed run stays resumable (LANGUAGE.md §8: `abort` leaves the run resumable): after
        // `run_finished` with `failed`, only `run_resumed` may follow; after success, nothing
        // but a rollback (`drbook rollback`). A rolled-back run takes nothing more.
        let resumable = self.status == RunStatus::Failed && matches!(e, Event::RunResumed { .. });
        let undo = matches!(self.status, RunStatus::Succeeded | RunStatus::Failed)
            && matches!(e, Event::RollbackStarted { .. });
        let undo_again =
            self.status == RunStatus::RollbackFailed && matches!(e, Event::RollbackRetried { .. });
        if !self.status.is_unfinished() && !resumable && !undo && !undo_again {
            let reason = format!(
                "`{}` after `run_finished`: a finished run takes no more records",
                e.name()
            );
            return Err(impossible(record, e, reason));
        }
        match e {
            Event::RunStarted { .. } => {
                return Err(impossible(record, e, "a second `run_started`".into()));
            }
            Event::RunResumed { .. } => {
                // A finished run taken up again ends anew (and its finally steps run again).
                if self.status == RunStatus::Failed {
                    self.finally = None;
                }
                self.status = RunStatus::Running;
                self.finished_at = None;
                // A failed run resumed goes forward again; a resumed rollback does not.
                if self.rollback.is_none() {
                    self.forward_stopped_at = None;
                }
            }
            Event::FinallyStarted { at, outcome, elapsed_ms, detail } => {
                if self.finally.is_some() {
                    return Err(impossible(record, e, "a second `finally_started`".into()));
                }
                let undoing = self.rollback.is_some();
                let fits = match outcome {
                    Outcome::Succeeded | Outcome::Failed => !undoing,
                    Outcome::RolledBack | Outcome::RollbackFailed => undoing,
                };
                if !fits {
                    let reason = "the outcome does not fit whether the run rolled back".into();
                    return Err(impossible(record, e, reason));
                }
                self.finally = Some(FinallyInfo {
                    at: at.clone(),
                    outcome: *outcome,
                    elapsed_ms: *elapsed_ms,
                    detail: detail.clone(),
                });
                // The forward phase ended here: finally steps do not count toward the RTO.
                self.forward_ended(at, *outcome);
            }
            Event::RunPaused { reason, .. } => {
                self.status = RunStatus::Paused;
                self.last_pause = Some(reason.clone());
            }
            Event::RunInterrupted { .. } => self.status = RunStatus::Interrupted,
            Event::RunFinished { at, outcome } => {
                let undoing = self.rollback.is_some();
                let (status, fits) = match outcome {
                    Outcome::Succeeded => (RunStatus::Succeeded, !undoing),
                    Outcome::Failed => (RunStatus::Failed, !undoing),
                    Outcome::RolledBack => (RunStatus::RolledBack, undoing),
                    Outcome::RollbackFailed => (RunStatus::RollbackFailed, undoing),
                };
                if let Some(f) = self.finally.as_ref().filter(|f| f.outcome != *outcome) {
                    let reason = format!("`finally_started` said the run ended {:?}", f.outcome);
                    return Err(impossible(record, e, reason));
                }
                if !fits {
                    let reason = if undoing {
                        "a rolling-back run ends rolled back or rollback failed".to_string()
                    } else {
                        "a run that never rolled back cannot end rolled back".to_string()
                    };
                    return Err(impossible(record, e, reason));
                }
                self.status = status;
                self.finished_at = Some(at.clone());
                self.forward_ended(at, *outcome);
            }
            Event::RollbackRetried { .. } => {
                if self.status != RunStatus::RollbackFailed {
                    let reason = "only a run whose rollback failed tries it again".to_string();
                    return Err(impossible(record, e, reason));
                }
                self.status = RunStatus::Running;
                self.finished_at = None;
                for (_, rec) in &mut self.steps {
                    if rec.state == StepState::UndoFailed {
                        rec.undo_again = true;
                    }
                }
            }
            Event::RollbackStarted { at, reason, by } => {
                if self.is_tabletop() {
                    let reason = "a tabletop drill ran nothing: it never rolls back".to_string();
                    return Err(impossible(record, e, reason));
                }
                if self.rollback.is_some() {
                    return Err(impossible(record, e, "the run is already rolling back".into()));
                }
                self.rollback =
                    Some(RollbackInfo { at: at.clone(), reason: reason.clone(), by: by.clone() });
                self.forward_ended(at, Outcome::Failed);
                // `drbook rollback` of a finished run: it ends anew once undone.
                self.finally = None;
                self.status = RunStatus::Running;
                self.finished_at = None;
            }
            _ => self.apply_step(record, e)?,
        }
        self.audit.extend(super::audit::entry(e));
        self.records += 1;
        Ok(())
    }

    /// The forward phase ended at `at` as `outcome` (succeeded: recovered; failed, or turned to
    /// rolling back: stopped), unless an earlier record already said when it ended: the first
    /// end counts, and only resuming a failed run makes it go on again.
    fn forward_ended(&mut self, at: &str, outcome: Outcome) {
        if self.recovered_at.is_some() || self.forward_stopped_at.is_some() {
            return;
        }
        match outcome {
            Outcome::Succeeded => self.recovered_at = Some(at.to_string()),
            Outcome::Failed => self.forward_stopped_at = Some(at.to_string()),
            Outcome::RolledBack | Outcome::RollbackFailed => {}
        }
    }

    fn apply_step(&mut self, record: usize, e: &Event) -> Result<(), JournalError> {
        let id = e.step().expect("invariant: every event but the run-level ones names a step");
        let Some(&i) = self.index.get(id) else {
            let reason = format!("step `{id}` is not a step of this run");
            return Err(impossible(record, e, reason));
        };
        let (run_id, content_hash) = (self.run_id.clone(), self.content_hash.clone());
        super::tabletop::allows(self.is_tabletop(), e)
            .map_err(|reason| impossible(record, e, reason))?;
        let rec = &mut self.steps[i].1;
        // Once the finally steps run, steps start again even after a rollback.
        let rolling_back = self.rollback.is_some() && self.finally.is_none();
        phase_allows(rolling_back, e).map_err(|reason| impossible(record, e, reason))?;
        if let Event::Approved { role, by, signed, .. } = e {
            let gate = rec.gate.as_ref().ok_or_else(|| {
                impossible(record, e, format!("step `{id}` has no approval gate to approve"))
            })?;
            // A gate that needs signatures counts only an approval whose signature verifies.
            if gate.approvals == crate::model::ApprovalMode::Signed || signed.is_some() {
                let want =
                    super::sign::Expect { run: &run_id, step: id, runbook: &content_hash, gate };
                super::sign::recheck(&want, role, by, signed.as_ref())
                    .map_err(|reason| impossible(record, e, reason))?;
            }
            if rec.state == StepState::Waiting {
                gate::judge(gate, &rec.approvals, by, Some(role))
                    .map_err(|reason| impossible(record, e, reason))?;
            }
        }
        if matches!(e, Event::StepStarted { .. })
            && rec.gate.is_some()
            && !rec.gate_satisfied()
            && rec.state == StepState::Waiting
        {
            let missing = rec.missing_roles().join(", ");
            let reason = format!("step `{id}` cannot start: its approval still lacks {missing}");
            return Err(impossible(record, e, reason));
        }
        rec.state = rec.state.next(rec, e).map_err(|reason| impossible(record, e, reason))?;
        update(rec, e);
        self.findings.extend(super::tabletop::finding(e));
        // A person's answer (an approval, a denial, a decision) given from another shell while
        // the run is paused leaves it paused: the run goes on when a runner resumes it.
        if !matches!(
            e,
            Event::Approved { .. }
                | Event::ApprovalRefused { .. }
                | Event::ApprovalDenied { .. }
                | Event::StepDecided { .. }
                | Event::StepDiscussed { .. }
                | Event::UndoDecided { .. }
        ) {
            self.status = RunStatus::Running;
        }
        Ok(())
    }
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Waiting => "waiting",
            StepState::Succeeded => "succeeded",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Interrupted => "interrupted",
            StepState::Undoing => "undoing",
            StepState::Undone => "undone",
            StepState::UndoFailed => "undo_failed",
            StepState::NotUndone => "not_undone",
        }
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::RolledBack => "rolled_back",
            RunStatus::RollbackFailed => "rollback_failed",
        }
    }

    /// Running, paused or interrupted: LANGUAGE.md §8's *unfinished*.
    pub fn is_unfinished(self) -> bool {
        matches!(self, RunStatus::Running | RunStatus::Paused | RunStatus::Interrupted)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn impossible(record: usize, e: &Event, reason: String) -> JournalError {
    JournalError::Impossible { record, step: e.step().map(str::to_string), reason }
}
