//! Per-service objectives in the plan: for each `service` of the header's `objectives { }`,
//! the steps that restore it (`restores "NAME"`), the longest chain ending in the last of
//! them (the service's own critical path) and its verdict against the service's `rto`.
//!
//! `finally` steps never count: they run after the run has ended.

use serde::Serialize;

use super::{human, seconds, Budget};
use crate::graph::Dag;
use crate::model;

/// One service of `objectives { }` as the plan shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanService {
    pub name: String,
    pub rto_seconds: Option<u64>,
    pub rpo_seconds: Option<u64>,
    /// The service's `tier` label (left out of JSON when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The steps that restore it, in declaration order.
    pub restored_by: Vec<String>,
    /// Length of the longest chain ending in one of `restored_by`; absent when no step
    /// restores the service.
    pub estimated_rto_seconds: Option<u64>,
    /// Step ids from the first step of that chain to its last.
    pub critical_path: Vec<String>,
    /// The estimate against the service's own `rto` (`unknown` without one, or without an
    /// estimate).
    pub budget: Budget,
    /// Exact milliseconds of the estimate, for verdicts that must not round.
    #[serde(skip)]
    pub estimated_ms: Option<u64>,
}

/// The services of `rb`, in declaration order. `dag` is the graph of `rb`.
pub fn build(rb: &model::Runbook, dag: &Dag) -> Vec<PlanService> {
    let forward = rb.forward_len();
    rb.objectives
        .iter()
        .map(|o| {
            let ends: Vec<usize> = rb.steps[..forward]
                .iter()
                .enumerate()
                .filter(|(_, s)| s.restores.iter().any(|r| r == &o.name))
                .map(|(i, _)| i)
                .collect();
            let (ms, path) = dag.critical_path_to(&ends);
            let estimated = (!ends.is_empty()).then_some(ms);
            PlanService {
                name: o.name.clone(),
                rto_seconds: o.rto.map(seconds),
                rpo_seconds: o.rpo.map(seconds),
                tier: o.tier.clone(),
                restored_by: ends.iter().map(|&i| rb.steps[i].id.clone()).collect(),
                estimated_rto_seconds: estimated.map(seconds),
                critical_path: path.iter().map(|&i| rb.steps[i].id.clone()).collect(),
                budget: match (o.rto, estimated) {
                    (Some(rto), Some(est)) if est <= rto => Budget::Within,
                    (Some(_), Some(_)) => Budget::Over,
                    _ => Budget::Unknown,
                },
                estimated_ms: estimated,
            }
        })
        .collect()
}

impl PlanService {
    /// `estimated 12m within rto 15m (slack 3m)`, `estimated 20m OVER rto 15m by 5m`,
    /// `estimated 12m (no rto)`, or `no step restores it`.
    pub fn verdict(&self) -> String {
        let Some(est) = self.estimated_rto_seconds else {
            return "no step restores it".to_string();
        };
        match (self.budget, self.rto_seconds) {
            (Budget::Within, Some(rto)) => format!(
                "estimated {} within rto {} (slack {})",
                human(est),
                human(rto),
                human(rto.saturating_sub(est))
            ),
            (Budget::Over, Some(rto)) => format!(
                "estimated {} OVER rto {} by {}",
                human(est),
                human(rto),
                // Sub-second overruns round to equal seconds; never claim "by 0s".
                human(est.saturating_sub(rto).max(1))
            ),
            _ => format!("estimated {} (no rto)", human(est)),
        }
    }
}
