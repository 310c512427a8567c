//! Replay rules, the store on disk (reopen, torn tail, damage, trust, a lock held by another
//! process) and the request contract.

use super::requests::{self, ACK};
use super::*;
use crate::journal::{ApprovalRecord, Gate, How, JournalError};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

const T0: &str = "2026-12-02T10:00:00Z";

fn at(s: u32) -> String {
    crate::model::time::format(crate::model::time::parse(T0).expect("T0") + i64::from(s) * 1000)
}

fn started() -> WatchEvent {
    WatchEvent::WatchStarted {
        v: WATCH_VERSION,
        at: T0.into(),
        runbook: "failover".into(),
        path: "failover.drbook".into(),
        content_hash: "abc".into(),
        pid: 1,
        user: "ops".into(),
        dry_run: false,
    }
}

fn probe(ok: bool) -> ProbeOutcome {
    ProbeOutcome { name: "primary".into(), ok, detail: "status 503".into(), ms: 3 }
}

fn degraded(s: u32) -> WatchEvent {
    WatchEvent::Degraded { at: at(s), round: 1, failed: 1, of: 1, probes: vec![probe(false)] }
}

fn failed(s: u32, consecutive: u32) -> WatchEvent {
    WatchEvent::RoundFailed { at: at(s), round: 2, consecutive, failed: 1, of: 1, probes: vec![] }
}

fn fired(s: u32, run: &str, dry_run: bool, detected: u32) -> WatchEvent {
    WatchEvent::Fired {
        at: at(s),
        run_id: run.into(),
        detected_at: at(detected),
        dry_run,
        evidence: vec![probe(false)],
    }
}

fn disarmed(s: u32, run: &str) -> WatchEvent {
    WatchEvent::Disarmed { at: at(s), run_id: run.into() }
}

fn gate(roles: &[&str], members: Option<&[(&str, &[&str])]>) -> Gate {
    Gate {
        roles: roles.iter().map(|r| r.to_string()).collect(),
        members: members.map(|m| {
            m.iter()
                .map(|(r, ps)| (r.to_string(), ps.iter().map(|p| p.to_string()).collect()))
                .collect::<BTreeMap<_, _>>()
        }),
        requested_at: at(90),
        ..Gate::default()
    }
}

fn approved(by: &str, role: &str) -> WatchEvent {
    WatchEvent::Approved {
        at: at(95),
        record: ApprovalRecord {
            role: role.into(),
            by: by.into(),
            at: at(95),
            how: How::Cli,
            comment: None,
            request: None,
            signed: None,
            os: false,
        },
    }
}

fn impossible(events: &[WatchEvent], record: usize, says: &str) {
    match replay(events) {
        Err(JournalError::Impossible { record: r, reason, .. }) => {
            assert_eq!(r, record, "{reason}");
            assert!(reason.contains(says), "{reason}");
        }
        other => panic!("expected record {record} refused ({says}), got {other:?}"),
    }
}

#[test]
fn failed_rounds_count_from_the_first_failed_round() {
    let s = replay(&[started(), degraded(0), failed(30, 2), failed(60, 3)]).expect("replay");
    assert_eq!((s.phase, s.consecutive), (Phase::Degraded, 3));
    assert_eq!(s.detected_at.as_deref(), Some(at(0).as_str()));
    impossible(&[started(), degraded(0), failed(30, 3)], 3, "3 consecutive failed rounds after 1");
    impossible(&[started(), failed(30, 1)], 2, "without an outage");
    impossible(&[started(), degraded(0), degraded(30)], 3, "during the outage");
}

