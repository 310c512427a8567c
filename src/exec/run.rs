//! The scheduler: starts every step whose `needs` are satisfied, at most `parallel` at once,
//! journals each state change, applies failure policies, and stops cleanly on SIGINT/SIGTERM.
//!
//! A step is ready when each of its needs succeeded, was skipped, or failed under `continue`.
//! Under `abort` a failure stops new launches; running steps finish; the run is left
//! resumable. Under `rollback` a failure records `rollback_started` at once, stops new
//! launches and new attempts (running actions are not killed; they finish), and once nothing
//! runs hands over to the undo phase (`undo.rs`). The journal is the only memory: what the
//! loop knows of a step it learns from the replayed state, so a resumed run continues exactly
//! where the journal says, a rolling-back one included.

use super::action::{shell_action, wait_action, Attempt};
use super::secrets::Secrets;
use super::shell::{Spawned, Stream};
use super::values::{self, Values};
use crate::graph::Dag;
use crate::journal::{Event, JournalError, Outcome, Sink, StepState};
use crate::model::time as clock;
use crate::model::{Action, FailurePolicy, Millis, ParamValue, Runbook};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

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
    /// Steps a person just decided `fail` on resume: not run again in this session.
    pub keep_failed: Vec<usize>,
    /// The run's directory, whose inbox brings approvals from other shells; `None` in memory.
    pub run_dir: Option<PathBuf>,
    /// Steps the invoking person approves (`--approve STEP`).
    pub approve: Vec<String>,
    /// Keep waiting at gates without a terminal (`--wait`) instead of pausing.
    pub wait: bool,
    /// The SSM client, when the runbook has `ssm` actions.
    pub aws: Option<Arc<super::ssm::Aws>>,
}

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
}

pub trait Observer: Send + Sync {
    fn note(&self, n: Note);
}

/// A person at a terminal, when there is one.
pub trait Person: Send + Sync {
    /// Shows a manual step's instructions; `Ok(())` done, `Err(reason)` failed; `None` when
    /// `cancel` was set (answered elsewhere) or input ended.
    fn manual(
        &self,
        step: &str,
        instructions: &str,
        cancel: &AtomicBool,
    ) -> Option<Result<(), String>>;
    /// Asks for an approval at a gate. `None`: `cancel` was set (the gate was settled
    /// elsewhere) or input ended.
    fn approve(&self, ask: &ApprovalAsk, cancel: &AtomicBool) -> Option<ApprovalAnswer>;
}

/// What the approval prompt shows.
#[derive(Clone, Debug)]
pub struct ApprovalAsk {
    pub step: String,
    pub title: Option<String>,
    pub owner: Option<String>,
    pub expected_ms: Option<Millis>,
    /// The rendered action, secrets masked.
    pub action: String,
    /// The RTO budget as it stands.
    pub budget: String,
    /// Each role of the gate: its members (when declared) and who approved it so far.
    pub roles: Vec<(String, Option<Vec<String>>, Option<String>)>,
    /// The name offered when the person just presses Enter.
    pub default_name: String,
    /// Why the previous answer was refused.
    pub refusal: Option<String>,
}

/// A person's answer at the approval prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalAnswer {
    Approve { by: String, role: Option<String>, comment: Option<String> },
    Deny { by: String, reason: String },
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

pub(super) type Journal = Arc<Mutex<Box<dyn Sink + Send>>>;

/// Shared by the step and undo tasks.
pub(super) struct Ctx {
    pub(super) job: Job,
    pub(super) journal: Journal,
    pub(super) observer: Arc<dyn Observer>,
    pub(super) person: Option<Arc<dyn Person>>,
    /// A signal: running actions are terminated.
    pub(super) stop: watch::Receiver<bool>,
    /// The run turned to rolling back: no new attempts; running actions finish.
    pub(super) halt: watch::Receiver<bool>,
    /// No more launches (a failure under `abort` or `rollback`): gates and manual steps stop
    /// waiting for a person; running actions finish.
    pub(super) winding_down: watch::Receiver<bool>,
    /// Bumped whenever the inbox brought approvals: gates look at the journal again.
    pub(super) tick: watch::Receiver<u64>,
    /// The run's HTTP client (`http` and `notify` actions), built on first use.
    pub(super) http: super::http::Client,
    /// Capture values as captured, before scrubbing, for later steps of this session; the
    /// journal keeps only scrubbed values.
    raw: Mutex<HashMap<(usize, String), String>>,
}

