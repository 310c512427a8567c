//! Which steps a drill runs (issue 12): the one rule, used by the executor (`exec::scope`, from
//! the run's journaled drill type and targets, so a resumed drill skips exactly the steps its
//! first session skipped) and by `plan` (the steps a component drill runs).
//!
//! - **full** (and a plain run): every step. **tabletop** runs nothing through this rule (it
//!   has its own path) and so is treated like full here.
//! - **component**: the steps that change nothing ([`Step::drill_safe`]: `safe`, or an
//!   `http GET`/`HEAD` without a body). A drill-safe step runs even when its `needs` were
//!   skipped by the drill — it is read-only — unless it interpolates a value of a step the
//!   drill does not run (`${steps.X.Y}`): then it is skipped too.
//! - **partial**: the `--only` targets and all their ancestors; a step among them that reads a
//!   value of a skipped step is skipped the same way.
//! - Finally steps follow the same rule.

use super::Dag;
use crate::model::{DrillKind, Expr, Ref, Runbook, Step, Text};

/// Why a drill does not run a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The step is outside the drill.
    Outside,
    /// It is inside, but reads a value of this step, which the drill does not run.
    NeedsValue(usize),
}

/// For each step (declaration order), why the drill does not run it; `None`: it runs.
pub fn drill_scope(
    rb: &Runbook,
    dag: &Dag,
    kind: DrillKind,
    targets: &[String],
) -> Vec<Option<Skip>> {
    let n = rb.steps.len();
    let mut out: Vec<Option<Skip>> = vec![None; n];
    let inside: Vec<bool> = match kind {
        DrillKind::Full | DrillKind::Tabletop => return out,
        DrillKind::Component => rb.steps.iter().map(Step::drill_safe).collect(),
        DrillKind::Partial => {
            let mut keep = vec![false; n];
            for t in targets {
                let Some(i) = rb.step_index(t) else { continue };
                keep[i] = true;
                for (a, is) in dag.ancestors(i).into_iter().enumerate() {
                    keep[a] |= is;
                }
            }
            keep
        }
    };
    // Forward steps first (a finally step may read any of their values), each in dependency
    // order: what a step reads is decided before it.
    let order = dag.topo_order();
    let forward = order.iter().filter(|&&i| !rb.steps[i].finally);
    let finally = order.iter().filter(|&&i| rb.steps[i].finally);
    for &i in forward.chain(finally) {
        if !inside[i] {
            out[i] = Some(Skip::Outside);
            continue;
        }
        let step = &rb.steps[i];
        let missing = reads(step).into_iter().find(|&x| x < n && out[x].is_some());
        if let Some(x) = missing {
            out[i] = Some(Skip::NeedsValue(x));
        }
    }
    out
}

/// The steps whose captures `step` reads going forward (its `when`, action, env, workdir,
/// checks and verify probe), in the order written.
fn reads(step: &Step) -> Vec<usize> {
    let mut refs: Vec<&Ref> = Vec::new();
    let mut texts: Vec<&Text> = Vec::new();
    let mut exprs: Vec<&Expr> = step.when.iter().collect();
    exprs.extend(&step.checks);
    for a in step.action.iter().chain(&step.verify) {
        texts.extend(a.texts());
    }
    texts.extend(step.env.iter().map(|(_, t)| t));
    texts.extend(&step.workdir);
    for e in exprs {
        refs.extend(e.refs());
    }
    for t in texts {
        refs.extend(t.refs());
    }
    let mut out = Vec::new();
    for r in refs {
        if let Ref::Capture(i, _) = r {
            if !out.contains(i) {
                out.push(*i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::runbook_with_durations;
    use crate::model::{Action, Part};
    use Skip::{NeedsValue, Outside};

    fn dag(rb: &Runbook) -> Dag {
        let needs = rb.steps.iter().map(|s| s.needs.clone()).collect();
        Dag::new(vec![0; rb.steps.len()], needs).expect("acyclic")
    }

    fn drill_skips(
        rb: &Runbook,
        dag: &Dag,
        (kind, targets): (DrillKind, Vec<String>),
    ) -> Vec<Option<Skip>> {
        drill_scope(rb, dag, kind, &targets)
    }

    fn drill(kind: DrillKind, targets: &[&str]) -> (DrillKind, Vec<String>) {
        (kind, targets.iter().map(|s| s.to_string()).collect())
    }

    fn reading(step: usize, name: &str) -> Text {
        Text { parts: vec![Part::Lit("echo ".into()), Part::Ref(Ref::Capture(step, name.into()))] }
    }

    #[test]
    fn a_full_drill_runs_everything() {
        let rb = runbook_with_durations(&[1, 1], &[&[], &[0]]);
        assert_eq!(drill_skips(&rb, &dag(&rb), drill(DrillKind::Full, &[])), vec![None, None]);
    }

    #[test]
    fn a_component_drill_runs_safe_steps_even_after_skipped_needs() {
        // s0 (change) -> s1 (safe) -> s2 (change) -> s3 (safe, reads s2) ; s4 safe reads s1
        let mut rb = runbook_with_durations(&[1; 5], &[&[], &[0], &[1], &[2], &[1]]);
        for i in [1, 3, 4] {
            rb.steps[i].safe = true;
        }
        rb.steps[3].action = Some(Action::Run { script: reading(2, "x") });
        rb.steps[4].action = Some(Action::Run { script: reading(1, "y") });
        let got = drill_skips(&rb, &dag(&rb), drill(DrillKind::Component, &[]));
        assert_eq!(got, vec![Some(Outside), None, Some(Outside), Some(NeedsValue(2)), None,]);
    }

    #[test]
    fn a_value_missing_through_a_chain_skips_each_reader() {
        // s0 change; s1 safe reads s0; s2 safe reads s1 (in a `when`).
        let mut rb = runbook_with_durations(&[1; 3], &[&[], &[0], &[1]]);
        rb.steps[1].safe = true;
        rb.steps[2].safe = true;
        rb.steps[1].env = vec![("X".into(), reading(0, "a"))];
        rb.steps[2].when = Some(Expr::Ref(Ref::Capture(1, "b".into())));
        let got = drill_skips(&rb, &dag(&rb), drill(DrillKind::Component, &[]));
        assert_eq!(got[1], Some(NeedsValue(0)));
        assert_eq!(got[2], Some(NeedsValue(1)));
    }

    #[test]
    fn a_partial_drill_runs_its_targets_and_their_ancestors() {
        // s0 -> s1 -> s2 ; s3 alone ; s4 needs s2
        let rb = runbook_with_durations(&[1; 5], &[&[], &[0], &[1], &[], &[2]]);
        let got = drill_skips(&rb, &dag(&rb), drill(DrillKind::Partial, &["s2"]));
        let runs: Vec<bool> = got.iter().map(Option::is_none).collect();
        assert_eq!(runs, vec![true, true, true, false, false]);
    }

    #[test]
    fn finally_steps_follow_the_same_rule() {
        let mut rb = runbook_with_durations(&[1; 3], &[&[], &[], &[]]);
        rb.steps[0].safe = true;
        rb.steps[1].finally = true;
        rb.steps[1].safe = true;
        rb.steps[1].action = Some(Action::Run { script: reading(0, "a") });
        rb.steps[2].finally = true;
        let got = drill_skips(&rb, &dag(&rb), drill(DrillKind::Component, &[]));
        assert_eq!(got, vec![None, None, Some(Outside)]);
    }
}
