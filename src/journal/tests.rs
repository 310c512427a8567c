//! Journal tests: pure replay (`tests/replay.rs`), record framing and torn tails
//! (`tests/framing.rs`), the on-disk store with real files in temp dirs (`tests/store.rs`), and
//! the replay of rollbacks (`tests/undo.rs`), creating a run whole or not at all
//! (`tests/create.rs`), masking secrets out of events (`tests/masking.rs`), and the journal
//! writer with group commit (`tests/writer.rs`), the hash chain and its anchor
//! (`tests/chain.rs`).
//!
//! Input: events built by the helpers below. Output: assertions only. Invariant: every
//! journal built here starts with [`started`] for run [`RUN`].

mod audit;
mod chain;
mod create;
mod framing;
mod gates;
mod masking;
mod replay;
mod signed;
mod store;
mod tabletop;
mod undo;
mod writer;

use super::*;
use std::collections::BTreeMap;

pub(super) const RUN: &str = "r1";
pub(super) const AT: &str = "2026-11-23T22:15:30.000Z";

/// `run_started` for run [`RUN`] with the given steps.
pub(super) fn started(steps: &[&str]) -> Event {
    Event::RunStarted {
        v: VERSION,
        run_id: RUN.into(),
        runbook: "quickstart".into(),
        file: "quickstart.drbook".into(),
        path: "/srv/quickstart.drbook".into(),
        content_hash: "ab".repeat(32),
        step_hashes: steps.iter().map(|s| (s.to_string(), format!("h-{s}"))).collect(),
        params: BTreeMap::from([("region".to_string(), "eu-west-1".to_string())]),
        at: AT.into(),
        clock_start: AT.into(),
        rto_ms: Some(3_600_000),
        rpo_ms: None,
        user: "ana".into(),
        pid: 42,
        drill: None,
        trigger: None,
    }
}

pub(super) fn start(step: &str, attempt: u32) -> Event {
    Event::StepStarted { step: step.into(), attempt, at: AT.into() }
}

pub(super) fn process(step: &str, attempt: u32) -> Event {
    Event::StepProcess { step: step.into(), attempt, pid: 100, pgid: 100, pid_start: 7 }
}

pub(super) fn ok(step: &str, attempt: u32) -> Event {
    Event::StepSucceeded {
        step: step.into(),
        attempt,
        at: AT.into(),
        duration_ms: 12,
        captures: BTreeMap::from([("lsn".to_string(), "0/16B3748".to_string())]),
        rpo_ms: Some(900),
    }
}

pub(super) fn fail(step: &str, attempt: u32, will_retry: bool) -> Event {
    Event::StepFailed {
        step: step.into(),
        attempt,
        at: AT.into(),
        error: "exit 1".into(),
        will_retry,
        captures: BTreeMap::new(),
        unbegun: false,
    }
}

pub(super) fn skip(step: &str) -> Event {
    Event::StepSkipped { step: step.into(), at: AT.into(), reason: "`when` is false".into() }
}

pub(super) fn wait(step: &str) -> Event {
    Event::StepWaiting { step: step.into(), at: AT.into(), reason: "flip the DNS".into() }
}

pub(super) fn interrupt(step: &str, attempt: u32) -> Event {
    Event::StepInterrupted { step: step.into(), attempt, at: AT.into() }
}

pub(super) fn decide(step: &str, decision: Decision) -> Event {
    Event::StepDecided {
        step: step.into(),
        decision,
        by: "ana".into(),
        at: AT.into(),
        reason: None,
        forced: false,
    }
}

pub(super) fn paused() -> Event {
    Event::RunPaused { at: AT.into(), reason: "waiting for a person".into() }
}

pub(super) fn resumed() -> Event {
    Event::RunResumed { at: AT.into(), pid: 43, user: "ana".into() }
}

pub(super) fn run_interrupted() -> Event {
    Event::RunInterrupted { at: AT.into(), signal: "SIGINT".into() }
}

pub(super) fn finished(outcome: Outcome) -> Event {
    Event::RunFinished { at: AT.into(), outcome }
}

/// `started(steps)` followed by `rest`.
pub(super) fn journal(steps: &[&str], rest: Vec<Event>) -> Vec<Event> {
    let mut all = vec![started(steps)];
    all.extend(rest);
    all
}

/// The framed bytes of `events`.
pub(super) fn bytes_of(events: &[Event]) -> Vec<u8> {
    events.iter().flat_map(encode).collect()
}
