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
//! A step with a `verify` probe is probed first (`probe.rs`), and what it saw is journaled
//! (`step_probed`): effect in place → the step counts as succeeded, decided by its probe; not
//! in place → an `idempotent` step runs again, any other is put to a person with the probe's
//! result shown; unknown → put to a person with that shown. A person's `retry` against a probe
//! that found the effect in place, or `done` against one that found it not in place, is
//! refused unless `--force` was given (then journaled as forced).
//!
//! Leftover processes of the dead runner are stopped before this (`leftover.rs`, called by the
//! CLI), and a decision given in advance for a step whose attempt had to be stopped is set aside
//! there.

use super::ctx::Ctx;
use super::person::{self, Prompt, Question, Waited};
use super::port::{DecideAsk, Person};
use super::probe::{self, Probed};
use crate::journal::inbox::{against_probe, Ask, Request};
use crate::journal::{Decision, Event, JournalError, RunState, Seen, StepRecord, StepState};
use crate::model::time as clock;
use crate::model::{FailurePolicy, Step};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What deciding came to.
pub(super) enum Settled {
    /// Everything is decided; these steps were decided `fail` (not run again this session).
    GoOn(Vec<usize>),
    /// Something is undecided: the run paused (journaled); the text says what to decide.
    Paused(String),
}

/// What `resume` will do with a step its journal leaves in flight (its runner died, or it was
/// interrupted): `status` shows it, and [`settle`] acts on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnResume {
    /// Run it again unasked: it is `idempotent`.
    Rerun,
    /// Re-attach to its SSM command or automation, whose id the journal holds.
    Reattach,
    /// Run its `verify` probe first: in place, it succeeded; otherwise it is rerun (when
    /// `idempotent`) or a person decides, with what the probe saw.
    Probe,
    /// A person decides: `retry|done|fail`, or only `done|fail` for a rollback caught
    /// mid-flight and while the run rolls back.
    Ask,
}

/// What resume will do with `step`, whose journal record is `rec`, when the run rolls back
/// (`rolling_back`) or not; `None` when there is nothing to settle (the step is not in
/// flight, or it was stopped between a failed attempt and its retry as the run turned to
/// rolling back). Pure: the one rule for `settle` and `status`.
pub fn on_resume(step: &Step, rec: &StepRecord, rolling_back: bool) -> Option<OnResume> {
    let then = after_probe(step, rec, rolling_back)?;
    let probed = step.verify.is_some() && rec.state != StepState::Undoing;
    Some(if probed { OnResume::Probe } else { then })
}