/// What a step task came back with.
enum Done {
    Succeeded,
    Skipped,
    Failed(String),
    Waiting,
    Interrupted,
    /// Not started: the run turned to rolling back first.
    Halted,
}

/// SIGINT and SIGTERM, watched for the whole run.
pub(super) struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    /// The terminal went away (an SSH session dropped). Caught so the runner is not killed:
    /// the run goes on without a person (prompts see the end of input), and `drbook status`
    /// from a new session follows it.
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, ExecError> {
        use tokio::signal::unix::{signal, SignalKind};
        let int = signal(SignalKind::interrupt())
            .map_err(|e| ExecError::Refused(format!("cannot watch for Ctrl-C: {e}")))?;
        let term = signal(SignalKind::terminate())
            .map_err(|e| ExecError::Refused(format!("cannot watch for SIGTERM: {e}")))?;
        let hup = signal(SignalKind::hangup())
            .map_err(|e| ExecError::Refused(format!("cannot watch for SIGHUP: {e}")))?;
        Ok(Signals { int, term, hup })
    }

    /// The name of the next signal that stops the run (SIGHUP does not).
    pub(super) async fn recv(&mut self) -> &'static str {
        loop {
            tokio::select! {
                _ = self.int.recv() => return "SIGINT",
                _ = self.term.recv() => return "SIGTERM",
                _ = self.hup.recv() => {}
            }
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

pub(super) fn lock(j: &Journal) -> std::sync::MutexGuard<'_, Box<dyn Sink + Send>> {
    // A poisoned lock means a step task panicked mid-append; the journal itself stays
    // consistent (appends are validated, then written whole), so carry on with it.
    j.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) fn append(j: &Journal, e: Event) -> Result<(), JournalError> {
    lock(j).append(&e)
}

/// Appends an event that starts forward work, unless the run has turned to rolling back:
/// checked under the journal's lock, so nothing can start after `rollback_started`.
/// `Ok(false)`: not appended.
pub(super) fn append_forward(j: &Journal, e: Event) -> Result<bool, JournalError> {
    let mut j = lock(j);
    if j.state().rollback.is_some() {
        return Ok(false);
    }
    j.append(&e)?;
    Ok(true)
}

/// Records that the run turns to rolling back, once; `Ok(false)` when it already had.
fn start_rollback(ctx: &Ctx, reason: &str) -> Result<bool, JournalError> {
    let mut j = lock(&ctx.journal);
    if j.state().rollback.is_some() {
        return Ok(false);
    }
    j.append(&Event::RollbackStarted {
        at: clock::now(),
        reason: reason.to_string(),
        by: ctx.job.user.clone(),
    })?;
    drop(j);
    ctx.observer.note(Note::RollbackStarted { reason: reason.to_string() });
    Ok(true)
}

/// A step that failed under `rollback` whose failure did not turn the run (a crash came in
/// between, or a person marked it failed on resume).
fn failed_under_rollback(ctx: &Ctx) -> Option<String> {
    let j = lock(&ctx.journal);
    ctx.job.rb.steps.iter().enumerate().find_map(|(i, s)| {
        let rec = j.state().step(&s.id);
        let failed =
            rec.is_some_and(|r| r.state == StepState::Failed) || ctx.job.keep_failed.contains(&i);
        (failed && s.on_failure == FailurePolicy::Rollback).then(|| {
            let error = rec.and_then(|r| r.error.clone()).unwrap_or_else(|| "failed".into());
            format!("step `{}` failed: {error}", s.id)
        })
    })
}

