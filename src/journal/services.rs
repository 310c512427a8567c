//! What a run achieved per service (the header's `objectives { }`), judged from its replayed
//! [`RunState`] and the services' objectives alone; pure, like [`super::results`].
//!
//! - **A service is restored when the last of its restoring steps is done**: every step that
//!   `restores` it succeeded or was skipped (a `when` that was false). Its achieved time is
//!   from the RTO clock's start (the run's start, or `--since`) to when the last of them
//!   finished, and it is compared with the service's own `rto`.
//! - **Otherwise it is not restored**: one of its steps failed, or the run ended before it ran
//!   (a service not restored missed its `rto`, like a run that stopped). While the run goes
//!   on, a service whose steps are not all done is *not restored yet* and has no verdict.
//! - A step a drill left out (`skipped (drill)`) restored nothing: the service is outside the
//!   drill, with no verdict.
//! - A rollback later never moves when a service was restored (see [`super::results`]).

use super::drill::skipped_by_drill;
use super::{RunState, StepState};
use crate::model::time as clock;

/// One service's objective, as the runbook declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Objective {
    pub name: String,
    pub rto_ms: Option<u64>,
    /// The steps that restore it (`restores`), in declaration order (never `finally` steps).
    pub restored_by: Vec<String>,
}

impl Objective {
    /// The objectives of `rb`, in declaration order.
    pub fn of(rb: &crate::model::Runbook) -> Vec<Objective> {
        let forward = &rb.steps[..rb.forward_len()];
        rb.objectives
            .iter()
            .map(|o| Objective {
                name: o.name.clone(),
                rto_ms: o.rto,
                restored_by: forward
                    .iter()
                    .filter(|s| s.restores.contains(&o.name))
                    .map(|s| s.id.clone())
                    .collect(),
            })
            .collect()
    }
}

/// How a service stands in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restored {
    /// The last of its steps finished at `at`, `ms` after the clock's start.
    Yes { ms: u64, at: String },
    /// It will not be restored by this run as it stands: why (``promote` failed`).
    No { why: String },
    /// The run goes on and its steps are not all done.
    NotYet,
    /// A drill left its steps out.
    OutsideDrill,
}

/// One service's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceResult {
    pub name: String,
    pub rto_ms: Option<u64>,
    pub restored_by: Vec<String>,
    pub restored: Restored,
    /// Against its `rto`: `None` without one, while not restored yet, or outside a drill.
    pub met: Option<bool>,
}

/// Milliseconds from `from` to `to` (RFC 3339), 0 when either is unreadable or `to` is earlier.
fn span(from: &str, to: &str) -> u64 {
    clock::parse(from)
        .zip(clock::parse(to))
        .and_then(|(f, t)| u64::try_from(t - f).ok())
        .unwrap_or(0)
}

/// Each service of `objectives` in the run `s`, in the order given.
pub fn services(s: &RunState, objectives: &[Objective]) -> Vec<ServiceResult> {
    objectives
        .iter()
        .map(|o| {
            let restored = restored(s, &o.restored_by);
            let met = match &restored {
                Restored::Yes { ms, .. } => o.rto_ms.map(|rto| *ms <= rto),
                Restored::No { .. } => o.rto_ms.map(|_| false),
                Restored::NotYet | Restored::OutsideDrill => None,
            };
            ServiceResult {
                name: o.name.clone(),
                rto_ms: o.rto_ms,
                restored_by: o.restored_by.clone(),
                restored,
                met,
            }
        })
        .collect()
}

fn restored(s: &RunState, steps: &[String]) -> Restored {
    if steps.is_empty() {
        return Restored::No { why: "no step restores it".into() };
    }
    let going = s.status.is_unfinished();
    let (mut last, mut pending, mut outside): (Option<&str>, bool, bool) = (None, false, false);
    for id in steps {
        let Some((_, r)) = s.steps.iter().find(|(sid, _)| sid == id) else {
            return Restored::No { why: format!("`{id}` is not a step of this run") };
        };
        let done = match r.state {
            StepState::Skipped if r.skipped_reason.as_deref().is_some_and(skipped_by_drill) => {
                outside = true;
                continue;
            }
            StepState::Succeeded
            | StepState::Skipped
            | StepState::Undoing
            | StepState::Undone
            | StepState::UndoFailed
            | StepState::NotUndone => r.finished_at.as_deref(),
            StepState::Failed => return Restored::No { why: format!("`{id}` failed") },
            StepState::Pending if !going => {
                return Restored::No { why: format!("`{id}` never ran") }
            }
            StepState::Running | StepState::Waiting | StepState::Interrupted if !going => {
                return Restored::No { why: format!("`{id}` did not finish") }
            }
            _ => None,
        };
        match done {
            Some(at) if last.is_none_or(|l| span(l, at) > 0) => last = Some(at),
            Some(_) => {}
            None => pending = true,
        }
    }
    match (outside, pending, last) {
        (true, _, _) => Restored::OutsideDrill,
        (false, true, _) | (false, false, None) => Restored::NotYet,
        (false, false, Some(at)) => {
            Restored::Yes { ms: span(&s.clock_start, at), at: at.to_string() }
        }
    }
}

#[cfg(test)]
mod tests;
