//! What a person decides before a runner goes on (`resume`, `rollback`): steps that were
//! running when a runner died, manual steps answered with `--interrupted`, and rollbacks that
//! were interrupted or wait for a person. Answers come from `--interrupted STEP=...` or the
//! terminal; a leftover process of the dead runner is stopped before anyone decides.
//!
//! Once a run rolls back nothing runs again: only `done` and `fail` are accepted there, and
//! a rollback action is never retried.
//!
//! Input: the prepared run (its locked journal, runbook, flags and who is acting) and the
//! `--interrupted` decisions. Output: each decision journaled before the runner goes on, and
//! [`Settled`]: go on, or paused because a decision is missing. A journal that refuses a
//! decision is a [`CliError`].

use super::outcome::CliError;
use super::prepare::Prepared;
use super::term::{eprint, interactive};
use crate::journal::{Decision, Event, RunHandle, RunState, StepState};
use crate::model::time as clock;
use std::collections::BTreeMap;

/// `--interrupted STEP=retry|done|fail` values, by step.
pub fn parse_decisions(raw: &[String]) -> Result<BTreeMap<String, Decision>, CliError> {
    let mut out = BTreeMap::new();
    for r in raw {
        let (step, d) = r.split_once('=').ok_or_else(|| {
            CliError::invalid(format!("`--interrupted {r}` must be STEP=retry|done|fail"))
        })?;
        let d = match d.trim() {
            "retry" => Decision::Retry,
            "done" | "mark-done" => Decision::Done,
            "fail" => Decision::Fail,
            other => {
                return Err(CliError::invalid(format!(
                    "`{other}` is not a decision; use retry, done or fail"
                )))
            }
        };
        out.insert(step.trim().to_string(), d);
    }
    Ok(out)
}

/// Whether the runner may go on once the decisions are settled.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    /// Everything is decided; these steps were decided `fail` (not run again this session).
    GoOn(Vec<usize>),
    /// A decision is missing: the run was paused, and the person told what to decide (exit 3).
    Paused,
}

/// Once a run rolls back nothing runs again: `--interrupted STEP=retry` is refused (before
/// anything is written) for its steps, and above all for an interrupted rollback.
pub fn refuse_retries(
    state: &RunState,
    decisions: &BTreeMap<String, Decision>,
    rolling_back: bool,
) -> Result<(), CliError> {
    if !rolling_back {
        return Ok(());
    }
    for (step, d) in decisions {
        if *d != Decision::Retry {
            continue;
        }
        let undoing = state.step(step).is_some_and(|r| r.state == StepState::Undoing);
        return Err(CliError::invalid(if undoing {
            format!("`--interrupted {step}=retry`: a rollback action never runs twice; check what it did, then decide `done` or `fail`")
        } else {
            format!("`--interrupted {step}=retry`: the run is rolling back, so no step runs again; decide `done` or `fail`")
        }));
    }
    Ok(())
}

/// Whether the session about to start rolls back: the journal holds `rollback_started`, or a
/// step failed under `on_failure rollback` (the executor turns the run as it starts). Then
/// nothing runs forward again, so nothing may be decided `retry`.
pub fn will_roll_back(state: &RunState, rb: &crate::model::Runbook) -> bool {
    state.rollback.is_some()
        || rb.steps.iter().any(|s| {
            s.on_failure == crate::model::FailurePolicy::Rollback
                && state.step(&s.id).is_some_and(|r| r.state == StepState::Failed)
        })
}