/// Runs every step that can run now. The journal must hold the run's `RunStarted` (and, on
/// resume, `RunResumed` plus any decisions about interrupted steps).
pub async fn execute(
    job: Job,
    journal: Box<dyn Sink + Send>,
    observer: Arc<dyn Observer>,
    person: Option<Arc<dyn Person>>,
) -> Result<Finish, ExecError> {
    let journal: Journal = Arc::new(Mutex::new(journal));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (halt_tx, halt_rx) = watch::channel(false);
    let (winding_tx, winding_rx) = watch::channel(false);
    let (tick_tx, tick_rx) = watch::channel(0u64);
    let n = job.rb.steps.len();
    let parallel = job.parallel.max(1);
    let ctx = Arc::new(Ctx {
        job,
        journal: journal.clone(),
        observer,
        person,
        stop: stop_rx,
        halt: halt_rx,
        winding_down: winding_rx,
        tick: tick_rx,
        http: super::http::Client::default(),
        raw: Mutex::new(HashMap::new()),
    });

    // Where every step stands, from the journal.
    let mut status: Vec<Status> = {
        let j = lock(&journal);
        let st = j.state();
        ctx.job
            .rb
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| match st.step(&s.id).map(|r| r.state) {
                Some(StepState::Succeeded) => Status::Succeeded,
                Some(StepState::Skipped) => Status::Skipped,
                _ if ctx.job.keep_failed.contains(&i) => Status::Failed,
                _ => Status::Pending,
            })
            .collect()
    };
    let mut signals = Signals::new()?;
    // The inbox is read every 250 ms while anything runs or waits.
    let mut inbox_timer = tokio::time::interval(Duration::from_millis(250));
    inbox_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let mut tasks: JoinSet<(usize, Result<Done, JournalError>)> = JoinSet::new();
    let mut running = 0usize;
    let mut first_failure: Option<String> = ctx
        .job
        .keep_failed
        .iter()
        .find(|&&i| ctx.job.rb.steps[i].on_failure != FailurePolicy::Continue)
        .map(|&i| format!("step `{}` was marked failed", ctx.job.rb.steps[i].id));
    let mut stopping = first_failure.clone();
    // A run already rolling back does no forward work; nor does one with a step failed under
    // `rollback` that did not turn it yet.
    if lock(&journal).state().rollback.is_none() {
        if let Some(why) = failed_under_rollback(&ctx) {
            start_rollback(&ctx, &why)?;
        }
    }
    if let Some(info) = lock(&journal).state().rollback.clone() {
        stopping = Some(info.reason);
        let _ = halt_tx.send(true);
    }
    let mut interrupted: Option<String> = None;
    let mut over_budget_said = false;

    loop {
        if stopping.is_some() {
            let _ = winding_tx.send(true);
        }
        if stopping.is_none() && interrupted.is_none() {
            for i in 0..n {
                if running >= parallel {
                    break;
                }
                if status[i] == Status::Pending && ready(&ctx.job, &status, i) {
                    status[i] = Status::Running;
                    running += 1;
                    let ctx = ctx.clone();
                    tasks.spawn(async move { (i, step_task(&ctx, i).await) });
                }
            }
        }
        if running == 0 {
            break;
        }
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                running -= 1;
                let (i, result) = joined.map_err(|e| ExecError::Refused(format!("a step task failed: {e}")))?;
                status[i] = settle(&ctx, i, result?, &halt_tx, &mut first_failure, &mut stopping)?;
                let elapsed = u64::try_from(clock::now_ms() - ctx.job.clock_start_ms).unwrap_or(0);
                let unfinished: Vec<bool> = status.iter().map(|s| !s.finished()).collect();
                let projected = elapsed + ctx.job.dag.remaining_critical_ms(&unfinished);
                let rto = ctx.job.rb.rto;
                let over = rto.is_some_and(|r| projected > r);
                if !over || !over_budget_said {
                    ctx.observer.note(Note::Clock { elapsed_ms: elapsed, projected_ms: projected, rto_ms: rto, over });
                }
                over_budget_said |= over;
            }
            _ = inbox_timer.tick(), if ctx.job.run_dir.is_some() => {
                if read_inbox(&ctx) {
                    tick_tx.send_modify(|t| *t += 1);
                    // Gates and manual steps left waiting (no terminal) go on as answers arrive.
                    let waiting: Vec<usize> = (0..n).filter(|&i| status[i] == Status::Waiting).collect();
                    for i in waiting {
                        let rec = lock(&journal).state().step(&ctx.job.rb.steps[i].id).cloned();
                        match rec {
                            Some(r) if r.state == StepState::Failed => {
                                let why = r.error.unwrap_or_else(|| "approval denied".into());
                                status[i] = settle(&ctx, i, Done::Failed(why), &halt_tx, &mut first_failure, &mut stopping)?;
                            }
                            Some(r) if r.state == StepState::Succeeded => status[i] = Status::Succeeded,
                            Some(r) if r.gate_satisfied() && r.state == StepState::Waiting && stopping.is_none() => {
                                status[i] = Status::Pending
                            }
                            _ => {}
                        }
                    }
                }
            }
            signal = signals.recv() => {
                interrupted.get_or_insert_with(|| signal.into());
                let _ = stop_tx.send(true);
            }
        }
    }
    let now = clock::now();
    if let Some(signal) = interrupted {
        append(&journal, Event::RunInterrupted { at: now, signal: signal.clone() })?;
        return Ok(Finish::Interrupted(signal));
    }
    if lock(&journal).state().rollback.is_some() {
        return super::undo::undo(&ctx, parallel, &mut signals, &stop_tx, &tick_tx).await;
    }
    if let Some(why) = first_failure {
        append(&journal, Event::RunFinished { at: now, outcome: Outcome::Failed })?;
        return Ok(Finish::Failed(why));
    }
    let waiting: Vec<String> =
        (0..n).filter(|&i| status[i] == Status::Waiting).map(|i| waiting_for(&ctx, i)).collect();
    let blocked = status.contains(&Status::Pending);
    if !waiting.is_empty() || blocked {
        let reason = if waiting.is_empty() {
            "steps are blocked".to_string()
        } else {
            format!("waiting for a person: {}", waiting.join("; "))
        };
        append(&journal, Event::RunPaused { at: now, reason: reason.clone() })?;
        return Ok(Finish::Paused(reason));
    }
    append(&journal, Event::RunFinished { at: now, outcome: Outcome::Succeeded })?;
    Ok(Finish::Succeeded)
}

