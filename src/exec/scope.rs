//! Which steps a drill runs (issue 12): the one rule, decided here for the executor, from the
//! run's [`DrillInfo`] as its `run_started` record holds it, so a resumed drill skips exactly
//! the steps its first session skipped.
//!
//! - **full** (and a plain run): every step.
//! - **component**: the steps that change nothing ([`Step::drill_safe`]: `safe`, or an
//!   `http GET`/`HEAD` without a body). A drill-safe step runs even when its `needs` were
//!   skipped by the drill — it is read-only — unless it interpolates a value of a step the
//!   drill does not run (`${steps.X.Y}`): then it is skipped too, `drill: needs a value from
//!   X`.
//! - **partial**: the `--only` targets and all their ancestors; a step among them that reads a
//!   value of a skipped step is skipped the same way.
//! - Finally steps follow the same rule.
//! - **tabletop** runs nothing through this path (it has its own).
//! - A component drill that rolls back runs no rollback action: its steps changed nothing,
//!   and each is journaled not undone (`drill: a component drill changes nothing`).
//!
//! Every step outside the drill is journaled `step_skipped` with reason
//! [`SKIP_REASON`] (or `drill: WHY`) when the scheduler reaches it.

use super::ctx::Ctx;
use crate::graph::drill::{drill_scope, Skip};
use crate::graph::Dag;
use crate::journal::drill::SKIP_REASON;
use crate::journal::DrillInfo;
use crate::model::{DrillKind, Runbook};

/// For each step (declaration order), why the drill does not run it (the journaled
/// `step_skipped` reason); `None`: it runs. The rule is [`drill_scope`]'s.
pub fn drill_skips(rb: &Runbook, dag: &Dag, drill: &DrillInfo) -> Vec<Option<String>> {
    let scope = drill_scope(rb, dag, drill.kind, &drill.targets);
    scope
        .into_iter()
        .map(|s| match s? {
            Skip::Outside => Some(SKIP_REASON.to_string()),
            Skip::NeedsValue(x) => {
                Some(format!("{SKIP_REASON}: needs a value from {}", rb.steps[x].id))
            }
        })
        .collect()
}

/// Why the drill does not run step `i` of `ctx`'s run (`None`: it runs, or this is no drill).
pub(super) fn skip_reason(ctx: &Ctx, i: usize) -> Option<String> {
    let all = ctx.drill_skips.get_or_init(|| match ctx.state(|s| s.drill.clone()) {
        Some(d) => drill_skips(&ctx.job.rb, &ctx.job.dag, &d),
        None => Vec::new(),
    });
    all.get(i).cloned().flatten()
}

/// Why a rolling-back drill runs no rollback action: a component drill ran only steps that
/// change nothing, so there is nothing to undo (a rollback action would change something).
pub(super) fn undo_skip_reason(ctx: &Ctx) -> Option<String> {
    let kind = ctx.state(|s| s.drill.as_ref().map(|d| d.kind))?;
    (kind == DrillKind::Component)
        .then(|| format!("{SKIP_REASON}: a component drill changes nothing"))
}
