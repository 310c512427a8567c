//! What a run achieved, as the report and `status` show it: the RTO (achieved, or not
//! achieved and when the run stopped), the RPO with each measurement and the one that counts,
//! the rollback as its own phase, and, when the runbook declares `objectives { }`, each
//! service (restored when, against its own `rto`). The definitions are
//! [`crate::journal::results`]'s and [`crate::journal::services`]'s; this file only renders
//! them, as report fields (JSON) and as lines (text).

use crate::journal::results::{self, Forward, Results};
use crate::journal::services::{self, Restored, ServiceResult};
use crate::journal::RunState;
use crate::model::fmt_duration;
use crate::model::time as clock;
use serde::Serialize;

/// What the run achieved against its `rto` and `rpo` (the same fields in `status`).
#[derive(Serialize)]
pub struct ResultsReport {
    pub rto_seconds: Option<f64>,
    /// From the RTO clock's start to recovery; `None` for a run that did not recover.
    pub achieved_rto_seconds: Option<f64>,
    pub rto_met: Option<bool>,
    /// For a run that did not recover: how long its forward phase went before it stopped.
    pub stopped_after_seconds: Option<f64>,
    /// For a run still going: how long since the RTO clock's start.
    pub elapsed_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    /// The largest of `rpo_measurements`.
    pub achieved_rpo_seconds: Option<f64>,
    pub rpo_met: Option<bool>,
    /// Every `measure rpo`, in step order.
    pub rpo_measurements: Vec<RpoReport>,
}

impl ResultsReport {
    pub fn new(got: &Results) -> ResultsReport {
        let counted = got.rpo.counted.as_ref();
        ResultsReport {
            rto_seconds: got.rto_ms.map(secs),
            achieved_rto_seconds: got.forward.achieved_ms().map(secs),
            rto_met: got.rto_met,
            stopped_after_seconds: got.forward.stopped_after_ms().map(secs),
            elapsed_seconds: got.forward.going_ms().map(secs),
            rpo_seconds: got.rpo.budget_ms.map(secs),
            achieved_rpo_seconds: counted.map(|m| secs(m.ms)),
            rpo_met: got.rpo.met,
            rpo_measurements: got
                .rpo
                .measurements
                .iter()
                .map(|m| RpoReport {
                    step: m.step.clone(),
                    seconds: secs(m.ms),
                    counts: Some(m) == counted,
                })
                .collect(),
        }
    }
}

/// One `measure rpo`.
#[derive(Serialize)]
pub struct RpoReport {
    pub step: String,
    pub seconds: f64,
    /// The largest measurement: the achieved RPO.
    pub counts: bool,
}

#[derive(Serialize)]
pub struct RollbackPhaseReport {
    pub started_at: String,
    pub finished_at: Option<String>,
    /// So far, while it goes on.
    pub duration_seconds: f64,
    /// `rolled_back`, `rollback_failed`, or while unfinished `rolling_back`.
    pub outcome: String,
    pub reason: String,
    pub by: String,
}

pub fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The run's results now.
pub fn results_now(s: &RunState) -> Results {
    results::results(s, clock::now_ms())
}
pub fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "n/a",
    }
}

pub fn d(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| {
        if s < 60.0 {
            format!("{s:.1}s")
        } else {
            fmt_duration((s * 1000.0) as u64 / 1000 * 1000)
        }
    })
}

/// `RTO: achieved 55.3s against 1h: PASS`; a run that did not recover says so and when it
/// stopped, and is never "achieved".
pub fn rto_line(got: &Results) -> String {
    let budget = d(got.rto_ms.map(secs));
    match &got.forward {
        Forward::Recovered { ms, .. } => {
            format!(
                "RTO: achieved {} against {budget}: {}",
                d(Some(secs(*ms))),
                verdict(got.rto_met)
            )
        }
        Forward::Stopped { ms, .. } => {
            format!("RTO: not achieved (stopped after {}); budget {budget}", d(Some(secs(*ms))))
        }
        Forward::Going { ms } => {
            format!("RTO: not achieved yet ({} so far); budget {budget}", d(Some(secs(*ms))))
        }
    }
}

/// `RPO: achieved 6.0s against 5s: FAIL` and, below it, each measurement, the one that counts
/// marked with why. Empty without `rpo` and without measurements.
pub fn rpo_lines(got: &Results) -> Vec<String> {
    let rpo = &got.rpo;
    if rpo.budget_ms.is_none() && rpo.measurements.is_empty() {
        return Vec::new();
    }
    let achieved = rpo.counted.as_ref().map(|m| secs(m.ms));
    let mut out = vec![format!(
        "RPO: achieved {} against {}: {}",
        d(achieved),
        d(rpo.budget_ms.map(secs)),
        verdict(rpo.met)
    )];
    for m in &rpo.measurements {
        let counts = if Some(m) != rpo.counted.as_ref() {
            ""
        } else if rpo.measurements.len() > 1 {
            "  counts: the largest (the run lost as much data as its worst measurement)"
        } else {
            "  counts"
        };
        out.push(format!("  measured by {:<28} {:>10}{counts}", m.step, d(Some(secs(m.ms)))));
    }
    out
}

