//! What `resume` and `rollback` settle before a runner goes on: a leftover process of the
//! dead runner is stopped (a step never runs twice at once), `--interrupted STEP=...` values
//! are parsed, checked and handed to the executor, which records them and asks a person about
//! the rest (`exec::interrupted`, through its person loop).
//!
//! Once a run rolls back nothing runs again: only `done` and `fail` are accepted there, and
//! a rollback action is never retried.

use super::outcome::CliError;
use super::prepare::Prepared;
use super::term::eprint;
use crate::journal::{Decision, RunState, StepState};
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

/// Before the runner goes on: stops what a dead runner left running (so no step runs twice at
/// once) and returns the decisions given in advance that still stand, for the executor, which
/// asks about the rest (`exec::interrupted`). A decision given for a step whose attempt had to
/// be stopped here is set aside (see [`void`]).
pub fn settle_steps(
    p: &Prepared<'_>,
    decisions: &BTreeMap<String, Decision>,
) -> BTreeMap<String, Decision> {
    let state = &p.handle.state;
    for step in decisions.keys() {
        let open = state.step(step).is_some_and(|r| {
            matches!(
                r.state,
                StepState::Running
                    | StepState::Interrupted
                    | StepState::Waiting
                    | StepState::Undoing
            ) || (r.state == StepState::Failed && r.acted)
        });
        if !open {
            eprint(&format!(
                "warning: `--interrupted {step}=...` ignored: step `{step}` is neither interrupted, waiting nor being undone"
            ));
        }
    }
    let mut standing = decisions.clone();
    for step in &p.book.rb.steps {
        let Some(rec) = state.step(&step.id) else { continue };
        let (label, process) = if rec.state == StepState::Undoing {
            (format!("{} (rollback)", step.id), rec.undo.as_ref().and_then(|u| u.process))
        } else if matches!(rec.state, StepState::Running | StepState::Interrupted) {
            (step.id.clone(), rec.process)
        } else {
            continue;
        };
        let Some((pid, pgid, start)) = process else { continue };
        if settle_leftover(&label, pid, pgid, start) {
            match void(&step.id, standing.get(&step.id).copied()) {
                Some(d) => standing.insert(step.id.clone(), d),
                None => standing.remove(&step.id),
            };
        }
    }
    standing
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{replay, Event, VERSION};
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
                    captures: BTreeMap::new(),
                    unbegun: false,
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
                drill: None,
                trigger: None,
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
