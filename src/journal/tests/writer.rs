//! The journal writer: order under concurrent appends, group commit, release only after the
//! sync, the in-memory journal, failures, masking. On real files in temp dirs; a test-only
//! hook stands where the disk's wait would be, to slow a sync, hold it or fail it.

use super::*;
use crate::journal::writer::SyncHook;
use std::fs;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const THREADS: usize = 8;
const PER_THREAD: usize = 50;

/// Step ids `t<thread>-<n>`, `n < PER_THREAD / 2`: each thread starts and ends its own.
fn ids() -> Vec<String> {
    (0..THREADS).flat_map(|t| (0..PER_THREAD / 2).map(move |n| format!("t{t}-{n}"))).collect()
}

/// The events thread `t` appends, in its order: start and success of each of its steps.
fn events_of(t: usize) -> Vec<Event> {
    (0..PER_THREAD / 2)
        .flat_map(|n| {
            let id = format!("t{t}-{n}");
            [start(&id, 1), ok(&id, 1)]
        })
        .collect()
}

fn on_disk(steps: &[String]) -> (tempfile::TempDir, Store, Journal) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&tmp.path().join("state")).expect("opens");
    let refs: Vec<&str> = steps.iter().map(String::as_str).collect();
    let run = store.create_run(RUN, &started(&refs)).expect("created");
    (tmp, store, Journal::on_disk(run))
}

fn on_file(store: &Store) -> Vec<Event> {
    let bytes = fs::read(store.run_dir(RUN).join("journal")).expect("readable");
    let d = decode_all(&bytes).expect("decodes");
    assert!(!d.torn_tail);
    d.events
}

/// A sync that takes `ms` longer, like a disk that is not a page cache.
fn slow(ms: u64) -> SyncHook {
    Arc::new(move || {
        std::thread::sleep(Duration::from_millis(ms));
        Ok(())
    })
}

/// A sync that waits for a token per call; dropping the sender lets every sync through.
fn held() -> (SyncHook, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let hook: SyncHook = Arc::new(move || {
        let _ = rx.lock().expect("not poisoned").recv();
        Ok(())
    });
    (hook, tx)
}

#[test]
fn a_journal_is_send_sync_and_cloneable() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    fn sent<T: Send + 'static>() {}
    shared::<Journal>();
    sent::<Durable>();
}

/// Many threads, each waiting on its ticket: the file holds every record exactly where its
/// append put it, replays to the journal's state, and the writer synced in groups.
#[test]
fn concurrent_appends_from_threads_land_in_append_order_in_few_syncs() {
    let (_tmp, store, journal) = on_disk(&ids());
    journal.set_sync_hook(slow(5));
    let placed: Vec<Vec<(u64, Event)>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let journal = journal.clone();
                s.spawn(move || {
                    let mut placed = Vec::new();
                    for e in events_of(t) {
                        let ticket = journal.append(&e).expect("valid");
                        placed.push((ticket.seq(), e));
                        ticket.wait_blocking().expect("durable");
                    }
                    placed
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("no panic")).collect()
    });
    let syncs = journal.syncs();
    let state = journal.state(Clone::clone);
    journal.close().expect("closes");
    let file = on_file(&store);
    let appends = THREADS * PER_THREAD;
    assert_eq!(file.len(), appends + 1);
    for (seq, e) in placed.iter().flatten() {
        assert_eq!(&file[*seq as usize - 1], e, "record {seq} is the append that got it");
    }
    assert_eq!(replay(&file).expect("valid"), state);
    // Every record synced alone would be `appends` syncs. Waiting threads overlap in two
    // alternating groups at worst, so a sync covers about four records here.
    assert!(syncs <= appends as u64 / 2, "{syncs} syncs for {appends} waited appends");
    assert!(syncs >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_tasks_are_ordered_and_grouped() {
    let (_tmp, store, journal) = on_disk(&ids());
    journal.set_sync_hook(slow(5));
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..THREADS {
        let journal = journal.clone();
        tasks.spawn(async move {
            let mut placed = Vec::new();
            for e in events_of(t) {
                let ticket = journal.append(&e).expect("valid");
                placed.push((ticket.seq(), e));
                ticket.wait().await.expect("durable");
            }
            placed
        });
    }
    let mut placed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        placed.extend(done.expect("no panic"));
    }
    let syncs = journal.syncs();
    tokio::task::spawn_blocking(move || journal.close()).await.expect("joined").expect("closes");
    let file = on_file(&store);
    assert_eq!(file.len(), THREADS * PER_THREAD + 1);
    for (seq, e) in &placed {
        assert_eq!(&file[*seq as usize - 1], e);
    }
    let appends = (THREADS * PER_THREAD) as u64;
    assert!(syncs <= appends / 2, "{syncs} syncs for {appends} waited appends");
}

