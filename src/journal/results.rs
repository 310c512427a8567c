//! What a run achieved, judged from its replayed [`RunState`] alone: the RTO, the rollback
//! phase, the RPO. The one definition behind every report format, `status`, `--strict-rto`,
//! `--strict-rpo` and the run's built-in results; pure (the caller says what time it is).
//!
//! - **The achieved RTO is the time to recovery**: from the RTO clock's start (the run's
//!   start, or `--since`) to the forward phase succeeding (its `run_finished` with
//!   `succeeded`). A run that never recovered did not achieve its RTO: it *stopped after* the
//!   time from the clock's start to its failure (or to its turn to rolling back), and it missed
//!   `rto` whatever that time was. A run still going has neither; it has been going so long.
//! - **A rollback is its own phase**, with its own start, duration and outcome. It never moves
//!   the forward phase's end: a run that recovered and is rolled back later still recovered
//!   when it did.
//! - **The RPO is the largest `measure rpo`**: each measurement is kept (step, value), and the
//!   worst one counts, because the data lost is at most what the worst measurement says and a
//!   smaller one elsewhere does not make it less.

use super::{RunState, RunStatus};
use crate::model::time as clock;

/// The forward phase, by the RTO clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forward {
    /// It succeeded at `at`, `ms` after the clock's start: the achieved RTO.
    Recovered { ms: u64, at: String },
    /// It stopped without recovering (it failed, or the run turned to rolling back) at `at`,
    /// `ms` after the clock's start.
    Stopped { ms: u64, at: String },
    /// Still going (running, paused, interrupted): `ms` since the clock's start.
    Going { ms: u64 },
}

impl Forward {
    /// The achieved RTO: only a run that recovered has one.
    pub fn achieved_ms(&self) -> Option<u64> {
        match self {
            Forward::Recovered { ms, .. } => Some(*ms),
            _ => None,
        }
    }

    /// How long the forward phase went before it stopped without recovering.
    pub fn stopped_after_ms(&self) -> Option<u64> {
        match self {
            Forward::Stopped { ms, .. } => Some(*ms),
            _ => None,
        }
    }

    /// How long the forward phase has been going, while it is.
    pub fn going_ms(&self) -> Option<u64> {
        match self {
            Forward::Going { ms } => Some(*ms),
            _ => None,
        }
    }
}

/// Whether the forward phase met the budget `rto_ms`: `None` without a budget, or while the
/// run is still going; `false` for a run that stopped without recovering, however soon.
pub fn rto_met(rto_ms: Option<u64>, forward: &Forward) -> Option<bool> {
    let budget = rto_ms?;
    match forward {
        Forward::Recovered { ms, .. } => Some(*ms <= budget),
        Forward::Stopped { .. } => Some(false),
        Forward::Going { .. } => None,
    }
}

/// How a rollback phase stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackOutcome {
    /// Still undoing (or paused, interrupted).
    Going,
    RolledBack,
    RollbackFailed,
}

impl RollbackOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RollbackOutcome::Going => "rolling_back",
            RollbackOutcome::RolledBack => "rolled_back",
            RollbackOutcome::RollbackFailed => "rollback_failed",
        }
    }
}

/// The rollback phase of a run that rolled back (or is rolling back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackPhase {
    pub started_at: String,
    pub reason: String,
    pub by: String,
    pub finished_at: Option<String>,
    /// From its start to its end, or to now while it goes on.
    pub duration_ms: u64,
    pub outcome: RollbackOutcome,
}

/// One `measure rpo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measurement {
    pub step: String,
    pub ms: u64,
}

/// The RPO: every measurement, in step order, and the one that counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rpo {
    pub budget_ms: Option<u64>,
    pub measurements: Vec<Measurement>,
    /// The largest measurement (the first of equals): the achieved RPO.
    pub counted: Option<Measurement>,
    /// Whether the achieved RPO is within the budget (`None` without either).
    pub met: Option<bool>,
}

/// A run's results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Results {
    pub forward: Forward,
    pub rto_ms: Option<u64>,
    pub rto_met: Option<bool>,
    pub rollback: Option<RollbackPhase>,
    pub rpo: Rpo,
}

/// Milliseconds from `from` to `to` (RFC 3339), 0 when either is unreadable or `to` is earlier.
fn span(from: &str, to: i64) -> u64 {
    clock::parse(from).and_then(|f| u64::try_from(to - f).ok()).unwrap_or(0)
}

fn at_ms(at: &str, now_ms: i64) -> i64 {
    clock::parse(at).unwrap_or(now_ms)
}