/// The scheduler's view of a step task's result. A failure outside `continue` stops launches;
/// under `rollback` it also turns the run to rolling back (journaled at once).
fn settle(
    ctx: &Ctx,
    i: usize,
    done: Done,
    halt: &watch::Sender<bool>,
    first_failure: &mut Option<String>,
    stopping: &mut Option<String>,
) -> Result<Status, ExecError> {
    let step = &ctx.job.rb.steps[i];
    Ok(match done {
        Done::Succeeded => Status::Succeeded,
        Done::Skipped => Status::Skipped,
        Done::Waiting => Status::Waiting,
        Done::Interrupted => Status::Interrupted,
        Done::Halted => Status::Pending,
        Done::Failed(err) => {
            if step.on_failure != FailurePolicy::Continue {
                let why = format!("step `{}` failed: {err}", step.id);
                if step.on_failure == FailurePolicy::Rollback {
                    start_rollback(ctx, &why)?;
                    let _ = halt.send(true);
                }
                first_failure.get_or_insert(why.clone());
                stopping.get_or_insert(why);
            }
            Status::Failed
        }
    })
}

/// What a waiting step waits for, for the pause message.
fn waiting_for(ctx: &Ctx, i: usize) -> String {
    let id = &ctx.job.rb.steps[i].id;
    let rec = lock(&ctx.journal).state().step(id).cloned().unwrap_or_default();
    if rec.gate.is_some() && !rec.gate_satisfied() {
        let approved: Vec<String> =
            rec.approvals.iter().map(|a| format!("{} by {}", a.role, a.by)).collect();
        let so_far = if approved.is_empty() {
            String::new()
        } else {
            format!(" (approved so far: {})", approved.join(", "))
        };
        format!("{id} needs approval by {}{so_far}", rec.missing_roles().join(", "))
    } else {
        format!("{id} (manual step)")
    }
}

