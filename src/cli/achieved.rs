//! What a run achieved, as the report and `status` show it: the RTO (achieved, or not
//! achieved and when the run stopped), the RPO with each measurement and the one that counts,
//! and the rollback as its own phase. The definitions are [`crate::journal::results`]'s; this
//! file only renders them, as report fields (JSON) and as lines (text).

use crate::journal::results::{self, Forward, Results};
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
