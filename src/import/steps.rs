//! A procedure's steps as drbook steps: ids from the action text (or `x-drbook.id`), each
//! needing the one before it (or `x-drbook.needs`), `run` for a command, `manual` otherwise,
//! `duration` when the prose is a plain length and a `# duration:` comment when it is not.
//! Also who authorizes the failover (`roles { }` and the two-person gate).

use super::text::{duration, quote, slug, unique};
use crate::drplan::{prose, ProcedureStep, Stakeholder};

/// A role named by `authorization_required`, with its members when known.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub name: String,
    pub members: Vec<String>,
}

/// Reads `"On-call lead + Engineering manager"` or export's `"lead (alice, bob) + manager"`
/// into roles (`on_call_lead`, `engineering_manager`), members from the text or from a
/// stakeholder of that role with `x-drbook-members`. `"any one person"` is no role.
pub fn authorization(text: &str, stakeholders: &[Stakeholder]) -> Vec<Role> {
    let mut roles: Vec<Role> = Vec::new();
    for part in parts(text) {
        let part = part.trim();
        let (name, members) = match part.split_once('(') {
            Some((n, rest)) => {
                let inner = rest.trim_end_matches(')');
                (
                    n.trim(),
                    inner.split_whitespace().map(|m| m.trim_matches(',').to_string()).collect(),
                )
            }
            None => (part, Vec::new()),
        };
        if name.is_empty() || name.eq_ignore_ascii_case("any one person") {
            continue;
        }
        let id = slug_all(name);
        if id.is_empty() || roles.iter().any(|r| r.name == id) {
            continue;
        }
        let members = if members.iter().any(|m: &String| !m.is_empty()) {
            members.into_iter().filter(|m| !m.is_empty()).collect()
        } else {
            stakeholders
                .iter()
                .find(|s| slug_all(&s.role) == id)
                .map(|s| s.x_members.clone())
                .unwrap_or_default()
        };
        roles.push(Role { name: id, members });
    }
    roles
}

/// `text` split at `+`, `,`, `&` and ` and ` outside parentheses.
fn parts(text: &str) -> Vec<String> {
    let text = text.replace(" and ", " + ");
    let mut out = vec![String::new()];
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '+' | ',' | '&' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

/// Every word of a role's name: `"On-call lead"` → `on_call_lead`.
fn slug_all(s: &str) -> String {
    let words: Vec<String> = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    super::text::ident(&words.join("_"), "")
}

/// What the steps of a procedure became.
pub struct Steps {
    pub text: String,
    /// `step N (\`prose\`)` for each duration kept as a comment.
    pub prose_durations: Vec<String>,
}

/// How the steps are written.
pub struct Settings<'a> {
    /// Named in the prose-duration list: `failover`, `failback`.
    pub procedure: &'a str,
    /// The gate for the first step with a command, when the document asks for one.
    pub gate: Option<Vec<String>>,
    /// A first `manual` step (id, title, instructions), e.g. failback's prerequisites.
    pub first: Option<(String, String, String)>,
    /// The services of the runbook's `objectives`: `x-drbook.restores` naming others is dropped.
    pub services: Vec<String>,
}

