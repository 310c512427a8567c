//! Before a resumed run goes on: how did the steps end that were in flight when their runner
//! died? A step whose action may have acted is not run again on a guess. An `idempotent` step
//! (or one whose SSM command or automation is known, which re-attaches) simply runs again;
//! every other one, and every rollback caught mid-flight (a rollback action never runs twice),
//! is decided by a person: in advance (`--interrupted STEP=retry|done|fail`), at the terminal,
//! or from another shell (`drbook approve` = done, `drbook deny --reason` = failed), through the
//! one person loop (`person.rs`), with `--wait` holding for the answer. Until everything is
//! decided nothing runs: the run pauses (exit 3), naming what to decide.
//!
//! Once the run rolls back (it did, or a failure under `rollback` turns it as it starts)
//! nothing runs forward again, so only `done` and `fail` are taken.
//!
//! Leftover processes of the dead runner are stopped before this (`leftover.rs`, called by the
//! CLI), and a decision given in advance for a step whose attempt had to be stopped is set aside
//! there.

use super::ctx::Ctx;
use super::person::{self, Prompt, Question, Waited};
use super::port::Person;
use crate::journal::inbox::{Ask, Request};
use crate::journal::{Decision, Event, JournalError, RunState, StepState};
use crate::model::time as clock;
use crate::model::FailurePolicy;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What deciding came to.
pub(super) enum Settled {
    /// Everything is decided; these steps were decided `fail` (not run again this session).
    GoOn(Vec<usize>),
    /// Something is undecided: the run paused (journaled); the text says what to decide.
    Paused(String),
}

/// Whether this session rolls back: the journal holds `rollback_started`, or a step failed
/// under `on_failure rollback` (the scheduler turns the run as it starts).
/// Not once the run's finally steps run: its rollback is over then.
pub(super) fn rolls_back(ctx: &Ctx, s: &RunState) -> bool {
    let forward = &ctx.job.rb.steps[..ctx.job.rb.forward_len()];
    s.finally.is_none()
        && (s.rollback.is_some()
            || forward.iter().any(|st| {
                st.on_failure == FailurePolicy::Rollback
                    && s.step(&st.id).is_some_and(|r| r.state == StepState::Failed)
            }))
}

/// Decides every step that needs it, in declaration order.
pub(super) async fn settle(ctx: &Ctx) -> Result<Settled, JournalError> {
    let state = ctx.state(RunState::clone);
    let rolling = rolls_back(ctx, &state);
    let mut undecided = Vec::new();
    let mut undecided_undo = Vec::new();
    let mut keep_failed = Vec::new();
    for (i, step) in ctx.job.rb.steps.iter().enumerate() {
        let Some(rec) = state.step(&step.id) else { continue };
        let given = ctx.job.decisions.get(&step.id).copied();
        if rec.state == StepState::Undoing {
            match decide(ctx, &step.id, true, false, given).await? {
                Some(_) => {}
                None => undecided_undo.push(step.id.clone()),
            }
            continue;
        }
        match rec.state {
            // A manual step waiting for a person: `--interrupted STEP=done|fail` answers it
            // without a terminal; otherwise the runner asks again when it gets there.
            StepState::Waiting if given.is_none() => continue,
            StepState::Waiting | StepState::Running | StepState::Interrupted => {}
            _ => continue,
        }
        // Stopped between a failed attempt and its retry (the run turned to rolling back):
        // nothing was in flight, so there is nothing to decide.
        if rolling
            && rec.state == StepState::Interrupted
            && rec.error.is_some()
            && rec.process.is_none()
            && given.is_none()
        {
            continue;
        }
        // An idempotent step runs again; one whose remote operation is known re-attaches.
        let reattach = rec.remote.is_some();
        if !rolling
            && (step.idempotent || reattach)
            && given.is_none()
            && rec.state != StepState::Waiting
        {
            continue;
        }
        match decide(ctx, &step.id, false, !rolling, given).await? {
            Some(Decision::Fail) => keep_failed.push(i),
            Some(_) => {}
            None => undecided.push(step.id.clone()),
        }
    }
    if undecided.is_empty() && undecided_undo.is_empty() {
        return Ok(Settled::GoOn(keep_failed));
    }
    let choices = if rolling { "done|fail" } else { "retry|done|fail" };
    let (mut reasons, mut said, mut hints) = (Vec::new(), Vec::new(), Vec::new());
    if !undecided.is_empty() {
        let list = undecided.join(", ");
        reasons.push(format!("interrupted mid-flight and not idempotent: {list}"));
        said.push(format!(
            "step(s) {list} were running when the runner stopped and may have had effects."
        ));
        hints.extend(undecided.iter().map(|s| format!("--interrupted {s}={choices}")));
    }
    if !undecided_undo.is_empty() {
        let list = undecided_undo.join(", ");
        reasons.push(format!("rollback interrupted or manual: {list}"));
        said.push(format!(
            "the rollback of step(s) {list} was interrupted or waits for a person, and may have had effects; a rollback action never runs twice."
        ));
        hints.extend(undecided_undo.iter().map(|s| format!("--interrupted {s}=done|fail")));
    }
    ctx.record(Event::RunPaused { at: clock::now(), reason: reasons.join("; ") }).await?;
    said.push(format!(
        "Check what happened, then: drbook resume {} {} (or answer from another shell: drbook approve|deny {} STEP)",
        ctx.job.run_id,
        hints.join(" "),
        ctx.job.run_id
    ));
    Ok(Settled::Paused(said.join("\n")))
}

