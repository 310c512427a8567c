//! A drill's result (issue 12), judged from its replayed [`RunState`] alone: the one definition
//! behind the drill section of every report, `--report FILE.json`, the drill notification,
//! the run summaries `history` and `readiness` read. Pure (the caller says what time it is).
//!
//! - **RTO** is measurable only where the drill recovers something: a `full` or `partial`
//!   drill's achieved RTO is its time to recovery ([`super::results`]). A tabletop drill runs
//!   nothing and a component drill only probes, so neither has an achieved RTO.
//! - **RPO** is measurable wherever a `measure rpo` step ran: a component drill that reads the
//!   replica lag with a `safe` step proves the RPO as well as a full drill does.
//! - **Issues found**: every step that failed, with its error, and every issue a tabletop's
//!   team raised; **runbook updates needed**: what the team said must change.
//! - **Success**: the drill ended succeeded, it exercised at least one step (a drill that
//!   tested nothing proved nothing), no issue was found, and the RTO and the RPO were met
//!   where measurable.

use super::results::{self, Forward};
use super::{DrillInfo, RunState, RunStatus, StepState};
use crate::model::DrillKind;
use serde::Serialize;

/// The reason a drill gives the steps it does not run (`skipped (drill)`), alone or before
/// `: why`.
pub const SKIP_REASON: &str = "drill";

/// Whether a `step_skipped` reason is a drill's (the step is outside the drill).
pub fn skipped_by_drill(reason: &str) -> bool {
    reason == SKIP_REASON || reason.strip_prefix(SKIP_REASON).is_some_and(|r| r.starts_with(':'))
}

/// One issue a drill found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DrillIssue {
    pub step: String,
    /// The step's error, or the issue the tabletop's team raised.
    pub message: String,
}

/// A runbook update a tabletop's team said is needed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DrillUpdate {
    pub step: String,
    pub message: String,
}

/// What a drill proved.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillResult {
    pub drill_type: DrillKind,
    /// A partial drill's `--only` steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The drill's run status (`succeeded`, `failed`, `paused`, ...): a result is final
    /// only once the run has ended.
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub rto_seconds: Option<f64>,
    pub achieved_rto_seconds: Option<f64>,
    pub rto_met: Option<bool>,
    pub rpo_seconds: Option<f64>,
    pub achieved_rpo_seconds: Option<f64>,
    pub rpo_met: Option<bool>,
    /// The steps the drill exercised (ran, or discussed at a tabletop), in step order.
    pub steps_tested: Vec<String>,
    pub issues_found: Vec<DrillIssue>,
    pub runbook_updates_needed: Vec<DrillUpdate>,
    pub success: bool,
    /// SHA-256 of the runbook file drilled: the result proves this content only.
    pub runbook_hash: String,
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Every step of `s` that failed (or whose rollback failed), with its error, in step order.
pub fn failed_steps(s: &RunState) -> Vec<DrillIssue> {
    s.steps
        .iter()
        .filter(|(_, r)| matches!(r.state, StepState::Failed | StepState::UndoFailed))
        .map(|(id, r)| DrillIssue {
            step: id.clone(),
            message: r.error.clone().unwrap_or_else(|| "failed".into()),
        })
        .collect()
}

