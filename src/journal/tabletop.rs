//! A tabletop drill in the journal (issue 12): nothing executes, and the team answers for
//! every step. Pure: the rules replay applies to a tabletop drill's records, the [`Finding`]
//! each answer keeps, and how a person's answer (the prompt, `drbook approve|deny`) becomes a
//! `step_discussed` record.
//!
//! - A tabletop step is shown with `step_waiting` and answered with `step_discussed`: "ready"
//!   (`drbook approve`, `--comment` kept), or an issue found (`drbook deny --reason TEXT`),
//!   either with `--update TEXT` when the runbook needs an update. Either way the step is
//!   `succeeded` (discussed: the walkthrough goes on after an issue) and a finding is kept.
//! - Nothing that executes may appear in a tabletop drill's journal: no step start, process,
//!   remote operation, approval gate, decision or rollback; `step_discussed` appears in no
//!   other run. A journal that breaks either rule is damaged, not trusted.

use super::inbox::{Ask, Request};
use super::{Event, Finding, How, Sink, StepState};
use crate::model::time as clock;

/// Whether `e` may happen to a step of a run that is (`tabletop`) or is not a tabletop drill.
pub(super) fn allows(tabletop: bool, e: &Event) -> Result<(), String> {
    let executes = matches!(
        e,
        Event::StepStarted { .. }
            | Event::StepProcess { .. }
            | Event::StepRemote { .. }
            | Event::StepSucceeded { .. }
            | Event::StepFailed { .. }
            | Event::StepInterrupted { .. }
            | Event::StepDecided { .. }
            | Event::StepProbed { .. }
            | Event::DecisionAsked { .. }
            | Event::ApprovalRequested { .. }
            | Event::Approved { .. }
            | Event::ApprovalRefused { .. }
            | Event::ApprovalDenied { .. }
            | Event::ApprovalTimedOut { .. }
            | Event::GateReopened { .. }
            | Event::UndoStarted { .. }
            | Event::UndoProcess { .. }
            | Event::UndoSucceeded { .. }
            | Event::UndoFailed { .. }
            | Event::UndoWaiting { .. }
            | Event::UndoSkipped { .. }
            | Event::UndoDecided { .. }
    );
    if tabletop && executes {
        return Err(format!("`{}` in a tabletop drill, which executes nothing", e.name()));
    }
    if !tabletop && matches!(e, Event::StepDiscussed { .. }) {
        return Err("`step_discussed` in a run that is not a tabletop drill".into());
    }
    Ok(())
}

/// The finding a (validated) `step_discussed` record keeps.
pub(super) fn finding(e: &Event) -> Option<Finding> {
    let Event::StepDiscussed { step, at, by, issue, update, duration_ms, .. } = e else {
        return None;
    };
    Some(Finding {
        step: step.clone(),
        by: by.clone(),
        at: at.clone(),
        issue: issue.clone(),
        update: update.clone(),
        duration_ms: *duration_ms,
    })
}

/// Judges a person's answer for a step of a tabletop drill and, if it stands, records it
/// through `sink` as `step_discussed`: `approve` is "ready" (with its comment), `deny` an issue
/// found (its reason); `req.update` a runbook update needed. `Ok` says what was recorded.
pub(super) fn answer(
    sink: &mut dyn Sink,
    req: &Request,
    how: How,
    at: &str,
) -> Result<String, String> {
    let st = sink.state();
    let step = &req.step;
    let Some(rec) = st.step(step) else {
        return Err(format!("run `{}` has no step `{step}`", st.run_id));
    };
    if how == How::Cli && rec.discussion.as_deref() == Some(req.id.as_str()) {
        return Ok(format!("already recorded: `{step}` was discussed"));
    }
    match rec.state {
        StepState::Waiting if rec.manual_waiting => {}
        StepState::Succeeded => return Err(format!("step `{step}` was already discussed")),
        StepState::Pending => {
            return Err(format!(
                "step `{step}` is not up for discussion yet: it is shown once the steps it needs have been discussed"
            ))
        }
        other => return Err(format!("step `{step}` is not up for discussion (it is {other})")),
    }
    let (issue, comment) = match &req.ask {
        Ask::Approve { comment, .. } => (None, comment.clone()),
        Ask::Deny { reason } if reason.trim().is_empty() => {
            return Err("an issue found needs its text (--reason TEXT)".into())
        }
        Ask::Deny { reason } => (Some(reason.clone()), None),
        Ask::Retry => return Err(format!("step `{step}` is discussed, not retried")),
    };
    let update = match &req.update {
        Some(u) if u.trim().is_empty() => {
            return Err("a runbook update needed needs its text (--update TEXT)".into())
        }
        other => other.clone(),
    };
    let shown = rec.waiting_since.as_deref().and_then(clock::parse);
    let took = match (shown, clock::parse(at)) {
        (Some(from), Some(to)) => u64::try_from(to - from).unwrap_or(0),
        _ => 0,
    };
    let mut said = match &issue {
        None => format!("{} discussed `{step}`: ready", req.by),
        Some(i) => format!("{} discussed `{step}`: issue found: {i}", req.by),
    };
    if let Some(u) = &update {
        said.push_str(&format!("; runbook update needed: {u}"));
    }
    let e = Event::StepDiscussed {
        step: step.clone(),
        at: at.to_string(),
        by: req.by.clone(),
        how,
        issue,
        update,
        comment,
        duration_ms: took,
        request: (how == How::Cli).then(|| req.id.clone()),
    };
    sink.append(&e).map_err(|e| format!("could not record it: {e}"))?;
    Ok(said)
}
