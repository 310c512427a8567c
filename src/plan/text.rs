//! Terminal renderer: plain text, no colours (the CLI decides about colour, not the plan).
//!
//! Layout: a header (runbook, title, owner, RTO budget, RPO, tier, the shell if not `sh`, the
//! description, how
//! approvers are proved when there is a gate), the verdict line, one line per service of
//! `objectives { }` (its estimate against its own `rto`, rpo, tier, chain), the waves with
//! one line per step (`* id  (5m, owner)  action`, `*` marking the critical path) and indented
//! markers for approval, condition, timeout, env, workdir, captures, checks, `measure rpo`,
//! retry, failure policy and rollback, then the critical path, the trigger (when `drbook watch`
//! would start a run: probes, interval, failures, quorum, cooldown, RPO gate, what firing
//! needs, params, notify), the drills (cadence and what a component drill runs, when the runbook speaks of drills) and
//! the warnings. Scripts are shown in full: the reviewer sees exactly what would run, with
//! terminal control characters written as visible escapes (`crate::diag::escape`).

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};

use crate::diag::escape::Escaped;
use crate::model::FailurePolicy;

use super::{human, Plan, PlanStep};

/// Ids longer than this are not used to align the columns of every other step.
const MAX_ID_WIDTH: usize = 24;
const MARKER_INDENT: &str = "      ";

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    // Params and runbook strings may hold terminal controls: shown as escapes.
    let mut w = BufWriter::new(Escaped::new(out));
    let or_none = |s: &Option<String>| s.clone().unwrap_or_else(|| "(none)".to_string());
    let secs = |s: Option<u64>| s.map_or_else(|| "(none)".to_string(), human);
    writeln!(w, "runbook  {}", plan.runbook)?;
    writeln!(w, "title    {}", or_none(&plan.title))?;
    writeln!(w, "owner    {}", or_none(&plan.owner))?;
    writeln!(w, "rto      {}", secs(plan.rto_seconds))?;
    writeln!(w, "rpo      {}", secs(plan.rpo_seconds))?;
    if let Some(tier) = &plan.tier {
        writeln!(w, "tier     {tier}")?;
    }
    if let Some(shell) = &plan.shell {
        writeln!(w, "shell    {shell}")?;
    }
    if let Some(proof) = plan.proof_line() {
        writeln!(w, "approvals {proof}")?;
    }
    if let Some(d) = &plan.description {
        writeln!(w)?;
        for line in d.trim_end().lines() {
            writeln!(w, "  {line}")?;
        }
    }
    writeln!(w)?;
    writeln!(w, "{}", plan.verdict())?;
    services(&mut w, plan)?;

    let width =
        plan.steps.iter().chain(&plan.finally).map(|s| s.id.chars().count()).max().unwrap_or(0);
    let width = width.min(MAX_ID_WIDTH);
    let by_id: HashMap<&str, &PlanStep> = plan.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    for (k, wave) in plan.waves.iter().enumerate() {
        writeln!(w)?;
        writeln!(w, "wave {}", k + 1)?;
        for id in wave {
            if let Some(step) = by_id.get(id.as_str()) {
                step_lines(&mut w, step, width)?;
            }
        }
    }

    if !plan.finally.is_empty() {
        writeln!(w)?;
        writeln!(w, "finally steps (after the run has ended, whatever its outcome)")?;
        for step in &plan.finally {
            step_lines(&mut w, step, width)?;
        }
    }

    if !plan.critical_path.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "critical path: {} ({})",
            plan.critical_path.join(" -> "),
            human(plan.estimated_rto_seconds)
        )?;
    }

    if let Some(t) = &plan.trigger {
        writeln!(w)?;
        writeln!(w, "trigger (drbook watch starts a run when it fires)")?;
        for f in t.facts(plan.rpo_seconds) {
            let head = format!("  {}: ", f.label);
            let indent = format!("\n{}", " ".repeat(head.chars().count()));
            writeln!(w, "{head}{}", f.value.replace('\n', &indent))?;
        }
    }

    if plan.shows_drills() {
        drills(&mut w, plan)?;
    }

    if !plan.warnings.is_empty() {
        writeln!(w)?;
        writeln!(w, "warnings ({}):", plan.warnings.len())?;
        for warn in &plan.warnings {
            writeln!(
                w,
                "  {}:{}:{}: {} [{}]",
                warn.file, warn.line, warn.column, warn.message, warn.code
            )?;
        }
    }
    w.flush()
}