#[test]
fn recovered_resets_the_count_and_cancels_a_pending_approval() {
    let awaiting = WatchEvent::AwaitingApproval {
        at: at(90),
        gate: gate(&["lead"], None),
        detected_at: at(0),
    };
    let rec = WatchEvent::Recovered { at: at(120), round: 5, after: 3 };
    let s = replay(&[started(), degraded(0), failed(30, 2), awaiting, rec]).expect("replay");
    assert_eq!((s.phase, s.consecutive, s.awaiting.is_none()), (Phase::Healthy, 0, true));
    assert_eq!(s.detected_at, None);
    // An approval after the recovery has nothing to approve.
    let mut events = vec![started(), degraded(0), s_recovered()];
    events.push(approved("alice", "lead"));
    impossible(&events, 4, "without a pending approval");
}

fn s_recovered() -> WatchEvent {
    WatchEvent::Recovered { at: at(30), round: 2, after: 1 }
}

#[test]
fn a_block_starts_the_count_again_but_keeps_the_outage() {
    let block = WatchEvent::Blocked {
        at: at(60),
        block: Block::RpoGate { step: "lag".into(), lag_ms: 90_000, rpo_ms: 60_000 },
        detected_at: at(0),
    };
    let s = replay(&[started(), degraded(0), failed(30, 2), failed(60, 3), block.clone()])
        .expect("replay");
    assert_eq!((s.phase, s.consecutive), (Phase::Degraded, 0));
    assert_eq!(s.detected_at.as_deref(), Some(at(0).as_str()));
    let s = replay(&[started(), degraded(0), block, failed(90, 1)]).expect("re-judged");
    assert_eq!(s.consecutive, 1);
    let wrong = WatchEvent::Blocked {
        at: at(60),
        block: Block::Practice { why: "no drill".into() },
        detected_at: at(5),
    };
    impossible(&[started(), degraded(0), wrong], 3, "current one was detected at");
    let denied = WatchEvent::Blocked {
        at: at(60),
        block: Block::Denied { by: "bob".into(), reason: None },
        detected_at: at(0),
    };
    impossible(&[started(), degraded(0), denied], 3, "without a pending approval");
}

#[test]
fn a_real_firing_disarms_and_starts_the_cooldown_a_dry_run_does_neither() {
    let s = replay(&[started(), degraded(0), fired(60, "r1", false, 0), disarmed(60, "r1")])
        .expect("replay");
    assert_eq!(s.phase, Phase::Disarmed);
    assert_eq!(s.last_fired_at.as_deref(), Some(at(60).as_str()));
    assert_eq!((s.disarmed_by.as_deref(), s.consecutive), (Some("r1"), 0));
    assert_eq!(s.cooldown_until(30 * 60_000).as_deref(), Some(at(60 + 1800).as_str()));
    assert!(s.cooldown_block(30 * 60_000, &at(100)).is_some());
    assert!(s.cooldown_block(30 * 60_000, &at(60 + 1800)).is_none());
    let dry = replay(&[started(), degraded(0), fired(60, "", true, 0)]).expect("dry");
    assert_eq!((dry.phase, dry.last_fired_at.clone()), (Phase::Degraded, None));
    assert_eq!(dry.unfinished_disarm, None);
    // Disarmed: nothing fires or blocks until acknowledged; then it may fire again.
    let mut ev = vec![started(), degraded(0), fired(60, "r1", false, 0), disarmed(60, "r1")];
    impossible(&[ev.clone(), vec![fired(90, "r2", false, 0)]].concat(), 5, "disarmed");
    ev.push(WatchEvent::Acknowledged { at: at(100), by: "alice".into(), comment: None });
    let s = replay(&ev).expect("ack");
    assert_eq!((s.phase, s.disarmed_by.clone()), (Phase::Degraded, None));
    ev.push(fired(130, "r2", false, 0));
    ev.push(disarmed(130, "r2"));
    assert_eq!(replay(&ev).expect("second").last_run.as_deref(), Some("r2"));
}

#[test]
fn a_firing_whose_disarm_was_torn_off_reads_as_disarmed() {
    let s = replay(&[started(), degraded(0), fired(60, "r1", false, 0)]).expect("replay");
    assert_eq!((s.phase, s.unfinished_disarm.as_deref()), (Phase::Disarmed, Some("r1")));
    let restarted = [started(), degraded(0), fired(60, "r1", false, 0), started()];
    impossible(&restarted, 4, "must be followed by its `disarmed`");
}

