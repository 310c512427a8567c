//! The mermaid section of the markdown plan, within mermaid's default limits.
//!
//! GitHub draws mermaid with its defaults: at most `maxTextSize` (50,000) characters of
//! diagram text and `maxEdges` (500) edges, else the reader sees an error instead of a
//! diagram. The full diagram is used when it fits; otherwise a reduced one (the critical path
//! and the steps next to it, then the critical path alone) with a note; otherwise none.

use std::collections::HashSet;

use super::fit::Block;
use super::{details_open, Plan};
use crate::plan::mermaid;

/// Mermaid's default `maxTextSize`.
pub const MAX_TEXT: usize = 50_000;
/// Mermaid's default `maxEdges`.
pub const MAX_EDGES: usize = 500;

fn edges(plan: &Plan) -> usize {
    plan.steps.iter().map(|s| s.needs.len()).sum()
}

fn diagram(plan: &Plan) -> Option<String> {
    if edges(plan) > MAX_EDGES {
        return None;
    }
    let mut out = Vec::new();
    mermaid::render(plan, &mut out).ok()?;
    let text = String::from_utf8(out).ok()?;
    (text.chars().count() <= MAX_TEXT).then_some(text)
}

/// The plan with only the steps `keep` picks, their `needs` inside that set.
fn reduced(plan: &Plan, keep: &HashSet<&str>) -> Plan {
    let mut small = plan.clone();
    small.steps.retain(|s| keep.contains(s.id.as_str()));
    for s in &mut small.steps {
        s.needs.retain(|n| keep.contains(n.as_str()));
    }
    small
}

pub(super) fn block(plan: &Plan) -> Block {
    let (body, note) = match diagram(plan) {
        Some(d) => (Some(d), String::new()),
        None => {
            let path: HashSet<&str> = plan.critical_path.iter().map(String::as_str).collect();
            let mut near = path.clone();
            for s in &plan.steps {
                let touches = path.contains(s.id.as_str())
                    || s.needs.iter().any(|n| path.contains(n.as_str()));
                if touches {
                    near.insert(s.id.as_str());
                    near.extend(
                        s.needs.iter().map(String::as_str).filter(|_| path.contains(s.id.as_str())),
                    );
                }
            }
            let why = format!(
                "The full diagram ({} steps, {} edges) is over mermaid's limits ({MAX_TEXT} \
                 characters, {MAX_EDGES} edges)",
                plan.steps.len(),
                edges(plan)
            );
            if let Some(d) = diagram(&reduced(plan, &near)) {
                (Some(d), format!("_{why}: showing the critical path and the steps next to it; `--format mermaid` gives it all._\n\n"))
            } else if let Some(d) = diagram(&reduced(plan, &path)) {
                (Some(d), format!("_{why}: showing the critical path only; `--format mermaid` gives it all._\n\n"))
            } else {
                (
                    None,
                    format!(
                        "_{why}, even reduced to the critical path: use `--format mermaid`._\n\n"
                    ),
                )
            }
        }
    };
    let mut s = details_open("Diagram", false);
    s.push_str(&note);
    if let Some(d) = body {
        s.push_str(&format!("```mermaid\n{d}```\n\n"));
    }
    s.push_str("</details>\n\n");
    Block::fixed("the diagram", 30, s)
}
