//! Hover: what a step is (title, owner, duration, action, approvals, its place on the critical
//! path and its slack), what a param or secret is (type, default, source; never a secret's
//! value), a template's parameters and doc comment, a role's members, a duration in seconds.

use super::analysis::{Analysis, Facts};
use super::index::{Index, Sym};
use crate::diag::FileId;
use crate::plan::human;

/// Markdown for the name at `offset` of `a`'s document, and the byte range it covers.
pub fn hover(
    a: &Analysis,
    facts: Option<&Facts>,
    offset: usize,
) -> Option<(String, (usize, usize))> {
    let occ = a.index.at(offset)?;
    let text = match &occ.sym {
        Sym::Step(id) => step(&a.index, facts, id)?,
        Sym::Name(name) => name_decl(&a.index, name)?,
        Sym::Capture(step, name) => format!(
            "**capture `{name}`** of step `{step}`\n\n`${{steps.{step}.{name}}}` in the steps \
             after it; `{name}` in its own `check` and `measure`"
        ),
        Sym::Role(name) => {
            let r = a.index.roles.iter().find(|r| *r.name == **name)?;
            format!("**role `{}`**: {}", r.name, r.members)
        }
        Sym::Use(alias, name) => {
            let file = a.module(alias)?;
            let ix = a.index_of(file)?;
            template(ix, name, &a.sources.get(file).name)?
        }
        Sym::Template(name) => template(&a.index, name, &a.sources.get(FileId(0)).name)?,
        Sym::TemplateParam(t, p) => {
            let decl = a.index.templates.iter().find(|d| *d.name == **t)?;
            let (_, default) = decl.params.iter().find(|(n, _)| **n == **p)?;
            match default {
                Some(d) => format!("**parameter `{p}`** of template `{t}` (default `{d}`)"),
                None => format!("**parameter `{p}`** of template `{t}` (required)"),
            }
        }
        Sym::Duration(ms) => duration(*ms),
    };
    Some((text, (occ.start, occ.end)))
}

fn duration(ms: u64) -> String {
    let secs = ms / 1000;
    let frac = ms % 1000;
    let exact = if frac == 0 { format!("{secs}") } else { format!("{secs}.{frac:03}") };
    let unit = if ms == 1000 { "second" } else { "seconds" };
    format!("**{exact} {unit}** ({})", human(secs))
}

fn step(ix: &Index, facts: Option<&Facts>, id: &str) -> Option<String> {
    let decl = ix.step(id);
    let mut out = format!("**step `{id}`**");
    let from_plan = facts.and_then(|f| Some((f, f.step(id)?)));
    if let Some((f, i)) = from_plan {
        let s = f.plan.steps.iter().chain(&f.plan.finally).find(|s| s.id == id)?;
        if let Some(t) = &s.title {
            out.push_str(&format!(" — {t}"));
        }
        out.push_str("\n\n");
        let mut facts_line = Vec::new();
        facts_line.push(format!("owner: {}", s.owner.as_deref().unwrap_or("(none)")));
        if let Some(d) = s.duration_seconds {
            facts_line.push(format!("duration: {} ({d} s)", human(d)));
        }
        if let Some(t) = s.timeout_seconds {
            facts_line.push(format!("timeout: {}", human(t)));
        }
        out.push_str(&facts_line.join(" · "));
        if !s.needs.is_empty() {
            out.push_str(&format!("\n\nneeds: {}", s.needs.join(", ")));
        }
        if let Some(a) = &s.action {
            out.push_str(&format!("\n\n```\n{}\n```", a.describe()));
        }
        if let Some(ap) = &s.approval {
            let timeout =
                ap.timeout_seconds.map_or(String::new(), |t| format!(", timeout {}", human(t)));
            out.push_str(&format!("\n\napproval by {}{timeout}", ap.by.join(" and ")));
        }
        if s.rollback {
            out.push_str("\n\nhas a rollback");
        }
        let start = f.earliest_ms.get(i).copied().unwrap_or(0);
        let slack = f.slack_ms.get(i).copied().unwrap_or(0);
        if s.critical {
            out.push_str(&format!(
                "\n\n**on the critical path** (starts at +{}, slack 0s)",
                human(start / 1000)
            ));
        } else if f.plan.finally.iter().any(|x| x.id == id) {
            out.push_str(
                "\n\na `finally` step: runs after the run has ended, off the critical path",
            );
        } else {
            out.push_str(&format!(
                "\n\nnot on the critical path (starts at +{} at the earliest, slack {})",
                human(start / 1000),
                human(slack / 1000)
            ));
        }
        return Some(out);
    }
    let d = decl?;
    if let Some(t) = &d.title {
        out.push_str(&format!(" — {t}"));
    }
    out.push_str(&format!("\n\nowner: {}", d.owner.as_deref().unwrap_or("(none)")));
    if let Some(ms) = d.duration_ms {
        out.push_str(&format!(" · duration: {} ({} s)", human(ms / 1000), ms / 1000));
    }
    out.push_str("\n\ncritical path: unknown until the runbook checks clean");
    Some(out)
}

fn name_decl(ix: &Index, name: &str) -> Option<String> {
    let d = ix.name(name)?;
    Some(match d.kind {
        "secret" => format!(
            "**secret `{}`** from {} {}\n\nits value is read when the run needs it and is never \
             shown",
            d.name,
            d.ty.as_deref().unwrap_or("?"),
            d.detail.as_deref().unwrap_or("")
        ),
        _ => {
            let ty = d.ty.as_deref().map_or(String::new(), |t| format!(": {t}"));
            let default = match &d.detail {
                Some(v) => format!("default `{v}`; `--param {}=VALUE` overrides it", d.name),
                None => format!("required: pass `--param {}=VALUE`", d.name),
            };
            format!("**param `{}`{ty}**\n\n{default}", d.name)
        }
    })
}

fn template(ix: &Index, name: &str, file: &str) -> Option<String> {
    let t = ix.templates.iter().find(|t| t.name == name)?;
    let params: Vec<String> = t
        .params
        .iter()
        .map(|(p, d)| match d {
            Some(d) => format!("{p} = {d}"),
            None => p.clone(),
        })
        .collect();
    let mut out =
        format!("```drbook\ntemplate {}({})\n```\nfrom `{file}`", t.name, params.join(", "));
    if !t.doc.is_empty() {
        out.push_str(&format!("\n\n{}", t.doc));
    }
    Some(out)
}
