//! The "Recovery objectives by service" table of the markdown plan: one row per service of
//! `objectives { }` (tier, RTO, RPO, the estimate, the verdict, the steps that restore it). A
//! service over its RTO stands out the way an over-budget runbook does: ❌ and bold.

use super::cells::{code, text};
use super::fit::Block;
use super::{details_open, human, Plan, NONE};
use crate::plan::services::PlanService;
use crate::plan::Budget;

/// `✅ within (slack 3m)`, `❌ **OVER by 5m**`, `⚠️ no rto`, `⚠️ no step restores it`.
fn verdict(s: &PlanService) -> String {
    match (s.budget, s.rto_seconds, s.estimated_rto_seconds) {
        (_, _, None) => "⚠️ no step restores it".to_string(),
        (Budget::Within, Some(rto), Some(est)) => {
            format!("✅ within (slack {})", human(rto.saturating_sub(est)))
        }
        (Budget::Over, Some(rto), Some(est)) => {
            format!("❌ **OVER by {}**", human(est.saturating_sub(rto).max(1)))
        }
        _ => "⚠️ no rto".to_string(),
    }
}

/// How many services are over their own RTO.
pub(super) fn over(plan: &Plan) -> usize {
    plan.services.iter().filter(|s| s.budget == Budget::Over).count()
}

pub(super) fn table(plan: &Plan) -> Block {
    let secs = |s: Option<u64>| s.map_or_else(|| NONE.to_string(), human);
    let items = plan
        .services
        .iter()
        .map(|s| {
            let mut name = text(&s.name);
            if s.budget == Budget::Over {
                name = format!("**{name}**");
            }
            let by: Vec<String> = s.restored_by.iter().map(|id| code(id)).collect();
            let by = if by.is_empty() { NONE.to_string() } else { by.join(", ") };
            format!(
                "| {name} | {} | {} | {} | {} | {} | {by} |\n",
                s.tier.as_deref().map_or_else(|| NONE.to_string(), text),
                secs(s.rto_seconds),
                secs(s.rpo_seconds),
                secs(s.estimated_rto_seconds),
                verdict(s),
            )
        })
        .collect();
    let over = match over(plan) {
        0 => String::new(),
        n => format!(", {n} over RTO"),
    };
    Block::list(
        "rows of the services table",
        85,
        details_open(
            &format!("Recovery objectives by service ({}{over})", plan.services.len()),
            true,
        ),
        "Each service is estimated by the longest chain of steps ending in the last step that \
         restores it.\n\n| Service | Tier | RTO | RPO | Estimated | Verdict | Restored by |\n\
         |---|---|---|---|---|---|---|\n",
        items,
        "\n</details>\n\n",
    )
}
