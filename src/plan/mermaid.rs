//! Mermaid renderer: a `flowchart TD` of the steps, the critical path drawn in red.
//!
//! Nodes are `s_<id>["id<br/>title<br/>5m"]` (approval gates are hexagons of class `gate`,
//! `safe` steps are of class `safe`),
//! edges `s_a --> s_b` in declaration order, then `classDef`/`class` lines and one
//! `linkStyle N` per critical edge, N being the edge's index in that order.
//!
//! Node names: the `s_` prefix keeps ids such as `end` from being read as keywords. Hyphens
//! can start an arrow (`a--b`), so an id containing `-` becomes `h<index>_<id with _>`, a
//! name no hyphen-free id can produce, so names never collide.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};

use super::{human, Plan};

const CRITICAL_STYLE: &str = "stroke:#d00,stroke-width:3px";

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::new(out);
    writeln!(w, "flowchart TD")?;

    let names: Vec<String> = plan.steps.iter().enumerate().map(|(i, s)| node(i, &s.id)).collect();
    let by_id: HashMap<&str, usize> =
        plan.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();

    for (step, name) in plan.steps.iter().zip(&names) {
        let mut label = escape(&step.id);
        if let Some(title) = &step.title {
            label.push_str("<br/>");
            label.push_str(&escape(title));
        }
        if let Some(d) = step.duration_seconds {
            label.push_str("<br/>");
            label.push_str(&human(d));
        }
        if step.approval.is_some() {
            writeln!(w, "    {name}{{{{\"{label}\"}}}}")?;
        } else {
            writeln!(w, "    {name}[\"{label}\"]")?;
        }
    }

    // The critical edge into a step comes from its predecessor on the path.
    let mut critical_pred: HashMap<&str, &str> = HashMap::new();
    for pair in plan.critical_path.windows(2) {
        critical_pred.insert(pair[1].as_str(), pair[0].as_str());
    }
    let mut edge = 0usize;
    let mut critical_edges = Vec::new();
    for (step, name) in plan.steps.iter().zip(&names) {
        for need in &step.needs {
            let Some(&from) = by_id.get(need.as_str()) else { continue };
            writeln!(w, "    {} --> {name}", names[from])?;
            if critical_pred.get(step.id.as_str()) == Some(&need.as_str()) {
                critical_edges.push(edge);
            }
            edge += 1;
        }
    }

    writeln!(w, "    classDef critical {CRITICAL_STYLE}")?;
    writeln!(w, "    classDef gate fill:#fff4d6,stroke:#b8860b")?;
    let class_list = |pick: &dyn Fn(usize) -> bool| -> Vec<&str> {
        (0..plan.steps.len()).filter(|&i| pick(i)).map(|i| names[i].as_str()).collect()
    };
    let critical = class_list(&|i| plan.steps[i].critical);
    if !critical.is_empty() {
        writeln!(w, "    class {} critical", critical.join(","))?;
    }
    let gates = class_list(&|i| plan.steps[i].approval.is_some());
    if !gates.is_empty() {
        writeln!(w, "    class {} gate", gates.join(","))?;
    }
    // Read-only steps (a component drill runs them), drawn only when the runbook has some.
    let safe = class_list(&|i| plan.steps[i].safe);
    if !safe.is_empty() {
        writeln!(w, "    classDef safe fill:#e6f4ea,stroke:#2e7d32")?;
        writeln!(w, "    class {} safe", safe.join(","))?;
    }
    for n in critical_edges {
        writeln!(w, "    linkStyle {n} {CRITICAL_STYLE}")?;
    }
    w.flush()
}

fn node(index: usize, id: &str) -> String {
    if id.contains('-') {
        format!("h{index}_{}", id.replace('-', "_"))
    } else {
        format!("s_{id}")
    }
}

/// Label text inside `"..."`: mermaid entity codes for the characters it would interpret.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' => out.push_str("<br/>"),
            c => out.push(c),
        }
    }
    out
}
