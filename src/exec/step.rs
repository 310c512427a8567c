//! One forward step, from `when` to its end: the condition, the approval gate, the person for a
//! manual step, then attempts of its action with retries, captures, checks and the RPO
//! measurement. Every state change goes through [`Ctx::record`].
//!
//! The start of an attempt is made durable by the action's [`Hooks::begin`] call, right before
//! it acts (for `run`: with its spawned, blocked process, in one durable write); an action that
//! fails before it began (its text cannot be rendered) is journaled as started and failed.

use super::action::{Attempt, BoxFuture, Hooks, Spawned};
use super::board::Done;
use super::ctx::Ctx;
use super::note::Note;
use super::person::{self, Waited};
use super::values::{self, Values};
use crate::journal::{Event, JournalError, StepState};
use crate::model::time as clock;
use crate::model::{Action, Retry, Step};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs forward step `i` in this session.
pub(super) async fn run(ctx: &Ctx, i: usize) -> Result<Done, JournalError> {
    // A tabletop drill executes nothing: the team discusses the step instead.
    if ctx.state(|s| s.is_tabletop()) {
        return super::tabletop::discuss(ctx, i).await;
    }
    let step = &ctx.job.rb.steps[i];
    let id = step.id.as_str();
    if let Some(reason) = super::scope::skip_reason(ctx, i) {
        // Outside the drill (`scope.rs`): journaled skipped, like a false `when`.
        let skipped = Event::StepSkipped { step: id.to_string(), at: clock::now(), reason };
        if !ctx.record_forward(&[skipped]).await? {
            return Ok(Done::Halted);
        }
        return Ok(Done::Skipped);
    }
    let cap = |idx: usize, name: &str| ctx.capture_of(idx, name);
    let vals = ctx.values(&cap);
    if let Some(w) = &step.when {
        match vals.eval(w).and_then(|v| v.truthy()) {
            Ok(true) => {}
            Ok(false) => {
                let reason = "`when` is false".to_string();
                let skipped = Event::StepSkipped { step: id.to_string(), at: clock::now(), reason };
                if !ctx.record_forward(&[skipped]).await? {
                    return Ok(Done::Halted);
                }
                return Ok(Done::Skipped);
            }
            Err(e) => return fail_now(ctx, id, &format!("`when` cannot be evaluated: {e}")).await,
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
    let (mut attempt, prior) =
        ctx.state(|s| s.step(id).map(|r| (r.attempts, r.state))).unwrap_or((0, StepState::Pending));
    if let Some(Action::Manual { instructions }) = &step.action {
        return match vals.render(instructions, false) {
            Ok(text) => manual(ctx, id, &text, prior).await,
            Err(e) => fail_now(ctx, id, &e).await,
        };
    }
    let retry =
        step.retry.clone().unwrap_or(Retry { attempts: 0, every: 10_000, exponential: false });
    let first = attempt + 1;
    let last = first + retry.attempts;
    loop {
        attempt += 1;
        let began = Instant::now();
        let hooks = Attempting { ctx, step, attempt, began: Mutex::new(None) };
        let result = match &step.action {
            None => match hooks.start(None).await {
                Ok(true) => Attempt::Ok(String::new()),
                Ok(false) => Attempt::Stopped,
                Err(e) => Attempt::Failed(e),
            },
            Some(action) => ctx.act(i, action, step.timeout, &vals, &hooks, false).await,
        };
        let began_state = hooks.outcome()?;
        let took = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
        if began_state == Some(false) || (began_state.is_none() && result == Attempt::Stopped) {
            // Not begun: the run turned to rolling back first, or a signal came.
            if attempt == first {
                return Ok(Done::Halted);
            }
            // A retry was due when the run turned to rolling back: no new attempt.
            return interrupted(ctx, id, attempt - 1).await;
        }
        if began_state.is_none() {
            // Failed before it could begin (a text that cannot be rendered): started and failed.
            let started = Event::StepStarted { step: id.to_string(), attempt, at: clock::now() };
            if !ctx.record_forward(&[started]).await? {
                return Ok(Done::Halted);
            }
        }
        if let Some(expected) = step.duration {
            if took > expected {
                let over =
                    Note::Overrun { step: id.to_string(), expected_ms: expected, elapsed_ms: took };
                ctx.say(over);
            }
        }
        let mut kept = BTreeMap::new();
        let error = match result {
            Attempt::Stopped => return interrupted(ctx, id, attempt).await,
            Attempt::Ok(output) => match finish(step, &vals, &output) {
                Ok((captures, rpo_ms)) => {
                    ctx.keep_raw(i, &captures);
                    // Not waited for: what depends on it waits for its own, later, start.
                    ctx.record_soon(Event::StepSucceeded {
                        step: id.to_string(),
                        attempt,
                        at: clock::now(),
                        duration_ms: took,
                        captures,
                        rpo_ms,
                    })?;
                    return Ok(Done::Succeeded);
                }
                Err((e, captures)) => {
                    kept = captures;
                    e
                }
            },
            Attempt::Failed(e) => e,
            Attempt::Person(_) => "a manual action cannot be retried".to_string(),
        };
        let rolling_back = ctx.state(|s| s.rollback.is_some() && s.finally.is_none());
        let stopped = *ctx.stop.borrow();
        let halted = ctx.phase.borrow().halted();
        let will_retry = attempt < last && !stopped && !halted && !rolling_back;
        let wait = will_retry.then(|| backoff(&retry, attempt + 1 - first));
        let failed = Event::StepFailed {
            step: id.to_string(),
            attempt,
            at: clock::now(),
            error: error.clone(),
            will_retry,
            captures: kept,
            unbegun: began_state.is_none(),
        };
        ctx.record_as(failed, |n| match n {
            Note::StepFailed { step, attempt, error, .. } => {
                Note::StepFailed { step, attempt, error, retry_in_ms: wait }
            }
            other => other,
        })
        .await?;
        let Some(wait) = wait else { return Ok(Done::Failed(error)) };
        let (mut stop, mut phase) = (ctx.stop.clone(), ctx.phase.clone());
        let called_off = tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(wait)) => false,
            // A signal, or the run turned to rolling back: the retry is not made.
            _ = stop.wait_for(|s| *s) => true,
            _ = phase.wait_for(|p| p.halted()) => true,
        };
        if called_off {
            return interrupted(ctx, id, attempt).await;
        }
    }
}