/// Judges and journals what `drbook approve` / `deny` left in the inbox; `true` if anything
/// was there.
pub(super) fn read_inbox(ctx: &Ctx) -> bool {
    use crate::journal::inbox;
    let Some(dir) = &ctx.job.run_dir else { return false };
    let requests = inbox::pending(dir);
    for (path, req) in &requests {
        let masked = req.clone().scrubbed(|t| ctx.job.secrets.scrub(t));
        let said = {
            let mut j = lock(&ctx.journal);
            inbox::apply(&mut **j, &masked, crate::journal::How::Cli, &clock::now())
        };
        let reply = match &said {
            Ok(m) => inbox::Reply { ok: true, message: m.clone() },
            Err(m) => inbox::Reply { ok: false, message: m.clone() },
        };
        let _ = inbox::answer(dir, path, &req.id, &reply);
        let n = match said {
            Ok(message) => Note::ApprovalRecorded { step: req.step.clone(), message },
            Err(reason) => {
                Note::ApprovalRefused { step: req.step.clone(), by: req.by.clone(), reason }
            }
        };
        ctx.observer.note(n);
    }
    !requests.is_empty()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Waiting,
    Interrupted,
}

impl Status {
    fn finished(self) -> bool {
        matches!(self, Status::Succeeded | Status::Skipped | Status::Failed)
    }
}

/// Each need succeeded, was skipped, or failed under `continue`.
fn ready(job: &Job, status: &[Status], i: usize) -> bool {
    job.rb.steps[i].needs.iter().all(|&d| match status[d] {
        Status::Succeeded | Status::Skipped => true,
        Status::Failed => job.rb.steps[d].on_failure == FailurePolicy::Continue,
        _ => false,
    })
}

/// The value of `steps.ID.NAME` from the journal.
pub(super) fn capture_of(ctx: &Ctx, i: usize, name: &str) -> Result<String, String> {
    let id = &ctx.job.rb.steps[i].id;
    let raw = ctx.raw.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(v) = raw.get(&(i, name.to_string())) {
        return Ok(v.clone());
    }
    drop(raw);
    let j = lock(&ctx.journal);
    let rec = j.state().step(id).ok_or_else(|| format!("step `{id}` is not in this run"))?;
    match rec.state {
        // A step being undone (or undone) succeeded once: rollbacks use its captures.
        StepState::Succeeded
        | StepState::Undoing
        | StepState::Undone
        | StepState::UndoFailed
        | StepState::NotUndone => match rec.captures.get(name) {
            Some(v) if v.contains("<secret:") => Err(format!(
                "`${{steps.{id}.{name}}}` held a secret, which the journal does not keep; re-run step `{id}` in this session to use it"
            )),
            Some(v) => Ok(v.clone()),
            None => Err(format!("step `{id}` succeeded without capturing `{name}`")),
        },
        StepState::Skipped => {
            Err(format!("step `{id}` was skipped, so `${{steps.{id}.{name}}}` has no value"))
        }
        StepState::Failed => {
            Err(format!("step `{id}` failed, so `${{steps.{id}.{name}}}` has no value"))
        }
        _ => Err(format!("step `{id}` has not finished, so `${{steps.{id}.{name}}}` has no value")),
    }
}