/// The result of `s` when it is a drill; `None` for a plain run.
pub fn drill_result(s: &RunState, now_ms: i64) -> Option<DrillResult> {
    let DrillInfo { kind, targets } = s.drill.clone()?;
    let got = results::results(s, now_ms);
    let recovers = kind.recovers();
    let (achieved_rto, rto_met) = match (&got.forward, recovers) {
        (Forward::Recovered { ms, .. }, true) => (Some(secs(*ms)), got.rto_met),
        (Forward::Stopped { .. }, true) => (None, got.rto_met),
        _ => (None, None),
    };
    let discussed = |id: &str| s.findings.iter().any(|f| f.step == id);
    let steps_tested: Vec<String> = s
        .steps
        .iter()
        .filter(|(id, r)| r.attempts > 0 || discussed(id))
        .map(|(id, _)| id.clone())
        .collect();
    let mut issues_found = failed_steps(s);
    issues_found.extend(s.findings.iter().filter_map(|f| {
        f.issue.as_ref().map(|i| DrillIssue { step: f.step.clone(), message: i.clone() })
    }));
    let runbook_updates_needed = s
        .findings
        .iter()
        .filter_map(|f| {
            f.update.as_ref().map(|u| DrillUpdate { step: f.step.clone(), message: u.clone() })
        })
        .collect();
    // A drill that exercised no step proved nothing: never a success.
    let success = s.status == RunStatus::Succeeded
        && !steps_tested.is_empty()
        && issues_found.is_empty()
        && rto_met != Some(false)
        && got.rpo.met != Some(false);
    Some(DrillResult {
        drill_type: kind,
        targets,
        status: s.status,
        started_at: s.started_at.clone(),
        finished_at: s.finished_at.clone(),
        rto_seconds: s.rto_ms.map(secs),
        achieved_rto_seconds: achieved_rto,
        rto_met,
        rpo_seconds: s.rpo_ms.map(secs),
        achieved_rpo_seconds: got.rpo.counted.as_ref().map(|m| secs(m.ms)),
        rpo_met: got.rpo.met,
        steps_tested,
        issues_found,
        runbook_updates_needed,
        success,
        runbook_hash: s.content_hash.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{replay, Event, Finding, Outcome, VERSION};
    use std::collections::BTreeMap;

    fn t(sec: u32) -> String {
        format!("2026-11-23T22:00:{sec:02}.000Z")
    }

    fn started(kind: Option<DrillKind>) -> Event {
        Event::RunStarted {
            v: VERSION,
            run_id: "r".into(),
            runbook: "rb".into(),
            file: "rb.drbook".into(),
            path: "/rb.drbook".into(),
            content_hash: "ab".repeat(32),
            step_hashes: vec![("a".into(), "h".into()), ("b".into(), "h".into())],
            params: BTreeMap::new(),
            at: t(0),
            clock_start: t(0),
            rto_ms: Some(10_000),
            rpo_ms: Some(5_000),
            user: "ana".into(),
            pid: 1,
            drill: kind.map(|kind| DrillInfo { kind, targets: Vec::new() }),
            trigger: None,
        }
    }

    fn ok(step: &str, at: u32, rpo_ms: Option<u64>) -> [Event; 2] {
        [
            Event::StepStarted { step: step.into(), attempt: 1, at: t(at) },
            Event::StepSucceeded {
                step: step.into(),
                attempt: 1,
                at: t(at + 1),
                duration_ms: 1000,
                captures: BTreeMap::new(),
                rpo_ms,
            },
        ]
    }

    fn finished(at: u32, outcome: Outcome) -> Event {
        Event::RunFinished { at: t(at), outcome }
    }

    #[test]
    fn a_plain_run_has_no_drill_result() {
        let s = replay(&[started(None)]).expect("replays");
        assert!(drill_result(&s, 0).is_none());
    }

    #[test]
    fn a_full_drill_measures_rto_and_rpo() {
        let mut ev = vec![started(Some(DrillKind::Full))];
        ev.extend(ok("a", 1, Some(3_000)));
        ev.extend(ok("b", 3, None));
        ev.push(finished(4, Outcome::Succeeded));
        let s = replay(&ev).expect("replays");
        let r = drill_result(&s, 0).expect("a drill");
        assert_eq!(r.achieved_rto_seconds, Some(4.0));
        assert_eq!(r.rto_met, Some(true));
        assert_eq!(r.achieved_rpo_seconds, Some(3.0));
        assert_eq!(r.rpo_met, Some(true));
        assert_eq!(r.steps_tested, vec!["a", "b"]);
        assert!(r.success, "{r:?}");
    }

    #[test]
    fn a_component_drill_has_no_rto_but_proves_its_rpo() {
        let mut ev = vec![started(Some(DrillKind::Component))];
        ev.extend(ok("a", 1, Some(9_000)));
        ev.push(Event::StepSkipped { step: "b".into(), at: t(2), reason: SKIP_REASON.into() });
        ev.push(finished(3, Outcome::Succeeded));
        let s = replay(&ev).expect("replays");
        let r = drill_result(&s, 0).expect("a drill");
        assert_eq!((r.achieved_rto_seconds, r.rto_met), (None, None));
        assert_eq!(r.rpo_met, Some(false), "9 s of lag against a 5 s RPO");
        assert_eq!(r.steps_tested, vec!["a"]);
        assert!(!r.success);
    }

    #[test]
    fn tabletop_issues_and_updates_are_collected() {
        let mut s = replay(&[started(Some(DrillKind::Tabletop))]).expect("replays");
        s.findings.push(Finding {
            step: "a".into(),
            by: "ana".into(),
            at: t(1),
            issue: Some("nobody has the DNS password".into()),
            update: Some("add the vault path".into()),
            duration_ms: 60_000,
        });
        s.status = RunStatus::Succeeded;
        let r = drill_result(&s, 0).expect("a drill");
        assert_eq!(r.steps_tested, vec!["a"]);
        assert_eq!(r.issues_found[0].message, "nobody has the DNS password");
        assert_eq!(r.runbook_updates_needed[0].message, "add the vault path");
        assert!(!r.success);
    }

    #[test]
    fn a_drill_that_tested_nothing_is_no_success() {
        let mut ev = vec![started(Some(DrillKind::Component))];
        for step in ["a", "b"] {
            ev.push(Event::StepSkipped { step: step.into(), at: t(1), reason: SKIP_REASON.into() });
        }
        ev.push(finished(2, Outcome::Succeeded));
        let r = drill_result(&replay(&ev).expect("replays"), 0).expect("a drill");
        assert!(r.steps_tested.is_empty());
        assert!(!r.success, "{r:?}");
    }

    #[test]
    fn drill_skip_reasons() {
        assert!(skipped_by_drill("drill"));
        assert!(skipped_by_drill("drill: not a safe step"));
        assert!(!skipped_by_drill("drilling"));
        assert!(!skipped_by_drill("when was false"));
    }
}