fn step_lines(w: &mut dyn Write, step: &PlanStep, width: usize) -> io::Result<()> {
    let mark = if step.critical { "* " } else { "  " };
    let duration = step.duration_seconds.map_or_else(|| "no duration".to_string(), human);
    let owner = step.owner.as_deref().unwrap_or("no owner");
    let head = format!("{mark}{:<width$}  ({duration}, {owner})  ", step.id);
    let action = match (&step.action, &step.approval) {
        (Some(a), _) => a.describe(),
        (None, Some(_)) => "gate".to_string(),
        (None, None) => "no action".to_string(),
    };
    // Continuation lines of a script sit under its first line.
    let indent = format!("\n{}", " ".repeat(head.chars().count()));
    writeln!(w, "{head}{}", action.replace('\n', &indent))?;

    if let Some(title) = &step.title {
        writeln!(w, "{MARKER_INDENT}{title}")?;
    }
    if step.safe {
        writeln!(w, "{MARKER_INDENT}safe: read-only, run by component drills")?;
    }
    if let Some(a) = &step.approval {
        let mut line = if a.by.is_empty() {
            "needs approval".to_string()
        } else {
            format!("needs approval: {}", a.by.join(" + "))
        };
        if let Some(t) = a.timeout_seconds {
            line.push_str(&format!(" (timeout {})", human(t)));
        }
        writeln!(w, "{MARKER_INDENT}{line}")?;
    }
    if let Some(cond) = &step.when {
        writeln!(w, "{MARKER_INDENT}when: {cond}")?;
    }
    if let Some(t) = step.timeout_seconds {
        writeln!(w, "{MARKER_INDENT}timeout: {}", human(t))?;
    }
    for (k, v) in &step.env.0 {
        writeln!(w, "{MARKER_INDENT}env: {k}={v}")?;
    }
    if let Some(dir) = &step.workdir {
        writeln!(w, "{MARKER_INDENT}workdir: {dir}")?;
    }
    for c in &step.captures {
        writeln!(w, "{MARKER_INDENT}capture: {}", c.describe())?;
    }
    for c in &step.checks {
        writeln!(w, "{MARKER_INDENT}check: {c}")?;
    }
    if let Some(m) = &step.measure_rpo {
        writeln!(w, "{MARKER_INDENT}measure: rpo from {m}")?;
    }
    if let Some(r) = &step.retry {
        writeln!(w, "{MARKER_INDENT}retry: {}", retry_text(r))?;
    }
    match step.on_failure {
        FailurePolicy::Abort => {}
        FailurePolicy::Rollback => writeln!(w, "{MARKER_INDENT}on failure: rollback")?,
        FailurePolicy::Continue => writeln!(w, "{MARKER_INDENT}on failure: continue")?,
    }
    if let Some(r) = &step.rollback_action {
        let head = format!("{MARKER_INDENT}rollback: ");
        let indent = format!("\n{}", " ".repeat(head.chars().count()));
        writeln!(w, "{head}{}", r.describe().replace('\n', &indent))?;
    }
    if let Some(r) = &step.rollback_retry {
        writeln!(w, "{MARKER_INDENT}rollback retry: {}", retry_text(r))?;
    }
    if let Some(t) = step.rollback_timeout_seconds {
        writeln!(w, "{MARKER_INDENT}rollback timeout: {}", human(t))?;
    }
    if let Some(v) = &step.verify {
        let head = format!("{MARKER_INDENT}verify: ");
        let indent = format!("\n{}", " ".repeat(head.chars().count()));
        writeln!(w, "{head}{}", v.describe().replace('\n', &indent))?;
    }
    Ok(())
}

/// The declared drill cadence, the steps a component drill runs, and where drills report.
fn drills(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    writeln!(w)?;
    let cadence: Vec<String> = plan
        .drills
        .iter()
        .map(|d| format!("{} every {}", d.kind, human(d.every_seconds)))
        .collect();
    if cadence.is_empty() {
        writeln!(w, "drills: no cadence declared")?;
    } else {
        writeln!(w, "drills: {}", cadence.join(", "))?;
    }
    let total = plan.steps.len() + plan.finally.len();
    let runs = &plan.component_drill_steps;
    if runs.is_empty() {
        writeln!(w, "  component drill runs no step (none is `safe`)")?;
    } else {
        writeln!(w, "  component drill runs {} of {total} steps: {}", runs.len(), runs.join(", "))?;
    }
    if let Some(url) = &plan.notify_drills {
        writeln!(w, "  drill results are posted to {url}")?;
    }
    Ok(())
}

/// One line per service of `objectives { }`: its estimate against its own `rto`, its `rpo`,
/// its tier and the chain that restores it.
fn services(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    if plan.services.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "services (each estimated by the longest chain to its last restoring step)")?;
    let width = plan.services.iter().map(|s| s.name.chars().count()).max().unwrap_or(0);
    let width = width.min(MAX_ID_WIDTH);
    for s in &plan.services {
        let mut line = format!("  {:<width$}  {}", s.name, s.verdict());
        if let Some(rpo) = s.rpo_seconds {
            line.push_str(&format!("; rpo {}", human(rpo)));
        }
        if let Some(tier) = &s.tier {
            line.push_str(&format!("; tier {tier}"));
        }
        if !s.critical_path.is_empty() {
            line.push_str(&format!("; chain {}", s.critical_path.join(" -> ")));
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}

fn retry_text(r: &super::PlanRetry) -> String {
    let backoff = if r.exponential { ", exponential backoff" } else { "" };
    format!("{} more every {}{backoff}", r.attempts, human(r.every_seconds))
}
