//! The step transitions replay checks (see `replay.rs`): [`StepState::next`], the transition
//! function that says which event may follow which state; which events each phase of a run
//! allows (forward steps stop once it rolls back); and what a valid step event records on the
//! step beyond its state (`update`). Pure: no I/O.

use super::gate::{ApprovalRecord, Gate};
use super::replay::{Denial, ProbeRecord, StepRecord, StepState, UndoRecord};
use super::{Decision, Event};

/// Records what a (validated) step event says, beyond the state itself.
pub(super) fn update(rec: &mut StepRecord, e: &Event) {
    match e {
        Event::DecisionAsked { .. } => {
            rec.deciding = true;
            if matches!(rec.state, StepState::Failed | StepState::Interrupted) {
                rec.undo_asked = true;
            }
        }
        Event::StepProbed { at, seen, output, decides, .. } => {
            rec.probe = Some(ProbeRecord {
                at: at.clone(),
                seen: *seen,
                output: output.clone(),
                decided: *decides,
            });
            if *decides {
                rec.deciding = false;
                rec.manual_waiting = false;
                rec.waiting_reason = None;
                rec.retrying = false;
                rec.process = None;
                rec.remote = None;
                rec.error = None;
                rec.finished_at = Some(at.clone());
            }
        }
        Event::StepStarted { attempt, at, .. } => {
            rec.deciding = false;
            rec.undo_asked = false;
            rec.manual_waiting = false;
            rec.attempts = *attempt;
            rec.started_at = Some(at.clone());
            rec.finished_at = None;
            rec.duration_ms = None;
            rec.error = None;
            rec.captures.clear();
            rec.process = None;
            rec.retrying = false;
            rec.waiting_reason = None;
        }
        Event::StepProcess { pid, pgid, pid_start, .. } => {
            rec.acted = true;
            rec.process = Some((*pid, *pgid, *pid_start))
        }
        Event::StepRemote { kind, id, .. } => {
            rec.acted = true;
            rec.remote = Some((kind.clone(), id.clone()))
        }
        Event::StepSucceeded { at, duration_ms, captures, rpo_ms, .. } => {
            rec.acted = true;
            rec.finished_at = Some(at.clone());
            rec.duration_ms = Some(*duration_ms);
            rec.captures = captures.clone();
            rec.rpo_ms = *rpo_ms;
            rec.process = None;
            rec.remote = None;
        }
        Event::StepFailed { at, error, will_retry, captures, unbegun, .. } => {
            rec.acted |= !unbegun;
            rec.error = Some(error.clone());
            rec.captures.clone_from(captures);
            rec.retrying = *will_retry;
            rec.process = None;
            rec.remote = None;
            if !will_retry {
                rec.finished_at = Some(at.clone());
            }
        }
        Event::StepSkipped { at, reason, .. } => {
            rec.finished_at = Some(at.clone());
            rec.skipped_reason = Some(reason.clone());
        }
        Event::StepWaiting { reason, at, .. } => {
            rec.waiting_reason = Some(reason.clone());
            rec.manual_waiting = true;
            rec.waiting_since = Some(at.clone());
        }
        Event::StepDiscussed { at, request, .. } => {
            rec.manual_waiting = false;
            rec.waiting_reason = None;
            rec.finished_at = Some(at.clone());
            rec.discussion = request.clone();
        }
        Event::StepInterrupted { .. } => {
            rec.retrying = false;
            rec.remote = None;
        }
        Event::StepDecided { decision, by, at, reason, forced, .. } => {
            rec.deciding = false;
            rec.forced = *forced;
            rec.decision = Some(*decision);
            rec.manual_waiting = false;
            rec.remote = None;
            rec.waiting_reason = None;
            rec.retrying = false;
            rec.process = None;
            match decision {
                Decision::Retry => {}
                Decision::Done => rec.finished_at = Some(at.clone()),
                Decision::Fail => {
                    rec.finished_at = Some(at.clone());
                    rec.error = Some(match reason {
                        Some(r) => format!("marked failed by {by}: {r}"),
                        None => format!("marked failed by {by}"),
                    });
                }
            }
        }
        Event::ApprovalRequested {
            at,
            roles,
            members,
            timeout_ms,
            excluded,
            approvals,
            signers,
            ..
        } => {
            rec.gate = Some(Gate {
                roles: roles.clone(),
                members: members.clone(),
                timeout_ms: *timeout_ms,
                requested_at: at.clone(),
                excluded: excluded.clone(),
                approvals: *approvals,
                signers: signers.clone(),
            });
            rec.approvals.clear();
            // Only `gate_reopened` leads here after a denial now; journals of older builds,
            // which asked again on resume, still replay.
            rec.denial = None;
            rec.manual_waiting = false;
            rec.waiting_reason = Some(format!("approval by {}", roles.join(", ")));
            rec.error = None;
            rec.finished_at = None;
        }
        Event::Approved { role, by, at, how, comment, request, signed, .. } => {
            rec.approvals.push(ApprovalRecord {
                role: role.clone(),
                by: by.clone(),
                at: at.clone(),
                how: *how,
                comment: comment.clone(),
                request: request.clone(),
                signed: signed.clone(),
                os: rec
                    .gate
                    .as_ref()
                    .is_some_and(|g| g.approvals == crate::model::ApprovalMode::Os),
            });
        }
        Event::ApprovalDenied { by, at, reason, .. } => {
            rec.denial = Some(Denial { by: by.clone(), at: at.clone(), reason: reason.clone() });
            rec.error = Some(format!("approval denied by {by}: {reason}"));
            rec.finished_at = Some(at.clone());
            rec.waiting_reason = None;
        }
        Event::GateReopened { .. } => {
            rec.denial = None;
            rec.error = None;
            rec.finished_at = None;
        }
        Event::ApprovalTimedOut { at, .. } => {
            rec.error = Some("approval timed out".into());
            rec.finished_at = Some(at.clone());
            rec.waiting_reason = None;
        }
        Event::UndoStarted { at, .. } => {
            rec.undo_again = false;
            rec.undo = Some(UndoRecord { started_at: Some(at.clone()), ..UndoRecord::default() })
        }
        Event::UndoProcess { pid, pgid, pid_start, .. } => {
            if let Some(u) = rec.undo.as_mut() {
                u.process = Some((*pid, *pgid, *pid_start));
            }
        }
        Event::UndoWaiting { .. } => {
            if let Some(u) = rec.undo.as_mut() {
                u.waiting = true;
            }
        }
        Event::UndoSucceeded { at, duration_ms, .. } => {
            let u = rec.undo.get_or_insert_with(UndoRecord::default);
            u.finished_at = Some(at.clone());
            u.duration_ms = Some(*duration_ms);
            u.process = None;
        }
        Event::UndoFailed { at, error, will_retry, .. } => {
            rec.undo_again = *will_retry;
            let u = rec.undo.get_or_insert_with(UndoRecord::default);
            u.finished_at = Some(at.clone());
            u.error = Some(error.clone());
            u.process = None;
        }
        Event::UndoSkipped { at, reason, .. } => {
            rec.undo = Some(UndoRecord {
                finished_at: Some(at.clone()),
                reason: Some(reason.clone()),
                ..UndoRecord::default()
            })
        }
        Event::UndoDecided { decision, by, at, reason, .. } => {
            rec.deciding = false;
            let u = rec.undo.get_or_insert_with(UndoRecord::default);
            u.finished_at = Some(at.clone());
            u.waiting = false;
            u.process = None;
            if *decision == Decision::Fail {
                u.error = Some(match reason {
                    Some(r) => format!("marked failed by {by}: {r}"),
                    None => format!("marked failed by {by}"),
                });
            }
        }
        // A refused approval changes nothing: it stays in the journal and the audit trail.
        Event::ApprovalRefused { .. } => {}
        Event::RunStarted { .. }
        | Event::RunResumed { .. }
        | Event::RunPaused { .. }
        | Event::RunInterrupted { .. }
        | Event::RollbackStarted { .. }
        | Event::RollbackRetried { .. }
        | Event::FinallyStarted { .. }
        | Event::RunFinished { .. } => {}
    }
}