/// Decides one step (or its rollback): as given in advance, else by a person. `None`: nobody
/// answered now.
async fn decide(
    ctx: &Ctx,
    step: &str,
    undo: bool,
    retry: bool,
    given: Option<Decision>,
) -> Result<Option<Decision>, JournalError> {
    let (by, at) = (ctx.job.user.clone(), clock::now());
    if let Some(decision) = given {
        let step = step.to_string();
        let e = if undo {
            Event::UndoDecided { step, decision, by, at, reason: None }
        } else {
            Event::StepDecided { step, decision, by, at, reason: None }
        };
        ctx.record(e).await?;
        return Ok(Some(decision));
    }
    if !ctx.state(|s| s.step(step).is_some_and(|r| r.deciding)) {
        ctx.record(Event::DecisionAsked { step: step.to_string(), at, undo }).await?;
    }
    let mut q = Decide { step: step.to_string(), undo, retry };
    Ok(match person::ask(ctx, &mut q).await? {
        Waited::Done(d) => Some(d),
        Waited::Waiting => None,
    })
}

/// The question: settled once the journal holds the step's (or rollback's) decision.
struct Decide {
    step: String,
    undo: bool,
    retry: bool,
}

impl Question for Decide {
    type Done = Decision;

    fn settled(&mut self, ctx: &Ctx) -> Result<Option<Decision>, JournalError> {
        Ok(ctx.state(|s| {
            let rec = s.step(&self.step)?;
            if rec.deciding {
                return None;
            }
            if self.undo {
                return match rec.state {
                    StepState::Undone => Some(Decision::Done),
                    StepState::UndoFailed => Some(Decision::Fail),
                    _ => None,
                };
            }
            rec.decision
        }))
    }

    fn prompt(&mut self, ctx: &Ctx, person: Arc<dyn Person>, cancel: Arc<AtomicBool>) -> Prompt {
        let (step, undo, retry, user) =
            (self.step.clone(), self.undo, self.retry, ctx.job.user.clone());
        Box::new(move || {
            let ask = match person.decide(&step, undo, retry, &cancel)? {
                Decision::Retry => Ask::Retry,
                Decision::Done => Ask::Approve { role: None, comment: None },
                Decision::Fail => Ask::Deny { reason: "marked failed at the prompt".into() },
            };
            Some(Request::new(&step, &user, ask))
        })
    }

    fn ends_when_winding_down(&self) -> bool {
        false
    }
}
