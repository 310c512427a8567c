//! The store, on real files in temp dirs.

use super::framing::{boundaries, twenty};
use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&tmp.path().join("state")).expect("opens");
    (tmp, store)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("exists").permissions().mode() & 0o777
}

#[test]
fn create_append_read_resume_and_list() {
    let (_tmp, store) = store();
    let mut run = store.create_run(RUN, &started(&["a", "b"])).expect("created");
    run.append(&start("a", 1)).expect("appended");
    run.append(&ok("a", 1)).expect("appended");
    assert_eq!(run.state.step("a").map(|r| r.state), Some(StepState::Succeeded));
    let (state, info) = store.read_run(RUN).expect("readable while held");
    assert_eq!(state, run.state);
    assert_eq!(
        info,
        ReadInfo {
            torn_tail: false,
            live: true,
            runner_pid: Some(std::process::id()),
            chain: crate::journal::chain::ChainInfo::Anchored {
                head: run.head().expect("chained")
            }
        }
    );
    drop(run);
    let (_, info) = store.read_run(RUN).expect("readable");
    assert_eq!((info.live, info.runner_pid), (false, None));
    let mut run = store.resume_run(RUN).expect("resumes");
    assert_eq!(run.state.records, 3);
    run.append(&resumed()).expect("appended");
    run.append(&start("b", 1)).expect("appended");
    drop(run);
    let (state, _) = store.read_run(RUN).expect("readable");
    assert_eq!((state.records, state.step("b").map(|r| r.state)), (5, Some(StepState::Running)));
    let mut other = started(&["x"]);
    if let Event::RunStarted { run_id, .. } = &mut other {
        *run_id = "a-run.2".into();
    }
    drop(store.create_run("a-run.2", &other).expect("created"));
    assert_eq!(store.list_runs().expect("lists"), ["a-run.2", RUN]);
}

#[test]
fn a_run_id_is_created_once() {
    let (_tmp, store) = store();
    drop(store.create_run(RUN, &started(&["a"])).expect("created"));
    let err = store.create_run(RUN, &started(&["a"])).expect_err("exists");
    assert!(matches!(&err, JournalError::RunExists(id) if id == RUN), "{err:?}");
    assert_eq!(err.to_string(), "run `r1` already exists");
}

#[test]
fn a_second_runner_is_locked_out_even_in_the_same_process() {
    let (_tmp, store) = store();
    let first = store.create_run(RUN, &started(&["a"])).expect("created");
    let err = store.resume_run(RUN).expect_err("locked");
    let me = std::process::id();
    assert!(
        matches!(&err, JournalError::Locked { run_id, pid: Some(p) } if run_id == RUN && *p == me),
        "{err:?}"
    );
    assert_eq!(err.to_string(), format!("run `r1` is being driven by another runner (pid {me})"));
    drop(first);
    let second = store.resume_run(RUN).expect("the lock died with its handle");
    assert!(store.resume_run(RUN).is_err());
    drop(second);
}

