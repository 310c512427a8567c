//! The DR plan renderer: a runbook and its [`Plan`] as the DR planning guide's
//! `disaster-recovery-plan.yaml` document ([`DrPlan`]), for `drbook export --format dr-plan`.
//!
//! Input: the checked [`model::Runbook`], its [`Plan`] (already rendered: params filled in,
//! secrets `<secret:NAME>`) and the runbook file's content hash. Output: a [`DrPlan`] value,
//! serialized by [`to_yaml`]. Keys and layout are the guide's; what only drbook knows goes
//! under `x-drbook`. Nothing depends on the clock, so the same runbook gives the same bytes.
//!
//! - failover steps are the plan's waves flattened (a topological order), numbered from 1;
//! - failback steps are the rollback actions in undo order (that order reversed);
//! - sections the runbook says nothing about are left out (scope, architecture): never invented.

pub mod command;

use std::collections::HashMap;

use crate::advise::{self, Strategy};
use crate::drplan::{self, prose, DrPlan};
use crate::model::{self, DrillKind};
use crate::plan::{human_ms, Budget, Plan, PlanAction, PlanStep};

/// The document for `rb` and its plan; `content_hash` is the SHA-256 of the runbook file.
pub fn build(rb: &model::Runbook, plan: &Plan, content_hash: &str) -> DrPlan {
    let order = topological(plan);
    DrPlan {
        metadata: Some(drplan::Metadata {
            document_version: Some(content_hash.to_string()),
            last_updated: rb.reviewed.map(|d| d.to_string()),
            owner: rb.owner.clone(),
            review_frequency: rb.review_every.map(prose::cadence),
        }),
        executive_summary: Some(summary(rb, plan)),
        scope: None,
        recovery_objectives: Some(objectives(rb, plan)),
        architecture: None,
        procedures: Some(drplan::Procedures {
            failover: Some(failover(rb, plan, &order)),
            failback: failback(&order),
        }),
        testing: testing(rb, plan),
        contacts: contacts(rb),
        x_drbook: Some(drplan::XDrbook {
            runbook: rb.name.clone(),
            title: rb.title.clone(),
            content_hash: content_hash.to_string(),
            rto: rb.rto.map(human_ms),
            rpo: rb.rpo.map(human_ms),
            tier: rb.tier.clone(),
            critical_path: plan.critical_path.clone(),
            budget: Some(budget(plan.budget).to_string()),
        }),
    }
}

/// The document as YAML text.
pub fn to_yaml(doc: &DrPlan) -> Result<String, String> {
    serde_saphyr::to_string(doc).map_err(|e| format!("cannot write the DR plan: {e}"))
}

fn budget(b: Budget) -> &'static str {
    match b {
        Budget::Within => "within",
        Budget::Over => "over",
        Budget::Unknown => "no_budget",
    }
}

/// The plan's forward steps in a topological order: the waves, flattened.
fn topological(plan: &Plan) -> Vec<&PlanStep> {
    let by_id: HashMap<&str, &PlanStep> = plan.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    plan.waves.iter().flatten().filter_map(|id| by_id.get(id.as_str()).copied()).collect()
}

fn summary(rb: &model::Runbook, plan: &Plan) -> drplan::ExecutiveSummary {
    let advice = rb.impact.as_ref().and_then(|i| advise::advise(&i.impact()).ok());
    let dr_strategy = match &advice {
        Some(a) => Some(strategy_prose(a.recommended_strategy).to_string()),
        None => rb.tier.as_deref().and_then(tier_strategy).map(str::to_string),
    };
    drplan::ExecutiveSummary {
        description: rb.description.clone().or_else(|| rb.title.clone()),
        key_metrics: Some(drplan::KeyMetrics {
            rto_target: rb.rto.map(prose::duration),
            rpo_target: rb.rpo.map(prose::duration),
            dr_strategy,
            estimated_annual_cost: advice.map(|a| a.estimated_annual_cost.name().replace('_', " ")),
            x_estimated_rto: Some(prose::duration(plan.estimated_rto_seconds * 1000)),
        }),
    }
}

/// The standby strategy a `tier` label names, if it names one.
pub fn tier_strategy(tier: &str) -> Option<&'static str> {
    Some(match tier.to_ascii_lowercase().as_str() {
        "critical" | "hot" => "hot standby",
        "important" | "warm" => "warm standby",
        "standard" | "cold" => "cold standby",
        _ => return None,
    })
}

/// The advisor's strategy in the template's words.
pub fn strategy_prose(s: Strategy) -> &'static str {
    match s {
        Strategy::HotStandbySyncReplication => "hot standby (synchronous replication)",
        Strategy::HotStandbyAsyncReplication => "hot standby (asynchronous replication)",
        Strategy::WarmStandby => "warm standby",
        Strategy::ColdStandby => "cold standby",
    }
}

fn objectives(rb: &model::Runbook, plan: &Plan) -> drplan::RecoveryObjectives {
    let secs = |s: u64| prose::duration(s * 1000);
    let by_service = if plan.services.is_empty() {
        vec![drplan::ServiceEntry {
            service: rb.name.clone(),
            rto: rb.rto.map(prose::duration),
            rpo: rb.rpo.map(prose::duration),
            tier: rb.tier.clone(),
            x_estimated_rto: Some(secs(plan.estimated_rto_seconds)),
        }]
    } else {
        plan.services
            .iter()
            .map(|s| drplan::ServiceEntry {
                service: s.name.clone(),
                rto: s.rto_seconds.map(secs),
                rpo: s.rpo_seconds.map(secs),
                tier: s.tier.clone(),
                x_estimated_rto: s.estimated_ms.map(prose::duration),
            })
            .collect()
    };
    drplan::RecoveryObjectives { by_service }
}