#[test]
fn impossible_sequences_are_refused_with_their_record() {
    impossible(&[degraded(0)], 1, "before the journal's `watch_started`");
    impossible(&[started(), approved("alice", "lead")], 2, "without a pending approval");
    let ack = WatchEvent::Acknowledged { at: at(1), by: "alice".into(), comment: None };
    impossible(&[started(), ack], 2, "not disarmed");
    impossible(&[started(), degraded(0), disarmed(1, "r1")], 3, "without its real `fired`");
    impossible(&[started(), degraded(0), fired(1, "", false, 0)], 3, "without a run id");
    let ended = WatchEvent::RunEnded { at: at(1), run_id: "rx".into(), status: "ok".into() };
    impossible(&[started(), ended], 2, "never started");
    let mut v2 = started();
    if let WatchEvent::WatchStarted { v, .. } = &mut v2 {
        *v = 2;
    }
    assert!(matches!(replay(&[v2]), Err(JournalError::Version { found: 2 })));
}

#[test]
fn approvals_follow_the_gate_rules_and_a_real_firing_needs_every_role() {
    let g = gate(&["lead", "manager"], Some(&[("lead", &["alice"]), ("manager", &["carol"])]));
    let awaiting = WatchEvent::AwaitingApproval { at: at(90), gate: g, detected_at: at(0) };
    let base = vec![started(), degraded(0), awaiting];
    impossible(&[base.clone(), vec![approved("mallory", "lead")]].concat(), 4, "not a member");
    let one = [base.clone(), vec![approved("alice", "lead")]].concat();
    impossible(&[one.clone(), vec![approved("alice", "manager")]].concat(), 5, "already approved");
    impossible(&[one.clone(), vec![fired(99, "r1", false, 0)]].concat(), 5, "misses: manager");
    let both = [one, vec![approved("carol", "manager"), fired(99, "r1", false, 0)]].concat();
    let s = replay(&both).expect("both approved");
    assert_eq!((s.phase, s.awaiting.is_none()), (Phase::Disarmed, true));
}

// ---- the store ----

fn journal_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("watch").join(key("failover")).join("journal")
}

#[test]
fn appends_survive_reopening_with_owner_only_modes() {
    let d = tempfile::tempdir().expect("tempdir");
    let store = WatchStore::open(d.path(), "failover").expect("open");
    let lock = store.lock().expect("lock");
    store.append(&lock, &[started(), degraded(0)]).expect("append");
    store.append(&lock, &[failed(30, 2)]).expect("append");
    drop(lock);
    let (events, state) =
        WatchStore::open(d.path(), "failover").expect("reopen").read().expect("read");
    assert_eq!(events.len(), 3);
    assert_eq!(state.consecutive, 2);
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    let j = journal_path(d.path());
    assert_eq!(mode(&j), 0o600);
    assert_eq!(mode(j.parent().expect("dir")), 0o700);
    assert_eq!(mode(&d.path().join("watch")), 0o700);
    assert_eq!(WatchStore::list(d.path()), vec!["failover".to_string()]);
}

#[test]
fn a_refused_batch_writes_nothing() {
    let d = tempfile::tempdir().expect("tempdir");
    let store = WatchStore::open(d.path(), "failover").expect("open");
    let lock = store.lock().expect("lock");
    store.append(&lock, &[started()]).expect("append");
    let before = std::fs::read(journal_path(d.path())).expect("read");
    let err = store.append(&lock, &[degraded(0), failed(30, 5)]).expect_err("refused");
    assert!(err.to_string().contains("record 3"), "{err}");
    assert_eq!(std::fs::read(journal_path(d.path())).expect("read"), before);
}