#[test]
fn directories_are_0700_and_files_0600() {
    let (tmp, store) = store();
    let run = store.create_run(RUN, &started(&["a"])).expect("created");
    let log = run.log_path("a", 2).expect("log path");
    assert_eq!(log, run.dir().join("logs").join("a.2.log"));
    drop(run.open_log("a", 2).expect("log opens"));
    let state = tmp.path().join("state");
    for dir in [state.clone(), state.join("runs"), run.dir().to_path_buf(), run.dir().join("logs")]
    {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for file in [run.journal_path(), run.dir().join("lock"), log] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert_eq!(
        run.log_path("../x y", 1).expect("log path"),
        run.dir().join("logs").join("___x_y.1.log")
    );
}

#[test]
fn an_impossible_append_is_refused_and_writes_nothing() {
    let (_tmp, store) = store();
    let mut run = store.create_run(RUN, &started(&["a"])).expect("created");
    run.append(&start("a", 1)).expect("appended");
    let before = fs::read(run.journal_path()).expect("readable");
    let state = run.state.clone();
    let err = run.append(&ok("a", 7)).expect_err("wrong attempt");
    assert!(matches!(err.root(), JournalError::Impossible { record: 3, .. }), "{err:?}");
    assert!(err.to_string().starts_with("journal `"), "{err}");
    let err = run.append_batch(&[ok("a", 1), ok("a", 1)]).expect_err("finished twice");
    assert!(err.to_string().ends_with("record 4: step `a` finished twice"), "{err}");
    assert_eq!(fs::read(run.journal_path()).expect("readable"), before);
    assert_eq!(run.state, state);
    run.append_batch(&[ok("a", 1), finished(Outcome::Succeeded)]).expect("valid batch");
    assert_eq!(store.read_run(RUN).expect("readable").0.status, RunStatus::Succeeded);
}

/// `append` ends in `sync_data` (fdatasync), which no test can observe without a power cut;
/// what a test can check is that the record is complete on disk, to a fresh reader, as soon
/// as `append` returns, with no buffering in between.
#[test]
fn an_appended_record_is_on_disk_when_append_returns() {
    let (_tmp, store) = store();
    let mut run = store.create_run(RUN, &started(&["a"])).expect("created");
    for (i, e) in [start("a", 1), process("a", 1)].iter().enumerate() {
        run.append(e).expect("appended");
        let on_disk =
            decode_all(&fs::read(run.journal_path()).expect("readable")).expect("decodes");
        assert_eq!((on_disk.events.len(), on_disk.torn_tail), (i + 2, false));
        assert_eq!(on_disk.events.last(), Some(e));
    }
}

#[test]
fn resume_truncates_a_cut_journal_at_every_byte_and_goes_on() {
    let (_tmp, store) = store();
    let events = twenty();
    let bytes = bytes_of(&events);
    let ends = boundaries(&events);
    drop(store.create_run(RUN, &events[0]).expect("created"));
    let journal = store.run_dir(RUN).join("journal");
    for cut in 0..=bytes.len() {
        fs::write(&journal, &bytes[..cut]).expect("writable");
        let whole = ends.iter().filter(|&&end| end <= cut).count();
        let (_, info) = match store.read_run(RUN) {
            Err(e) if whole == 0 => {
                assert!(
                    matches!(e.root(), JournalError::Damaged { record: 1, .. }),
                    "cut at {cut}: {e}"
                );
                assert!(store.resume_run(RUN).is_err(), "cut at {cut}");
                continue;
            }
            other => other.unwrap_or_else(|e| panic!("cut at {cut}: {e}")),
        };
        let good = ends[whole - 1];
        assert_eq!(info.torn_tail, cut != good, "cut at {cut}");
        assert_eq!(
            fs::metadata(&journal).expect("exists").len(),
            cut as u64,
            "read_run never truncates"
        );
        let mut run = store.resume_run(RUN).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(fs::metadata(&journal).expect("exists").len(), good as u64, "cut at {cut}");
        run.append(&paused()).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        drop(run);
        let (state, info) = store.read_run(RUN).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert!(!info.torn_tail, "cut at {cut}");
        assert_eq!((state.records, state.status), (whole + 1, RunStatus::Paused), "cut at {cut}");
        assert_eq!(state, replay(&[&events[..whole], &[paused()]].concat()).expect("valid"));
    }
}

#[test]
fn damage_is_reported_with_the_journal_path() {
    let (_tmp, store) = store();
    let events = twenty();
    let mut bytes = bytes_of(&events);
    drop(store.create_run(RUN, &events[0]).expect("created"));
    let journal = store.run_dir(RUN).join("journal");
    bytes[boundaries(&events)[2] + 30] ^= 0x20;
    fs::write(&journal, &bytes).expect("writable");
    for err in
        [store.read_run(RUN).expect_err("damaged"), store.resume_run(RUN).expect_err("damaged")]
    {
        assert!(matches!(err.root(), JournalError::Damaged { record: 4, .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("journal `{}`: record 4 (byte", journal.display())),
            "{msg}"
        );
    }
    assert_eq!(fs::read(&journal).expect("readable"), bytes, "damage is never repaired");
}

#[test]
fn bad_ids_missing_runs_and_mismatched_first_records_are_refused() {
    let (tmp, store) = store();
    for bad in ["", ".hidden", "../up", "a/b", "sp ace", "é", &"x".repeat(101)] {
        assert!(!valid_run_id(bad), "{bad:?}");
        assert!(matches!(store.resume_run(bad), Err(JournalError::BadRunId(_))), "{bad:?}");
        assert!(matches!(store.create_run(bad, &started(&[])), Err(JournalError::BadRunId(_))));
    }
    for good in ["r1", "a.b_c-D", &"x".repeat(100)] {
        assert!(valid_run_id(good), "{good:?}");
    }
    assert!(
        matches!(store.read_run("nope"), Err(JournalError::NoSuchRun(id, dir)) if id == "nope" && dir == store.root())
    );
    let err = store.create_run("other", &started(&["a"])).expect_err("names r1");
    assert!(
        err.to_string().contains("`run_started` names run `r1`, but this is run `other`"),
        "{err}"
    );
    assert!(!store.run_dir("other").exists(), "nothing is created for a refused run");
    assert!(store.create_run(RUN, &start("a", 1)).is_err());
    let file = tmp.path().join("plain");
    fs::write(&file, "").expect("writable");
    let err = Store::open(&file).expect_err("a file is no state dir");
    assert!(matches!(err, JournalError::Io { .. }), "{err:?}");
}

#[test]
fn new_run_ids_are_valid_and_readable() {
    let id = new_run_id("quickstart", "2026-11-23T22:15:30.123Z");
    let (head, rand) = id.rsplit_once('-').expect("has a suffix");
    assert_eq!(head, "quickstart-20261123T221530Z");
    assert!(rand.len() == 4 && rand.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    for (name, now) in
        [("../weird name", "garbage"), ("", ""), (".x", "2026"), (&"n".repeat(300)[..], AT)]
    {
        let id = new_run_id(name, now);
        assert!(valid_run_id(&id), "{id}");
    }
}

/// Replays a 10,000-step journal (40,001 records) from disk. Run with
/// `cargo test --release --lib journal -- --ignored --nocapture`.
#[test]
#[ignore = "timing: run in release with --nocapture"]
fn replay_of_ten_thousand_steps_is_fast() {
    let (_tmp, store) = store();
    let ids: Vec<String> = (0..10_000).map(|i| format!("step-{i:05}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let first = started(&refs);
    drop(store.create_run(RUN, &first).expect("created"));
    let mut bytes = encode(&first);
    for id in &refs {
        for e in [start(id, 1), process(id, 1), fail(id, 1, true), start(id, 2)] {
            bytes.extend_from_slice(&encode(&e));
        }
    }
    fs::write(store.run_dir(RUN).join("journal"), &bytes).expect("writable");
    let mut times = Vec::new();
    for _ in 0..5 {
        let began = std::time::Instant::now();
        let (state, _) = store.read_run(RUN).expect("readable");
        times.push(began.elapsed());
        assert_eq!(state.records, 40_001);
    }
    let best = times.iter().min().expect("invariant: five runs");
    println!(
        "read_run + replay of 40001 records ({} bytes): first {:?}, best of 5 {best:?}",
        bytes.len(),
        times[0]
    );
}

#[test]
fn inbox_and_logs_are_handed_out_as_handles_over_the_run_directory() {
    let (_tmp, store) = store();
    let run = store.create_run(RUN, &started(&["a"])).expect("created");
    let logs = run.logs();
    assert_eq!(logs, store.logs(RUN).expect("valid id"));
    assert_eq!(logs.dir(), run.dir().join("logs"));
    assert_eq!(logs.path("a", 1).expect("path"), run.log_path("a", 1).expect("path"));
    drop(logs.open("a", 1).expect("opens"));
    assert_eq!(mode(&run.dir().join("logs").join("a.1.log")), 0o600);
    let inbox = run.inbox();
    assert_eq!(inbox, store.inbox(RUN).expect("valid id"));
    assert!(matches!(store.inbox("../x"), Err(JournalError::BadRunId(_))));
    assert!(matches!(store.logs(".x"), Err(JournalError::BadRunId(_))));
    assert!(inbox.pending().is_empty());
    let req = inbox::Request::new("a", "ana", inbox::Ask::Deny { reason: "no".into() });
    let sent = inbox.submit(&req).expect("submitted");
    assert_eq!(sent.id(), req.id);
    let pending = inbox.pending();
    // Read back, a request carries the account that owns its file.
    let sender = Some(nix::unistd::geteuid().as_raw());
    assert_eq!(pending, vec![(sent.clone(), inbox::Request { sender, ..req.clone() })]);
    let reply = inbox::Reply { ok: false, message: "not waiting".into() };
    inbox.answer(&pending[0].0, &reply).expect("answered");
    assert!(inbox.pending().is_empty(), "an answered request is gone");
    assert!(!inbox.withdraw(&sent), "nothing left to withdraw");
    assert_eq!(inbox.take_reply(&req.id), Some(reply));
    assert_eq!(inbox.take_reply(&req.id), None, "a reply is taken once");
}

#[test]
fn request_ids_are_one_file_name_of_a_fixed_shape() {
    use crate::journal::inbox::{valid_request_id, Ask, Request};
    let fresh = Request::new("a", "ana", Ask::Retry);
    assert!(valid_request_id(&fresh.id), "{}", fresh.id);
    for forged in [
        "",
        "../x",
        "0000000001-0000000000000000000/",
        "1-2",
        "0000000001-0000000000000000001.",
        "0000000001/00000000000000000001",
    ] {
        assert!(!valid_request_id(forged), "{forged:?}");
    }
}

#[test]
fn a_reply_is_never_written_nor_read_through_a_planted_link() {
    let (tmp, store) = store();
    let run = store.create_run(RUN, &started(&["a"])).expect("created");
    let inbox = run.inbox();
    let req = inbox::Request::new("a", "ana", inbox::Ask::Deny { reason: "no".into() });
    inbox.submit(&req).expect("submitted");
    let target = tmp.path().join("mine");
    fs::write(&target, "mine").expect("write");
    let at = run.dir().join("inbox").join(format!("{}.reply", req.id));
    std::os::unix::fs::symlink(&target, &at).expect("plant a link");
    let pending = inbox.pending();
    let reply = inbox::Reply { ok: true, message: "approved".into() };
    let err = inbox.answer(&pending[0].0, &reply).expect_err("refused");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(inbox.take_reply(&req.id), None, "a linked reply is not read");
    assert_eq!(fs::read_to_string(&target).expect("read"), "mine");
}
