//! Risk labels: the changes a reviewer of a runbook must not miss, computed from the two views.
//!
//! Kinds are stable snake_case strings (README lists them): `approval_removed`,
//! `two_person_gate_reduced`, `role_widened`, `rollback_removed`, `made_non_idempotent`,
//! `check_removed`, `measure_rpo_removed`, `timeout_removed`, `on_failure_continue`,
//! `unguarded_side_effect`, and for the `trigger { }` block (firing becomes easier):
//! `trigger_added`, `trigger_auto`, `trigger_approval_reduced`, `trigger_fewer_failures`,
//! `trigger_quorum_reduced`, `trigger_cooldown_shortened`, `trigger_rpo_gate_removed`, and for
//! `objectives { }` (a service's promise weakened): `service_removed`,
//! `service_objective_loosened` (its `rto` or `rpo` raised or dropped), `restores_removed`.

use std::collections::HashMap;

use serde::Serialize;

use crate::model::FailurePolicy;
use crate::plan::trigger::{PlanRequires, PlanTrigger};

use super::view::{StepView, View};

/// One risk; `step` is `null` for a header risk.
#[derive(Clone, Debug, Serialize)]
pub struct Risk {
    pub kind: &'static str,
    pub step: Option<String>,
    pub message: String,
}

fn risk(kind: &'static str, step: &str, message: String) -> Risk {
    Risk { kind, step: Some(step.to_string()), message }
}

pub(super) fn risks(old: &View, new: &View, old_ids: &HashMap<&str, usize>) -> Vec<Risk> {
    let mut out = roles(old, new);
    trigger(old.trigger.as_ref(), new.trigger.as_ref(), &mut out);
    services(old, new, &mut out);
    for s in &new.steps {
        match old_ids.get(s.id.as_str()) {
            Some(&i) => {
                changed(&old.steps[i], s, &mut out);
                restores(&old.steps[i], s, new, &mut out);
            }
            None => added(s, &mut out),
        }
    }
    // A removed step that restored a service still declared: the service lost a step.
    for o in old.steps.iter().filter(|o| !new.steps.iter().any(|n| n.id == o.id)) {
        for svc in o.restores.iter().filter(|r| new.services.iter().any(|(n, _, _)| n == *r)) {
            out.push(risk(
                "restores_removed",
                &o.id,
                format!(
                    "step `{}` was removed and no longer restores `{svc}`: the service counts as restored without it",
                    o.id
                ),
            ));
        }
    }
    out
}

fn changed(o: &StepView, n: &StepView, out: &mut Vec<Risk>) {
    let id = n.id.as_str();
    match (&o.approval, &n.approval) {
        (Some(_), None) => out.push(risk(
            "approval_removed",
            id,
            format!("step `{id}` no longer waits for an approval"),
        )),
        (Some(a), Some(b)) if a.len() >= 2 && b.len() < 2 => out.push(risk(
            "two_person_gate_reduced",
            id,
            format!(
                "step `{id}`'s gate needed {} roles ({}), now one ({})",
                a.len(),
                a.join(", "),
                b.join(", ")
            ),
        )),
        _ => {}
    }
    if o.rollback && !n.rollback {
        out.push(risk("rollback_removed", id, format!("step `{id}` can no longer be undone")));
    }
    if o.idempotent && !n.idempotent {
        out.push(risk(
            "made_non_idempotent",
            id,
            format!("step `{id}` is no longer idempotent: a retry or resume may repeat its effect"),
        ));
    }
    for c in o.checks.iter().filter(|c| !n.checks.contains(c)) {
        out.push(risk("check_removed", id, format!("step `{id}` no longer checks `{c}`")));
    }
    if o.measure_rpo.is_some() && n.measure_rpo.is_none() {
        out.push(risk(
            "measure_rpo_removed",
            id,
            format!("step `{id}` no longer measures the RPO: the run can no longer prove it"),
        ));
    }
    if o.timeout && !n.timeout {
        out.push(risk("timeout_removed", id, format!("step `{id}` has no timeout any more")));
    }
    if o.on_failure != FailurePolicy::Continue && n.on_failure == FailurePolicy::Continue {
        out.push(risk(
            "on_failure_continue",
            id,
            format!("a failure of step `{id}` no longer stops the run"),
        ));
    }
}

