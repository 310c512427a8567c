//! Inlay hints from the plan: the estimated RTO against the budget at the runbook's header,
//! and at each step when it can start at the earliest, whether it is on the critical path,
//! and otherwise its slack.

use super::analysis::{Analysis, Facts};
use crate::diag::FileId;
use crate::plan::human;
use lsp_types::{InlayHint, InlayHintLabel};

/// Hints for the document between byte offsets `start` and `end`.
pub fn inlay(a: &Analysis, facts: &Facts, start: usize, end: usize) -> Vec<InlayHint> {
    let mut out = Vec::new();
    let mut hint = |at: usize, label: String| {
        if at >= start && at <= end {
            out.push(InlayHint {
                position: a.range_in(FileId(0), (at, at)).start,
                label: InlayHintLabel::String(label),
                kind: None,
                text_edits: None,
                tooltip: None,
                padding_left: Some(true),
                padding_right: Some(true),
                data: None,
            });
        }
    };
    if let Some((_, open)) = a.index.header {
        hint(open, facts.plan.verdict());
    }
    let planned: std::collections::HashMap<&str, &crate::plan::PlanStep> =
        facts.plan.steps.iter().map(|p| (p.id.as_str(), p)).collect();
    for s in &a.index.steps {
        let Some(i) = facts.step(&s.id) else { continue };
        let Some(p) = planned.get(s.id.as_str()) else { continue };
        let brace = a.text.get(s.span.0..s.span.1).and_then(|t| t.find('{')).map(|k| s.span.0 + k);
        let Some(at) = brace else { continue };
        let begin = human(facts.earliest_ms.get(i).copied().unwrap_or(0) / 1000);
        let label = if p.critical {
            format!("starts +{begin} · critical path")
        } else {
            format!(
                "starts +{begin} · slack {}",
                human(facts.slack_ms.get(i).copied().unwrap_or(0) / 1000)
            )
        };
        hint(at, label);
    }
    out
}
