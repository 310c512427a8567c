//! Mermaid renderer: a `flowchart TD` of the steps, the critical path drawn in red.
//! With `objectives { }`, the step that completes a service (the last of its chain) says so in
//! its label (`restores api-gateway`).
//!
//! Nodes are `s_<id>["id<br/>title<br/>5m"]` (approval gates are hexagons of class `gate`, or
//! `gate_critical` on the critical path so they keep its red outline; `safe` steps are of class
//! `safe` or `safe_critical`; every node has one class at most, and every filled class sets a dark text colour so
//! the diagram reads in dark mode too),
//! edges `s_a --> s_b` in declaration order, then `classDef`/`class` lines and one
//! `linkStyle N` per critical edge, N being the edge's index in that order. A runbook with a
//! `trigger` gets a `t_trigger` node with dotted edges to the steps that need nothing, after
//! the step edges.
//!
//! Node names: the `s_` prefix keeps ids such as `end` from being read as keywords. Hyphens
//! can start an arrow (`a--b`), so an id containing `-` becomes `h<index>_<id with _>`, a
//! name no hyphen-free id can produce, so names never collide.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};

use super::{human, Plan};

const CRITICAL_STYLE: &str = "stroke:#d00,stroke-width:3px";
/// Every filled class sets its text colour too: a pale fill under the dark theme's pale text
/// would be unreadable, so the text on a fill is always dark whatever the theme.
pub const GATE_CLASS: &str = "classDef gate fill:#fff4d6,stroke:#b8860b,color:#1a1a1a";
/// A gate on the critical path: the gate's fill with the critical path's outline.
pub const GATE_CRITICAL_CLASS: &str =
    "classDef gate_critical fill:#fff4d6,stroke:#d00,stroke-width:3px,color:#1a1a1a";
pub const SAFE_CLASS: &str = "classDef safe fill:#e6f4ea,stroke:#2e7d32,color:#1a1a1a";
pub const SAFE_CRITICAL_CLASS: &str =
    "classDef safe_critical fill:#e6f4ea,stroke:#d00,stroke-width:3px,color:#1a1a1a";

/// The trigger's node: no step's node name starts with `t_`.
const TRIGGER_NODE: &str = "t_trigger";

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::new(out);
    writeln!(w, "flowchart TD")?;

    let names: Vec<String> = plan.steps.iter().enumerate().map(|(i, s)| node(i, &s.id)).collect();
    let by_id: HashMap<&str, usize> =
        plan.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();

    // Each service's last step (the end of its chain) names the services it completes.
    let mut restored_here: HashMap<&str, Vec<&str>> = HashMap::new();
    for sv in &plan.services {
        if let Some(last) = sv.critical_path.last() {
            restored_here.entry(last.as_str()).or_default().push(sv.name.as_str());
        }
    }
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
        if let Some(services) = restored_here.get(step.id.as_str()) {
            label.push_str("<br/>restores ");
            label.push_str(&escape(&services.join(", ")));
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

    // The trigger starts the run: a dotted edge to every step that needs nothing. Drawn after
    // the step edges so that the critical edges keep their `linkStyle` indices.
    if let Some(t) = &plan.trigger {
        let (k, n, f) = (t.quorum, t.probes.len(), t.failures);
        writeln!(
            w,
            "    {TRIGGER_NODE}>\"trigger<br/>{k} of {n} probes fail {f} rounds in a row\"]"
        )?;
        for (step, name) in plan.steps.iter().zip(&names) {
            if step.needs.is_empty() {
                writeln!(w, "    {TRIGGER_NODE} -.-> {name}")?;
            }
        }
    }

    writeln!(w, "    classDef critical {CRITICAL_STYLE}")?;
    writeln!(w, "    {GATE_CLASS}")?;
    let class_list = |pick: &dyn Fn(usize) -> bool| -> Vec<&str> {
        (0..plan.steps.len()).filter(|&i| pick(i)).map(|i| names[i].as_str()).collect()
    };
    // A node has one class: with two, the later class's stroke would hide the critical outline.
    let class_of = |i: usize| -> &'static str {
        let s = &plan.steps[i];
        match (s.approval.is_some(), s.safe, s.critical) {
            (true, _, true) => "gate_critical",
            (true, _, false) => "gate",
            (false, true, true) => "safe_critical",
            (false, true, false) => "safe",
            (false, false, true) => "critical",
            (false, false, false) => "",
        }
    };
    for (class, def) in [
        ("critical", None),
        ("gate", None),
        ("gate_critical", Some(GATE_CRITICAL_CLASS)),
        // Read-only steps (a component drill runs them), drawn only when the runbook has some.
        ("safe", Some(SAFE_CLASS)),
        ("safe_critical", Some(SAFE_CRITICAL_CLASS)),
    ] {
        let members = class_list(&|i| class_of(i) == class);
        if members.is_empty() {
            continue;
        }
        if let Some(def) = def {
            writeln!(w, "    {def}")?;
        }
        writeln!(w, "    class {} {class}", members.join(","))?;
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
