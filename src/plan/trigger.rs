//! The plan's view of the `trigger { }` block: when `drbook watch` would start a run by itself.
//!
//! Input: the checked [`model::Trigger`] and the plan's text resolver (params filled in,
//! secrets as `<secret:NAME>`, `${trigger.*}` kept as placeholders). Output: [`PlanTrigger`],
//! pure data serialized as the plan JSON's `trigger` object, and [`PlanTrigger::facts`], the
//! labelled lines the text and markdown renderers both print, so they say the same thing.

use serde::Serialize;

use crate::model::trigger::{Requires, Trigger};

use super::resolve::Ctx;
use super::{human, seconds, OrderedMap, PlanAction};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanTrigger {
    pub probes: Vec<PlanProbe>,
    /// The interval between the starts of two rounds.
    pub every_seconds: u64,
    /// Consecutive failed rounds before the trigger fires.
    pub failures: u32,
    /// A round fails when at least this many of the probes fail.
    pub quorum: u32,
    pub cooldown_seconds: u64,
    pub rpo_gate: Option<PlanRpoGate>,
    pub requires: PlanRequires,
    /// The params the run gets, rendered.
    pub params: OrderedMap<String>,
    /// Where every transition is posted (`<secret:NAME>` for a secret).
    pub notify: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanProbe {
    pub name: String,
    pub timeout_seconds: u64,
    pub action: PlanAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanRpoGate {
    pub step: String,
    pub capture: String,
}

/// What firing needs: `{"kind": "approval", "by": [...], "timeout_seconds": ...}` or
/// `{"kind": "auto"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanRequires {
    Approval { by: Vec<String>, timeout_seconds: Option<u64> },
    Auto,
}

pub(super) fn build(t: &Trigger, ctx: &Ctx, step_id: impl Fn(usize) -> String) -> PlanTrigger {
    PlanTrigger {
        probes: t
            .probes
            .iter()
            .map(|p| PlanProbe {
                name: p.name.clone(),
                timeout_seconds: seconds(p.timeout),
                action: ctx.action(&p.action),
            })
            .collect(),
        every_seconds: seconds(t.every),
        failures: t.failures,
        quorum: t.quorum,
        cooldown_seconds: seconds(t.cooldown),
        rpo_gate: t
            .rpo_gate
            .as_ref()
            .map(|g| PlanRpoGate { step: step_id(g.step), capture: g.capture.clone() }),
        requires: match &t.requires {
            Requires::Approval(a) => PlanRequires::Approval {
                by: a.roles.clone(),
                timeout_seconds: a.timeout.map(seconds),
            },
            Requires::Auto => PlanRequires::Auto,
        },
        params: OrderedMap(t.params.iter().map(|(k, v)| (k.clone(), ctx.text(v))).collect()),
        notify: t.notify.as_ref().map(|n| ctx.text(n)),
    }
}

/// One labelled fact of the trigger section; `code` when the value is runbook text (an
/// action, a param value, a URL) that markdown shows as code. A probe's script is given in
/// full and may span lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub label: String,
    pub value: String,
    pub code: bool,
}

impl PlanTrigger {
    /// The lines a reviewer reads, in a fixed order: when it fires, the probes, the cooldown,
    /// the RPO gate, what firing needs, the params, where it reports.
    pub fn facts(&self, rpo_seconds: Option<u64>) -> Vec<Fact> {
        let fact =
            |label: &str, value: String, code: bool| Fact { label: label.to_string(), value, code };
        let mut out = vec![
            fact(
                "fires",
                format!(
                    "after {} consecutive failed {}, one round every {}",
                    self.failures,
                    if self.failures == 1 { "round" } else { "rounds" },
                    human(self.every_seconds)
                ),
                false,
            ),
            fact(
                "round fails",
                format!("when {} of {} probes fail", self.quorum, self.probes.len()),
                false,
            ),
        ];
        for p in &self.probes {
            out.push(fact(
                &format!("probe {} (timeout {})", p.name, human(p.timeout_seconds)),
                p.action.describe(),
                true,
            ));
        }
        out.push(fact(
            "cooldown",
            format!(
                "{} (no new failover within this long of the last one)",
                human(self.cooldown_seconds)
            ),
            false,
        ));
        let rpo = rpo_seconds.map_or_else(|| "rpo".to_string(), |s| format!("rpo {}", human(s)));
        out.push(fact(
            "rpo gate",
            match &self.rpo_gate {
                Some(g) => format!(
                    "step {} (capture {}) runs first; a lag over {rpo} blocks the failover",
                    g.step, g.capture
                ),
                None => "none: the replication lag is not measured before firing".to_string(),
            },
            false,
        ));
        out.push(fact("requires", self.requires_text(), false));
        for (k, v) in &self.params.0 {
            out.push(fact(&format!("param {k}"), v.clone(), true));
        }
        if let Some(n) = &self.notify {
            out.push(fact("notify", n.clone(), true));
        }
        out
    }

    /// `approval by lead + manager (timeout 15m)`, `approval by anyone` or `auto: ...`.
    pub fn requires_text(&self) -> String {
        match &self.requires {
            PlanRequires::Approval { by, timeout_seconds } => {
                let who = if by.is_empty() { "anyone".to_string() } else { by.join(" + ") };
                let timeout =
                    timeout_seconds.map_or(String::new(), |t| format!(" (timeout {})", human(t)));
                format!("approval by {who}{timeout}")
            }
            PlanRequires::Auto => "auto: fires without a person, only after a successful full or partial drill within the drill schedule".to_string(),
        }
    }
}
