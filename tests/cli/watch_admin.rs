//! `drbook watch ack|approve|deny|status` and the watch metrics of `readiness`, on state dirs
//! prepared by journaling watcher events through the library (`journal::watch`), with and
//! without a watcher holding the lock (this test process plays the watcher: it holds the
//! lock and answers the inbox as the contract says).

use crate::runkit::{drb, state};
use crate::Test;
use drbook::journal::watch::{ProbeOutcome, RoundLine, WatchEvent, WatchStore, WATCH_VERSION};
use drbook::journal::Gate;
use serde_json::Value;
use std::path::Path;

const RUNBOOK: &str = r#"runbook "failover" {
  owner "ops"
  rto   1h

  roles {
    lead    = ["alice"]
    manager = ["carol"]
  }

  step promote {
    duration 1m
    run      "true"
  }
}
"#;

const T0: &str = "2026-12-02T10:00:00Z";
const T1: &str = "2026-12-02T10:01:30Z";

fn started() -> WatchEvent {
    WatchEvent::WatchStarted {
        v: WATCH_VERSION,
        at: T0.into(),
        runbook: "failover".into(),
        path: "failover.drbook".into(),
        content_hash: "x".into(),
        pid: 1,
        user: "ops".into(),
        dry_run: false,
    }
}

fn degraded() -> WatchEvent {
    let probes = vec![ProbeOutcome {
        name: "primary".into(),
        ok: false,
        detail: "status 503".into(),
        ms: 4,
    }];
    WatchEvent::Degraded { at: T0.into(), round: 1, failed: 1, of: 1, probes }
}

fn disarmed_by_r1() -> Vec<WatchEvent> {
    vec![
        started(),
        degraded(),
        WatchEvent::Fired {
            at: T1.into(),
            run_id: "r1".into(),
            detected_at: T0.into(),
            dry_run: false,
            evidence: vec![],
        },
        WatchEvent::Disarmed { at: T1.into(), run_id: "r1".into() },
    ]
}

fn awaiting() -> Vec<WatchEvent> {
    let members = [("lead", "alice"), ("manager", "carol")]
        .into_iter()
        .map(|(r, p)| (r.to_string(), vec![p.to_string()]))
        .collect();
    let gate = Gate {
        roles: vec!["lead".into(), "manager".into()],
        members: Some(members),
        requested_at: T1.into(),
        ..Gate::default()
    };
    vec![
        started(),
        degraded(),
        WatchEvent::AwaitingApproval { at: T1.into(), gate, detected_at: T0.into() },
    ]
}

/// A test dir with the runbook and a watch journal holding `events`.
fn prepared(events: &[WatchEvent]) -> Test {
    let t = Test::new().file("failover.drbook", RUNBOOK);
    let store = WatchStore::open(Path::new(&state(&t)), "failover").expect("open");
    let lock = store.lock().expect("lock");
    store.append(&lock, events).expect("append");
    t
}

fn status_json(t: &Test) -> Value {
    let out = drb(t, &["watch", "status", "failover.drbook", "--format", "json"]);
    out.expect_status(0);
    serde_json::from_str(&out.stdout).expect("status json")
}

#[test]
fn watch_ack_rearms_a_disarmed_watcher_when_none_runs() {
    let t = prepared(&disarmed_by_r1());
    assert_eq!(status_json(&t)["state"]["phase"], "disarmed");
    let out = drb(&t, &["watch", "ack", "failover.drbook", "--as", "alice", "--comment", "ok"]);
    out.expect_status(0);
    assert!(out.stdout.contains("alice acknowledged the failover by run `r1`"), "{}", out.stdout);
    let v = status_json(&t);
    assert_eq!(v["state"]["phase"], "degraded");
    assert_eq!(
        v["transitions"].as_array().expect("array").last().expect("one")["event"],
        "acknowledged"
    );
    let again = drb(&t, &["watch", "ack", "failover.drbook", "--as", "alice"]);
    again.expect_status(2).expect_stderr("the watcher is not disarmed");
}

#[test]
fn watch_ack_is_refused_for_a_runbook_nobody_watches() {
    let t = Test::new().file("failover.drbook", RUNBOOK);
    drb(&t, &["watch", "ack", "failover.drbook", "--as", "alice"])
        .expect_status(2)
        .expect_stderr("has no `trigger` block and no watch state");
    drb(&t, &["watch", "status", "failover.drbook"]).expect_status(2);
}