#[test]
fn a_torn_tail_is_dropped_by_readers_and_cut_by_the_next_lock() {
    let d = tempfile::tempdir().expect("tempdir");
    let store = WatchStore::open(d.path(), "failover").expect("open");
    let lock = store.lock().expect("lock");
    store.append(&lock, &[started(), degraded(0)]).expect("append");
    drop(lock);
    let j = journal_path(d.path());
    let good = std::fs::read(&j).expect("read");
    let mut torn = good.clone();
    torn.extend_from_slice(&super::frame::encode(&[failed(30, 2)])[..20]);
    std::fs::write(&j, &torn).expect("write");
    assert_eq!(store.read().expect("read").1.consecutive, 1);
    let lock = store.lock().expect("lock");
    assert_eq!(std::fs::read(&j).expect("read"), good);
    store.append(&lock, &[failed(30, 2)]).expect("append after the cut");
    assert_eq!(store.read().expect("read").1.consecutive, 2);
}

#[test]
fn a_disarm_torn_off_its_firing_is_completed_by_the_next_lock() {
    let d = tempfile::tempdir().expect("tempdir");
    let store = WatchStore::open(d.path(), "failover").expect("open");
    let lock = store.lock().expect("lock");
    store.append(&lock, &[started(), degraded(0)]).expect("append");
    drop(lock);
    let j = journal_path(d.path());
    let mut bytes = std::fs::read(&j).expect("read");
    let batch = super::frame::encode(&[fired(60, "r1", false, 0), disarmed(60, "r1")]);
    let first = batch.iter().position(|b| *b == b'\n').expect("newline") + 1;
    bytes.extend_from_slice(&batch[..first + 15]);
    std::fs::write(&j, &bytes).expect("write");
    let _lock = store.lock().expect("lock");
    let (events, state) = store.read().expect("read");
    assert!(matches!(events.last(), Some(WatchEvent::Disarmed { run_id, .. }) if run_id == "r1"));
    assert_eq!((state.phase, state.unfinished_disarm), (Phase::Disarmed, None));
}

#[test]
fn damage_garbage_and_links_are_typed_errors() {
    let d = tempfile::tempdir().expect("tempdir");
    let store = WatchStore::open(d.path(), "failover").expect("open");
    let lock = store.lock().expect("lock");
    store.append(&lock, &[started(), degraded(0)]).expect("append");
    drop(lock);
    let j = journal_path(d.path());
    let mut bytes = b"00000000 {\"event\":\"nonsense\"}\n".to_vec();
    bytes.extend(std::fs::read(&j).expect("read"));
    std::fs::write(&j, &bytes).expect("write");
    let err = store.read().expect_err("damaged");
    assert!(matches!(err.root(), JournalError::Damaged { record: 1, offset: 0, .. }), "{err}");
    std::fs::write(&j, b"\x00\xffgarbage\nmore garbage\n").expect("write");
    assert!(matches!(store.read().expect_err("garbage").root(), JournalError::Damaged { .. }));
    // A newer format is refused by its version.
    let json = br#"{"event":"watch_started","v":9,"new":"shape"}"#;
    let line = [format!("{:08x} ", crc32fast::hash(json)).as_bytes(), json, b"\n"].concat();
    std::fs::write(&j, [line.clone(), line].concat()).expect("write");
    assert!(matches!(store.read().expect_err("v9").root(), JournalError::Version { found: 9 }));
    // A link planted in place of `watch/` is refused, its target untouched.
    let other = tempfile::tempdir().expect("tempdir");
    let d2 = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(other.path(), d2.path().join("watch")).expect("symlink");
    let err = WatchStore::open(d2.path(), "failover").expect_err("link");
    assert!(matches!(err, JournalError::Untrusted { .. }), "{err}");
    assert_eq!(std::fs::read_dir(other.path()).expect("ls").count(), 0);
    // A group-writable journal is refused.
    std::fs::set_permissions(&j, std::fs::Permissions::from_mode(0o620)).expect("chmod");
    assert!(matches!(store.read().expect_err("mode"), JournalError::Untrusted { .. }));
}

