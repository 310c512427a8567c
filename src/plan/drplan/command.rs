//! The pieces of the DR plan document that say what a person does: a step's `command` (one
//! per action kind), the manual trigger's `authorization_required`, and the automated
//! trigger's conditions in prose.
//!
//! Input is the plan's already rendered data (params filled in, secrets `<secret:NAME>`), so
//! nothing here can reveal a secret.

use crate::drplan::prose;
use crate::model::Role;
use crate::plan::trigger::PlanTrigger;
use crate::plan::{human, PlanAction, PlanStep};

/// The `command` of a step whose action is `action`: a `run` script as written, `http` as
/// `METHOD URL`, ssm and notify as a readable one-liner, `wait 5m`; `None` for `manual` (a
/// person acts; the instructions are the step's action text).
pub fn command(action: &PlanAction) -> Option<String> {
    Some(match action {
        PlanAction::Run { script } => script.trim_end().to_string(),
        PlanAction::Http { method, url, .. } => format!("{method} {url}"),
        PlanAction::Wait { seconds } => format!("wait {}", human(*seconds)),
        PlanAction::Manual { .. } => return None,
        other => one_line(&other.describe()),
    })
}

/// Every line trimmed and joined by one space.
fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Who must authorize the failover: the roles of every gate, in the order they first appear,
/// each with its members when `roles { }` names them: `lead (alice, bob) + manager (carol)`.
/// A bare `approval` (no roles) is `any one person`. `None` without a gate.
pub fn authorization(steps: &[PlanStep], roles: Option<&[Role]>) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    let mut any = false;
    for a in steps.iter().filter_map(|s| s.approval.as_ref()) {
        any = true;
        for r in &a.by {
            if !names.contains(&r.as_str()) {
                names.push(r);
            }
        }
    }
    if !any {
        return None;
    }
    if names.is_empty() {
        return Some("any one person".to_string());
    }
    let parts: Vec<String> = names
        .iter()
        .map(|n| {
            let members = roles
                .and_then(|rs| rs.iter().find(|r| r.name == *n))
                .map(|r| r.members.join(", "))
                .filter(|m| !m.is_empty());
            match members {
                Some(m) => format!("{n} ({m})"),
                None => n.to_string(),
            }
        })
        .collect();
    Some(parts.join(" + "))
}

/// The automated trigger's conditions, one sentence each: every probe, when a round fails,
/// how many rounds fire it, the cooldown, the RPO gate, what firing needs.
pub fn conditions(t: &PlanTrigger) -> Vec<String> {
    let secs = |s: u64| prose::duration(s * 1000);
    let mut out: Vec<String> = t
        .probes
        .iter()
        .map(|p| {
            format!(
                "Probe {} fails ({}; timeout {})",
                p.name,
                one_line(&p.action.describe()),
                secs(p.timeout_seconds)
            )
        })
        .collect();
    out.push(format!("A round fails when {} of {} probes fail", t.quorum, t.probes.len()));
    out.push(format!(
        "{} consecutive failed {}, one round every {}",
        t.failures,
        if t.failures == 1 { "round" } else { "rounds" },
        secs(t.every_seconds)
    ));
    out.push(format!("No new failover within {} of the last one", secs(t.cooldown_seconds)));
    if let Some(g) = &t.rpo_gate {
        out.push(format!(
            "Replication lag (step {}, capture {}) within the RPO before firing",
            g.step, g.capture
        ));
    }
    out.push(format!("Requires {}", t.requires_text()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_kind_has_its_command() {
        let run = PlanAction::Run { script: "systemctl start api\n".into() };
        assert_eq!(command(&run).as_deref(), Some("systemctl start api"));
        let http = PlanAction::Http {
            method: "GET".into(),
            url: "https://api.example.com/health".into(),
            headers: Default::default(),
            body: None,
            status: vec!["200".into()],
            body_contains: None,
        };
        assert_eq!(command(&http).as_deref(), Some("GET https://api.example.com/health"));
        assert_eq!(command(&PlanAction::Wait { seconds: 300 }).as_deref(), Some("wait 5m"));
        let manual = PlanAction::Manual { instructions: "Post the update".into() };
        assert_eq!(command(&manual), None, "a person acts: no command");
        let notify =
            PlanAction::Notify { url: "<secret:hook>".into(), text: "failover started".into() };
        let line = command(&notify).expect("notify has a command");
        assert!(!line.contains('\n') && line.contains("<secret:hook>"), "{line}");
        for (action, k) in
            [(&run, "run"), (&http, "http"), (&manual, "manual"), (&notify, "notify")]
        {
            assert_eq!(action.kind(), k);
        }
    }

    #[test]
    fn one_line_joins_trimmed_lines() {
        assert_eq!(one_line("  a\n\n   b  \n c"), "a b c");
    }
}