#[test]
fn records_queued_during_a_sync_go_out_together_in_the_next() {
    let (_tmp, store, journal) = on_disk(&ids());
    let (hook, tx) = held();
    journal.set_sync_hook(hook);
    let first = journal.append(&start("t0-0", 1)).expect("valid");
    // The writer is now held inside the first sync; these queue behind it.
    let journal_file = store.run_dir(RUN).join("journal");
    let lines =
        || fs::read(&journal_file).expect("readable").iter().filter(|&&b| b == b'\n').count();
    while lines() < 2 {
        std::thread::yield_now();
    }
    let rest: Vec<Durable> =
        (1..10).map(|n| journal.append(&start(&format!("t0-{n}"), 1)).expect("valid")).collect();
    drop(tx);
    first.wait_blocking().expect("durable");
    for t in rest {
        t.wait_blocking().expect("durable");
    }
    assert_eq!(journal.syncs(), 2, "one sync for the first record, one for the nine behind it");
    journal.close().expect("closes");
    assert_eq!(on_file(&store).len(), 11);
}

#[test]
fn a_waiter_is_released_only_after_the_sync_that_covers_its_record() {
    let (_tmp, store, journal) = on_disk(&ids());
    let (hook, tx) = held();
    journal.set_sync_hook(hook);
    let e = start("t0-0", 1);
    let ticket = journal.append(&e).expect("valid");
    let (done_tx, done) = mpsc::channel();
    let waiter = std::thread::spawn(move || done_tx.send(ticket.wait_blocking()));
    assert!(
        matches!(
            done.recv_timeout(Duration::from_millis(200)),
            Err(mpsc::RecvTimeoutError::Timeout)
        ),
        "released while the sync had not returned"
    );
    tx.send(()).expect("the writer takes it");
    done.recv_timeout(Duration::from_secs(10)).expect("released").expect("durable");
    waiter.join().expect("no panic").expect("sent");
    assert_eq!(on_file(&store).last(), Some(&e), "the record is in the file once released");
    assert_eq!(journal.syncs(), 1);
    drop(tx);
    journal.close().expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_waiter_is_released_only_after_its_sync() {
    let (_tmp, store, journal) = on_disk(&ids());
    let (hook, tx) = held();
    journal.set_sync_hook(hook);
    let e = start("t0-0", 1);
    let waiting = tokio::spawn(journal.append(&e).expect("valid").wait());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "released while the sync had not returned");
    tx.send(()).expect("the writer takes it");
    waiting.await.expect("joined").expect("durable");
    assert_eq!(on_file(&store).last(), Some(&e));
    drop(tx);
    tokio::task::spawn_blocking(move || journal.close()).await.expect("joined").expect("closes");
}

#[test]
fn an_impossible_event_is_refused_and_never_queued() {
    let (_tmp, store, journal) = on_disk(&ids());
    journal.append(&start("t0-0", 1)).expect("valid").wait_blocking().expect("durable");
    let before = journal.state(Clone::clone);
    let err = journal.append(&ok("t0-0", 7)).expect_err("wrong attempt");
    assert!(matches!(err.root(), JournalError::Impossible { record: 3, .. }), "{err:?}");
    assert!(err.to_string().starts_with("journal `"), "{err}");
    let err = journal.append_all(&[ok("t0-0", 1), ok("t0-0", 1)]).expect_err("twice");
    assert!(err.to_string().ends_with("record 4: step `t0-0` finished twice"), "{err}");
    assert_eq!(journal.state(Clone::clone), before, "all or nothing");
    journal.append_all(&[ok("t0-0", 1), start("t0-1", 1)]).expect("valid").wait_blocking().ok();
    journal.close().expect("closes");
    assert_eq!(on_file(&store).len(), 4);
}

#[test]
fn append_if_checks_and_appends_atomically() {
    let (_tmp, store, journal) = on_disk(&ids());
    let winners: usize = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let journal = journal.clone();
                s.spawn(move || {
                    let pending = |st: &RunState| st.step("t0-0").is_some_and(|r| r.attempts == 0);
                    journal.append_if(&start("t0-0", 1), pending).expect("never impossible")
                })
            })
            .collect();
        threads.into_iter().filter_map(|t| t.join().expect("no panic")).count()
    });
    assert_eq!(winners, 1, "exactly one thread saw the step pending and started it");
    assert!(journal.append_if(&start("t0-1", 1), |_| false).expect("fine").is_none());
    journal.close().expect("closes");
    assert_eq!(on_file(&store), journal_of(&[start("t0-0", 1)]));
}

fn journal_of(rest: &[Event]) -> Vec<Event> {
    let ids = ids();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    journal(&refs, rest.to_vec())
}