/// `rollback phase: rolled_back in 3.2s, from START to END (by WHO)`; why it rolled back is
/// said next to it, by the report and `status`.
pub fn rollback_phase_line(got: &Results) -> Option<String> {
    let p = got.rollback.as_ref()?;
    let to = p.finished_at.as_deref().map_or(String::new(), |f| format!(" to {f}"));
    let took = if p.finished_at.is_some() { "in" } else { "for" };
    Some(format!(
        "rollback phase: {} {took} {}, from {}{to} (by {})",
        p.outcome.as_str(),
        d(Some(secs(p.duration_ms))),
        p.started_at,
        p.by
    ))
}

/// The RTO column of `status`'s list: `55s`, `not achieved (stopped after 4m10s)`, `4m so far`.
pub fn rto_cell(got: &Results) -> String {
    let whole = |ms: u64| fmt_duration(ms / 1000 * 1000);
    match &got.forward {
        Forward::Recovered { ms, .. } => whole(*ms),
        Forward::Stopped { ms, .. } => format!("not achieved (stopped after {})", whole(*ms)),
        Forward::Going { ms } => format!("{} so far", whole(*ms)),
    }
}

/// One service of `objectives { }` in a run (report and `status`, JSON).
#[derive(Serialize)]
pub struct ServiceReport {
    pub name: String,
    pub rto_seconds: Option<f64>,
    /// The steps that restore it.
    pub restored_by: Vec<String>,
    /// `restored`, `not_restored`, `not_restored_yet` or `outside_drill`.
    pub status: &'static str,
    /// From the RTO clock's start to when the last of its steps finished (restored only).
    pub achieved_seconds: Option<f64>,
    pub restored_at: Option<String>,
    pub rto_met: Option<bool>,
    /// Why it was not restored.
    pub reason: Option<String>,
}

/// Each service's result in the run `s`, with the objectives of its runbook `rb` (none
/// without a runbook, or without `objectives { }`).
pub fn services_of(
    s: &crate::journal::RunState,
    rb: Option<&crate::model::Runbook>,
) -> Vec<ServiceResult> {
    rb.map_or_else(Vec::new, |rb| services::services(s, &services::Objective::of(rb)))
}

pub fn service_reports(got: &[ServiceResult]) -> Vec<ServiceReport> {
    got.iter()
        .map(|r| {
            let (status, achieved, at, reason) = match &r.restored {
                Restored::Yes { ms, at } => ("restored", Some(secs(*ms)), Some(at.clone()), None),
                Restored::No { why } => ("not_restored", None, None, Some(why.clone())),
                Restored::NotYet => ("not_restored_yet", None, None, None),
                Restored::OutsideDrill => ("outside_drill", None, None, None),
            };
            ServiceReport {
                name: r.name.clone(),
                rto_seconds: r.rto_ms.map(secs),
                restored_by: r.restored_by.clone(),
                status,
                achieved_seconds: achieved,
                restored_at: at,
                rto_met: r.met,
                reason,
            }
        })
        .collect()
}

/// What a service achieved, in words: `restored in 12.3s`, `not restored (`promote` failed)`,
/// `not restored yet`, `outside the drill`.
pub fn service_achieved(r: &ServiceResult) -> String {
    match &r.restored {
        Restored::Yes { ms, .. } => format!("restored in {}", d(Some(secs(*ms)))),
        Restored::No { why } => format!("not restored ({why})"),
        Restored::NotYet => "not restored yet".to_string(),
        Restored::OutsideDrill => "outside the drill".to_string(),
    }
}

/// `services:` and one line per service (`  api-gateway  restored in 12.3s against 15m: PASS`);
/// empty when the runbook declares no objectives.
pub fn service_lines(got: &[ServiceResult]) -> Vec<String> {
    if got.is_empty() {
        return Vec::new();
    }
    let width = got.iter().map(|r| r.name.chars().count()).max().unwrap_or(0).min(28);
    let mut out = vec!["services:".to_string()];
    for r in got {
        let against = match (r.rto_ms, &r.restored) {
            (None, _) => " (no rto)".to_string(),
            (Some(rto), Restored::NotYet | Restored::OutsideDrill) => {
                format!("; rto {}", d(Some(secs(rto))))
            }
            (Some(rto), _) => format!(" against {}: {}", d(Some(secs(rto))), verdict(r.met)),
        };
        out.push(format!("  {:<width$}  {}{against}", r.name, service_achieved(r)));
    }
    out
}

/// The markdown table of [`service_lines`] (empty without objectives).
pub fn services_markdown(got: &[ServiceResult]) -> String {
    if got.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| service | achieved | objective | verdict | restored by |\n|---|---|---:|---|---|\n",
    );
    for r in got {
        let by: Vec<String> = r.restored_by.iter().map(|id| format!("`{id}`")).collect();
        let v = match r.met {
            Some(false) => "**FAIL**",
            met => verdict(met),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {v} | {} |\n",
            r.name.replace('|', "\\|"),
            service_achieved(r).replace('|', "\\|"),
            d(r.rto_ms.map(secs)),
            if by.is_empty() { "-".to_string() } else { by.join(", ") }
        ));
    }
    out.push('\n');
    out
}
