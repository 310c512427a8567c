//! A runbook's readiness (issue 12 §3), judged from what it declares and the summaries of its
//! runs: the last drill of each type and its result, drills overdue, a stale review, a runbook
//! changed since its last successful drill, the estimated RTO against the budget, the last
//! achieved RTO and RPO. Pure: the caller gives the runbook's facts, its runs and the time.
//!
//! - **A drill proves only the content it drilled**: a declared type whose last successful
//!   drill ran against another content hash is *changed since drill*.
//! - **Overdue**: a type declared in `drills { }` with no successful drill, or whose last
//!   successful drill started longer ago than its `every`.
//! - **Failed**: a declared type whose last finished drill did not succeed.
//! - **Stale review**: `reviewed` + `review_every` is before today (as `check`'s
//!   `stale_review` lint says).
//! - A drill still going (or paused) is not a result yet: "last drill" means the last one over.
//!
//! The runbook is *current* when nothing is overdue, failed, changed or stale.

use super::summary::Summary;
use crate::model::time as clock;
use crate::model::{Date, DrillCadence, DrillKind, Millis};
use serde::Serialize;

/// What readiness needs to know of a runbook (from its checked model and its file).
#[derive(Clone, Debug)]
pub struct Facts {
    pub name: String,
    pub file: String,
    /// SHA-256 of the file now.
    pub content_hash: String,
    pub drills: Vec<DrillCadence>,
    pub reviewed: Option<Date>,
    pub review_every: Option<Millis>,
    pub rto_ms: Option<Millis>,
    pub rpo_ms: Option<Millis>,
    /// The critical path, as `plan` computes it.
    pub estimated_rto_ms: Millis,
}

/// One drill, as readiness names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillRef {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub success: bool,
    pub issues_found: usize,
    pub runbook_hash: String,
}

/// One drill type of a runbook.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillReadiness {
    #[serde(rename = "type")]
    pub kind: DrillKind,
    /// Declared in `drills { }`, with this cadence.
    pub declared: bool,
    pub every_seconds: Option<f64>,
    /// The last drill of this type that is over, and the last that succeeded.
    pub last: Option<DrillRef>,
    pub last_success: Option<DrillRef>,
    /// When the next one is due (last success + every); `None` when undeclared or never proved.
    pub due_at: Option<String>,
    pub overdue: bool,
    pub failed: bool,
    pub changed_since_drill: bool,
}

/// A runbook's readiness.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Readiness {
    pub runbook: String,
    pub file: String,
    pub content_hash: String,
    pub rto_budget_seconds: Option<f64>,
    pub estimated_rto_seconds: f64,
    /// The estimate is over the budget.
    pub estimate_over_budget: bool,
    pub rpo_objective_seconds: Option<f64>,
    /// From the latest run or drill that measured one.
    pub last_achieved_rto_seconds: Option<f64>,
    pub last_achieved_rpo_seconds: Option<f64>,
    pub reviewed: Option<String>,
    pub review_due: Option<String>,
    /// Midnight (UTC) of the review's due date, seconds since the epoch.
    #[serde(skip)]
    pub review_due_epoch: Option<i64>,
    pub review_stale: bool,
    /// Every declared type, then every other type drilled, in the guide's order.
    pub drills: Vec<DrillReadiness>,
    /// What is not current, one line each (empty: current).
    pub problems: Vec<String>,
    pub current: bool,
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn drill_ref(s: &Summary) -> DrillRef {
    DrillRef {
        run_id: s.run_id.clone(),
        started_at: s.started_at.clone(),
        finished_at: s.finished_at.clone(),
        status: s.status.as_str().to_string(),
        success: s.success,
        issues_found: s.issues_found,
        runbook_hash: s.content_hash.clone(),
    }
}