#[test]
fn keys_are_safe_names_that_never_collide() {
    let (a, b) = (key("a/b"), key("a_b"));
    assert_ne!(a, b);
    assert!(a.starts_with("a_b-") && b.starts_with("a_b-"), "{a} {b}");
    assert!(key("..").starts_with("_.."));
    assert!(key(&"x".repeat(300)).len() <= 64 + 9);
    assert!(key("é ü/\n").bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c)));
}

/// Run as a child process by `a_second_process_is_refused_and_told_the_holders_pid`: takes
/// the lock of the state dir in `DRBOOK_TEST_WATCH_LOCK`, says so, and holds it until its
/// standard input closes.
#[test]
#[ignore = "a helper run as a child process"]
fn hold_the_lock_in_a_child() {
    let Some(dir) = std::env::var_os("DRBOOK_TEST_WATCH_LOCK") else { return };
    let store = WatchStore::open(std::path::Path::new(&dir), "failover").expect("open");
    let _lock = store.lock().expect("child lock");
    println!("locked");
    let mut s = String::new();
    let _ = std::io::stdin().read_line(&mut s);
}

#[test]
fn a_second_process_is_refused_and_told_the_holders_pid() {
    use std::io::{BufRead, BufReader, Write};
    let d = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "journal::watch::tests::hold_the_lock_in_a_child",
            "--ignored",
            "--nocapture",
        ])
        .env("DRBOOK_TEST_WATCH_LOCK", d.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.contains("locked") {
        line.clear();
        assert!(out.read_line(&mut line).expect("read") > 0, "the child never locked");
    }
    let store = WatchStore::open(d.path(), "failover").expect("open");
    let err = store.lock().expect_err("held by the child");
    let pid = child.id();
    assert!(matches!(&err, JournalError::WatchLocked { pid: Some(p), .. } if *p == pid), "{err}");
    assert!(err.to_string().contains(&format!("another watcher (pid {pid}) is watching")), "{err}");
    assert_eq!(store.holder().expect("holder"), Some(Some(pid)));
    let _ = child.stdin.take().expect("stdin").write_all(b"\n");
    child.wait().expect("wait");
    assert_eq!(store.holder().expect("holder"), None);
    store.lock().expect("free again");
}

// ---- requests ----

#[test]
fn an_ack_in_the_inbox_is_judged_journaled_and_answered() {
    let d = tempfile::tempdir().expect("tempdir");
    let store = WatchStore::open(d.path(), "failover").expect("open");
    let lock = store.lock().expect("lock");
    store.append(&lock, &[started(), degraded(0)]).expect("append");
    let inbox = store.inbox();
    let early = requests::ack("alice", None);
    inbox.submit(&early).expect("submit");
    let none = |t: &str| t.to_string();
    let h = store.take_requests(&lock, &at(10), &none).expect("take");
    assert!(h[0].outcome.as_ref().is_err_and(|e| e.contains("not disarmed")), "{:?}", h[0]);
    assert!(inbox.take_reply(&early.id).is_some_and(|r| !r.ok));
    store.append(&lock, &[fired(60, "r1", false, 0), disarmed(60, "r1")]).expect("fire");
    let req = requests::ack("alice", Some("checked the secret hunter2".into()));
    assert_eq!(req.step, ACK);
    inbox.submit(&req).expect("submit");
    let scrub = |t: &str| t.replace("hunter2", "****");
    let h = store.take_requests(&lock, &at(100), &scrub).expect("take");
    assert_eq!(h.len(), 1);
    assert!(matches!(&h[0].events[..], [WatchEvent::Acknowledged { by, comment: Some(c), .. }]
        if by == "alice" && c == "checked the secret ****"));
    assert!(inbox.take_reply(&req.id).is_some_and(|r| r.ok && r.message.contains("armed again")));
    assert_eq!(store.read().expect("read").1.phase, Phase::Degraded);
    assert!(inbox.pending().is_empty());
}