/// Settles what a person must answer for before the runner goes on: steps that were running
/// when a runner died (or a manual step answered with `--interrupted`), and, in a run that is
/// rolling back, rollbacks that were interrupted or wait for a person (`undoing`). Answers
/// come from `decisions`, else from the terminal; anything left unanswered pauses the run.
/// Returns the steps decided `fail`, or that the run paused; a journal that refuses a decision
/// is an error.
pub fn settle_steps(
    p: &mut Prepared<'_>,
    decisions: &BTreeMap<String, Decision>,
) -> Result<Settled, CliError> {
    let (handle, user, run_id) = (&mut p.handle, p.user.as_str(), p.run_id.as_str());
    let state = handle.state.clone();
    let rolling = will_roll_back(&state, &p.book.rb);
    for step in decisions.keys() {
        let open = state.step(step).is_some_and(|r| {
            matches!(
                r.state,
                StepState::Running
                    | StepState::Interrupted
                    | StepState::Waiting
                    | StepState::Undoing
            )
        });
        if !open {
            eprint(&format!(
                "warning: `--interrupted {step}=...` ignored: step `{step}` is neither interrupted, waiting nor being undone"
            ));
        }
    }
    let prompt = interactive(p.flags);
    let mut undecided = Vec::new();
    let mut undecided_undo = Vec::new();
    let mut keep_failed = Vec::new();
    for (i, step) in p.book.rb.steps.iter().enumerate() {
        let Some(rec) = state.step(&step.id) else { continue };
        let mut explicit = decisions.get(&step.id).copied();
        if rec.state == StepState::Undoing {
            if let Some((pid, pgid, start)) = rec.undo.as_ref().and_then(|u| u.process) {
                let label = format!("{} (rollback)", step.id);
                if settle_leftover(&label, pid, pgid, start) {
                    explicit = void(&step.id, explicit);
                }
            }
            let Some(decision) = explicit.or_else(|| prompt.then(|| ask_undo(&step.id)).flatten())
            else {
                undecided_undo.push(step.id.clone());
                continue;
            };
            let (step, by, at) = (step.id.clone(), user.to_string(), clock::now());
            record(handle, Event::UndoDecided { step, decision, by, at, reason: None })?;
            continue;
        }
        match rec.state {
            // A manual step waiting for a person: `--interrupted STEP=done|fail` answers it
            // without a terminal; otherwise the runner asks again.
            StepState::Waiting if explicit.is_none() => continue,
            StepState::Waiting | StepState::Running | StepState::Interrupted => {}
            _ => continue,
        }
        // Stopped between a failed attempt and its retry (the run turned to rolling back):
        // nothing was in flight, so there is nothing to decide.
        if rolling
            && rec.state == StepState::Interrupted
            && rec.error.is_some()
            && rec.process.is_none()
            && explicit.is_none()
        {
            continue;
        }
        if let Some((pid, pgid, start)) = rec.process {
            if settle_leftover(&step.id, pid, pgid, start) {
                explicit = void(&step.id, explicit);
            }
        }
        // An idempotent step runs again; one whose SSM command or automation is known
        // re-attaches to it (nothing is sent twice). Once the run rolls back nothing runs
        // again, idempotent or not: a person says whether it finished (and so is undone).
        let reattach = rec.remote.is_some();
        if !rolling
            && (step.idempotent || reattach)
            && explicit.is_none()
            && rec.state != StepState::Waiting
        {
            continue; // runs again (or re-attaches)
        }
        let decision =
            explicit.or_else(|| prompt.then(|| ask_interrupted(&step.id, !rolling)).flatten());
        let Some(decision) = decision else {
            undecided.push(step.id.clone());
            continue;
        };
        let (id, by, at) = (step.id.clone(), user.to_string(), clock::now());
        record(handle, Event::StepDecided { step: id, decision, by, at, reason: None })?;
        if decision == Decision::Fail {
            keep_failed.push(i);
        }
    }
    if undecided.is_empty() && undecided_undo.is_empty() {
        return Ok(Settled::GoOn(keep_failed));
    }
    let choices = if rolling { "done|fail" } else { "retry|done|fail" };
    let mut reasons = Vec::new();
    let mut hints = Vec::new();
    if !undecided.is_empty() {
        let list = undecided.join(", ");
        reasons.push(format!("interrupted mid-flight and not idempotent: {list}"));
        eprint(&format!(
            "paused: step(s) {list} were running when the runner stopped and may have had effects."
        ));
        hints.extend(undecided.iter().map(|s| format!("--interrupted {s}={choices}")));
    }
    if !undecided_undo.is_empty() {
        let list = undecided_undo.join(", ");
        reasons.push(format!("rollback interrupted or manual: {list}"));
        eprint(&format!(
            "paused: the rollback of step(s) {list} was interrupted or waits for a person, and may have had effects; a rollback action never runs twice."
        ));
        hints.extend(undecided_undo.iter().map(|s| format!("--interrupted {s}=done|fail")));
    }
    let _ = handle.append(&Event::RunPaused { at: clock::now(), reason: reasons.join("; ") });
    eprint(&format!("Check what happened, then: drbook resume {run_id} {}", hints.join(" ")));
    Ok(Settled::Paused)
}

/// Did an interrupted (or manual) rollback finish? `None` at the end of input.
fn ask_undo(step: &str) -> Option<Decision> {
    eprint(&format!(
        "
the rollback of step `{step}` was interrupted or waits for a person; it never runs twice."
    ));
    loop {
        let a = super::prompt::ask("Was it undone? [d]one / [f]ailed: ")?;
        match a.trim().to_ascii_lowercase().as_str() {
            "d" | "done" => return Some(Decision::Done),
            "f" | "fail" | "failed" => return Some(Decision::Fail),
            _ => {}
        }
    }
}