async fn step_task(ctx: &Ctx, i: usize) -> Result<Done, JournalError> {
    let step = &ctx.job.rb.steps[i];
    let id = step.id.clone();
    let cap = |idx: usize, name: &str| capture_of(ctx, idx, name);
    let vals = Values {
        params: &ctx.job.values,
        secrets: &ctx.job.secrets,
        capture: &cap,
        run_id: &ctx.job.run_id,
        runbook: &ctx.job.rb.name,
        own: None,
    };
    let scrub = |s: &str| ctx.job.secrets.scrub(s);
    if let Some(w) = &step.when {
        match vals.eval(w).and_then(|v| v.truthy()) {
            Ok(true) => {}
            Ok(false) => {
                let reason = "`when` is false".to_string();
                let skipped = Event::StepSkipped {
                    step: id.clone(),
                    at: clock::now(),
                    reason: reason.clone(),
                };
                if !append_forward(&ctx.journal, skipped)? {
                    return Ok(Done::Halted);
                }
                ctx.observer.note(Note::StepSkipped { step: id, reason });
                return Ok(Done::Skipped);
            }
            Err(e) => {
                return fail_now(ctx, &id, &scrub(&format!("`when` cannot be evaluated: {e}")))
            }
        }
    }
    if let Some(approval) = &step.approval {
        match super::gate::pass(ctx, i, approval, &vals).await? {
            super::gate::Gated::Open => {}
            super::gate::Gated::Waiting => return Ok(Done::Waiting),
            super::gate::Gated::Failed(e) => return Ok(Done::Failed(e)),
            super::gate::Gated::Halted => return Ok(Done::Halted),
        }
    }
    let prior = {
        let j = lock(&ctx.journal);
        j.state().step(&id).map(|r| (r.attempts, r.state))
    };
    let (mut attempt, prior_state) = prior.unwrap_or((0, StepState::Pending));
    if let Some(Action::Manual { instructions }) = &step.action {
        let text = match vals.render(instructions, false) {
            Ok(t) => scrub(&t),
            Err(e) => return fail_now(ctx, &id, &scrub(&e)),
        };
        return manual(ctx, &id, &text, prior_state).await;
    }
    let retry = step.retry.clone().unwrap_or(crate::model::Retry {
        attempts: 0,
        every: 10_000,
        exponential: false,
    });
    let first = attempt + 1;
    let last = first + retry.attempts;
    loop {
        attempt += 1;
        let began = Instant::now();
        let started = Event::StepStarted { step: id.clone(), attempt, at: clock::now() };
        if !append_forward(&ctx.journal, started)? {
            if attempt == first {
                return Ok(Done::Halted);
            }
            // A retry was due when the run turned to rolling back: no new attempt.
            let e =
                Event::StepInterrupted { step: id.clone(), attempt: attempt - 1, at: clock::now() };
            append(&ctx.journal, e)?;
            ctx.observer.note(Note::StepInterrupted { step: id });
            return Ok(Done::Interrupted);
        }
        ctx.observer.note(Note::StepStarted {
            step: id.clone(),
            attempt,
            expected_ms: step.duration,
        });
        let result = perform(ctx, i, attempt, &vals).await?;
        let took = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(expected) = step.duration {
            if took > expected {
                ctx.observer.note(Note::Overrun {
                    step: id.clone(),
                    expected_ms: expected,
                    elapsed_ms: took,
                });
            }
        }
        let error = match result {
            Attempt::Stopped => {
                append(
                    &ctx.journal,
                    Event::StepInterrupted { step: id.clone(), attempt, at: clock::now() },
                )?;
                ctx.observer.note(Note::StepInterrupted { step: id });
                return Ok(Done::Interrupted);
            }
            Attempt::Ok(output) => match finish(step, &vals, &output) {
                Ok((captures, rpo_ms)) => {
                    {
                        let mut raw =
                            ctx.raw.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        for (k, v) in &captures {
                            raw.insert((i, k.clone()), v.clone());
                        }
                    }
                    let captures = captures.into_iter().map(|(k, v)| (k, scrub(&v))).collect();
                    append(
                        &ctx.journal,
                        Event::StepSucceeded {
                            step: id.clone(),
                            attempt,
                            at: clock::now(),
                            duration_ms: took,
                            captures,
                            rpo_ms,
                        },
                    )?;
                    ctx.observer.note(Note::StepSucceeded {
                        step: id,
                        attempt,
                        took_ms: took,
                        expected_ms: step.duration,
                    });
                    return Ok(Done::Succeeded);
                }
                Err(e) => e,
            },
            Attempt::Failed(e) => e,
        };
        let error = scrub(&error);
        let rolling_back = lock(&ctx.journal).state().rollback.is_some();
        let will_retry =
            attempt < last && !*ctx.stop.borrow() && !*ctx.halt.borrow() && !rolling_back;
        append(
            &ctx.journal,
            Event::StepFailed {
                step: id.clone(),
                attempt,
                at: clock::now(),
                error: error.clone(),
                will_retry,
            },
        )?;
        let wait = will_retry.then(|| backoff(&retry, attempt + 1 - first));
        ctx.observer.note(Note::StepFailed {
            step: id.clone(),
            attempt,
            error: error.clone(),
            retry_in_ms: wait,
        });
        let Some(wait) = wait else { return Ok(Done::Failed(error)) };
        let (mut stop, mut halt) = (ctx.stop.clone(), ctx.halt.clone());
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(wait)) => {}
            // A signal, or the run turned to rolling back: the retry is not made.
            _ = stop.wait_for(|s| *s) => {
                append(&ctx.journal, Event::StepInterrupted { step: id.clone(), attempt, at: clock::now() })?;
                ctx.observer.note(Note::StepInterrupted { step: id });
                return Ok(Done::Interrupted);
            }
            _ = halt.wait_for(|h| *h) => {
                append(&ctx.journal, Event::StepInterrupted { step: id.clone(), attempt, at: clock::now() })?;
                ctx.observer.note(Note::StepInterrupted { step: id });
                return Ok(Done::Interrupted);
            }
        }
    }
}