#[test]
fn with_sink_lets_inbox_apply_append_and_returns_one_ticket() {
    let (_tmp, store, journal) = on_disk(&ids());
    let gate = Event::ApprovalRequested {
        step: "t0-0".into(),
        at: AT.into(),
        roles: vec!["dba".into()],
        members: None,
        timeout_ms: None,
        excluded: None,
        approvals: Default::default(),
        signers: None,
    };
    journal.append(&gate).expect("valid").wait_blocking().expect("durable");
    let req = inbox::Request::new("t0-0", "ana", inbox::Ask::Approve { role: None, comment: None });
    let (said, ticket) = journal.with_sink(|sink| inbox::apply(sink, &req, How::Cli, AT));
    assert_eq!(said.as_deref(), Ok("ana approved `t0-0` as dba; every approval is in"));
    ticket.wait_blocking().expect("durable");
    let file = on_file(&store);
    assert!(matches!(file.last(), Some(Event::Approved { by, .. }) if by == "ana"), "{file:?}");
    assert_eq!(journal.durable_now().seq(), 3);
    journal.close().expect("closes");
}

#[test]
fn the_in_memory_journal_validates_keeps_events_and_is_durable_at_once() {
    let memory = MemoryJournal::new(started(&["a", "b"])).expect("valid");
    let j = Journal::in_memory(memory);
    j.append(&start("a", 1)).expect("valid").wait_blocking().expect("at once");
    assert!(j.append(&ok("a", 3)).is_err());
    assert!(j.append_all(&[ok("a", 1), ok("b", 1)]).is_err(), "b never started");
    assert!(j.append_if(&ok("a", 1), |_| false).expect("fine").is_none());
    let (r, ticket) = j.with_sink(|sink| sink.append(&ok("a", 1)));
    r.expect("valid");
    ticket.wait_blocking().expect("at once");
    assert_eq!(j.events(), Some(journal(&["a", "b"], vec![start("a", 1), ok("a", 1)])));
    assert_eq!(j.state(|s| s.step("a").map(|r| r.state)), Some(StepState::Succeeded));
    assert_eq!((j.syncs(), j.inbox(), j.logs()), (0, None, None));
    j.close().expect("nothing to write, nothing to fail");
}

#[test]
fn a_failed_sync_fails_pending_and_later_appends_and_cuts_the_file_back() {
    let (_tmp, store, journal) = on_disk(&ids());
    let early = journal.append(&start("t0-0", 1)).expect("valid");
    journal.durable_now().wait_blocking().expect("durable");
    let good = fs::read(store.run_dir(RUN).join("journal")).expect("readable");
    let fail: SyncHook = Arc::new(|| Err(io::Error::other("disk on fire")));
    journal.set_sync_hook(fail);
    let doomed = journal.append(&ok("t0-0", 1)).expect("queued");
    let err = doomed.wait_blocking().expect_err("its sync failed");
    assert!(matches!(&err, JournalError::Io { .. }), "{err:?}");
    assert!(err.to_string().ends_with("disk on fire"), "{err}");
    assert_eq!(
        fs::read(store.run_dir(RUN).join("journal")).expect("readable"),
        good,
        "the half-made batch was cut back to the last good record"
    );
    early.wait_blocking().expect("a record synced before the failure stays durable");
    let err = journal.append(&start("t0-1", 1)).expect_err("the journal is broken");
    assert!(err.to_string().contains("an earlier write to this journal failed"), "{err}");
    assert!(journal.durable_now().wait_blocking().is_err());
    let clone = journal.clone();
    assert!(clone.close().is_err(), "a clone's close reports it too");
    let err = journal.close().expect_err("close returns the first write error");
    assert!(err.to_string().ends_with("disk on fire"), "{err}");
    assert!(store.resume_run(RUN).is_ok(), "the lock went with the last clone");
}

/// A real write error, no hook: the journal's descriptor is read-only.
#[test]
fn a_journal_that_cannot_write_reports_the_error_to_its_waiters() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = Store::open(tmp.path()).expect("opens");
    drop(store.create_run(RUN, &started(&["a"])).expect("created"));
    let dir = store.run_dir(RUN);
    let read_only = fs::File::open(dir.join("journal")).expect("opens");
    let lock = fs::File::open(dir.join("lock")).expect("opens");
    let len = read_only.metadata().expect("stat").len();
    let state = RunState::start(&started(&["a"])).expect("valid");
    let journal =
        Journal::on_disk(crate::journal::handle::new(dir, read_only, lock, state, len, None));
    let err = journal.append(&start("a", 1)).expect("queued").wait_blocking().expect_err("EBADF");
    assert!(matches!(&err, JournalError::Io { .. }), "{err:?}");
    assert_eq!(journal.syncs(), 0, "the write failed before any sync");
    assert!(journal.append(&start("a", 1)).is_err());
    assert!(journal.close().is_err());
    assert_eq!(store.read_run(RUN).expect("readable").0.records, 1);
}