/// The forward phase of `s`, `now_ms` being the time now (for a run still going).
pub fn forward(s: &RunState, now_ms: i64) -> Forward {
    let since = |at: &str| span(&s.clock_start, at_ms(at, now_ms));
    match (&s.recovered_at, &s.forward_stopped_at) {
        (Some(at), _) => Forward::Recovered { ms: since(at), at: at.clone() },
        (None, Some(at)) => Forward::Stopped { ms: since(at), at: at.clone() },
        (None, None) => Forward::Going { ms: span(&s.clock_start, now_ms) },
    }
}

/// Everything `s` achieved, `now_ms` being the time now.
pub fn results(s: &RunState, now_ms: i64) -> Results {
    let forward = forward(s, now_ms);
    let rollback = s.rollback.as_ref().map(|r| {
        let outcome = match s.status {
            RunStatus::RolledBack => RollbackOutcome::RolledBack,
            RunStatus::RollbackFailed => RollbackOutcome::RollbackFailed,
            _ => RollbackOutcome::Going,
        };
        let finished_at = (outcome != RollbackOutcome::Going).then(|| s.finished_at.clone());
        let finished_at = finished_at.flatten();
        let end = finished_at.as_deref().map_or(now_ms, |f| at_ms(f, now_ms));
        RollbackPhase {
            started_at: r.at.clone(),
            reason: r.reason.clone(),
            by: r.by.clone(),
            duration_ms: span(&r.at, end),
            finished_at,
            outcome,
        }
    });
    let measurements: Vec<Measurement> = s
        .steps
        .iter()
        .filter_map(|(id, r)| r.rpo_ms.map(|ms| Measurement { step: id.clone(), ms }))
        .collect();
    let counted = measurements.iter().fold(None::<&Measurement>, |worst, m| match worst {
        Some(w) if w.ms >= m.ms => Some(w),
        _ => Some(m),
    });
    let counted = counted.cloned();
    let met = s.rpo_ms.zip(counted.as_ref()).map(|(budget, m)| m.ms <= budget);
    Results {
        rto_met: rto_met(s.rto_ms, &forward),
        forward,
        rto_ms: s.rto_ms,
        rollback,
        rpo: Rpo { budget_ms: s.rpo_ms, measurements, counted, met },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{replay, Event, Outcome, VERSION};
    use std::collections::BTreeMap;

    /// `2026-11-23T22:00:SS.000Z` plus `min` minutes.
    fn t(min: u32, sec: u32) -> String {
        format!("2026-11-23T22:{min:02}:{sec:02}.000Z")
    }

    fn started(rto: Option<u64>, rpo: Option<u64>) -> Event {
        Event::RunStarted {
            v: VERSION,
            run_id: "r".into(),
            runbook: "rb".into(),
            file: "rb.drbook".into(),
            path: "/rb.drbook".into(),
            content_hash: "00".repeat(32),
            step_hashes: vec![("a".into(), "h".into()), ("b".into(), "h".into())],
            params: BTreeMap::new(),
            at: t(0, 0),
            clock_start: t(0, 0),
            rto_ms: rto,
            rpo_ms: rpo,
            user: "ana".into(),
            pid: 1,
            drill: None,
            trigger: None,
        }
    }

    fn ok(step: &str, at: String, rpo_ms: Option<u64>) -> Vec<Event> {
        vec![
            Event::StepStarted { step: step.into(), attempt: 1, at: at.clone() },
            Event::StepSucceeded {
                step: step.into(),
                attempt: 1,
                at,
                duration_ms: 1,
                captures: BTreeMap::new(),
                rpo_ms,
            },
        ]
    }

    fn run(events: Vec<Event>) -> RunState {
        replay(&events).expect("a valid journal")
    }

    fn now() -> i64 {
        clock::parse(&t(59, 0)).expect("a time")
    }

    #[test]
    fn a_rollback_after_recovery_is_its_own_phase_and_never_moves_the_rto() {
        let mut e = vec![started(Some(120_000), None)];
        e.extend(ok("a", t(0, 50), None));
        e.push(Event::RunFinished { at: t(0, 55), outcome: Outcome::Succeeded });
        let recovered = results(&run(e.clone()), now());
        assert_eq!(recovered.forward, Forward::Recovered { ms: 55_000, at: t(0, 55) });
        assert_eq!(recovered.rto_met, Some(true));
        assert_eq!(recovered.rollback, None);
        // Seventeen minutes later, `drbook rollback`.
        e.push(Event::RollbackStarted { at: t(17, 30), reason: "asked".into(), by: "bo".into() });
        e.push(Event::UndoStarted { step: "a".into(), at: t(17, 30) });
        e.push(Event::UndoSucceeded { step: "a".into(), at: t(17, 33), duration_ms: 3000 });
        e.push(Event::RunFinished { at: t(17, 34), outcome: Outcome::RolledBack });
        let r = results(&run(e), now());
        assert_eq!(r.forward, recovered.forward);
        assert_eq!(r.rto_met, Some(true));
        let phase = r.rollback.expect("a rollback phase");
        assert_eq!((phase.started_at.as_str(), phase.duration_ms), (t(17, 30).as_str(), 4000));
        assert_eq!(phase.outcome, RollbackOutcome::RolledBack);
        assert_eq!(phase.finished_at, Some(t(17, 34)));
    }

    #[test]
    fn a_run_that_never_recovered_stopped_and_missed_its_rto_however_soon() {
        let mut e = vec![started(Some(3_600_000), None)];
        e.extend(ok("a", t(1, 0), None));
        e.push(Event::StepStarted { step: "b".into(), attempt: 1, at: t(2, 0) });
        e.push(Event::StepFailed {
            step: "b".into(),
            attempt: 1,
            at: t(4, 5),
            error: "exit code 3".into(),
            will_retry: false,
            captures: BTreeMap::new(),
            unbegun: false,
        });
        e.push(Event::RunFinished { at: t(4, 10), outcome: Outcome::Failed });
        let failed = results(&run(e.clone()), now());
        assert_eq!(failed.forward, Forward::Stopped { ms: 250_000, at: t(4, 10) });
        assert_eq!(failed.forward.achieved_ms(), None);
        assert_eq!(failed.rto_met, Some(false));
        // Resumed, it goes on (the clock never stopped) and is judged again when it ends.
        e.push(Event::RunResumed { at: t(30, 0), pid: 2, user: "ana".into() });
        assert_eq!(results(&run(e.clone()), now()).forward, Forward::Going { ms: 59 * 60_000 });
        assert_eq!(results(&run(e.clone()), now()).rto_met, None);
        e.push(Event::StepStarted { step: "b".into(), attempt: 2, at: t(30, 0) });
        e.push(Event::StepFailed {
            step: "b".into(),
            attempt: 2,
            at: t(31, 0),
            error: "exit code 3".into(),
            will_retry: false,
            captures: BTreeMap::new(),
            unbegun: false,
        });
        e.push(Event::RollbackStarted {
            at: t(31, 1),
            reason: "b failed".into(),
            by: "ana".into(),
        });
        let rolling = results(&run(e), now());
        assert_eq!(rolling.forward, Forward::Stopped { ms: 31 * 60_000 + 1000, at: t(31, 1) });
        let phase = rolling.rollback.expect("a rollback phase");
        assert_eq!(
            (phase.outcome, phase.duration_ms),
            (RollbackOutcome::Going, 27 * 60_000 + 59_000)
        );
    }

    #[test]
    fn a_rollback_of_a_failed_run_keeps_when_the_run_stopped() {
        let mut e = vec![started(None, None)];
        e.push(Event::RunFinished { at: t(4, 10), outcome: Outcome::Failed });
        e.push(Event::RollbackStarted { at: t(9, 0), reason: "asked".into(), by: "bo".into() });
        e.push(Event::RunResumed { at: t(10, 0), pid: 3, user: "bo".into() });
        e.push(Event::RunFinished { at: t(10, 1), outcome: Outcome::RollbackFailed });
        let r = results(&run(e), now());
        assert_eq!(r.forward.stopped_after_ms(), Some(250_000));
        assert_eq!(r.rto_met, None, "no budget, no verdict");
        let phase = r.rollback.expect("a rollback phase");
        assert_eq!((phase.outcome, phase.duration_ms), (RollbackOutcome::RollbackFailed, 61_000));
    }

    #[test]
    fn every_rpo_measurement_is_kept_and_the_largest_counts() {
        let mut e = vec![started(None, Some(5000))];
        e.extend(ok("a", t(1, 0), Some(1500)));
        e.extend(ok("b", t(1, 0), Some(6000)));
        let r = results(&run(e), now());
        let m = |step: &str, ms| Measurement { step: step.into(), ms };
        assert_eq!(r.rpo.measurements, [m("a", 1500), m("b", 6000)]);
        assert_eq!(r.rpo.counted, Some(m("b", 6000)));
        assert_eq!(r.rpo.met, Some(false));
        let none = results(&run(vec![started(None, Some(5000))]), now());
        assert_eq!((none.rpo.counted, none.rpo.met), (None, None));
    }
}
