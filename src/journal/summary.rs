//! A run's compact summary (issue 12 §2): what `history` and `readiness` need of a run, computed
//! from its replayed [`RunState`] alone, so that listing thousands of runs never replays
//! thousands of journals. Pure (the caller says what time it is and how long the journal is).
//!
//! A runner writes it to `runs/<id>/summary.json` whenever it stops (`summaries.rs`); readers
//! trust it only while it still describes the journal beside it: the same run id, the same
//! format version, and the journal's size and record count it was made from. Anything else
//! (a summary that does not parse, a journal that grew, a record count the anchor denies) is
//! ignored and the journal replayed instead.
//!
//! - **kind**: `run`, or the drill's type.
//! - **success**: a drill's is its result's ([`super::drill::drill_result`]); a plain run's is
//!   "it succeeded, and met its RTO and RPO where measurable".
//! - **issues**: a drill's issues found; a plain run's failed steps, with their errors.

use super::drill::{drill_result, failed_steps, DrillIssue};
use super::results::{self, Forward};
use super::{RunState, RunStatus};
use serde::{Deserialize, Serialize};

/// The summary format's version: a summary of another version is stale.
pub const SUMMARY_VERSION: u32 = 1;

/// One issue a run or drill found: a step that failed, or a tabletop's issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub step: String,
    pub message: String,
}

/// A run, in short.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub v: u32,
    pub run_id: String,
    pub runbook: String,
    /// The runbook file as the runner was given it, and its absolute path.
    pub file: String,
    pub path: String,
    /// SHA-256 of the runbook file the run started from.
    pub content_hash: String,
    /// `run`, or the drill type (`tabletop`, `component`, `partial`, `full`).
    pub kind: String,
    /// A partial drill's `--only` steps.
    #[serde(default)]
    pub targets: Vec<String>,
    pub started_at: String,
    pub started_by: String,
    /// The journaled status (`running` may mean its runner is gone: the lock says).
    pub status: RunStatus,
    pub finished_at: Option<String>,
    pub rto_budget_seconds: Option<f64>,
    /// The time to recovery; only a run (or a full or partial drill) that recovered has one.
    pub achieved_rto_seconds: Option<f64>,
    /// How long the forward phase went before it stopped without recovering.
    pub stopped_after_seconds: Option<f64>,
    pub rto_met: Option<bool>,
    pub rpo_objective_seconds: Option<f64>,
    pub achieved_rpo_seconds: Option<f64>,
    pub rpo_met: Option<bool>,
    pub issues_found: usize,
    pub issues: Vec<Issue>,
    pub success: bool,
    /// How many journal records, and how many bytes of journal, it was made from.
    pub records: usize,
    pub journal_bytes: u64,
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

impl Summary {
    /// Whether the run has ended (it will not change unless someone resumes or rolls it back).
    pub fn is_over(&self) -> bool {
        !self.status.is_unfinished()
    }
}

/// The summary of `s`, made from a journal of `journal_bytes` bytes, `now_ms` being the time now.
pub fn summarize(s: &RunState, journal_bytes: u64, now_ms: i64) -> Summary {
    let got = results::results(s, now_ms);
    let drill = drill_result(s, now_ms);
    let (kind, targets) = match &s.drill {
        Some(d) => (d.kind.as_str().to_string(), d.targets.clone()),
        None => ("run".to_string(), Vec::new()),
    };
    let (achieved_rto, rto_met, issues, success) = match &drill {
        Some(r) => {
            let issues = r.issues_found.iter().map(issue).collect();
            (r.achieved_rto_seconds, r.rto_met, issues, r.success)
        }
        None => {
            let issues: Vec<Issue> = failed_steps(s).iter().map(issue).collect();
            let success = s.status == RunStatus::Succeeded
                && got.rto_met != Some(false)
                && got.rpo.met != Some(false);
            (got.forward.achieved_ms().map(secs), got.rto_met, issues, success)
        }
    };
    let stopped_after = match &got.forward {
        Forward::Stopped { ms, .. } => Some(secs(*ms)),
        _ => None,
    };
    Summary {
        v: SUMMARY_VERSION,
        run_id: s.run_id.clone(),
        runbook: s.runbook.clone(),
        file: s.file.clone(),
        path: s.path.clone(),
        content_hash: s.content_hash.clone(),
        kind,
        targets,
        started_at: s.started_at.clone(),
        started_by: s.user.clone(),
        status: s.status,
        finished_at: s.finished_at.clone(),
        rto_budget_seconds: s.rto_ms.map(secs),
        achieved_rto_seconds: achieved_rto,
        stopped_after_seconds: stopped_after,
        rto_met,
        rpo_objective_seconds: s.rpo_ms.map(secs),
        achieved_rpo_seconds: got.rpo.counted.as_ref().map(|m| secs(m.ms)),
        rpo_met: got.rpo.met,
        issues_found: issues.len(),
        issues,
        success,
        records: s.records,
        journal_bytes,
    }
}