#[test]
fn watch_ack_while_a_watcher_holds_the_lock_goes_through_its_inbox() {
    let t = prepared(&disarmed_by_r1());
    let dir = state(&t);
    let store = WatchStore::open(Path::new(&dir), "failover").expect("open");
    let lock = store.lock().expect("the watcher's lock");
    let (tx, rx) = std::sync::mpsc::channel();
    let watcher = std::thread::spawn(move || {
        let none = |s: &str| s.to_string();
        for _ in 0..200 {
            let done = store.take_requests(&lock, T1, &none).expect("take");
            if !done.is_empty() {
                let _ = tx.send(done);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    let out = drb(&t, &["watch", "ack", "failover.drbook", "--as", "bob"]);
    out.expect_status(0);
    out.expect_stderr(&format!("handing it to the running watcher (pid {})", std::process::id()));
    assert!(out.stdout.contains("the watcher is armed again"), "{}", out.stdout);
    let done = rx.recv().expect("the watcher handled it");
    assert!(matches!(&done[0].events[..], [WatchEvent::Acknowledged { by, .. }] if by == "bob"));
    watcher.join().expect("watcher thread");
    assert_eq!(status_json(&t)["state"]["phase"], "degraded");
}

#[test]
fn watch_approve_and_deny_follow_the_gate_rules() {
    let t = prepared(&awaiting());
    drb(&t, &["watch", "approve", "failover.drbook", "--as", "mallory"])
        .expect_status(2)
        .expect_stderr("not a member");
    let out = drb(&t, &["watch", "approve", "failover.drbook", "--as", "alice"]);
    out.expect_status(0);
    assert!(
        out.stdout.contains("approved the failover as lead; still missing: manager"),
        "{}",
        out.stdout
    );
    let text = drb(&t, &["watch", "status", "failover.drbook"]);
    text.expect_status(0);
    assert!(text.stdout.contains("missing: manager; approved by alice (lead)"), "{}", text.stdout);
    drb(&t, &["watch", "deny", "failover.drbook", "--as", "mallory"])
        .expect_status(2)
        .expect_stderr("may not deny");
    let out =
        drb(&t, &["watch", "deny", "failover.drbook", "--as", "carol", "--reason", "not yet"]);
    out.expect_status(0);
    let v = status_json(&t);
    assert_eq!(v["state"]["last_block"]["kind"], "denied");
    assert_eq!(v["state"]["last_block"]["reason"], "not yet");
    assert_eq!(v["state"]["phase"], "degraded");
    drb(&t, &["watch", "approve", "failover.drbook", "--as", "carol"])
        .expect_status(2)
        .expect_stderr("nothing awaits approval");
}

#[test]
fn watch_status_shows_phase_cooldown_disarm_rounds_and_the_watcher() {
    let t = prepared(&disarmed_by_r1());
    let store = WatchStore::open(Path::new(&state(&t)), "failover").expect("open");
    let lock = store.lock().expect("lock");
    let round = RoundLine {
        at: T1.into(),
        round: 3,
        healthy: false,
        failed: 1,
        of: 2,
        consecutive: 3,
        probes: vec![ProbeOutcome { name: "db".into(), ok: false, detail: "exit 2".into(), ms: 9 }],
    };
    store.write_rounds(&lock, &[round]).expect("rounds");
    let out = drb(&t, &["watch", "status", "failover.drbook"]);
    out.expect_status(0);
    for want in [
        &format!("watcher:   running (pid {})", std::process::id()),
        "phase:     disarmed",
        "cooldown:  none",
        "disarmed:  by run r1",
        "round 3: failing (1 of 2 probes failed; 3 of 3 consecutive) - db: exit 2",
        "fired: run r1",
    ] {
        assert!(out.stdout.contains(want), "{want:?} missing:\n{}", out.stdout);
    }
    drop(lock);
    let v = status_json(&t);
    assert_eq!(v["watcher"]["running"], false);
    assert_eq!(v["state"]["last_fired_at"], T1);
    assert_eq!(v["rounds"][0]["round"], 3);
}

#[test]
fn a_damaged_watch_journal_is_an_error_naming_it() {
    let t = prepared(&disarmed_by_r1());
    let dir = Path::new(&state(&t)).join("watch");
    let key = drbook::journal::watch::key("failover");
    let journal = dir.join(key).join("journal");
    let mut bytes = b"garbage\n".to_vec();
    bytes.extend(std::fs::read(&journal).expect("read"));
    std::fs::write(&journal, bytes).expect("write");
    let out = drb(&t, &["watch", "status", "failover.drbook"]);
    out.expect_status(2).expect_stderr("record 1 (byte 0) is damaged");
    drb(&t, &["watch", "ack", "failover.drbook", "--as", "alice"]).expect_status(2);
}

#[test]
fn readiness_exports_the_watch_state() {
    let t = prepared(&disarmed_by_r1());
    let out = drb(
        &t,
        &["readiness", "failover.drbook", "--format", "prometheus", "--today", crate::TODAY],
    );
    assert!(out.stdout.contains("# TYPE drbook_watch_state gauge"), "{}", out.stdout);
    assert!(
        out.stdout.contains("drbook_watch_state{runbook=\"failover\",state=\"disarmed\"} 1"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("drbook_watch_state{runbook=\"failover\",state=\"healthy\"} 0"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("drbook_watch_consecutive_failures{runbook=\"failover\"} 0"),
        "{}",
        out.stdout
    );
}
