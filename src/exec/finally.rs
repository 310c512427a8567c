//! The `finally` phase: once the run's outcome is decided (succeeded, failed, rolled back,
//! rollback failed), its finally steps run, in dependency order among themselves, before
//! `run_finished` is written. Not while the run is merely paused or interrupted: a resumed
//! run runs them when it ends.
//!
//! `finally_started` is durable before the first of them starts; it holds the outcome, the
//! elapsed time and the end's message, so a runner that dies meanwhile is resumed straight
//! into this phase with the same `${run.*}` values. Finally steps run with the `continue`
//! policy (a failed one blocks nothing and changes neither the outcome nor the exit code),
//! are never undone, and follow the usual crash rules (idempotent ones run again, others are
//! decided by a person).

use super::board::Board;
use super::ctx::Ctx;
use super::job::Finish;
use super::values::RunEnd;
use crate::graph::Dag;
use crate::journal::{results, Event, FinallyInfo, JournalError, Outcome, RunStatus, StepState};
use crate::model::time as clock;
use crate::model::{fmt_duration, FailurePolicy};

/// Whether the runbook has finally steps.
pub(super) fn any(ctx: &Ctx) -> bool {
    ctx.job.rb.forward_len() < ctx.job.rb.steps.len()
}

/// Journals that the run ended as `outcome` (with `finish`'s message) and its finally steps
/// begin.
pub(super) async fn begin(
    ctx: &Ctx,
    outcome: Outcome,
    finish: &Finish,
) -> Result<(), JournalError> {
    let now = clock::now_ms();
    let elapsed_ms = u64::try_from(now - ctx.job.clock_start_ms).unwrap_or(0);
    let detail = match finish {
        Finish::Failed(t) | Finish::RolledBack(t) | Finish::RollbackFailed(t) => t.clone(),
        _ => String::new(),
    };
    ctx.record(Event::FinallyStarted { at: clock::now(), outcome, elapsed_ms, detail }).await
}

/// The finish a run whose finally steps began had decided on.
pub(super) fn finish_of(info: &FinallyInfo) -> Finish {
    let t = info.detail.clone();
    match info.outcome {
        Outcome::Succeeded => Finish::Succeeded,
        Outcome::Failed => Finish::Failed(t),
        Outcome::RolledBack => Finish::RolledBack(t),
        Outcome::RollbackFailed => Finish::RollbackFailed(t),
    }
}

/// The board of the finally steps (index `j` is step `forward_len() + j`), as the journal
/// stands; `keep_failed` in the runbook's indices. Sets the `${run.*}` values from the
/// journal's `finally_started`.
pub(super) fn board(ctx: &Ctx, parallel: usize, keep_failed: &[usize]) -> Board {
    let rb = &ctx.job.rb;
    let n = rb.forward_len();
    let steps = &rb.steps[n..];
    let deps: Vec<Vec<usize>> =
        steps.iter().map(|s| s.needs.iter().filter_map(|&i| i.checked_sub(n)).collect()).collect();
    let dag = Dag::new(vec![0; steps.len()], deps)
        .expect("invariant: the checker refused cycles among finally steps");
    let ids = steps.iter().map(|s| s.id.clone()).collect();
    let states: Vec<Option<StepState>> =
        ctx.state(|s| steps.iter().map(|st| s.step(&st.id).map(|r| r.state)).collect());
    let keep: Vec<usize> = keep_failed.iter().filter_map(|&i| i.checked_sub(n)).collect();
    let policy = vec![FailurePolicy::Continue; steps.len()];
    let ended = ctx.state(|s| {
        let info = s.finally.as_ref().expect("invariant: finally steps run after finally_started");
        let status = match info.outcome {
            Outcome::Succeeded => RunStatus::Succeeded,
            Outcome::Failed => RunStatus::Failed,
            Outcome::RolledBack => RunStatus::RolledBack,
            Outcome::RollbackFailed => RunStatus::RollbackFailed,
        };
        let got = results::results(s, clock::now_ms());
        RunEnd {
            status: status.as_str().to_string(),
            elapsed: fmt_duration(info.elapsed_ms),
            rto_met: got.rto_met.map_or_else(|| "unknown".to_string(), |m| m.to_string()),
            rpo: got.rpo.counted.map_or_else(|| "unknown".to_string(), |m| fmt_duration(m.ms)),
        }
    });
    let _ = ctx.ended.set(ended);
    Board::new(&dag, ids, policy, parallel, &states, &keep)
}