fn issue(i: &DrillIssue) -> Issue {
    Issue { step: i.step.clone(), message: i.message.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{replay, DrillInfo, Event, Outcome, VERSION};
    use crate::model::DrillKind;
    use std::collections::BTreeMap;

    fn t(sec: u32) -> String {
        format!("2026-11-23T22:00:{sec:02}.000Z")
    }

    fn run(drill: Option<DrillKind>, fail: bool) -> RunState {
        let mut ev = vec![Event::RunStarted {
            v: VERSION,
            run_id: "r".into(),
            runbook: "rb".into(),
            file: "rb.drbook".into(),
            path: "/rb.drbook".into(),
            content_hash: "ab".repeat(32),
            step_hashes: vec![("a".into(), "h".into())],
            params: BTreeMap::new(),
            at: t(0),
            clock_start: t(0),
            rto_ms: Some(10_000),
            rpo_ms: None,
            user: "ana".into(),
            pid: 1,
            drill: drill.map(|kind| DrillInfo { kind, targets: Vec::new() }),
            trigger: None,
        }];
        ev.push(Event::StepStarted { step: "a".into(), attempt: 1, at: t(1) });
        if fail {
            ev.push(Event::StepFailed {
                step: "a".into(),
                attempt: 1,
                at: t(2),
                error: "exit 3".into(),
                will_retry: false,
                captures: BTreeMap::new(),
                unbegun: false,
            });
            ev.push(Event::RunFinished { at: t(3), outcome: Outcome::Failed });
        } else {
            ev.push(Event::StepSucceeded {
                step: "a".into(),
                attempt: 1,
                at: t(2),
                duration_ms: 1000,
                captures: BTreeMap::new(),
                rpo_ms: None,
            });
            ev.push(Event::RunFinished { at: t(3), outcome: Outcome::Succeeded });
        }
        replay(&ev).expect("replays")
    }

    #[test]
    fn a_run_that_recovered_in_budget_succeeded() {
        let s = summarize(&run(None, false), 123, 0);
        assert_eq!(s.kind, "run");
        assert_eq!(s.achieved_rto_seconds, Some(3.0));
        assert_eq!(s.rto_met, Some(true));
        assert!(s.success);
        assert_eq!((s.records, s.journal_bytes), (4, 123));
        assert_eq!(s.issues_found, 0);
    }

    #[test]
    fn a_failed_drill_names_its_issue() {
        let s = summarize(&run(Some(DrillKind::Full), true), 1, 0);
        assert_eq!(s.kind, "full");
        assert!(!s.success);
        assert_eq!(s.issues, vec![Issue { step: "a".into(), message: "exit 3".into() }]);
        assert_eq!(s.achieved_rto_seconds, None);
        assert_eq!(s.stopped_after_seconds, Some(3.0), "until its run_finished");
    }

    #[test]
    fn a_summary_round_trips_through_json() {
        let s = summarize(&run(Some(DrillKind::Full), false), 9, 0);
        let back: Summary =
            serde_json::from_str(&serde_json::to_string(&s).expect("json")).expect("parses");
        assert_eq!(back, s);
    }
}