fn failover(rb: &model::Runbook, plan: &Plan, order: &[&PlanStep]) -> drplan::Procedure {
    let restores = |id: &str| -> Vec<String> {
        rb.steps.iter().find(|s| s.id == id).map(|s| s.restores.clone()).unwrap_or_default()
    };
    let steps = order
        .iter()
        .zip(1..)
        .map(|(s, n)| {
            let instructions = match &s.action {
                Some(PlanAction::Manual { instructions }) => Some(instructions.trim_end()),
                _ => None,
            };
            let action = match (&s.title, instructions) {
                (Some(t), _) => t.clone(),
                (None, Some(i)) => i.to_string(),
                (None, None) => s.id.clone(),
            };
            drplan::ProcedureStep {
                step: n,
                action: Some(action),
                owner: s.owner.clone(),
                duration: s.duration_seconds.map(|d| prose::duration(d * 1000)),
                command: s.action.as_ref().and_then(command::command),
                x_drbook: Some(drplan::XStep {
                    id: s.id.clone(),
                    needs: s.needs.clone(),
                    approval: s
                        .approval
                        .as_ref()
                        .map(|a| if a.by.is_empty() { vec!["any".into()] } else { a.by.clone() })
                        .unwrap_or_default(),
                    kind: s.action.as_ref().map(|a| a.kind().to_string()),
                    safe: s.safe,
                    restores: restores(&s.id),
                    critical: s.critical,
                    instructions: instructions.filter(|_| s.title.is_some()).map(str::to_string),
                }),
            }
        })
        .collect();
    let authorization = command::authorization(&plan.steps, rb.roles.as_deref());
    drplan::Procedure {
        automated_trigger: plan.trigger.as_ref().map(|t| drplan::AutomatedTrigger {
            enabled: true,
            conditions: command::conditions(t),
        }),
        manual_trigger: authorization
            .map(|a| drplan::ManualTrigger { authorization_required: Some(a), command: None }),
        prerequisites: Vec::new(),
        steps,
    }
}

/// The rollback actions in undo order; `None` when no step has one.
fn failback(order: &[&PlanStep]) -> Option<drplan::Procedure> {
    let steps: Vec<drplan::ProcedureStep> = order
        .iter()
        .rev()
        .filter_map(|s| s.rollback_action.as_ref().map(|a| (s, a)))
        .zip(1..)
        .map(|((s, a), n)| {
            let name = s.title.clone().unwrap_or_else(|| s.id.clone());
            drplan::ProcedureStep {
                step: n,
                action: Some(format!("Roll back: {name}")),
                owner: s.owner.clone(),
                duration: None,
                command: command::command(a),
                x_drbook: Some(drplan::XStep {
                    id: s.id.clone(),
                    kind: Some(a.kind().to_string()),
                    instructions: match a {
                        PlanAction::Manual { instructions } => {
                            Some(instructions.trim_end().to_string())
                        }
                        _ => None,
                    },
                    ..drplan::XStep::default()
                }),
            }
        })
        .collect();
    (!steps.is_empty()).then(|| drplan::Procedure { steps, ..drplan::Procedure::default() })
}

fn testing(rb: &model::Runbook, plan: &Plan) -> Option<drplan::Testing> {
    let mut schedule = drplan::Schedule::default();
    for d in &rb.drills {
        let slot = match d.kind {
            DrillKind::Tabletop => &mut schedule.tabletop,
            DrillKind::Component => &mut schedule.component,
            DrillKind::Partial => &mut schedule.partial_failover,
            DrillKind::Full => &mut schedule.full_failover,
        };
        *slot = Some(prose::cadence(d.every));
    }
    let mut criteria = Vec::new();
    if let Some(rto) = rb.rto {
        criteria.push(format!("RTO achieved within target ({})", prose::duration(rto)));
    }
    if let Some(rpo) = rb.rpo {
        criteria.push(format!("RPO achieved within target ({})", prose::duration(rpo)));
    }
    for s in &plan.services {
        if let Some(rto) = s.rto_seconds {
            criteria.push(format!(
                "{} restored within its RTO ({})",
                s.name,
                prose::duration(rto * 1000)
            ));
        }
        if let Some(rpo) = s.rpo_seconds {
            criteria.push(format!(
                "{} data loss within its RPO ({})",
                s.name,
                prose::duration(rpo * 1000)
            ));
        }
    }
    let schedule = (schedule != drplan::Schedule::default()).then_some(schedule);
    (schedule.is_some() || !criteria.is_empty())
        .then_some(drplan::Testing { schedule, success_criteria: criteria })
}

fn contacts(rb: &model::Runbook) -> Option<drplan::Contacts> {
    let stakeholders: Vec<drplan::Stakeholder> = rb
        .roles
        .iter()
        .flatten()
        .map(|r| drplan::Stakeholder {
            role: r.name.clone(),
            contact: None,
            x_members: r.members.clone(),
        })
        .collect();
    let primary_oncall =
        rb.owner.as_ref().map(|o| drplan::PrimaryOncall { escalation: Some(o.clone()) });
    (primary_oncall.is_some() || !stakeholders.is_empty())
        .then_some(drplan::Contacts { primary_oncall, stakeholders })
}

#[cfg(test)]
mod tests {
    #[test]
    fn tier_words_name_a_strategy_and_other_labels_do_not() {
        for (tier, strategy) in [
            ("critical", Some("hot standby")),
            ("hot", Some("hot standby")),
            ("important", Some("warm standby")),
            ("warm", Some("warm standby")),
            ("standard", Some("cold standby")),
            ("cold", Some("cold standby")),
            ("gold", None),
        ] {
            assert_eq!(super::tier_strategy(tier), strategy, "{tier}");
        }
    }
}