async fn interrupted(ctx: &Ctx, id: &str, attempt: u32) -> Result<Done, JournalError> {
    ctx.record(Event::StepInterrupted { step: id.to_string(), attempt, at: clock::now() }).await?;
    Ok(Done::Interrupted)
}

/// The journal side of one attempt: its start (and its process), its remote operation.
struct Attempting<'a> {
    ctx: &'a Ctx,
    step: &'a Step,
    attempt: u32,
    /// `Some(true)` once the start is durable, `Some(false)` when it was refused.
    began: Mutex<Option<Result<bool, JournalError>>>,
}

impl Attempting<'_> {
    /// Journals the attempt's start (and its process) unless the run turned to rolling back.
    async fn start(&self, process: Option<Spawned>) -> Result<bool, String> {
        let (step, attempt) = (self.step.id.clone(), self.attempt);
        let mut events = vec![Event::StepStarted { step: step.clone(), attempt, at: clock::now() }];
        if let Some(p) = process {
            events.push(Event::StepProcess {
                step,
                attempt,
                pid: p.pid,
                pgid: p.pgid,
                pid_start: p.pid_start,
            });
        }
        let r = self.ctx.record_forward(&events).await;
        let said = r.as_ref().map(|b| *b).map_err(ToString::to_string);
        *self.began.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
        said
    }

    /// `None`: the action never called `begin`; `Some(b)`: whether it began; `Err`: the
    /// journal failed when it tried.
    fn outcome(&self) -> Result<Option<bool>, JournalError> {
        let mut g = self.began.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        g.take().transpose()
    }
}

