//! No symbolic link inside a state dir is followed (issue 11 §2): a link planted at a run's
//! journal, lock, `logs/` or a step log, its inbox, at `--report`, or where `fmt` puts its
//! temporary file is refused (exit 2, naming it), and the file it points to, which the test
//! owns outside the state dir, is untouched.

use crate::runkit::{drb, drb_spawn, journal_path, runbook};
use crate::Test;
use std::path::{Path, PathBuf};
use std::time::Duration;

const MINE: &str = "mine, outside the state dir\n";

/// A run `l` whose step `a` failed (it needs `fixed`): a journal, a lock and `logs/a.log`.
fn failed_run() -> (Test, PathBuf) {
    let rb = runbook(
        "links",
        r#"  step a { duration 1s; run "echo out; test -f fixed && echo ran > ran"; idempotent }"#,
    );
    let t = Test::new().file("l.drbook", &rb).file("target", MINE);
    drb(&t, &["run", "l.drbook", "--run-id", "l"]).expect_status(1);
    std::fs::write(t.path("fixed"), "").expect("fix the cause");
    let dir = journal_path(&t, "l").parent().expect("run dir").to_path_buf();
    (t, dir)
}

/// Replaces `at` with a link to the test's own `target` (the file's bytes are kept there).
fn plant(t: &Test, at: &Path) {
    if at.is_dir() {
        std::fs::remove_dir_all(at).expect("remove the directory");
    } else if at.exists() {
        let bytes = std::fs::read(at).expect("read");
        std::fs::write(t.path("target"), [MINE.as_bytes(), &bytes].concat()).expect("copy");
        std::fs::remove_file(at).expect("remove the file");
    }
    std::os::unix::fs::symlink(t.path("target"), at).expect("plant a link");
}

#[track_caller]
fn refused(out: &crate::Output, link: &Path) {
    out.expect_status(2).expect_stderr("symbolic link");
    out.expect_stderr(&link.display().to_string());
}

#[test]
fn a_link_at_a_journal_lock_or_log_is_refused_and_its_target_untouched() {
    // Without a link, resuming runs the step again.
    let (t, _) = failed_run();
    drb(&t, &["resume", "l"]).expect_status(0);
    assert!(t.path("ran").exists());
    for name in ["journal", "lock", "logs/a.log", "logs"] {
        let (t, dir) = failed_run();
        let at = dir.join(name);
        plant(&t, &at);
        let before = std::fs::read(t.path("target")).expect("target");
        let out = drb(&t, &["resume", "l"]);
        refused(&out, &at);
        assert!(!t.path("ran").exists());
        assert_eq!(
            std::fs::read(t.path("target")).expect("target"),
            before,
            "{name}: target changed"
        );
        if name == "journal" {
            refused(&drb(&t, &["status", "l"]), &at);
        }
    }
}

#[test]
fn a_link_in_place_of_the_runs_directory_is_refused() {
    let (t, dir) = failed_run();
    let runs = dir.parent().expect("runs").to_path_buf();
    std::fs::rename(&runs, t.path("moved")).expect("move runs/ away");
    std::os::unix::fs::symlink(t.path("moved"), &runs).expect("plant a link");
    refused(&drb(&t, &["resume", "l"]), &runs);
    refused(&drb(&t, &["status"]), &runs);
    assert!(!t.path("ran").exists());
}

