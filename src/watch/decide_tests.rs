//! The trigger's rules, round by round, against a state replayed by the watch journal's own
//! replay (so every event sequence decide produces is one the journal accepts).

use super::*;
use crate::journal::watch::{Phase, WATCH_VERSION};
use crate::journal::{ApprovalRecord, How};
use crate::model::{Millis, Trigger};

const T0: i64 = 1_796_000_000_000;

fn at(secs: i64) -> String {
    clock::format(T0 + secs * 1000)
}

fn trigger(failures: u32, quorum: u32, probes: usize, requires: Requires) -> Trigger {
    let probes = (0..probes)
        .map(|i| crate::model::trigger::Probe {
            name: format!("p{i}"),
            action: crate::model::Action::Run { script: crate::model::Text::literal("true") },
            timeout: 1000,
            span: Default::default(),
        })
        .collect();
    Trigger {
        probes,
        every: 30_000,
        failures,
        quorum,
        cooldown: 30 * 60_000,
        rpo_gate: None,
        requires,
        params: Vec::new(),
        notify: None,
        span: Default::default(),
    }
}

fn auto(failures: u32) -> Trigger {
    trigger(failures, 1, 1, Requires::Auto)
}

fn outcomes(oks: &[bool]) -> Vec<ProbeOutcome> {
    oks.iter()
        .enumerate()
        .map(|(i, &ok)| ProbeOutcome { name: format!("p{i}"), ok, detail: "x".into(), ms: 1 })
        .collect()
}

/// A watcher's journal and its replayed state.
struct Sim {
    events: Vec<WatchEvent>,
    state: WatchState,
    round: u64,
}

impl Sim {
    fn new() -> Sim {
        let start = WatchEvent::WatchStarted {
            v: WATCH_VERSION,
            at: at(0),
            runbook: "db".into(),
            path: "/db.drbook".into(),
            content_hash: "h".into(),
            pid: 1,
            user: "watch".into(),
            dry_run: false,
        };
        let mut s = Sim { events: Vec::new(), state: WatchState::default(), round: 0 };
        s.push(vec![start]);
        s
    }

    fn push(&mut self, events: Vec<WatchEvent>) {
        for e in events {
            self.state.apply(&e).unwrap_or_else(|err| panic!("{e:?}: {err}"));
            self.events.push(e);
        }
    }

    /// One round at `secs`; its decision, its events journaled.
    fn round(&mut self, t: &Trigger, oks: &[bool], secs: i64) -> Decision {
        self.round += 1;
        let r = Round { number: self.round, at: at(secs), probes: outcomes(oks) };
        let d = decide(&self.state, t, &r, &at(secs));
        self.push(d.events.clone());
        d
    }

    fn fire(&mut self, run: &str, dry: bool, secs: i64) {
        let e = fire_events(&self.state, run, dry, outcomes(&[false]), &at(secs));
        self.push(e);
    }
}

#[test]
fn n_minus_one_failed_rounds_do_not_fire_and_n_do() {
    let t = auto(3);
    let mut s = Sim::new();
    let d1 = s.round(&t, &[false], 30);
    assert!(matches!(d1.events[..], [WatchEvent::Degraded { .. }]));
    assert_eq!((d1.line.consecutive, d1.next.clone()), (1, Next::Nothing));
    let d2 = s.round(&t, &[false], 60);
    assert!(matches!(d2.events[..], [WatchEvent::RoundFailed { consecutive: 2, .. }]));
    assert_eq!(d2.next, Next::Nothing);
    let d3 = s.round(&t, &[false], 90);
    assert_eq!((d3.line.consecutive, d3.next), (3, Next::Judge));
    assert_eq!(s.state.detected_at.as_deref(), Some(at(30).as_str()));
}

#[test]
fn a_healthy_round_recovers_and_resets_the_count() {
    let t = auto(3);
    let mut s = Sim::new();
    s.round(&t, &[false], 30);
    s.round(&t, &[false], 60);
    let ok = s.round(&t, &[true], 90);
    assert!(matches!(ok.events[..], [WatchEvent::Recovered { after: 2, .. }]));
    assert!(ok.line.healthy);
    assert_eq!(s.state.phase, Phase::Healthy);
    // Healthy rounds without an outage journal nothing.
    assert!(s.round(&t, &[true], 120).events.is_empty());
    // The count starts again: two more failures do not reach 3.
    s.round(&t, &[false], 150);
    assert_eq!(s.round(&t, &[false], 180).next, Next::Nothing);
    assert_eq!(s.round(&t, &[false], 210).next, Next::Judge);
}