/// A service removed from `objectives { }`, or its `rto`/`rpo` raised or dropped.
fn services(old: &View, new: &View, out: &mut Vec<Risk>) {
    let header = |kind: &'static str, message: String| Risk { kind, step: None, message };
    let human = |s: Option<u64>| s.map_or_else(|| "none".to_string(), crate::plan::human);
    // Raised, or dropped (no objective at all is the loosest).
    let loosened = |o: Option<u64>, n: Option<u64>| match (o, n) {
        (Some(o), Some(n)) => n > o,
        (Some(_), None) => true,
        _ => false,
    };
    for (name, rto, rpo) in &old.services {
        let Some((_, n_rto, n_rpo)) = new.services.iter().find(|(n, _, _)| n == name) else {
            out.push(header(
                "service_removed",
                format!(
                    "service `{name}` was removed from `objectives`: its RTO is no longer judged"
                ),
            ));
            continue;
        };
        for (what, o, n) in [("rto", rto, n_rto), ("rpo", rpo, n_rpo)] {
            if loosened(*o, *n) {
                out.push(header(
                    "service_objective_loosened",
                    format!("service `{name}`'s {what} is {}, was {}", human(*n), human(*o)),
                ));
            }
        }
    }
}

/// A step that no longer restores a service it restored (and that still exists).
fn restores(o: &StepView, n: &StepView, new: &View, out: &mut Vec<Risk>) {
    let id = n.id.as_str();
    for svc in o.restores.iter().filter(|r| !n.restores.contains(r)) {
        if new.services.iter().any(|(name, _, _)| name == svc) {
            out.push(risk(
                "restores_removed",
                id,
                format!("step `{id}` no longer restores `{svc}`: the service counts as restored without it"),
            ));
        }
    }
}

fn added(n: &StepView, out: &mut Vec<Risk>) {
    let id = n.id.as_str();
    if n.side_effects && !n.rollback && !n.idempotent {
        out.push(risk(
            "unguarded_side_effect",
            id,
            format!("new step `{id}` has side effects and neither a rollback nor `idempotent`"),
        ));
    }
}

/// Who gained the right to approve: a role's new members, or a whole `roles` block removed
/// (then anyone may approve), or the initiator allowed to approve again.
fn roles(old: &View, new: &View) -> Vec<Risk> {
    let header = |message: String| Risk { kind: "role_widened", step: None, message };
    let mut out = Vec::new();
    match (&old.roles, &new.roles) {
        (Some(_), None) => {
            out.push(header("the `roles` block was removed: anyone may approve any gate".into()))
        }
        (Some(o), Some(n)) => {
            for (name, members) in n {
                let Some((_, before)) = o.iter().find(|(r, _)| r == name) else { continue };
                let gained: Vec<&str> =
                    members.iter().filter(|m| !before.contains(m)).map(String::as_str).collect();
                if !gained.is_empty() {
                    out.push(header(format!("role `{name}` gained {}", gained.join(", "))));
                }
            }
        }
        _ => {}
    }
    if old.exclude_initiator && !new.exclude_initiator {
        out.push(header("the initiator of a run may approve its gates again".into()));
    }
    out
}

/// Changes that make the trigger fire more easily (or at all).
fn trigger(old: Option<&PlanTrigger>, new: Option<&PlanTrigger>, out: &mut Vec<Risk>) {
    let mut push = |kind: &'static str, message: String| {
        out.push(Risk { kind, step: None, message });
    };
    let Some(n) = new else { return };
    let Some(o) = old else {
        push(
            "trigger_added",
            "the runbook gained a `trigger`: `drbook watch` may now start it".into(),
        );
        if n.requires == PlanRequires::Auto {
            push("trigger_auto", "the new trigger fires without a person (`requires auto`)".into());
        }
        return;
    };
    match (&o.requires, &n.requires) {
        (PlanRequires::Approval { .. }, PlanRequires::Auto) => push(
            "trigger_auto",
            "the trigger no longer waits for an approval: it fires by itself (`requires auto`)"
                .into(),
        ),
        (PlanRequires::Approval { by: a, .. }, PlanRequires::Approval { by: b, .. })
            if b.len() < a.len() =>
        {
            let who = |r: &[String]| if r.is_empty() { "anyone".to_string() } else { r.join(", ") };
            push(
                "trigger_approval_reduced",
                format!(
                    "the trigger's approval needed {} ({}), now {} ({})",
                    a.len(),
                    who(a),
                    b.len(),
                    who(b)
                ),
            )
        }
        _ => {}
    }
    if n.failures < o.failures {
        push(
            "trigger_fewer_failures",
            format!("the trigger fires after {} failed rounds, was {}", n.failures, o.failures),
        );
    }
    if n.quorum < o.quorum {
        push(
            "trigger_quorum_reduced",
            format!(
                "a round fails when {} of {} probes fail, was {} of {}",
                n.quorum,
                n.probes.len(),
                o.quorum,
                o.probes.len()
            ),
        );
    }
    if n.cooldown_seconds < o.cooldown_seconds {
        push(
            "trigger_cooldown_shortened",
            format!(
                "the cooldown between failovers is {}, was {}",
                crate::plan::human(n.cooldown_seconds),
                crate::plan::human(o.cooldown_seconds)
            ),
        );
    }
    if o.rpo_gate.is_some() && n.rpo_gate.is_none() {
        push(
            "trigger_rpo_gate_removed",
            "the trigger no longer measures the replication lag before it fires".into(),
        );
    }
}