#[test]
fn a_link_at_the_report_path_stops_the_run_before_any_step() {
    let rb = runbook("rep", r#"  step a { duration 1s; run "echo ran > ran"; idempotent }"#);
    let t = Test::new().file("r.drbook", &rb).file("target", MINE);
    std::os::unix::fs::symlink(t.path("target"), t.path("r.json")).expect("plant a link");
    let out = drb(&t, &["run", "r.drbook", "--run-id", "r", "--report", "r.json"]);
    refused(&out, Path::new("r.json"));
    out.expect_stderr("nothing was run");
    assert!(!t.path("ran").exists(), "no step ran");
    assert_eq!(t.read("target"), MINE);
}

#[test]
fn a_linked_inbox_is_refused_and_nothing_is_written_through_it() {
    let rb = runbook(
        "gate",
        r#"  step g { duration 1s; approval { by a }; run "echo ran > ran"; idempotent }"#,
    );
    let t = Test::new().file("g.drbook", &rb).file("target", MINE);
    std::fs::create_dir(t.path("elsewhere")).expect("mkdir");
    // What the runner would otherwise take for a request, or remove as not one.
    std::fs::write(t.path("elsewhere/mine.json"), MINE).expect("write");
    let mut live = drb_spawn(&t, &["run", "g.drbook", "--run-id", "g", "--wait"]);
    crate::run_approval::wait_until_waiting(&t, "g", "g", &mut live, Duration::from_secs(20));
    let inbox = journal_path(&t, "g").parent().expect("run dir").join("inbox");
    let _ = std::fs::remove_dir_all(&inbox);
    std::os::unix::fs::symlink(t.path("elsewhere"), &inbox).expect("plant a link");
    let out = drb(&t, &["approve", "g", "g", "--as", "alice"]);
    live.signal(nix::sys::signal::Signal::SIGTERM);
    let _ = live.wait();
    refused(&out, &inbox);
    let there: Vec<String> = std::fs::read_dir(t.path("elsewhere"))
        .expect("list")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    assert_eq!(there, ["mine.json"], "nothing was written or removed through the link");
    assert_eq!(t.read("elsewhere/mine.json"), MINE);
    assert!(!t.path("ran").exists());
}

#[test]
fn fmt_never_writes_through_a_link_where_its_temporary_file_would_go() {
    let messy = "runbook \"f\" {\n owner \"ops\"\n    rto 1h\n  step a { duration 1s; run \"true\"; idempotent }\n}\n";
    let t = Test::new().file("f.drbook", messy).file("target", MINE);
    // Where older builds put it: a fixed, guessable name.
    std::os::unix::fs::symlink(t.path("target"), t.path(".f.drbook.drbook-fmt.tmp"))
        .expect("plant a link");
    t.cmd(&["fmt", "f.drbook"]).expect_no_crash().expect_status(0);
    assert_eq!(t.read("target"), MINE, "nothing was written through the link");
    assert_ne!(t.read("f.drbook"), messy, "the runbook was formatted");
    let left: Vec<String> = std::fs::read_dir(t.path(""))
        .expect("list")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tmp") && n != ".f.drbook.drbook-fmt.tmp")
        .collect();
    assert!(left.is_empty(), "no temporary file is left: {left:?}");
}

/// Inbox request ids name a file inside the inbox and nothing else: a forged request whose id
/// climbs out of it is dropped unanswered, and counts for nothing.
#[test]
fn a_forged_request_id_never_names_a_file_outside_the_inbox() {
    let rb = runbook(
        "forged",
        r#"  step g { duration 1s; approval { by a, b }; run "echo ran > ran"; idempotent }"#,
    );
    let t = Test::new().file("g.drbook", &rb);
    let mut live = drb_spawn(&t, &["run", "g.drbook", "--run-id", "g", "--wait"]);
    crate::run_approval::wait_until_waiting(&t, "g", "g", &mut live, Duration::from_secs(20));
    let inbox = journal_path(&t, "g").parent().expect("run dir").join("inbox");
    let _ = std::fs::create_dir(&inbox);
    let forged = r#"{"id":"../../../../pwned","step":"g","by":"alice","ask":{"kind":"approve","role":null,"comment":null}}"#;
    std::fs::write(inbox.join("0000000001-00000000000000000001.json"), forged).expect("forge");
    let out = drb(&t, &["approve", "g", "g", "--as", "bob"]);
    live.signal(nix::sys::signal::Signal::SIGTERM);
    let _ = live.wait();
    out.expect_status(0);
    assert!(out.stdout.contains("still missing"), "the forged approval counted: {}", out.stdout);
    assert!(!t.path("pwned.reply").exists(), "a reply was written outside the inbox");
    assert!(!inbox.join("0000000001-00000000000000000001.json").exists(), "the forgery is removed");
    assert!(!t.path("ran").exists());
}