/// Forward events stop once a run rolls back (running steps may still end, and a person may
/// still decide an interrupted one done or failed); undo events happen only then.
pub(super) fn phase_allows(rolling_back: bool, e: &Event) -> Result<(), String> {
    let undo = matches!(
        e,
        Event::UndoStarted { .. }
            | Event::UndoProcess { .. }
            | Event::UndoWaiting { .. }
            | Event::UndoSucceeded { .. }
            | Event::UndoFailed { .. }
            | Event::UndoSkipped { .. }
            | Event::UndoDecided { .. }
    );
    let forward_start = matches!(
        e,
        Event::StepStarted { .. }
            | Event::StepSkipped { .. }
            | Event::StepWaiting { .. }
            | Event::ApprovalRequested { .. }
            | Event::Approved { .. }
            | Event::GateReopened { .. }
            | Event::StepDecided { decision: Decision::Retry, .. }
    );
    if undo && !rolling_back {
        return Err(format!("`{}` before `rollback_started`", e.name()));
    }
    if forward_start && rolling_back {
        return Err(format!("`{}` after `rollback_started`: the run is rolling back", e.name()));
    }
    Ok(())
}

impl StepState {
    /// The transition function: the state after `e`, or why `e` cannot happen now. `rec` is
    /// the step's record before `e` (its attempt count and whether a retry is due).
    pub fn next(self, rec: &StepRecord, e: &Event) -> Result<StepState, String> {
        use StepState::*;
        let id = e.step().unwrap_or("?");
        let current = rec.attempts;
        // The attempt an end-of-attempt event must name: the running one, not yet failed.
        let same_attempt = |attempt: u32, allow_retrying: bool| {
            if attempt != current {
                Err(format!("step `{id}` reports attempt {attempt}, but attempt {current} is the one running"))
            } else if rec.retrying && !allow_retrying {
                Err(format!(
                    "step `{id}` attempt {attempt} already failed; `{}` cannot follow",
                    e.name()
                ))
            } else {
                Ok(())
            }
        };
        match (self, e) {
            (Succeeded, Event::UndoStarted { .. }) => Ok(Undoing),
            // Tried again: the rollback block's `retry`, or `drbook rollback` after it failed.
            (UndoFailed, Event::UndoStarted { .. }) if rec.undo_again => Ok(Undoing),
            // A probe looks at the world; only one that finds the effect in place of a step in
            // doubt (in flight when its runner died, or failed as the run rolls back) decides.
            (Running | Interrupted | Waiting | Failed, Event::StepProbed { decides: true, seen, .. }) => {
                if *seen == super::Seen::InPlace {
                    Ok(Succeeded)
                } else {
                    Err(format!("step `{id}`: only a probe that finds its effect in place decides it"))
                }
            }
            (state @ (Pending | Running | Interrupted | Waiting | Failed), Event::StepProbed { .. }) => {
                Ok(state)
            }
            // As the run rolls back: was this failed step done?
            (Failed, Event::DecisionAsked { undo: false, .. }) if rec.acted => Ok(Failed),
            (Succeeded, Event::UndoSkipped { .. }) => Ok(NotUndone),
            (Undoing, Event::UndoProcess { .. } | Event::UndoWaiting { .. }) => Ok(Undoing),
            (Undoing, Event::DecisionAsked { undo: true, .. }) => Ok(Undoing),
            (state @ (Running | Interrupted | Waiting), Event::DecisionAsked { undo: false, .. }) => {
                Ok(state)
            }
            (_, Event::DecisionAsked { undo, .. }) => Err(format!(
                "step `{id}` is {self}: nobody is asked how {} ended",
                if *undo { "its rollback" } else { "it" }
            )),
            (Undoing, Event::UndoSucceeded { .. }) => Ok(Undone),
            (Undoing, Event::UndoFailed { .. }) => Ok(UndoFailed),
            (Undoing, Event::UndoDecided { decision, .. }) => match decision {
                Decision::Done => Ok(Undone),
                Decision::Fail => Ok(UndoFailed),
                Decision::Retry => Err(format!(
                    "step `{id}`: a rollback action never runs twice, so it cannot be retried"
                )),
            },
            (Undoing | Undone | UndoFailed | NotUndone, _) => {
                Err(format!("step `{id}` is {self} (rolled back), so `{}` cannot happen", e.name()))
            }
            (_, Event::UndoStarted { .. } | Event::UndoSkipped { .. }) => {
                Err(format!("step `{id}` is {self}: only a step that succeeded is undone"))
            }
            (Succeeded, Event::StepSucceeded { .. }) => Err(format!("step `{id}` finished twice")),
            (Succeeded | Skipped, _) => Err(format!(
                "step `{id}` already {self}, so `{}` cannot happen: finished steps never run again",
                e.name()
            )),
            (_, Event::StepStarted { attempt, .. }) if *attempt != current + 1 => Err(format!(
                "step `{id}` starts attempt {attempt}, but the next attempt is {}",
                current + 1
            )),
            (_, Event::StepStarted { .. }) => Ok(Running),
            (Running, Event::StepProcess { attempt, .. } | Event::StepRemote { attempt, .. }) => {
                same_attempt(*attempt, false).map(|()| Running)
            }
            (Running, Event::StepSucceeded { attempt, .. }) => {
                same_attempt(*attempt, false).map(|()| Succeeded)
            }
            (Running, Event::StepFailed { attempt, will_retry, .. }) => {
                same_attempt(*attempt, false).map(|()| if *will_retry { Running } else { Failed })
            }
            (Running, Event::StepInterrupted { attempt, .. }) => {
                same_attempt(*attempt, true).map(|()| Interrupted)
            }
            (Pending, Event::StepSkipped { .. }) => Ok(Skipped),
            // A manual step prompts from pending, and again on resume after it failed or its
            // runner stopped.
            (Pending | Failed | Interrupted, Event::StepWaiting { .. }) => Ok(Waiting),
            // A gated manual step: the instructions follow the approvals.
            (Waiting, Event::StepWaiting { .. }) if rec.gate_satisfied() => Ok(Waiting),
            (Pending | Failed, Event::ApprovalRequested { .. }) => Ok(Waiting),
            // Only a denial is re-opened, and only by a person: the gate then asks afresh.
            (Failed, Event::GateReopened { .. }) if rec.denial.is_some() => Ok(Pending),
            (_, Event::GateReopened { .. }) => {
                Err(format!("step `{id}` is {self}, not denied: there is no denied gate to re-open"))
            }
            // A tabletop drill's step, shown to the team, is answered: discussed.
            (Waiting, Event::StepDiscussed { .. }) if rec.manual_waiting => Ok(Succeeded),
            (Waiting, Event::Approved { .. }) => Ok(Waiting),
            (Waiting, Event::ApprovalRefused { .. }) => Ok(Waiting),
            (Waiting, Event::ApprovalDenied { .. } | Event::ApprovalTimedOut { .. })
                if rec.gate.is_some() && !rec.gate_satisfied() =>
            {
                Ok(Failed)
            }
            (Waiting, Event::StepDecided { .. }) if rec.gate.is_some() && !rec.gate_satisfied() => {
                Err(format!(
                    "step `{id}` waits for approval by {}: only an approval or a denial ends that",
                    rec.missing_roles().join(", ")
                ))
            }
            // Approved but not started: its action must still run.
            (Waiting, Event::StepDecided { .. }) if rec.gate.is_some() && !rec.manual_waiting => {
                Err(format!(
                    "step `{id}` is approved and waits to start: its action runs on resume, nothing decides it"
                ))
            }
            (Running | Waiting | Interrupted | Failed, Event::StepDecided { decision, .. }) => {
                Ok(match decision {
                    Decision::Retry => Pending,
                    Decision::Done => Succeeded,
                    Decision::Fail => Failed,
                })
            }
            _ => Err(format!("step `{id}` is {self}, so `{}` cannot happen", e.name())),
        }
    }
}