impl Hooks for Attempting<'_> {
    fn begin(&self, process: Option<Spawned>) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(self.start(process))
    }

    fn remote_started(&self, kind: &str, id: &str) -> Result<(), String> {
        let e = Event::StepRemote {
            step: self.step.id.clone(),
            attempt: self.attempt,
            kind: kind.to_string(),
            id: id.to_string(),
        };
        self.ctx.record_blocking(e).map_err(|e| format!("cannot journal the id: {e}"))
    }

    fn previous_remote(&self, kind: &str) -> Option<String> {
        self.ctx.state(|s| {
            let rec = s.step(&self.step.id)?;
            rec.remote.as_ref().filter(|(k, _)| k == kind).map(|(_, id)| id.clone())
        })
    }
}

/// A step that fails before it can start (its `when` or text cannot be evaluated).
async fn fail_now(ctx: &Ctx, id: &str, error: &str) -> Result<Done, JournalError> {
    let error = error.to_string();
    let attempt = ctx.state(|s| s.step(id).map_or(0, |r| r.attempts)) + 1;
    let started = Event::StepStarted { step: id.to_string(), attempt, at: clock::now() };
    if !ctx.record_forward(&[started]).await? {
        return Ok(Done::Halted);
    }
    ctx.record(Event::StepFailed {
        step: id.to_string(),
        attempt,
        at: clock::now(),
        error: error.clone(),
        will_retry: false,
        captures: BTreeMap::new(),
        unbegun: true,
    })
    .await?;
    Ok(Done::Failed(error))
}

/// A manual step: its instructions go to a person, who answers done or failed at the terminal
/// or with `drbook approve` / `drbook deny` from another shell. Without a terminal and without
/// `--wait` the step is left `waiting`.
async fn manual(ctx: &Ctx, id: &str, text: &str, prior: StepState) -> Result<Done, JournalError> {
    let text = text.to_string();
    if prior != StepState::Waiting {
        let e = Event::StepWaiting { step: id.to_string(), at: clock::now(), reason: text.clone() };
        if !ctx.record_forward(&[e]).await? {
            return Ok(Done::Halted);
        }
    } else {
        ctx.say(Note::StepWaiting { step: id.to_string(), reason: text.clone() });
    }
    let mut q = person::Manual {
        label: id.to_string(),
        step: id.to_string(),
        instructions: text,
        undo: false,
    };
    Ok(match person::ask(ctx, &mut q).await? {
        Waited::Done(Ok(())) => Done::Succeeded,
        Waited::Done(Err(why)) => Done::Failed(why),
        Waited::Waiting => Done::Waiting,
    })
}

/// Captures, checks and the RPO measurement after a successful action. A failure says why,
/// with what was captured so far (to be journaled and reported).
pub(super) fn finish(
    step: &Step,
    vals: &Values<'_>,
    output: &str,
) -> Result<(Captured, Option<u64>), (String, Captured)> {
    let mut captures = BTreeMap::new();
    for c in &step.captures {
        match values::capture(&c.from, output) {
            Ok(v) => captures.insert(c.name.clone(), v),
            Err(e) => return Err((format!("capture `{}`: {e}", c.name), captures)),
        };
    }
    let own = Values { own: Some(&captures), ..*vals };
    for check in &step.checks {
        let why = match own.eval(check).and_then(|v| v.truthy()) {
            Ok(true) => continue,
            Ok(false) => own.check_failed(check),
            Err(e) => format!("check failed: {}: {e}", own.source(check)),
        };
        return Err((why, captures));
    }
    let rpo_ms = match &step.measure_rpo {
        Some(name) => {
            let v = captures.get(name).map(String::as_str).unwrap_or_default();
            match values::seconds(v) {
                Some(secs) => Some((secs * 1000.0).round().max(0.0) as u64),
                None => {
                    let why = format!("`{name}` = `{v}` is not a number of seconds or a duration");
                    return Err((why, captures));
                }
            }
        }
        None => None,
    };
    Ok((captures, rpo_ms))
}

/// Capture values by name.
type Captured = BTreeMap<String, String>;

/// The wait before retry number `n` (1-based): `every`, doubled each time when exponential,
/// capped at ten times `every`.
pub fn backoff(r: &crate::model::Retry, n: u32) -> u64 {
    if !r.exponential {
        return r.every;
    }
    let factor = 1u64 << n.saturating_sub(1).min(20);
    (r.every.saturating_mul(factor)).min(r.every.saturating_mul(10))
}
