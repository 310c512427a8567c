//! What decides a dry run's steps, under each step of `run --dry-run`: its `when` condition,
//! its approval gate (roles, timeout), its whole `run` script, every line of it, and its
//! `verify` probe, as the plan renders them (params filled in, secrets as `<secret:NAME>`, nothing resolved).

use crate::model::fmt_duration;
use crate::plan::{PlanAction, PlanStep};

/// Where the detail lines start (under the step's id).
const INDENT: &str = "             ";

/// The lines under one step of the dry run, indented.
pub fn decides(p: &PlanStep) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(w) = &p.when {
        out.push(format!("when {w} (otherwise skipped)"));
    }
    if let Some(a) = &p.approval {
        let wait = a.timeout_seconds.map_or_else(
            || "no timeout: waits until approved or denied".to_string(),
            |s| format!("timeout {}", fmt_duration(s * 1000)),
        );
        let who = if a.by.len() > 1 { ", each by a different person" } else { "" };
        out.push(format!("approval by {}{who}; {wait}", a.by.join(", ")));
    }
    if let Some(PlanAction::Run { script }) = &p.action {
        out.push("script:".to_string());
        out.extend(script.lines().map(|l| format!("  | {l}")));
    }
    // The probe resume and rollback ask whether the step's effect is in place.
    match &p.verify {
        Some(PlanAction::Run { script }) => {
            out.push("verify (exit 0: the effect is in place):".to_string());
            out.extend(script.lines().map(|l| format!("  | {l}")));
        }
        Some(probe) => out.push(format!("verify {}", probe.summary())),
        None => {}
    }
    out.into_iter().map(|l| format!("{INDENT}{l}")).collect()
}