#[test]
fn quorum_k_of_n_decides_whether_a_round_fails() {
    let t = trigger(1, 2, 3, Requires::Auto);
    let mut s = Sim::new();
    let one = s.round(&t, &[false, true, true], 30);
    assert!(one.line.healthy && one.line.failed == 1 && one.line.of == 3);
    let two = s.round(&t, &[false, false, true], 60);
    assert!(!two.line.healthy);
    assert_eq!(two.next, Next::Judge);
    // Default quorum N of N: one healthy probe keeps the round healthy.
    let all = trigger(1, 3, 3, Requires::Auto);
    assert!(round_failed(&all, &outcomes(&[false, false, true])) == (false, 2));
    assert!(round_failed(&all, &outcomes(&[false, false, false])).0);
}

#[test]
fn a_real_firing_disarms_until_acknowledged_and_starts_the_cooldown() {
    let t = auto(2);
    let mut s = Sim::new();
    s.round(&t, &[false], 30);
    assert_eq!(s.round(&t, &[false], 60).next, Next::Judge);
    s.fire("run-1", false, 61);
    assert_eq!(s.state.phase, Phase::Disarmed);
    // Still failing, disarmed: nothing fires, the line says why.
    s.round(&t, &[false], 90);
    let d = s.round(&t, &[false], 120);
    assert_eq!(d.next, Next::Nothing);
    assert!(d.note.as_deref().is_some_and(|n| n.contains("disarmed since run run-1")), "{d:?}");
    // Acknowledged while still failing, inside the cooldown: the next failed round (the
    // count went on while disarmed) is blocked by it.
    s.push(vec![WatchEvent::Acknowledged { at: at(121), by: "alice".into(), comment: None }]);
    let d = s.round(&t, &[false], 180);
    assert_eq!(d.next, Next::Nothing);
    match &d.events[..] {
        [WatchEvent::RoundFailed { .. }, WatchEvent::Blocked { block: Block::Cooldown { until, .. }, detected_at, .. }] =>
        {
            assert_eq!(until, &at(61 + 30 * 60));
            assert_eq!(detected_at, &at(30));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cooldown_until(&s.state, &t, &at(200)), Some(at(61 + 30 * 60)));
    // After the cooldown the threshold may fire again.
    let after = 61 + 30 * 60 + 1;
    s.round(&t, &[false], after);
    assert_eq!(s.round(&t, &[false], after + 30).next, Next::Judge);
    assert_eq!(cooldown_until(&s.state, &t, &at(after + 30)), None);
}

#[test]
fn a_dry_run_firing_neither_disarms_nor_starts_the_cooldown() {
    let t = auto(1);
    let mut s = Sim::new();
    assert_eq!(s.round(&t, &[false], 30).next, Next::Judge);
    s.fire("", true, 31);
    assert_ne!(s.state.phase, Phase::Disarmed);
    assert_eq!(s.state.last_fired_at, None);
    // The count started again from 0: the next failed round reaches 1 of 1 again.
    assert_eq!(s.round(&t, &[false], 60).next, Next::Judge);
}

#[test]
fn approval_opens_a_gate_recovery_cancels_it_and_approval_fires() {
    let a = Approval { roles: vec!["lead".into(), "manager".into()], timeout: Some(900_000) };
    let t = trigger(1, 1, 1, Requires::Approval(a.clone()));
    let mut rb = crate::model::tests_support::runbook_with_durations(&[], &[]);
    rb.roles = Some(vec![
        crate::model::Role { name: "lead".into(), members: vec!["alice".into()] },
        crate::model::Role { name: "manager".into(), members: vec!["bob".into()] },
    ]);
    let mut s = Sim::new();
    assert_eq!(s.round(&t, &[false], 30).next, Next::Judge);
    let v = judge(&rb, &t, None, || panic!("approval never asks the practice rule"), &at(31));
    let Verdict::Ask(gate) = v else { panic!("{v:?}") };
    assert_eq!(gate.roles, ["lead", "manager"]);
    assert_eq!(gate.members.as_ref().map(|m| m.len()), Some(2));
    s.push(vec![WatchEvent::AwaitingApproval {
        at: at(31),
        gate: gate.clone(),
        detected_at: at(30),
    }]);
    assert!(!ready_to_fire(&s.state));
    // Still failing while awaiting: nothing new is asked.
    let d = s.round(&t, &[false], 60);
    assert_eq!(d.next, Next::Nothing);
    // A healthy round cancels the gate.
    s.round(&t, &[true], 90);
    assert!(s.state.awaiting.is_none());
    // Again, and this time both roles approve: ready to fire.
    s.round(&t, &[false], 120);
    s.push(vec![WatchEvent::AwaitingApproval { at: at(121), gate, detected_at: at(120) }]);
    for (role, by) in [("lead", "alice"), ("manager", "bob")] {
        let record = ApprovalRecord {
            role: role.into(),
            by: by.into(),
            at: at(122),
            how: How::Cli,
            comment: None,
            request: None,
            signed: None,
            os: false,
        };
        s.push(vec![WatchEvent::Approved { at: at(122), record }]);
    }
    assert!(ready_to_fire(&s.state));
    s.fire("run-2", false, 123);
    assert_eq!(s.state.phase, Phase::Disarmed);
}

#[test]
fn an_approval_times_out_and_bare_approval_is_anyones() {
    let a = Approval { roles: Vec::new(), timeout: Some(60_000) };
    let t = trigger(1, 1, 1, Requires::Approval(a.clone()));
    let rb = crate::model::tests_support::runbook_with_durations(&[], &[]);
    let Verdict::Ask(gate) = judge(&rb, &t, None, || Ok(String::new()), &at(31)) else { panic!() };
    assert_eq!(
        (gate.roles.as_slice(), gate.members.is_none()),
        ([ANYONE.to_string()].as_slice(), true)
    );
    let mut s = Sim::new();
    s.round(&t, &[false], 30);
    s.push(vec![WatchEvent::AwaitingApproval { at: at(31), gate, detected_at: at(30) }]);
    assert!(timed_out(&s.state, &at(90)).is_none());
    let e = timed_out(&s.state, &at(91)).unwrap_or_else(|| panic!("timed out"));
    s.push(vec![e]);
    assert_eq!(s.state.last_block, Some(Block::ApprovalTimedOut));
    assert!(s.state.awaiting.is_none());
}

#[test]
fn the_rpo_gate_and_the_practice_rule_block_firing() {
    let rb = crate::model::tests_support::runbook_with_durations(&[], &[]);
    let t = auto(1);
    let over = Block::RpoGate { step: "lag".into(), lag_ms: 90_000, rpo_ms: 60_000 };
    let v = judge(&rb, &t, Some(Err(over.clone())), || panic!("not asked when blocked"), &at(1));
    assert_eq!(v, Verdict::Blocked(over));
    let v = judge(&rb, &t, Some(Ok(10)), || Err("no drill".into()), &at(1));
    assert_eq!(v, Verdict::Blocked(Block::Practice { why: "no drill".into() }));
    assert_eq!(judge(&rb, &t, Some(Ok(10)), || Ok("d1".into()), &at(1)), Verdict::Fire);
    assert_eq!(judge(&rb, &t, None, || Ok("d1".into()), &at(1)), Verdict::Fire);
}

#[test]
fn a_blocked_outage_is_judged_again_after_another_threshold() {
    let t = auto(2);
    let mut s = Sim::new();
    s.round(&t, &[false], 30);
    s.round(&t, &[false], 60);
    s.push(vec![WatchEvent::Blocked {
        at: at(61),
        block: Block::Practice { why: "none".into() },
        detected_at: at(30),
    }]);
    assert_eq!(s.round(&t, &[false], 90).next, Next::Nothing);
    assert_eq!(s.round(&t, &[false], 120).next, Next::Judge);
    let _: Millis = t.every;
}
