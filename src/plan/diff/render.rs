//! The diff as text (for a terminal; colour optional) and as Markdown (for a pull-request
//! comment: risks first). JSON is the [`Diff`] serialized.

use std::io::{self, Write};

use serde_json::Value;

use super::{Change, Diff};

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Paint {
    color: bool,
}

impl Paint {
    /// `s` with control characters as visible escapes, coloured when asked.
    fn c(&self, code: &str, s: &str) -> String {
        let s = e(s);
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn e(s: &str) -> String {
    crate::diag::escape::escape(s).into_owned()
}

/// Plain text, control characters in the runbooks' strings shown as visible escapes; `color`
/// adds ANSI colours (decided by the caller).
pub fn text(d: &Diff, name: &str, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let p = Paint { color };
    writeln!(out, "{}", p.c("1", &format!("diff {name}")))?;
    if d.is_empty() {
        return writeln!(out, "no differences");
    }
    for r in &d.risks {
        let at = r.step.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
        writeln!(out, "{} {}{}: {}", p.c("1;31", "RISK"), r.kind, e(&at), e(&r.message))?;
    }
    for c in &d.header {
        change(&p, "header", c, out)?;
    }
    for id in &d.steps.added {
        writeln!(out, "{}", p.c("32", &format!("+ step {id}")))?;
    }
    for id in &d.steps.removed {
        writeln!(out, "{}", p.c("31", &format!("- step {id}")))?;
    }
    for s in &d.steps.changed {
        writeln!(out, "{}", p.c("33", &format!("~ step {}", s.id)))?;
        for c in &s.changes {
            change(&p, "   ", c, out)?;
        }
    }
    budget(d, out)
}

fn change(p: &Paint, lead: &str, c: &Change, out: &mut dyn Write) -> io::Result<()> {
    match &c.lines {
        Some(lines) => {
            writeln!(out, "  {lead} {}:", c.field)?;
            for l in lines {
                let painted = match l.chars().next() {
                    Some('+') => p.c("32", l),
                    Some('-') => p.c("31", l),
                    _ => e(l),
                };
                writeln!(out, "        {painted}")?;
            }
            Ok(())
        }
        None => writeln!(
            out,
            "  {lead} {}: {} -> {}",
            c.field,
            p.c("31", &show(&c.before)),
            p.c("32", &show(&c.after))
        ),
    }
}

fn budget(d: &Diff, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "estimated RTO: {} -> {} ({:+}s)",
        crate::plan::human(d.rto.before),
        crate::plan::human(d.rto.after),
        d.rto.delta_seconds
    )?;
    if d.critical_path.before != d.critical_path.after {
        writeln!(
            out,
            "critical path: {} -> {}",
            e(&path(&d.critical_path.before)),
            e(&path(&d.critical_path.after))
        )?;
    }
    for w in &d.warnings.new {
        writeln!(out, "new warning {}: {}", w.code, e(&w.message))?;
    }
    for w in &d.warnings.fixed {
        writeln!(out, "fixed warning {}: {}", w.code, e(&w.message))?;
    }
    Ok(())
}

/// Markdown for a pull-request comment: risks first, then the budget, then every change.
pub fn markdown(d: &Diff, name: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### drbook diff `{name}`\n")?;
    if d.is_empty() {
        return writeln!(out, "No differences.");
    }
    if !d.risks.is_empty() {
        writeln!(out, "**Risks ({})**\n", d.risks.len())?;
        for r in &d.risks {
            let at = r.step.as_deref().map(|s| format!(" (`{s}`)")).unwrap_or_default();
            writeln!(out, "- :warning: `{}`{at}: {}", r.kind, md(&r.message))?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Estimated RTO {} → {} ({:+}s); {} added, {} removed, {} changed.\n",
        crate::plan::human(d.rto.before),
        crate::plan::human(d.rto.after),
        d.rto.delta_seconds,
        d.steps.added.len(),
        d.steps.removed.len(),
        d.steps.changed.len()
    )?;
    if d.critical_path.before != d.critical_path.after {
        writeln!(
            out,
            "Critical path: `{}` → `{}`\n",
            path(&d.critical_path.before),
            path(&d.critical_path.after)
        )?;
    }
    let rows: Vec<(String, &Change)> = d
        .header
        .iter()
        .map(|c| ("(header)".to_string(), c))
        .chain(d.steps.changed.iter().flat_map(|s| s.changes.iter().map(|c| (s.id.clone(), c))))
        .collect();
    for id in &d.steps.added {
        writeln!(out, "- added step `{id}`")?;
    }
    for id in &d.steps.removed {
        writeln!(out, "- removed step `{id}`")?;
    }
    if !rows.is_empty() {
        writeln!(out, "\n| step | field | before | after |\n|---|---|---|---|")?;
        for (id, c) in &rows {
            let (before, after) = match c.lines {
                Some(_) => ("(below)".to_string(), "(below)".to_string()),
                None => (cell(&c.before), cell(&c.after)),
            };
            writeln!(out, "| {} | {} | {before} | {after} |", md(id), c.field)?;
        }
        for (id, c) in rows.iter().filter(|(_, c)| c.lines.is_some()) {
            writeln!(out, "\n`{}` {}:\n\n```diff", md(id), c.field)?;
            for l in c.lines.iter().flatten() {
                writeln!(out, "{}", l.replace("```", "` ` `"))?;
            }
            writeln!(out, "```")?;
        }
    }
    if !d.warnings.new.is_empty() || !d.warnings.fixed.is_empty() {
        writeln!(out)?;
    }
    for w in &d.warnings.new {
        writeln!(out, "- new warning `{}`: {}", w.code, md(&w.message))?;
    }
    for w in &d.warnings.fixed {
        writeln!(out, "- fixed warning `{}`: {}", w.code, md(&w.message))?;
    }
    Ok(())
}

/// `a > b > c`, or `(none)` for a side without steps.
fn path(ids: &[String]) -> String {
    if ids.is_empty() {
        "(none)".into()
    } else {
        ids.join(" > ")
    }
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

fn cell(v: &Value) -> String {
    let s = show(v);
    format!("`{}`", md(&s).replace('`', "'"))
}