/// The readiness of `f`, from `runs` (its runs and drills, any order), `now_ms` being now.
pub fn readiness(f: &Facts, runs: &[&Summary], now_ms: i64) -> Readiness {
    let mut runs: Vec<&Summary> = runs.to_vec();
    // Newest first; the run id breaks ties, so the answer never depends on listing order.
    let start = |s: &Summary| clock::parse(&s.started_at).unwrap_or(0);
    runs.sort_by(|a, b| start(b).cmp(&start(a)).then_with(|| b.run_id.cmp(&a.run_id)));
    let today = Date::from_days(now_ms.div_euclid(86_400_000));
    let mut problems = Vec::new();
    let mut drills = Vec::new();
    for kind in DrillKind::ALL {
        let cadence = f.drills.iter().find(|c| c.kind == kind);
        let of_kind = || runs.iter().filter(|s| s.kind == kind.as_str() && s.is_over());
        let last = of_kind().next().map(|s| drill_ref(s));
        let last_success = of_kind().find(|s| s.success).map(|s| drill_ref(s));
        if cadence.is_none() && last.is_none() {
            continue;
        }
        let due_ms = match (cadence, &last_success) {
            (Some(c), Some(l)) => clock::parse(&l.started_at).map(|t| t + c.every as i64),
            _ => None,
        };
        let declared = cadence.is_some();
        let overdue = declared && due_ms.is_none_or(|due| due < now_ms);
        let failed = declared && last.as_ref().is_some_and(|l| !l.success);
        let changed =
            declared && last_success.as_ref().is_some_and(|l| l.runbook_hash != f.content_hash);
        if overdue {
            problems.push(match &last_success {
                Some(l) => {
                    format!("{kind} drill overdue: the last successful one was {}", l.started_at)
                }
                None => format!("{kind} drill overdue: none has succeeded"),
            });
        }
        if failed {
            let l = last.as_ref().expect("failed implies a last drill");
            problems.push(format!("last {kind} drill failed: `{}` ({})", l.run_id, l.status));
        }
        if changed {
            let l = last_success.as_ref().expect("changed implies a successful drill");
            problems.push(format!(
                "changed since the last successful {kind} drill (`{}`): it proved other content",
                l.run_id
            ));
        }
        drills.push(DrillReadiness {
            kind,
            declared,
            every_seconds: cadence.map(|c| secs(c.every)),
            last,
            last_success,
            due_at: due_ms.map(clock::format),
            overdue,
            failed,
            changed_since_drill: changed,
        });
    }
    let due = match (f.reviewed, f.review_every) {
        (Some(r), Some(every)) => Some(Date::from_days(r.days() + (every / 86_400_000) as i64)),
        _ => None,
    };
    let review_stale = due.is_some_and(|d| d < today);
    if let (true, Some(d)) = (review_stale, due) {
        problems.push(format!("review overdue since {d}"));
    }
    let measured = |get: fn(&Summary) -> Option<f64>| runs.iter().find_map(|s| get(s));
    let current = problems.is_empty();
    Readiness {
        runbook: f.name.clone(),
        file: f.file.clone(),
        content_hash: f.content_hash.clone(),
        rto_budget_seconds: f.rto_ms.map(secs),
        estimated_rto_seconds: secs(f.estimated_rto_ms),
        estimate_over_budget: f.rto_ms.is_some_and(|b| f.estimated_rto_ms > b),
        rpo_objective_seconds: f.rpo_ms.map(secs),
        last_achieved_rto_seconds: measured(|s| s.achieved_rto_seconds),
        last_achieved_rpo_seconds: measured(|s| s.achieved_rpo_seconds),
        reviewed: f.reviewed.map(|d| d.to_string()),
        review_due: due.map(|d| d.to_string()),
        review_due_epoch: due.map(|d| d.days() * 86_400),
        review_stale,
        drills,
        problems,
        current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RunStatus;

    const DAY: i64 = 86_400_000;
    /// 2026-11-23T00:00:00Z.
    const NOW: i64 = 20_780 * DAY;

    fn facts(drills: &[(DrillKind, i64)]) -> Facts {
        Facts {
            name: "db".into(),
            file: "db.drbook".into(),
            content_hash: "new".into(),
            drills: drills
                .iter()
                .map(|&(kind, days)| DrillCadence { kind, every: (days * DAY) as u64 })
                .collect(),
            reviewed: Some(Date { year: 2026, month: 10, day: 1 }),
            review_every: Some(90 * DAY as u64),
            rto_ms: Some(3_600_000),
            rpo_ms: None,
            estimated_rto_ms: 1_800_000,
        }
    }

    fn drill(id: &str, kind: &str, days_ago: i64, success: bool, hash: &str) -> Summary {
        let started = clock::format(NOW - days_ago * DAY);
        Summary {
            v: 1,
            run_id: id.into(),
            runbook: "db".into(),
            file: "db.drbook".into(),
            path: "/db.drbook".into(),
            content_hash: hash.into(),
            kind: kind.into(),
            targets: Vec::new(),
            started_at: started.clone(),
            started_by: "ana".into(),
            status: if success { RunStatus::Succeeded } else { RunStatus::Failed },
            finished_at: Some(started),
            rto_budget_seconds: Some(3600.0),
            achieved_rto_seconds: success.then_some(1200.0),
            stopped_after_seconds: None,
            rto_met: Some(success),
            rpo_objective_seconds: None,
            achieved_rpo_seconds: None,
            rpo_met: None,
            issues_found: usize::from(!success),
            issues: Vec::new(),
            success,
            records: 4,
            journal_bytes: 1,
        }
    }

    #[test]
    fn a_runbook_drilled_on_time_on_its_content_is_current() {
        let f = facts(&[(DrillKind::Component, 7), (DrillKind::Full, 365)]);
        let runs = [drill("c", "component", 2, true, "new"), drill("f", "full", 100, true, "new")];
        let r = readiness(&f, &runs.iter().collect::<Vec<_>>(), NOW);
        assert!(r.current, "{:?}", r.problems);
        assert_eq!(r.drills.len(), 2);
        assert_eq!(r.last_achieved_rto_seconds, Some(1200.0));
        assert_eq!(r.review_due.as_deref(), Some("2026-12-30"));
    }

    #[test]
    fn overdue_failed_changed_and_stale_are_each_named() {
        let mut f = facts(&[
            (DrillKind::Tabletop, 30),
            (DrillKind::Component, 7),
            (DrillKind::Partial, 90),
            (DrillKind::Full, 365),
        ]);
        f.reviewed = Some(Date { year: 2026, month: 1, day: 1 });
        let runs = [
            drill("c-old", "component", 10, true, "new"),
            drill("p-ok", "partial", 20, true, "old"),
            drill("f-ok", "full", 30, true, "new"),
            drill("f-bad", "full", 1, false, "new"),
        ];
        let r = readiness(&f, &runs.iter().collect::<Vec<_>>(), NOW);
        assert!(!r.current);
        let by = |k: DrillKind| r.drills.iter().find(|d| d.kind == k).expect("listed");
        assert!(by(DrillKind::Tabletop).overdue, "never drilled");
        assert!(by(DrillKind::Component).overdue, "10 days after, every 7");
        assert!(!by(DrillKind::Partial).overdue);
        assert!(by(DrillKind::Partial).changed_since_drill, "it proved the old content");
        assert!(by(DrillKind::Full).failed && !by(DrillKind::Full).overdue);
        assert_eq!(
            by(DrillKind::Full).last_success.as_ref().map(|l| l.run_id.as_str()),
            Some("f-ok")
        );
        assert!(r.review_stale);
        assert_eq!(r.problems.len(), 5, "{:#?}", r.problems);
    }

    #[test]
    fn undeclared_types_are_shown_but_not_judged_and_going_drills_are_not_results() {
        let f = facts(&[]);
        let mut going = drill("f-now", "full", 0, true, "new");
        going.status = RunStatus::Running;
        let runs = [drill("f-bad", "full", 3, false, "old"), going];
        let r = readiness(&f, &runs.iter().collect::<Vec<_>>(), NOW);
        assert!(r.current, "{:?}", r.problems);
        let full = &r.drills[0];
        assert!(!full.declared && !full.failed && !full.overdue);
        assert_eq!(full.last.as_ref().map(|l| l.run_id.as_str()), Some("f-bad"));
    }
}
