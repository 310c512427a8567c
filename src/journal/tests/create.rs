//! Creating a run: whole or not at all, on real files in temp dirs; a runner SIGKILLed in the
//! middle of it (a child process, through the test-only switch `DRBOOK_TEST_KILL`).

use super::*;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&tmp.path().join("state")).expect("opens");
    (tmp, store)
}

/// Names in `runs/`, sorted.
fn entries(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(store.root().join("runs"))
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A pid no process can have (above Linux's `pid_max` limit of 2^22).
const DEAD_PID: u32 = 99_999_999;

/// What a creator killed before its rename leaves: a temporary dir with lock and journal.
fn leftover(store: &Store, pid: u32, run_id: &str) -> PathBuf {
    let dir = store.root().join("runs").join(format!(".tmp.{pid}.beef.{run_id}"));
    fs::create_dir(&dir).expect("created");
    fs::write(dir.join("lock"), format!("{pid}\n")).expect("written");
    fs::write(dir.join("journal"), encode(&started(&["a"]))).expect("written");
    dir
}

#[test]
fn a_created_run_is_whole_durable_and_alone_in_runs() {
    let (_tmp, store) = store();
    let run = store.create_run(RUN, &started(&["a"])).expect("created");
    assert_eq!(entries(&store), [RUN], "no temporary directory is left behind");
    assert_eq!(run.dir(), store.run_dir(RUN));
    let on_disk = decode_all(&fs::read(run.journal_path()).expect("readable")).expect("decodes");
    assert_eq!(on_disk.events, [started(&["a"])]);
    let (_, info) = store.read_run(RUN).expect("readable");
    assert!(info.live, "the lock taken in the temporary dir holds after the rename");
    assert_eq!(info.runner_pid, Some(std::process::id()));
    drop(run);
    assert!(!store.read_run(RUN).expect("readable").1.live);
}

#[test]
fn an_existing_run_is_never_replaced() {
    let (_tmp, store) = store();
    let mut run = store.create_run(RUN, &started(&["a"])).expect("created");
    run.append(&start("a", 1)).expect("appended");
    drop(run);
    let before = fs::read(store.run_dir(RUN).join("journal")).expect("readable");
    let err = store.create_run(RUN, &started(&["a"])).expect_err("exists");
    assert!(matches!(&err, JournalError::RunExists(id) if id == RUN), "{err:?}");
    assert_eq!(fs::read(store.run_dir(RUN).join("journal")).expect("readable"), before);
    assert_eq!(entries(&store), [RUN], "a refused creation leaves nothing behind");
    fs::remove_dir_all(store.run_dir(RUN)).expect("removed");
    fs::write(store.run_dir(RUN), "").expect("written");
    let err = store.create_run(RUN, &started(&["a"])).expect_err("a file sits there");
    assert!(matches!(&err, JournalError::RunExists(_)), "{err:?}");
}

#[test]
fn a_run_dir_without_journal_or_live_lock_is_debris_and_reclaimed() {
    let (_tmp, store) = store();
    let debris = store.run_dir(RUN);
    fs::create_dir_all(debris.join("logs")).expect("created");
    fs::write(debris.join("lock"), "12\n").expect("written");
    fs::write(debris.join("logs").join("a.1.log"), "old").expect("written");
    assert_eq!(store.list_runs().expect("lists"), Vec::<String>::new());
    for err in [store.read_run(RUN).expect_err("no run"), store.resume_run(RUN).expect_err("no")] {
        assert!(matches!(&err, JournalError::NoSuchRun(id, _) if id == RUN), "{err:?}");
    }
    let run = store.create_run(RUN, &started(&["a"])).expect("debris is no run");
    assert!(!run.dir().join("logs").exists(), "the debris was removed, not reused");
    assert_eq!(entries(&store), [RUN]);
    assert_eq!(store.list_runs().expect("lists"), [RUN]);
}

#[test]
fn a_run_dir_without_journal_but_with_a_live_lock_holder_is_left_alone() {
    let (_tmp, store) = store();
    let dir = store.run_dir(RUN);
    fs::create_dir(&dir).expect("created");
    let lock = File::create(dir.join("lock")).expect("created");
    lock.lock().expect("locked");
    let err = store.create_run(RUN, &started(&["a"])).expect_err("someone is creating it");
    assert!(matches!(&err, JournalError::RunExists(_)), "{err:?}");
    assert!(dir.join("lock").exists());
    drop(lock);
    drop(store.create_run(RUN, &started(&["a"])).expect("reclaimed once the holder is gone"));
}

#[test]
fn a_temporary_dir_left_behind_is_not_a_run_and_is_swept() {
    let (_tmp, store) = store();
    let dead = leftover(&store, DEAD_PID, RUN);
    let ours = leftover(&store, std::process::id(), "r9");
    let held = leftover(&store, DEAD_PID, "r8");
    let lock = File::open(held.join("lock")).expect("opens");
    lock.lock().expect("locked");
    let gone_with_journal = store.root().join("runs").join(format!(".gone.{DEAD_PID}.beef.r7"));
    fs::create_dir(&gone_with_journal).expect("created");
    fs::write(gone_with_journal.join("journal"), "").expect("written");
    assert_eq!(store.list_runs().expect("lists"), Vec::<String>::new());
    assert!(matches!(store.resume_run(RUN), Err(JournalError::NoSuchRun(..))));
    let run = store.create_run(RUN, &started(&["a"])).expect("created");
    assert!(!dead.exists(), "a dead creator's unlocked dir is swept");
    assert!(ours.exists(), "a live creator's dir is kept (it may not hold its lock yet)");
    assert!(held.exists(), "a locked dir is kept");
    assert!(gone_with_journal.exists(), "a moved-aside dir holding a journal is never swept");
    assert_eq!(store.list_runs().expect("lists"), [RUN]);
    drop((run, lock));
}

fn kill_target(state: &Path) {
    let store = Store::open(state).expect("opens");
    let _ = store.create_run(RUN, &started(&["a"]));
}

/// The child half of the next test; does nothing unless that test started it.
#[test]
#[ignore = "run as a child process by a_runner_killed_while_creating_a_run_leaves_no_run"]
fn child_creates_a_run_under_the_kill_switch() {
    if let (Some(state), Some(_)) =
        (std::env::var_os("DRBOOK_TEST_CHILD_STATE"), std::env::var_os("DRBOOK_TEST_KILL"))
    {
        kill_target(Path::new(&state));
    }
}

#[test]
fn a_runner_killed_while_creating_a_run_leaves_no_run() {
    use std::os::unix::process::ExitStatusExt;
    let (_tmp, store) = store();
    let status = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "journal::tests::create::child_creates_a_run_under_the_kill_switch"])
        .args(["--ignored", "--test-threads=1", "--quiet"])
        .env("DRBOOK_TEST_KILL", "after_run_dir")
        .env("DRBOOK_TEST_CHILD_STATE", store.root())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("the child runs");
    assert_eq!(status.signal(), Some(9), "the child SIGKILLed itself: {status:?}");
    let left = entries(&store);
    assert!(
        left.len() == 1 && left[0].starts_with(".tmp.") && left[0].ends_with(".r1"),
        "{left:?}"
    );
    assert_eq!(store.list_runs().expect("lists"), Vec::<String>::new());
    assert!(matches!(store.resume_run(RUN), Err(JournalError::NoSuchRun(..))));
    assert!(matches!(store.read_run(RUN), Err(JournalError::NoSuchRun(..))));
    drop(store.create_run(RUN, &started(&["a"])).expect("the id was never taken"));
    assert_eq!(entries(&store), [RUN], "the killed creator's directory was swept");
}
