//! As a run turns to undoing what it did: failed steps whose effect may be in place anyway.
//! A step that failed (or was stopped between attempts) after its action began may have acted
//! (a promotion that happened, then a timeout): leaving it alone could leave two primaries.
//!
//! So before the undo phase begins, each such step that has a rollback action is settled:
//! with a `verify` probe, what it sees decides (in place → the step counts as succeeded and is
//! undone like one; not in place → nothing to undo, it stays failed; unknown → a person is
//! asked). Without a probe a person is asked "was it done?" (yes → undo it; no → not undone),
//! through the one person loop (`person.rs`): the terminal prompt, `drbook approve` (yes) or
//! `drbook deny` (no) from another shell, `--wait`, or a pause (exit 3) naming the commands.
//! Every answer is journaled with who gave it; a step is asked once.
//!
//! Steps that never began acting are left as they are: denied at their gate, failed before
//! their action could begin (a text that cannot be rendered, a shell that cannot start),
//! never started.

use super::ctx::Ctx;
use super::interrupted::decide;
use super::port::DecideAsk;
use crate::journal::{Event, JournalError, Seen, StepState};
use crate::model::time as clock;

/// Settles every failed step in doubt; `Some(text)` when a person must still answer (the
/// run pauses; the text says how).
pub(super) async fn settle(ctx: &Ctx) -> Result<Option<String>, JournalError> {
    let mut open = Vec::new();
    for (i, step) in ctx.job.rb.steps.iter().enumerate() {
        let Some(rec) = ctx.state(|s| s.step(&step.id).cloned()) else { continue };
        let in_doubt = matches!(rec.state, StepState::Failed | StepState::Interrupted)
            && step.rollback.is_some()
            && rec.acted
            && (!rec.undo_asked || rec.deciding);
        if !in_doubt {
            continue;
        }
        let mut shown = None;
        if let Some(p) = super::probe::probe(ctx, i).await {
            let e = Event::StepProbed {
                step: step.id.clone(),
                at: clock::now(),
                seen: p.seen,
                output: p.output.clone(),
                decides: p.seen == Seen::InPlace,
            };
            ctx.record(e).await?;
            if p.seen != Seen::Unknown {
                continue;
            }
            shown = Some(format!("{} ({})", p.seen.as_str(), p.output));
        }
        let given = ctx.job.decisions.get(&step.id).copied();
        let ask = DecideAsk {
            step: step.id.clone(),
            was_done: true,
            probe: shown,
            ..DecideAsk::default()
        };
        if decide(ctx, ask, given).await?.is_none() {
            open.push(step.id.clone());
        }
    }
    if open.is_empty() {
        return Ok(None);
    }
    let list = open.join(", ");
    let run = &ctx.job.run_id;
    let inv = &ctx.job.invocation;
    let step = if open.len() == 1 { open[0].as_str() } else { "STEP" };
    let hints: Vec<String> = open.iter().map(|s| format!("--interrupted {s}=ANSWER")).collect();
    let reason = format!("rolling back: was it done? {list}");
    ctx.record(Event::RunPaused { at: clock::now(), reason }).await?;
    Ok(Some(format!(
        "the run rolls back, and step(s) {list} failed after their action began: their effect may be in place.\nCheck, then say whether each was done (then it is undone) or not: `{}` (it was done) or `{}` (it was not), or `{}` where ANSWER is `done` or `fail`.",
        inv.command(&format!("approve {run} {step}")),
        inv.command(&format!("deny {run} {step} --reason TEXT")),
        inv.command(&format!("rollback {run} --yes {}", hints.join(" ")))
    )))
}
