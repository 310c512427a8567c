//! Unit tests for [`services`](super::services): journals built event by event, judged against
//! per-service objectives.

use super::*;
use crate::journal::{replay, Event, Outcome, VERSION};
use std::collections::BTreeMap;

/// `2026-11-23T22:MM:SS.000Z`.
fn t(min: u32, sec: u32) -> String {
    format!("2026-11-23T22:{min:02}:{sec:02}.000Z")
}

fn started(steps: &[&str]) -> Event {
    Event::RunStarted {
        v: VERSION,
        run_id: "r".into(),
        runbook: "rb".into(),
        file: "rb.drbook".into(),
        path: "/rb.drbook".into(),
        content_hash: "00".repeat(32),
        step_hashes: steps.iter().map(|s| (s.to_string(), "h".to_string())).collect(),
        params: BTreeMap::new(),
        at: t(0, 0),
        clock_start: t(0, 0),
        rto_ms: None,
        rpo_ms: None,
        user: "ana".into(),
        pid: 1,
        drill: None,
        trigger: None,
    }
}

fn ok(step: &str, at: String) -> Vec<Event> {
    vec![
        Event::StepStarted { step: step.into(), attempt: 1, at: at.clone() },
        Event::StepSucceeded {
            step: step.into(),
            attempt: 1,
            at,
            duration_ms: 1,
            captures: BTreeMap::new(),
            rpo_ms: None,
        },
    ]
}

fn failed(step: &str, at: String) -> Vec<Event> {
    vec![
        Event::StepStarted { step: step.into(), attempt: 1, at: at.clone() },
        Event::StepFailed {
            step: step.into(),
            attempt: 1,
            at,
            error: "exit code 1".into(),
            will_retry: false,
            captures: BTreeMap::new(),
            unbegun: false,
        },
    ]
}

fn objective(name: &str, rto_min: u64, steps: &[&str]) -> Objective {
    Objective {
        name: name.into(),
        rto_ms: Some(rto_min * 60_000),
        restored_by: steps.iter().map(|s| s.to_string()).collect(),
    }
}

fn judge(events: Vec<Event>, objectives: &[Objective]) -> Vec<ServiceResult> {
    services(&replay(&events).expect("a valid journal"), objectives)
}

#[test]
fn a_service_is_restored_when_the_last_of_its_steps_finished() {
    let mut e = vec![started(&["db", "api", "dns"])];
    e.extend(ok("db", t(3, 0)));
    e.extend(ok("api", t(12, 30)));
    e.extend(ok("dns", t(20, 0)));
    e.push(Event::RunFinished { at: t(20, 1), outcome: Outcome::Succeeded });
    let got = judge(
        e,
        &[objective("api-gateway", 15, &["db", "api"]), objective("edge", 15, &["dns", "db"])],
    );
    assert_eq!(got[0].restored, Restored::Yes { ms: 12 * 60_000 + 30_000, at: t(12, 30) });
    assert_eq!(got[0].met, Some(true));
    assert_eq!(got[1].restored, Restored::Yes { ms: 20 * 60_000, at: t(20, 0) });
    assert_eq!(got[1].met, Some(false), "20m is over its 15m rto");
}

#[test]
fn a_failed_step_or_one_that_never_ran_leaves_its_service_not_restored() {
    let mut e = vec![started(&["db", "api", "dns"])];
    e.extend(ok("db", t(1, 0)));
    e.extend(failed("api", t(2, 0)));
    let going = [objective("api", 30, &["db", "api"]), objective("edge", 30, &["dns"])];
    let got = judge(e.clone(), &going);
    assert_eq!(got[0].restored, Restored::No { why: "`api` failed".into() });
    assert_eq!(got[0].met, Some(false));
    assert_eq!(got[1].restored, Restored::NotYet, "the run goes on: `dns` may still run");
    assert_eq!(got[1].met, None);
    e.push(Event::RunFinished { at: t(2, 1), outcome: Outcome::Failed });
    let got = judge(e, &going);
    assert_eq!(got[1].restored, Restored::No { why: "`dns` never ran".into() });
    assert_eq!(got[1].met, Some(false));
}

#[test]
fn skipped_counts_as_restored_unless_a_drill_left_the_step_out() {
    let mut e = vec![started(&["db", "api"])];
    e.push(Event::StepSkipped { step: "db".into(), at: t(0, 5), reason: "`when` is false".into() });
    e.push(Event::StepSkipped {
        step: "api".into(),
        at: t(0, 6),
        reason: crate::journal::drill::SKIP_REASON.into(),
    });
    e.push(Event::RunFinished { at: t(0, 7), outcome: Outcome::Succeeded });
    let got = judge(e, &[objective("db", 1, &["db"]), objective("api", 1, &["api", "db"])]);
    assert_eq!(got[0].restored, Restored::Yes { ms: 5000, at: t(0, 5) });
    assert_eq!(got[0].met, Some(true));
    assert_eq!((&got[1].restored, got[1].met), (&Restored::OutsideDrill, None));
}

#[test]
fn a_service_no_step_restores_is_never_restored_and_no_rto_means_no_verdict() {
    let mut e = vec![started(&["db"])];
    e.extend(ok("db", t(0, 9)));
    let mut free = objective("free", 1, &["db"]);
    free.rto_ms = None;
    let got = judge(e, &[objective("orphan", 1, &[]), free]);
    assert_eq!(got[0].restored, Restored::No { why: "no step restores it".into() });
    assert_eq!(got[1].restored, Restored::Yes { ms: 9000, at: t(0, 9) });
    assert_eq!(got[1].met, None);
}