/// The wait before retry number `n` (1-based): `every`, doubled each time when exponential,
/// capped at ten times `every`.
pub fn backoff(r: &crate::model::Retry, n: u32) -> u64 {
    if !r.exponential {
        return r.every;
    }
    let factor = 1u64 << n.saturating_sub(1).min(20);
    (r.every.saturating_mul(factor)).min(r.every.saturating_mul(10))
}

/// A step that fails before it can start (its `when` or text cannot be evaluated).
fn fail_now(ctx: &Ctx, id: &str, error: &str) -> Result<Done, JournalError> {
    let attempt = lock(&ctx.journal).state().step(id).map_or(0, |r| r.attempts) + 1;
    let started = Event::StepStarted { step: id.to_string(), attempt, at: clock::now() };
    if !append_forward(&ctx.journal, started)? {
        return Ok(Done::Halted);
    }
    append(
        &ctx.journal,
        Event::StepFailed {
            step: id.to_string(),
            attempt,
            at: clock::now(),
            error: error.to_string(),
            will_retry: false,
        },
    )?;
    ctx.observer.note(Note::StepFailed {
        step: id.to_string(),
        attempt,
        error: error.to_string(),
        retry_in_ms: None,
    });
    Ok(Done::Failed(error.to_string()))
}

/// A manual step: the instructions are shown and a person answers done or failed, at the
/// terminal or with `drbook approve` / `drbook deny` from another shell (picked up through the
/// inbox). Without a terminal and without `--wait` the step is left `waiting`.
async fn manual(ctx: &Ctx, id: &str, text: &str, prior: StepState) -> Result<Done, JournalError> {
    use crate::journal::inbox;
    if prior != StepState::Waiting {
        let waiting =
            Event::StepWaiting { step: id.to_string(), at: clock::now(), reason: text.to_string() };
        if !append_forward(&ctx.journal, waiting)? {
            return Ok(Done::Halted);
        }
    }
    ctx.observer.note(Note::StepWaiting { step: id.to_string(), reason: text.to_string() });
    let (mut tick, mut stop, mut halt) =
        (ctx.tick.clone(), ctx.stop.clone(), ctx.winding_down.clone());
    type Asked = tokio::task::JoinHandle<Option<Result<(), String>>>;
    let mut prompt: Option<(Asked, Arc<AtomicBool>)> = None;
    let close = |p: &mut Option<(Asked, Arc<AtomicBool>)>| {
        if let Some((_, cancel)) = p.take() {
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    };
    let mut person_gone = false;
    loop {
        let rec = lock(&ctx.journal).state().step(id).cloned().unwrap_or_default();
        match rec.state {
            StepState::Succeeded => {
                close(&mut prompt);
                ctx.observer.note(Note::StepSucceeded {
                    step: id.to_string(),
                    attempt: 0,
                    took_ms: 0,
                    expected_ms: None,
                });
                return Ok(Done::Succeeded);
            }
            StepState::Failed => {
                close(&mut prompt);
                let why = rec.error.unwrap_or_else(|| "marked failed".into());
                ctx.observer.note(Note::StepFailed {
                    step: id.to_string(),
                    attempt: 0,
                    error: why.clone(),
                    retry_in_ms: None,
                });
                return Ok(Done::Failed(why));
            }
            _ => {}
        }
        // Ctrl-C at the prompt, or a failure elsewhere: the step stays waiting; `resume` asks
        // again.
        if *ctx.stop.borrow() || *ctx.winding_down.borrow() {
            close(&mut prompt);
            return Ok(Done::Waiting);
        }
        let person = ctx.person.clone().filter(|_| !person_gone);
        if person.is_none() && !ctx.job.wait {
            return Ok(Done::Waiting);
        }
        if let (Some(person), None) = (person, &prompt) {
            let (step, instructions) = (id.to_string(), text.to_string());
            let cancel = Arc::new(AtomicBool::new(false));
            let c = cancel.clone();
            let task = tokio::task::spawn_blocking(move || person.manual(&step, &instructions, &c));
            prompt = Some((task, cancel));
        }
        tokio::select! {
            _ = tick.changed() => {}
            () = tokio::time::sleep(Duration::from_millis(1000)) => {}
            _ = stop.wait_for(|s| *s) => {}
            _ = halt.wait_for(|s| *s) => {}
            answer = async { match prompt.as_mut() { Some(p) => (&mut p.0).await, None => std::future::pending().await } } => {
                prompt = None;
                let ask = match answer.ok().flatten() {
                    Some(Ok(())) => inbox::Ask::Approve { role: None, comment: None },
                    Some(Err(r)) => inbox::Ask::Deny { reason: ctx.job.secrets.scrub(&r) },
                    None => {
                        person_gone = true;
                        continue;
                    }
                };
                let req = inbox::Request::new(id, &ctx.job.user, ask);
                let said = inbox::apply(&mut **lock(&ctx.journal), &req, crate::journal::How::Prompt, &clock::now());
                if let Err(reason) = said {
                    ctx.observer.note(Note::ApprovalRefused { step: id.to_string(), by: ctx.job.user.clone(), reason });
                }
            }
        }
    }
}

async fn perform(
    ctx: &Ctx,
    i: usize,
    attempt: u32,
    vals: &Values<'_>,
) -> Result<Attempt, JournalError> {
    let step = &ctx.job.rb.steps[i];
    match &step.action {
        None => Ok(Attempt::Ok(String::new())),
        Some(Action::Wait { millis }) => Ok(wait_action(ctx, *millis).await),
        Some(Action::Run { script }) => {
            let id = step.id.clone();
            let process = move |p: Spawned| Event::StepProcess {
                step: id.clone(),
                attempt,
                pid: p.pid,
                pgid: p.pgid,
                pid_start: p.pid_start,
            };
            shell_action(ctx, i, script, step.timeout, vals, process).await
        }
        Some(
            a @ (Action::SsmCommand { .. } | Action::SsmAutomation { .. } | Action::SsmPut { .. }),
        ) => {
            Ok(super::remote_action::ssm_action(ctx, i, a, attempt, step.timeout, vals, false)
                .await)
        }
        Some(other) => {
            Ok(match super::http::action(ctx, &step.id, other, step.timeout, vals).await {
                Some(done) => done,
                None => {
                    Attempt::Failed(format!("`{}` actions are not supported yet", other.kind()))
                }
            })
        }
    }
}

/// Captures, checks and the RPO measurement after a successful action.
fn finish(
    step: &crate::model::Step,
    vals: &Values<'_>,
    output: &str,
) -> Result<(BTreeMap<String, String>, Option<u64>), String> {
    let mut captures = BTreeMap::new();
    for c in &step.captures {
        let v =
            values::capture(&c.from, output).map_err(|e| format!("capture `{}`: {e}", c.name))?;
        captures.insert(c.name.clone(), v);
    }
    let own = Values { own: Some(&captures), ..*vals };
    for (n, check) in step.checks.iter().enumerate() {
        match own.eval(check).and_then(|v| v.truthy()) {
            Ok(true) => {}
            Ok(false) => return Err(format!("check {} is false", n + 1)),
            Err(e) => return Err(format!("check {}: {e}", n + 1)),
        }
    }
    let rpo_ms = match &step.measure_rpo {
        Some(name) => {
            let v = captures.get(name).map(String::as_str).unwrap_or_default();
            let secs = values::seconds(v).ok_or_else(|| {
                format!("`{name}` = `{v}` is not a number of seconds or a duration")
            })?;
            Some((secs * 1000.0).round().max(0.0) as u64)
        }
        None => None,
    };
    Ok((captures, rpo_ms))
}