#[test]
fn closing_flushes_and_dropping_the_last_clone_does_too() {
    let (_tmp, store, journal) = on_disk(&ids());
    let other = journal.clone();
    let _ = journal.append(&start("t0-0", 1)).expect("valid");
    journal.close().expect("flushed; the clone keeps the writer");
    assert_eq!(on_file(&store).len(), 2);
    let _ = other.append(&start("t0-1", 1)).expect("the clone still appends");
    assert!(matches!(store.resume_run(RUN), Err(JournalError::Locked { .. })));
    drop(other);
    assert_eq!(on_file(&store).len(), 3, "the last drop wrote out what was queued");
    assert!(store.resume_run(RUN).is_ok(), "and released the lock");
}

#[test]
fn a_masking_journal_keeps_no_secret_in_file_or_state() {
    const SECRET: &str = "s3cr3t-v4lue";
    let (_tmp, store, journal) = on_disk(&ids());
    let mask: Mask = Arc::new(|t: &str| t.replace(SECRET, "<secret:pw>"));
    let journal = journal.with_masking(mask);
    let failed = Event::StepFailed {
        step: "t0-0".into(),
        attempt: 1,
        at: AT.into(),
        error: format!("login with {SECRET} refused"),
        will_retry: false,
        captures: BTreeMap::from([("who".to_string(), SECRET.to_string())]),
        unbegun: false,
    };
    let _ = journal.append(&start("t0-0", 1)).expect("valid");
    journal.append(&failed).expect("valid").wait_blocking().expect("durable");
    let (r, _) = journal.with_sink(|sink| {
        sink.append(&Event::RunPaused { at: AT.into(), reason: format!("{SECRET}!") })
    });
    r.expect("valid");
    let error = journal.state(|s| s.step("t0-0").and_then(|r| r.error.clone()));
    assert_eq!(error.as_deref(), Some("login with <secret:pw> refused"));
    let who = journal.state(|s| s.step("t0-0").and_then(|r| r.captures.get("who").cloned()));
    assert_eq!(who.as_deref(), Some("<secret:pw>"), "a failed attempt's captures are masked");
    assert_eq!(journal.state(|s| s.last_pause.clone()).as_deref(), Some("<secret:pw>!"));
    let memory = Journal::in_memory(MemoryJournal::new(started(&["a"])).expect("valid"))
        .with_masking(Arc::new(|t: &str| t.replace(SECRET, "*")));
    let _ = memory.append(&Event::StepSkipped {
        step: "a".into(),
        at: AT.into(),
        reason: SECRET.into(),
    });
    let kept = serde_json::to_string(&memory.events()).expect("serializes");
    assert!(!kept.contains(SECRET), "{kept}");
    journal.close().expect("closes");
    let bytes = fs::read(store.run_dir(RUN).join("journal")).expect("readable");
    assert!(!String::from_utf8_lossy(&bytes).contains(SECRET));
    assert_eq!(on_file(&store).len(), 4);
}

#[test]
fn inbox_and_logs_of_an_on_disk_journal_are_its_runs() {
    let (_tmp, store, journal) = on_disk(&ids());
    assert_eq!(journal.inbox(), Some(store.inbox(RUN).expect("valid")));
    assert_eq!(journal.logs(), Some(store.logs(RUN).expect("valid")));
    journal.close().expect("closes");
}

/// The writer against one fdatasync per append, on this machine's disk. Run with
/// `cargo test --release --lib journal::tests::writer -- --ignored --nocapture`.
#[test]
#[ignore = "timing: run in release with --nocapture"]
fn group_commit_against_one_sync_per_append() {
    let (_tmp, store, journal) = on_disk(&ids());
    let began = std::time::Instant::now();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let journal = journal.clone();
            s.spawn(move || {
                for e in events_of(t) {
                    journal.append(&e).expect("valid").wait_blocking().expect("durable");
                }
            });
        }
    });
    let grouped = began.elapsed();
    let syncs = journal.syncs();
    journal.close().expect("closes");
    let serial = {
        let tmp = tempfile::tempdir().expect("temp dir");
        let store = Store::open(tmp.path()).expect("opens");
        let ids = ids();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let run = Mutex::new(store.create_run(RUN, &started(&refs)).expect("created"));
        let began = std::time::Instant::now();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let run = &run;
                s.spawn(move || {
                    for e in events_of(t) {
                        run.lock().expect("not poisoned").append(&e).expect("valid");
                    }
                });
            }
        });
        began.elapsed()
    };
    assert_eq!(on_file(&store).len(), THREADS * PER_THREAD + 1);
    println!(
        "{} appends from {THREADS} threads: grouped {grouped:?} in {syncs} syncs; one sync each {serial:?}",
        THREADS * PER_THREAD
    );
}
