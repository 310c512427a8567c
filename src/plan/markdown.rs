//! Markdown renderer: a pull-request comment (GitHub-flavoured).
//!
//! Layout: `## Runbook plan: NAME`, the title, the verdict with an emoji (✅ within budget,
//! ❌ over, ⚠️ no `rto`), a one-row summary table, the steps table (critical steps in bold),
//! the critical path, a drills section (when the runbook declares a cadence, a `safe` step or
//! `notify_drills`), a ```` ```mermaid ```` block from [`super::mermaid`] and the warnings.
//!
//! Everything from the runbook is escaped: table cells escape `|` and newlines, plain text
//! backslash-escapes markdown punctuation, and actions sit in code spans, summarised to their
//! first line, so a `<secret:NAME>` or a `*` in a script shows as written.

use std::io::{self, BufWriter, Write};

use super::{human, mermaid, Budget, Plan};

/// GitHub refuses to draw diagrams with more edges than mermaid's default `maxEdges`.
const MAX_DIAGRAM_EDGES: usize = 500;
const MAX_DIAGRAM_STEPS: usize = 500;
const NONE: &str = "—";
const SUMMARY_HEADER: &str =
    "| RTO budget | Estimated RTO | Slack | RPO | Steps | Waves | Approvals | Steps without rollback |";

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::new(out);
    writeln!(w, "## Runbook plan: {}", text(&plan.runbook))?;
    writeln!(w)?;
    if let Some(title) = &plan.title {
        writeln!(w, "{}", text(title))?;
        writeln!(w)?;
    }
    let emoji = match plan.budget {
        Budget::Within => "✅",
        Budget::Over => "❌",
        Budget::Unknown => "⚠️",
    };
    writeln!(w, "{emoji} **{}**", text(&plan.verdict()))?;
    writeln!(w)?;

    let secs = |s: Option<u64>| s.map_or_else(|| NONE.to_string(), human);
    let slack = match plan.rto_seconds {
        Some(rto) if rto >= plan.estimated_rto_seconds => human(rto - plan.estimated_rto_seconds),
        Some(rto) => format!("-{}", human(plan.estimated_rto_seconds - rto)),
        None => NONE.to_string(),
    };
    let without_rollback = plan.steps.iter().filter(|s| !s.rollback).count();
    writeln!(w, "{SUMMARY_HEADER}")?;
    writeln!(w, "|---|---|---|---|---|---|---|---|")?;
    writeln!(
        w,
        "| {} | {} | {slack} | {} | {} | {} | {} | {without_rollback} |",
        secs(plan.rto_seconds),
        human(plan.estimated_rto_seconds),
        secs(plan.rpo_seconds),
        plan.steps.len(),
        plan.waves.len(),
        plan.approvals(),
    )?;
    writeln!(w)?;
    if let Some(proof) = plan.proof_line() {
        writeln!(w, "Approvals are proved by: {}", text(proof))?;
        writeln!(w)?;
    }

    writeln!(w, "### Steps")?;
    writeln!(w)?;
    writeln!(w, "| # | Step | Owner | Duration | Needs | Action | Approval | Rollback |")?;
    writeln!(w, "|---|---|---|---|---|---|---|---|")?;
    for (i, s) in plan.steps.iter().enumerate() {
        let mut step = code(&s.id);
        if s.critical {
            step = format!("**{step}**");
        }
        if let Some(title) = &s.title {
            step.push_str(&format!("<br>{}", text(title)));
        }
        if s.safe {
            step.push_str("<br>safe (read-only)");
        }
        let owner = s.owner.as_deref().map_or_else(|| NONE.to_string(), text);
        let needs = if s.needs.is_empty() {
            NONE.to_string()
        } else {
            s.needs.iter().map(|n| code(n)).collect::<Vec<_>>().join(", ")
        };
        let mut action = match (&s.action, &s.approval) {
            (Some(a), _) => code(&a.summary()),
            (None, Some(_)) => "gate".to_string(),
            (None, None) => NONE.to_string(),
        };
        if let Some(v) = &s.verify {
            action.push_str(&format!("<br>verify: {}", code(&v.summary())));
        }
        let approval = s.approval.as_ref().map_or_else(
            || NONE.to_string(),
            |a| if a.by.is_empty() { "required".to_string() } else { text(&a.by.join(" + ")) },
        );
        let mut rollback =
            s.rollback_action.as_ref().map_or_else(|| NONE.to_string(), |a| code(&a.summary()));
        if let Some(r) = &s.rollback_retry {
            rollback.push_str(&format!(
                "<br>retry {} every {}",
                r.attempts,
                human(r.every_seconds)
            ));
        }
        writeln!(
            w,
            "| {} | {step} | {owner} | {} | {needs} | {action} | {approval} | {rollback} |",
            i + 1,
            secs(s.duration_seconds),
        )?;
    }
    writeln!(w)?;

    if !plan.finally.is_empty() {
        writeln!(w, "### Finally steps")?;
        writeln!(w)?;
        writeln!(w, "Run once the run has ended, whatever its outcome; never undone.")?;
        writeln!(w)?;
        for s in &plan.finally {
            let action = s.action.as_ref().map_or_else(|| NONE.to_string(), |a| code(&a.summary()));
            writeln!(w, "- {}: {action}", code(&s.id))?;
        }
        writeln!(w)?;
    }

    if !plan.critical_path.is_empty() {
        let path: Vec<String> = plan.critical_path.iter().map(|id| code(id)).collect();
        writeln!(
            w,
            "**Critical path:** {} ({})",
            path.join(" → "),
            human(plan.estimated_rto_seconds)
        )?;
        writeln!(w)?;
    }

    if plan.shows_drills() {
        drills(&mut w, plan)?;
    }

    let edges: usize = plan.steps.iter().map(|s| s.needs.len()).sum();
    if edges <= MAX_DIAGRAM_EDGES && plan.steps.len() <= MAX_DIAGRAM_STEPS {
        writeln!(w, "```mermaid")?;
        mermaid::render(plan, &mut w)?;
        writeln!(w, "```")?;
    } else {
        writeln!(
            w,
            "_Diagram omitted: {} steps and {edges} edges are more than GitHub draws; \
             use `--format mermaid`._",
            plan.steps.len()
        )?;
    }

    if !plan.warnings.is_empty() {
        writeln!(w)?;
        writeln!(w, "### Warnings")?;
        writeln!(w)?;
        for warn in &plan.warnings {
            writeln!(
                w,
                "- ⚠️ {} ({}:{}:{}) {}",
                code(&warn.code),
                text(&warn.file),
                warn.line,
                warn.column,
                // Messages quote names in backticks on purpose: keep them as code spans.
                warn.message.replace('\n', " ")
            )?;
        }
    }
    w.flush()
}

