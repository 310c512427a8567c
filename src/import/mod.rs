//! `drbook import`: a DR plan document (`drplan::DrPlan`, read by `drplan::read`) turned into
//! drbook source text, a stage of its own: document → text → drbook's own front end. The text
//! is formatted by `syntax::fmt` and checked by `check` before anyone writes it ([`finish`]),
//! so what `import` writes is what `drbook fmt` would write and `drbook check` accepts.
//!
//! The failover procedure becomes the runbook; the failback procedure, when there is one, a
//! second runbook `NAME-failback` whose first step is a `manual` step listing the
//! prerequisites. What has no place in the language (prose durations, the trigger's
//! conditions) is kept as comments, and each such loss is one line of [`Imported::warnings`].

mod header;
mod steps;
pub mod text;

use crate::check::{self, Options};
use crate::diag::{Diagnostic, Sources};
use crate::drplan::{DrPlan, Procedure};
use crate::syntax;
use text::quote;

/// What a document became (unformatted source text; see [`finish`]).
pub struct Imported {
    pub runbook: String,
    /// The failback runbook, when the document has a failback procedure.
    pub failback: Option<String>,
    /// One line each: what was kept as a comment, left out or made up.
    pub warnings: Vec<String>,
}

/// The member written for a role the document names without members.
pub const PLACEHOLDER: &str = "unassigned";

/// Converts `doc` into the runbook `name` (and `NAME-failback`).
pub fn convert(doc: &DrPlan, name: &str) -> Imported {
    let mut warnings = Vec::new();
    let head = header::header(doc, &mut warnings);
    let procedures = doc.procedures.clone().unwrap_or_default();
    let failover = procedures.failover.clone().unwrap_or_default();
    let stakeholders = doc.contacts.as_ref().map(|c| c.stakeholders.as_slice()).unwrap_or_default();
    let auth = failover.manual_trigger.as_ref().and_then(|m| m.authorization_required.as_deref());
    let roles = auth.map(|a| steps::authorization(a, stakeholders)).unwrap_or_default();
    let mut body = head.clone();
    if !roles.is_empty() {
        body.push_str("\n  roles {\n");
        let mut unassigned = Vec::new();
        for r in &roles {
            let members = if r.members.is_empty() {
                unassigned.push(r.name.clone());
                vec![format!("{PLACEHOLDER}-{}", r.name)]
            } else {
                r.members.clone()
            };
            let list: Vec<String> = members.iter().map(|m| quote(m)).collect();
            body.push_str(&format!("    {} = [{}]\n", r.name, list.join(", ")));
        }
        body.push_str("  }\n");
        if !unassigned.is_empty() {
            warnings.push(format!(
                "roles {} have no members in the document: `{PLACEHOLDER}-ROLE` stands in; put the people who may approve in `roles {{ }}`",
                unassigned.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    body.push_str(&header::objectives(doc, &mut warnings));
    body.push_str(&header::drills(doc, &mut warnings));
    body.push_str(&comments(&failover));
    let gate = (!roles.is_empty()).then(|| roles.iter().map(|r| r.name.clone()).collect());
    let services = doc
        .recovery_objectives
        .as_ref()
        .map(|r| {
            r.by_service
                .iter()
                .map(|s| s.service.clone())
                .filter(|s| !s.trim().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let set = steps::Settings { procedure: "failover", gate, first: None, services };
    let main = steps::steps(&failover.steps, &set);
    body.push_str(&main.text);
    let mut prose = main.prose_durations;
    let failback = procedures.failback.as_ref().map(|fb| {
        let first = (!fb.prerequisites.is_empty()).then(|| {
            (
                "prerequisites".to_string(),
                "Confirm the failback prerequisites".to_string(),
                fb.prerequisites.join("; "),
            )
        });
        let set =
            steps::Settings { procedure: "failback", gate: None, first, services: Vec::new() };
        let out = steps::steps(&fb.steps, &set);
        prose.extend(out.prose_durations);
        let owner =
            doc.metadata.as_ref().and_then(|m| m.owner.as_deref()).filter(|o| !o.trim().is_empty());
        let owner = owner.map(|o| format!("  owner {}\n", quote(o.trim()))).unwrap_or_default();
        format!(
            "runbook {} {{\n  title \"Fail back to the primary\"\n{owner}{}}}\n",
            quote(&format!("{name}-failback")),
            out.text
        )
    });
    if !prose.is_empty() {
        warnings.insert(
            0,
            format!(
                "durations that are not lengths were kept as `# duration:` comments: {}",
                prose.join(", ")
            ),
        );
    }
    Imported { runbook: format!("runbook {} {{\n{body}}}\n", quote(name)), failback, warnings }
}

/// The trigger's conditions and command, which the runbook does not encode, as comments.
fn comments(p: &Procedure) -> String {
    let mut lines = Vec::new();
    if let Some(t) = p.automated_trigger.as_ref().filter(|t| t.enabled) {
        for c in &t.conditions {
            lines.push(format!("  # automated trigger: {}\n", crate::diag::printable(c)));
        }
    }
    if let Some(c) = p.manual_trigger.as_ref().and_then(|m| m.command.as_deref()) {
        lines.push(format!("  # manual trigger: {}\n", crate::diag::printable(c)));
    }
    if lines.is_empty() {
        String::new()
    } else {
        format!("\n{}", lines.concat())
    }
}

/// Generated text that drbook's front end refused: the text and what it said.
pub struct Refused {
    pub sources: Sources,
    pub diags: Vec<Diagnostic>,
}

/// Formats `text` (shown as `label`) with drbook's formatter and checks it; the formatted text
/// when it has no errors.
pub fn finish(label: &str, text: &str, opts: &Options) -> Result<String, Refused> {
    let mut sources = Sources::new();
    let id = sources.add(label.to_string(), None, text.into());
    let (parsed, diags) = syntax::parse(text, id);
    let parsed = match parsed {
        Some(p) if diags.is_empty() => p,
        _ => return Err(Refused { sources, diags }),
    };
    let formatted = syntax::fmt::format(text, &parsed);
    let mut loaded = crate::load::load_text(label, None, formatted.as_str().into());
    let checked = check::check(&mut loaded, opts);
    if checked.errors() > 0 {
        let diags = checked.diags.into_iter().filter(Diagnostic::is_error).collect();
        return Err(Refused { sources: loaded.sources, diags });
    }
    Ok(formatted)
}

#[cfg(test)]
mod tests;
