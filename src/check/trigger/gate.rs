//! The trigger's `rpo_gate STEP`. Input: the step id as written, the header (for `rpo`) and
//! the checked steps; output: the gate (the step's index and the capture read as the lag),
//! or a reported error: an unknown step, no `rpo`, a step that is not `safe`, captures
//! nothing, captures several values without `measure rpo`, or uses another step's capture.

use crate::check::cx::Cx;
use crate::check::header::Header;
use crate::diag::{shorten, suggest, Diagnostic, Span};
use crate::model::trigger::RpoGate;
use crate::model::{self, Ref};

/// `rpo_gate STEP`: a `safe` step of this runbook that captures the lag, in a runbook with an
/// `rpo`.
pub(super) fn rpo_gate(
    cx: &mut Cx,
    id: &str,
    at: Span,
    h: &Header,
    steps: &[model::Step],
) -> Option<RpoGate> {
    let err = |cx: &mut Cx, code: &'static str, msg: String, label: &str, help: String| {
        cx.error(Diagnostic::error(code, at, msg).label(label).help(help));
    };
    let Some(&i) = cx.steps.get(id) else {
        let help = suggest(id, cx.steps.keys().map(String::as_str))
            .unwrap_or_else(|| "name a `safe` step of this runbook that captures the lag".into());
        err(
            cx,
            "drbook::check::unknown_step",
            format!("unknown step `{}`", shorten(id)),
            "no step with this id",
            help,
        );
        return None;
    };
    let step = steps.get(i)?;
    if h.rpo.is_none() {
        err(
            cx,
            "drbook::check::rpo_gate_without_rpo",
            "the RPO gate has no `rpo` to compare with".into(),
            "the runbook declares no `rpo`",
            "add `rpo 15m` (the data loss you tolerate) to the runbook header".into(),
        );
        return None;
    }
    if !step.safe {
        err(
            cx,
            "drbook::check::rpo_gate_not_safe",
            format!("RPO gate step `{id}` is not `safe`"),
            "the watcher runs it against production before every failover",
            format!("mark `{id}` `safe` if it only reads, or gate on a read-only step"),
        );
        return None;
    }
    let capture = match (step.captures.as_slice(), &step.measure_rpo) {
        ([], _) => {
            err(
                cx,
                "drbook::check::rpo_gate_no_capture",
                format!("RPO gate step `{id}` captures nothing"),
                "no lag to compare with `rpo`",
                format!("add `capture lag_seconds from stdout` to `{id}`"),
            );
            return None;
        }
        (_, Some(m)) => m.clone(),
        ([one], None) => one.name.clone(),
        (many, None) => {
            let names: Vec<&str> = many.iter().map(|c| c.name.as_str()).collect();
            err(
                cx,
                "drbook::check::rpo_gate_ambiguous",
                format!("RPO gate step `{id}` captures {} values", names.len()),
                "which one is the lag?",
                format!(
                    "add `measure rpo from {}` to `{id}` to say which capture is the lag",
                    names[0]
                ),
            );
            return None;
        }
    };
    let uses_captures = step
        .action
        .iter()
        .flat_map(model::Action::texts)
        .chain(step.env.iter().map(|(_, t)| t))
        .chain(&step.workdir)
        .chain(step.verify.iter().flat_map(model::Action::texts))
        .any(|t| t.refs().iter().any(|r| matches!(r, Ref::Capture(..))))
        || step.when.iter().chain(&step.checks).any(reads_capture);
    if uses_captures {
        err(
            cx,
            "drbook::check::rpo_gate_uses_capture",
            format!("RPO gate step `{id}` uses another step's capture"),
            "the watcher runs the gate step on its own",
            format!("make `{id}` read only params and secrets"),
        );
        return None;
    }
    Some(RpoGate { step: i, capture })
}

/// Whether an expression names another step's capture.
fn reads_capture(e: &model::Expr) -> bool {
    match e {
        model::Expr::Ref(r) => matches!(r, Ref::Capture(..)),
        model::Expr::Not(x) => reads_capture(x),
        model::Expr::Binary(_, l, r) => reads_capture(l) || reads_capture(r),
        _ => false,
    }
}