#[test]
fn approvals_and_denials_of_the_pending_failover() {
    let g = gate(&["lead"], Some(&[("lead", &["alice"])]));
    let awaiting = WatchEvent::AwaitingApproval { at: at(90), gate: g.clone(), detected_at: at(0) };
    let state = replay(&[started(), degraded(0), awaiting.clone()]).expect("replay");
    let (events, said) =
        decide(&state, &requests::approve("alice", None, None), &at(95)).expect("ok");
    assert!(said.contains("every role has approved"), "{said}");
    assert!(matches!(&events[..], [WatchEvent::Approved { record, .. }] if record.role == "lead"));
    let why = decide(&state, &requests::approve("bob", None, None), &at(95)).expect_err("bob");
    assert!(why.contains("not a member"), "{why}");
    let why = decide(&state, &requests::deny("bob", None), &at(95)).expect_err("bob may not deny");
    assert!(why.contains("may not deny"), "{why}");
    let (events, _) =
        decide(&state, &requests::deny("alice", Some("not yet".into())), &at(95)).expect("deny");
    let s = replay(&[vec![started(), degraded(0), awaiting], events].concat()).expect("denied");
    assert!(
        matches!(s.last_block, Some(Block::Denied { ref by, reason: Some(ref r) }) if by == "alice" && r == "not yet")
    );
    assert!(s.awaiting.is_none());
    let why = decide(&s, &requests::approve("alice", None, None), &at(99)).expect_err("gone");
    assert!(why.contains("nothing awaits approval"), "{why}");
    let signed = Gate { approvals: crate::model::ApprovalMode::Signed, ..g };
    let awaiting = WatchEvent::AwaitingApproval { at: at(90), gate: signed, detected_at: at(0) };
    let state = replay(&[started(), degraded(0), awaiting]).expect("replay");
    let why = decide(&state, &requests::approve("alice", None, None), &at(95)).expect_err("signed");
    assert!(why.contains("need `approvals typed` or `approvals os`"), "{why}");
}

#[test]
fn a_trigger_gate_takes_its_members_from_the_runbook_and_a_bare_one_is_one_approver() {
    use crate::model::{Approval, Role};
    let mut rb = crate::model::tests_support::runbook_with_durations(&[], &[]);
    rb.roles = Some(vec![
        Role { name: "lead".into(), members: vec!["alice".into()] },
        Role { name: "manager".into(), members: vec!["carol".into()] },
    ]);
    let g = trigger_gate(&rb, &Approval { roles: vec!["lead".into()], timeout: Some(900_000) }, T0);
    assert_eq!(
        (g.roles.clone(), g.timeout_ms, g.excluded.clone()),
        (vec!["lead".to_string()], Some(900_000), None)
    );
    assert!(g.may_hold("alice", "lead") && !g.may_hold("carol", "lead"));
    let bare = trigger_gate(&rb, &Approval { roles: vec![], timeout: None }, T0);
    assert_eq!(bare.roles, vec![requests::ANY_APPROVER.to_string()]);
    assert!(bare.may_hold("carol", requests::ANY_APPROVER));
    assert!(!bare.may_hold("mallory", requests::ANY_APPROVER));
    rb.roles = None;
    let open = trigger_gate(&rb, &Approval { roles: vec![], timeout: None }, T0);
    assert!(open.may_hold("anyone", requests::ANY_APPROVER));
    let awaiting = WatchEvent::AwaitingApproval { at: at(90), gate: open, detected_at: at(0) };
    let base = vec![started(), degraded(0), awaiting];
    let s = replay(&base).expect("a bare gate replays");
    let (events, said) = decide(&s, &requests::approve("dave", None, None), &at(91)).expect("dave");
    assert!(said.contains("every role has approved"), "{said}");
    let s = replay(&[base, events].concat()).expect("approved");
    assert!(s.awaiting.is_some_and(|(g, a)| g.missing(&a).is_empty()));
}