/// What resume does with the step when it has no probe, or once its probe did not find the
/// effect in place.
pub fn after_probe(step: &Step, rec: &StepRecord, rolling_back: bool) -> Option<OnResume> {
    match rec.state {
        // A rollback action never runs twice.
        StepState::Undoing => return Some(OnResume::Ask),
        StepState::Running | StepState::Interrupted => {}
        _ => return None,
    }
    let halted =
        rec.state == StepState::Interrupted && rec.error.is_some() && rec.process.is_none();
    if rolling_back {
        return (!halted).then_some(OnResume::Ask);
    }
    if step.idempotent {
        Some(OnResume::Rerun)
    } else if rec.remote.is_some() {
        Some(OnResume::Reattach)
    } else {
        Some(OnResume::Ask)
    }
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

/// What each answer to an interrupted step means.
const ANSWERS: &str = "where ANSWER is `retry` (run it again: only if its effect is not in place), `done` (you confirmed that its effect is in place) or `fail` (run nothing again; the step's failure policy applies).";
/// What each answer to an interrupted rollback means.
const UNDO_ANSWERS: &str = "where ANSWER is `done` (you confirmed that the step was undone) or `fail` (it was not, or you cannot tell: the rollback failed).";

/// Decides every step that needs it, in declaration order.
pub(super) async fn settle(ctx: &Ctx) -> Result<Settled, JournalError> {
    let state = ctx.state(RunState::clone);
    let rolling = rolls_back(ctx, &state);
    let mut undecided = Vec::new();
    let mut undecided_undo = Vec::new();
    let mut keep_failed = Vec::new();
    let mut refusals = Vec::new();
    for (i, step) in ctx.job.rb.steps.iter().enumerate() {
        let Some(rec) = state.step(&step.id) else { continue };
        let given = ctx.job.decisions.get(&step.id).copied();
        if rec.state == StepState::Undoing {
            let ask = DecideAsk { step: step.id.clone(), undo: true, ..DecideAsk::default() };
            match decide(ctx, ask, given).await? {
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
        // Stopped between a failed attempt and its retry as the run turned to rolling back:
        // nothing was in flight, so there is nothing to decide (unless a decision was given).
        let then = after_probe(step, rec, rolling);
        if then.is_none() && given.is_none() && rec.state != StepState::Waiting {
            continue;
        }
        // What its probe sees decides first: in place, it succeeded.
        let mut probe_shown = None;
        if rec.state != StepState::Waiting && then.is_some() {
            if let Some(p) = probe_first(ctx, i, given).await? {
                if p.seen == Seen::InPlace && given.is_none() {
                    continue;
                }
                probe_shown = Some(format!("{} ({})", p.seen.as_str(), p.output));
            }
        }
        let given = match given {
            Some(d) => match refused(ctx, &step.id, d) {
                Some(why) => {
                    refusals.push(why);
                    undecided.push(step.id.clone());
                    continue;
                }
                None => Some(d),
            },
            None => None,
        };
        // Unless a decision was given: an idempotent step runs again, and one whose remote
        // operation is known re-attaches.
        if given.is_none() && rec.state != StepState::Waiting && then != Some(OnResume::Ask) {
            continue;
        }
        let ask = DecideAsk {
            step: step.id.clone(),
            retry: !rolling,
            probe: probe_shown,
            ..DecideAsk::default()
        };
        match decide(ctx, ask, given).await? {
            Some(Decision::Fail) => keep_failed.push(i),
            Some(_) => {}
            None => undecided.push(step.id.clone()),
        }
    }
    if undecided.is_empty() && undecided_undo.is_empty() {
        return Ok(Settled::GoOn(keep_failed));
    }
    let (mut reasons, mut said) = (Vec::new(), refusals);
    if !undecided.is_empty() {
        let list = undecided.join(", ");
        reasons.push(format!("interrupted mid-flight and not idempotent: {list}"));
        said.push(format!(
            "step(s) {list} were running when the runner stopped and may have had effects."
        ));
        for id in &undecided {
            if let Some(p) = ctx.state(|s| s.step(id).and_then(|r| r.probe.clone())) {
                let out =
                    if p.output.is_empty() { String::new() } else { format!(" ({})", p.output) };
                said.push(format!(
                    "the probe of `{id}` says its effect is {}{out}.",
                    p.seen.as_str()
                ));
            }
        }
    }
    if !undecided_undo.is_empty() {
        let list = undecided_undo.join(", ");
        reasons.push(format!("rollback interrupted or manual: {list}"));
        said.push(format!(
            "the rollback of step(s) {list} was interrupted or waits for a person, and may have had effects; a rollback action never runs twice."
        ));
    }
    ctx.record(Event::RunPaused { at: clock::now(), reason: reasons.join("; ") }).await?;
    let answers = if rolling || undecided.is_empty() { UNDO_ANSWERS } else { ANSWERS };
    let all: Vec<&String> = undecided.iter().chain(&undecided_undo).collect();
    let with = |answer: &str| {
        let flags: Vec<String> =
            all.iter().map(|s| format!("--interrupted {s}={answer}")).collect();
        ctx.job.invocation.command(&format!("resume {} {}", ctx.job.run_id, flags.join(" ")))
    };
    said.push(format!("Check what happened, then answer: `{}` {answers}", with("ANSWER")));
    said.push(format!("Not sure? `fail` is the safe answer: `{}`", with("fail")));
    let inv = &ctx.job.invocation;
    let id = &ctx.job.run_id;
    let step = if all.len() == 1 { all[0].as_str() } else { "STEP" };
    said.push(format!(
        "Or answer from another shell: `{}` (done) or `{}` (failed).",
        inv.command(&format!("approve {id} {step}")),
        inv.command(&format!("deny {id} {step} --reason TEXT"))
    ));
    Ok(Settled::Paused(said.join("\n")))
}

/// Runs step `i`'s probe, if it has one, and journals what it saw; deciding the step (it
/// succeeded) when the effect is in place and nothing was decided in advance.
async fn probe_first(
    ctx: &Ctx,
    i: usize,
    given: Option<Decision>,
) -> Result<Option<Probed>, JournalError> {
    let Some(p) = probe::probe(ctx, i).await else { return Ok(None) };
    let decides = p.seen == Seen::InPlace && given.is_none();
    let e = Event::StepProbed {
        step: ctx.job.rb.steps[i].id.clone(),
        at: clock::now(),
        seen: p.seen,
        output: p.output.clone(),
        decides,
    };
    ctx.record(e).await?;
    Ok(Some(p))
}

/// Why a decision given in advance is refused (it goes against the probe, without `--force`).
fn refused(ctx: &Ctx, step: &str, d: Decision) -> Option<String> {
    if ctx.job.force {
        return None;
    }
    let why = ctx.state(|s| s.step(step).and_then(|r| against_probe(step, r, d)))?;
    let word = match d {
        Decision::Retry => "retry",
        Decision::Done => "done",
        Decision::Fail => "fail",
    };
    let again = format!("resume {} --interrupted {step}={word} --force", ctx.job.run_id);
    Some(format!(
        "`--interrupted {step}={word}` {why}. To decide so anyway: `{}`; or resume without it and let the probe decide.",
        ctx.job.invocation.command(&again)
    ))
}

/// Decides one step (or its rollback): as given in advance, else by a person. `None`: nobody
/// answered now.
pub(super) async fn decide(
    ctx: &Ctx,
    ask: DecideAsk,
    given: Option<Decision>,
) -> Result<Option<Decision>, JournalError> {
    let (by, at) = (ctx.job.user.clone(), clock::now());
    let (step, undo) = (ask.step.as_str(), ask.undo);
    if let Some(decision) = given {
        let forced = !undo
            && ctx.state(|s| s.step(step).and_then(|r| against_probe(step, r, decision))).is_some();
        let (step, reason) = (step.to_string(), ctx.job.decision_reason.clone());
        let e = if undo {
            Event::UndoDecided { step, decision, by, at, reason }
        } else {
            Event::StepDecided { step, decision, by, at, reason, forced }
        };
        ctx.record(e).await?;
        return Ok(Some(decision));
    }
    if !ctx.state(|s| s.step(step).is_some_and(|r| r.deciding)) {
        ctx.record(Event::DecisionAsked { step: step.to_string(), at, undo }).await?;
    }
    let mut q = Decide { ask };
    Ok(match person::ask(ctx, &mut q).await? {
        Waited::Done(d) => Some(d),
        Waited::Waiting => None,
    })
}

/// The question: settled once the journal holds the step's (or rollback's) decision.
struct Decide {
    ask: DecideAsk,
}

impl Question for Decide {
    type Done = Decision;

    fn settled(&mut self, ctx: &Ctx) -> Result<Option<Decision>, JournalError> {
        Ok(ctx.state(|s| {
            let rec = s.step(&self.ask.step)?;
            if rec.deciding {
                return None;
            }
            if self.ask.undo {
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
        let (ask, user, force) = (self.ask.clone(), ctx.job.user.clone(), ctx.job.force);
        Box::new(move || {
            let answer = match person.decide_about(&ask, &cancel)? {
                Decision::Retry => Ask::Retry,
                Decision::Done => Ask::Approve { role: None, comment: None },
                Decision::Fail => Ask::Deny { reason: "marked failed at the prompt".into() },
            };
            Some(Request::new(&ask.step, &user, answer).forced(force))
        })
    }

    fn refused(&mut self, reason: String) {
        self.ask.refusal = Some(reason);
    }

    fn ends_when_winding_down(&self) -> bool {
        false
    }
}