/// `### Drills`: the declared cadence, the steps a component drill runs, where drills report.
fn drills(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    writeln!(w, "### Drills")?;
    writeln!(w)?;
    if plan.drills.is_empty() {
        writeln!(w, "No drill cadence declared.")?;
    } else {
        let cadence: Vec<String> = plan
            .drills
            .iter()
            .map(|d| format!("{} every {}", d.kind, human(d.every_seconds)))
            .collect();
        writeln!(w, "**Cadence:** {}", text(&cadence.join(", ")))?;
    }
    writeln!(w)?;
    let runs: Vec<String> = plan.component_drill_steps.iter().map(|id| code(id)).collect();
    if runs.is_empty() {
        writeln!(w, "**Component drill runs:** no step (none is `safe`)")?;
    } else {
        writeln!(w, "**Component drill runs:** {}", runs.join(", "))?;
    }
    if let Some(url) = &plan.notify_drills {
        writeln!(w)?;
        writeln!(w, "**Drill results posted to:** {}", code(url))?;
    }
    writeln!(w)?;
    Ok(())
}

/// Plain text safe anywhere, table cells included: markdown punctuation backslash-escaped,
/// newlines as `<br>`.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A code span safe in a table cell: a backtick fence longer than any run inside, `|`
/// escaped (GFM unescapes it inside cells), newlines as spaces.
fn code(s: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let body = s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let pad = if body.starts_with('`') || body.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}