/// How long resume lets a dead runner's step process end by itself before stopping it.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// A step's process left by a runner that died is never run twice at once: resume waits a
/// moment for it to end by itself, then stops its group, before anyone decides. `true` when
/// resume had to stop it (a decision given beforehand did not know how it would end).
fn settle_leftover(step: &str, pid: u32, pgid: u32, start: u64) -> bool {
    use crate::exec::leftover::{self, Stopped};
    if !leftover::alive((pid, pgid, start)) {
        return false;
    }
    eprint(&format!(
        "step `{step}`: processes of its previous attempt (group {pgid}) are still running; stopping them unless they end within {}s",
        PATIENCE.as_secs()
    ));
    match leftover::wait_or_stop((pid, pgid, start), PATIENCE) {
        Stopped::WasGone | Stopped::EndedOnItsOwn => false,
        Stopped::Stopped => true,
        Stopped::Survived => {
            eprint(&format!("warning: step `{step}`: group {pgid} survived SIGKILL"));
            true
        }
    }
}

/// A decision given before this resume found the step's process still running, and had to
/// stop it, was made without knowing how that attempt would end: `retry` would run the step a
/// second time over an attempt that was still acting, `done` would record as finished what was
/// cut short. Both are set aside, and the person asked again. `fail` stands: the attempt was
/// stopped, so it did not finish.
fn void(step: &str, given: Option<Decision>) -> Option<Decision> {
    let word = match given? {
        Decision::Fail => return given,
        Decision::Retry => "retry",
        Decision::Done => "done",
    };
    eprint(&format!(
        "step `{step}`: `--interrupted {step}={word}` was set aside: it was given while the previous attempt was still running, and that attempt was stopped only now by this resume; check what it did, then decide again"
    ));
    None
}

/// Retry, done or failed? (`retry` only while the run is not rolling back.)
fn ask_interrupted(step: &str, retry: bool) -> Option<Decision> {
    eprint(&format!(
        "
step `{step}` was running when the runner stopped; it may have had effects."
    ));
    let question = if retry {
        "[r]etry it / mark it [d]one / mark it [f]ailed: "
    } else {
        "the run is rolling back: mark it [d]one (it is undone) / [f]ailed: "
    };
    loop {
        let a = super::prompt::ask(question)?;
        match a.trim().to_ascii_lowercase().as_str() {
            "r" | "retry" if retry => return Some(Decision::Retry),
            "d" | "done" => return Some(Decision::Done),
            "f" | "fail" => return Some(Decision::Fail),
            _ => {}
        }
    }
}

/// Appends a person's decision; a journal that refuses it ends the command (exit 2).
fn record(handle: &mut RunHandle, e: Event) -> Result<(), CliError> {
    handle.append(&e).map_err(CliError::Journal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{replay, VERSION};
    use crate::model::tests_support::runbook_with_durations;
    use crate::model::FailurePolicy;

    const AT: &str = "2026-11-23T22:15:30.000Z";

    /// `s0` succeeded and `s1` (which needs nothing) failed; `rollback_started` never made it.
    fn failed_before_turning(rb: &crate::model::Runbook) -> RunState {
        let ids: Vec<(String, String)> =
            rb.steps.iter().map(|s| (s.id.clone(), "v2:x".to_string())).collect();
        let at = AT.to_string();
        let ev = |step: &str, e: &str| -> Event {
            let step = step.to_string();
            match e {
                "started" => Event::StepStarted { step, attempt: 1, at: at.clone() },
                "succeeded" => Event::StepSucceeded {
                    step,
                    attempt: 1,
                    at: at.clone(),
                    duration_ms: 1,
                    captures: Default::default(),
                    rpo_ms: None,
                },
                _ => Event::StepFailed {
                    step,
                    attempt: 1,
                    at: at.clone(),
                    error: "boom".into(),
                    will_retry: false,
                },
            }
        };
        replay(&[
            Event::RunStarted {
                v: VERSION,
                run_id: "r1".into(),
                runbook: "t".into(),
                file: "t.drbook".into(),
                path: "/srv/t.drbook".into(),
                content_hash: "ab".repeat(32),
                step_hashes: ids,
                params: Default::default(),
                at: at.clone(),
                clock_start: at.clone(),
                rto_ms: None,
                rpo_ms: None,
                user: "ana".into(),
                pid: 42,
            },
            ev("s0", "started"),
            ev("s0", "succeeded"),
            ev("s1", "started"),
            ev("s1", "failed"),
        ])
        .expect("the journal replays")
    }

    #[test]
    fn a_failure_under_rollback_counts_as_rolling_back_before_rollback_started() {
        let mut rb = runbook_with_durations(&[1000, 1000], &[&[], &[]]);
        let state = failed_before_turning(&rb);
        assert!(state.rollback.is_none());
        assert!(!will_roll_back(&state, &rb), "a failure under `abort` turns nothing");
        rb.steps[1].on_failure = FailurePolicy::Rollback;
        assert!(will_roll_back(&state, &rb), "a failure under `rollback` turns the run");
        let retry = BTreeMap::from([("s0".to_string(), Decision::Retry)]);
        assert!(refuse_retries(&state, &retry, will_roll_back(&state, &rb)).is_err());
    }
}