/// Writes `steps` (two-space indented, inside the runbook block).
pub fn steps(steps: &[ProcedureStep], set: &Settings) -> Steps {
    let mut out = String::new();
    let mut taken: Vec<String> = Vec::new();
    let mut prose_durations = Vec::new();
    let mut previous: Option<String> = None;
    if let Some((id, title, instructions)) = &set.first {
        let id = unique(id.clone(), &mut taken);
        out.push_str(&format!(
            "\n  step {id} {} {{\n    manual {}\n  }}\n",
            quote(title),
            quote(instructions)
        ));
        previous = Some(id);
    }
    let any_x_gate =
        steps.iter().any(|s| s.x_drbook.as_ref().is_some_and(|x| !x.approval.is_empty()));
    let mut gate = if any_x_gate { None } else { set.gate.clone() };
    // `x-drbook.needs` naming no step of the document would not check: such names are dropped.
    let known: Vec<String> =
        steps.iter().filter_map(|s| s.x_drbook.as_ref()).map(|x| x.id.clone()).collect();
    for (n, s) in steps.iter().enumerate() {
        let x = s.x_drbook.as_ref();
        let action = s.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
        let fallback = format!("step_{}", n + 1);
        let wanted = x
            .map(|x| x.id.clone())
            .filter(|id| crate::syntax::strings::is_ident(id))
            .unwrap_or_else(|| slug(action.unwrap_or(""), &fallback));
        let id = unique(wanted, &mut taken);
        let title = action.map(|a| format!(" {}", quote(a))).unwrap_or_default();
        out.push_str(&format!("\n  step {id}{title} {{\n"));
        // With x-drbook ids the dependencies are the document's own, not its order.
        let needs: Vec<String> = match x.filter(|x| !x.id.is_empty()) {
            Some(x) => x.needs.iter().filter(|n| known.contains(n)).cloned().collect(),
            None => previous.iter().cloned().collect(),
        };
        if !needs.is_empty() {
            out.push_str(&format!("    needs {}\n", needs.join(", ")));
        }
        if let Some(o) = s.owner.as_deref().filter(|o| !o.trim().is_empty()) {
            out.push_str(&format!("    owner {}\n", quote(o.trim())));
        }
        if let Some(d) = s.duration.as_deref().map(str::trim) {
            match prose::parse_duration(d) {
                Some(ms) => out.push_str(&format!("    duration {}\n", duration(ms))),
                None => {
                    out.push_str(&format!("    # duration: {}\n", crate::diag::printable(d)));
                    prose_durations.push(format!("{} step {} (`{d}`)", set.procedure, s.step));
                }
            }
        }
        let restores = x.map(|x| x.restores.as_slice()).unwrap_or_default();
        for r in restores.iter().filter(|r| set.services.contains(r)) {
            out.push_str(&format!("    restores {}\n", quote(r)));
        }
        if x.is_some_and(|x| x.safe) {
            out.push_str("    safe\n");
        }
        let by = match x.filter(|x| !x.approval.is_empty()) {
            Some(x) => Some(x.approval.clone()),
            None if s.command.is_some() => gate.take(),
            None => None,
        };
        match by {
            Some(by) if by.iter().all(|r| r == "any") || by.is_empty() => {
                out.push_str("    approval { }\n")
            }
            Some(by) => out.push_str(&format!("    approval {{ by {} }}\n", by.join(", "))),
            None => {}
        }
        let kind = x.and_then(|x| x.kind.as_deref());
        match (&s.command, kind) {
            (Some(c), None | Some("run")) => out.push_str(&format!("    run {}\n", quote(c))),
            (Some(c), Some(k)) => {
                out.push_str(&format!(
                    "    # was a `{k}` action: {}\n",
                    crate::diag::printable(&c.replace('\n', " "))
                ));
                out.push_str(&format!(
                    "    manual {}\n",
                    quote(&format!("{}: {c}", action.unwrap_or("do")))
                ));
            }
            (None, _) => {
                let text =
                    x.and_then(|x| x.instructions.as_deref()).or(action).unwrap_or("Do this step");
                out.push_str(&format!("    manual {}\n", quote(text)));
            }
        }
        out.push_str("  }\n");
        previous = Some(id);
    }
    Steps { text: out, prose_durations }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_authorization_names_two_roles() {
        let roles = authorization("On-call lead + Engineering manager", &[]);
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["on_call_lead", "engineering_manager"]);
        assert!(roles.iter().all(|r| r.members.is_empty()));
    }

    #[test]
    fn members_come_from_the_text_or_the_stakeholders() {
        let st = [Stakeholder {
            role: "manager".into(),
            contact: None,
            x_members: vec!["carol".into()],
        }];
        let roles = authorization("lead (alice, bob) + manager", &st);
        assert_eq!(
            roles[0],
            Role { name: "lead".into(), members: vec!["alice".into(), "bob".into()] }
        );
        assert_eq!(roles[1].members, ["carol"]);
        assert!(authorization("any one person", &[]).is_empty());
    }

    #[test]
    fn x_drbook_ids_and_needs_are_kept_and_unknown_needs_dropped() {
        let x = |id: &str, needs: &[&str]| {
            Some(crate::drplan::XStep {
                id: id.into(),
                needs: needs.iter().map(|n| n.to_string()).collect(),
                ..Default::default()
            })
        };
        let a = ProcedureStep {
            step: 1,
            action: Some("A".into()),
            x_drbook: x("first", &[]),
            ..Default::default()
        };
        let b = ProcedureStep {
            step: 2,
            action: Some("B".into()),
            x_drbook: x("second", &[]),
            ..Default::default()
        };
        let c = ProcedureStep {
            step: 3,
            action: Some("C".into()),
            x_drbook: x("third", &["first", "nope"]),
            ..Default::default()
        };
        let out = steps(
            &[a, b, c],
            &Settings { procedure: "failover", gate: None, first: None, services: Vec::new() },
        );
        assert!(out.text.contains("step second \"B\" {\n    manual"), "{}", out.text);
        assert!(out.text.contains("step third \"C\" {\n    needs first\n"), "{}", out.text);
    }

    #[test]
    fn prose_durations_become_comments() {
        let s = ProcedureStep {
            step: 1,
            action: Some("Announce".into()),
            duration: Some("24 hours before".into()),
            ..Default::default()
        };
        let t = ProcedureStep {
            step: 2,
            action: Some("Go".into()),
            duration: Some("1 hour".into()),
            command: Some("x \"y\"".into()),
            ..Default::default()
        };
        let out = steps(
            &[s, t],
            &Settings {
                procedure: "failback",
                gate: Some(vec!["a".into(), "b".into()]),
                first: None,
                services: Vec::new(),
            },
        );
        assert_eq!(out.prose_durations, ["failback step 1 (`24 hours before`)"]);
        assert!(out.text.contains("# duration: 24 hours before"), "{}", out.text);
        assert!(out.text.contains("needs announce\n"), "{}", out.text);
        assert!(out.text.contains("duration 1h\n"), "{}", out.text);
        assert!(out.text.contains("approval { by a, b }"), "{}", out.text);
        assert!(out.text.contains(r#"run "x \"y\"""#), "{}", out.text);
    }
}
