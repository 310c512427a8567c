//! `drbook resume`: locks, interrupted-step decisions, runbook edits, run ids.

use crate::runkit::{
    count, count_events, drb, drb_spawn, journal, kill_when, procs_with, runbook, status_json,
    step_state, step_states, wait_for_file,
};
use crate::Test;
use std::time::{Duration, Instant};

/// Waits (at most ~6 s) for the file `release`: a step that stays in flight until the test
/// lets it go, and cannot outlive a failed test for long.
const HOLD: &str = "i=0; while [ ! -f release ] && [ $i -lt 300 ]; do sleep 0.02; i=$((i+1)); done";

/// A run `k` SIGKILLed while its step `act` (idempotent or not) is in flight; `act` appends
/// to `log` before it waits, so it has acted when the runner dies.
fn killed_mid_step(idempotent: bool) -> Test {
    let rb = runbook(
        "k",
        &format!(
            r#"
  step first {{ duration 1s; run "echo first >> log"; idempotent }}
  step act {{
    needs first
    duration 1s
    run "echo act >> log; touch act.started; {HOLD}"
    {}
  }}
  step last {{ needs act; duration 1s; run "echo last >> log"; idempotent }}"#,
            if idempotent { "idempotent" } else { "" }
        ),
    );
    let t = Test::new().file("k.drbook", &rb);
    kill_when(&t, &["run", "k.drbook", "--run-id", "k"], "act.started");
    std::fs::write(t.path("release"), "").expect("release");
    t
}

#[test]
fn a_live_run_is_locked_and_a_second_run_of_the_runbook_is_refused() {
    let rb = runbook(
        "lk",
        &format!(
            r#"  step a {{ duration 3s; run "touch a.started; {HOLD}; echo a >> log"; idempotent }}"#
        ),
    );
    let t = Test::new().file("lk.drbook", &rb);
    let first = drb_spawn(&t, &["run", "lk.drbook", "--run-id", "L1"]);
    wait_for_file(&t.path("a.started"), Duration::from_secs(30));

    let pid = first.pid().to_string();
    drb(&t, &["resume", "L1"]).expect_status(2).expect_stderr("`L1`").expect_stderr(&pid);
    drb(&t, &["run", "lk.drbook"])
        .expect_status(2)
        .expect_stderr("run `L1` of this runbook is unfinished")
        .expect_stderr("--allow-concurrent");
    let live = drb(&t, &["status", "L1"]);
    assert!(live.stdout.contains("running") && live.stdout.contains(&pid), "{}", live.stdout);
    let second = drb_spawn(&t, &["run", "lk.drbook", "--run-id", "L2", "--allow-concurrent"]);
    std::thread::sleep(Duration::from_millis(300));

    std::fs::write(t.path("release"), "").expect("release");
    first.wait().expect_status(0);
    second.wait().expect_status(0);
    assert_eq!(count(&t.path("log"), "a"), 2, "each run ran its step once");
    // Once the runs ended: resuming is harmless, and a new run may start.
    drb(&t, &["resume", "L1"]).expect_status(0);
    drb(&t, &["run", "lk.drbook", "--run-id", "L3"]).expect_status(0);
    assert_eq!(count(&t.path("log"), "a"), 3);
}

#[test]
fn a_lock_left_by_a_sigkilled_runner_does_not_block_resume() {
    // The first attempt holds on (until `release`, which never comes); the resumed one sees
    // `held.started` and finishes at once. The dead runner's step is still alive when resume
    // starts: it must neither hold the lock nor survive the resume.
    let rb = runbook(
        "held",
        &format!(
            r#"  step act {{
    duration 1s
    run "test -f held.started && {{ echo again >> log; exit 0; }}; touch held.started; {HOLD}"
    idempotent
  }}"#
        ),
    );
    let t = Test::new().file("held.drbook", &rb);
    kill_when(&t, &["run", "held.drbook", "--run-id", "h"], "held.started");
    assert!(t.path("state/runs/h/lock").exists(), "the lock file stays behind");
    let marker = "touch held.started"; // only this test's step says that
    assert!(!procs_with(marker).is_empty(), "the dead runner's step is still running");
    let st = drb(&t, &["status", "h"]);
    assert!(
        st.stdout.contains("interrupted"),
        "a dead runner's run is interrupted:\n{}",
        st.stdout
    );
    let out = drb(&t, &["resume", "h"]);
    out.expect_status(0).expect_stderr("still running; stopping them");
    assert!(!out.stderr.contains("another runner"), "{}", out.stderr);
    assert_eq!(count(&t.path("log"), "again"), 1);
    assert!(procs_with(marker).is_empty(), "resume stopped the leftover step");
}

#[test]
fn an_interrupted_non_idempotent_step_pauses_resume_until_a_person_decides() {
    let t = killed_mid_step(false);
    let out = drb(&t, &["resume", "k"]);
    out.expect_status(3)
        .expect_stderr("act")
        .expect_stderr("--interrupted act=ANSWER")
        .expect_stderr("`retry` (run it again");
    assert_eq!(status_json(&t, "k")["status"], "paused");
    assert!(matches!(step_state(&t, "k", "act").as_str(), "running" | "interrupted"));
    assert_eq!(count(&t.path("log"), "last"), 0, "nothing after the undecided step ran");
}

#[test]
fn deciding_done_counts_the_step_as_succeeded_without_running_it_again() {
    let t = killed_mid_step(false);
    drb(&t, &["resume", "k", "--interrupted", "act=done"]).expect_status(0);
    let log = t.path("log");
    assert_eq!((count(&log, "first"), count(&log, "act"), count(&log, "last")), (1, 1, 1));
    assert_eq!(step_states(&t, "k")["act"], ("succeeded".to_string(), 1));
    let decided = journal(&t, "k")
        .into_iter()
        .filter(|r| r["event"] == "step_decided" && r["step"] == "act")
        .collect::<Vec<_>>();
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0]["decision"], "done");
}

#[test]
fn deciding_fail_fails_the_run() {
    let t = killed_mid_step(false);
    drb(&t, &["resume", "k", "--interrupted", "act=fail"]).expect_status(1).expect_stderr("act");
    assert_eq!(step_state(&t, "k", "act"), "failed");
    assert_eq!(status_json(&t, "k")["status"], "failed");
    assert_eq!(count(&t.path("log"), "last"), 0);
}

#[test]
fn deciding_retry_runs_the_step_again() {
    let t = killed_mid_step(false);
    drb(&t, &["resume", "k", "--interrupted", "act=retry"]).expect_status(0);
    assert_eq!(count(&t.path("log"), "act"), 2, "the killed attempt and the retry");
    assert_eq!(step_states(&t, "k")["act"], ("succeeded".to_string(), 2));
}

#[test]
fn an_interrupted_idempotent_step_is_rerun_automatically() {
    let t = killed_mid_step(true);
    let out = drb(&t, &["resume", "k"]);
    out.expect_status(0);
    assert_eq!(count(&t.path("log"), "act"), 2);
    assert_eq!(count(&t.path("log"), "first"), 1);
    assert_eq!(step_states(&t, "k")["act"], ("succeeded".to_string(), 2));
    assert_eq!(count_events(&journal(&t, "k"), "step_decided", "act"), 0);
}

/// Run `e` of a runbook whose `b` fails until `ok` exists; `c` (after `b`) never started.
fn failed_run() -> Test {
    let rb = runbook(
        "ed",
        r#"
  step a { duration 1s; run "echo a >> log"; idempotent }
  step b { needs a; duration 1s; run "test -f ok && echo b >> log"; idempotent }
  step c { needs b; duration 1s; run "echo c >> log"; idempotent }"#,
    );
    let t = Test::new().file("ed.drbook", &rb);
    drb(&t, &["run", "ed.drbook", "--run-id", "e"]).expect_status(1);
    t
}

#[test]
fn editing_a_step_that_already_started_is_refused() {
    let t = failed_run();
    let edited = t.read("ed.drbook").replace("echo b >> log", "echo B >> log");
    std::fs::write(t.path("ed.drbook"), edited).expect("edit");
    std::fs::write(t.path("ok"), "").expect("fix");
    for extra in [&[][..], &["--allow-edited"][..]] {
        let mut args = vec!["resume", "e"];
        args.extend_from_slice(extra);
        drb(&t, &args).expect_status(2).expect_stderr("step `b`").expect_stderr("already started");
    }
    assert_eq!(count(&t.path("log"), "B") + count(&t.path("log"), "b"), 0, "nothing ran");
}

#[test]
fn editing_only_a_step_that_has_not_started_needs_allow_edited() {
    let t = failed_run();
    let edited = t.read("ed.drbook").replace("echo c >> log", "echo c2 >> log");
    std::fs::write(t.path("ed.drbook"), edited).expect("edit");
    std::fs::write(t.path("ok"), "").expect("fix");
    drb(&t, &["resume", "e"]).expect_status(2).expect_stderr("c").expect_stderr("--allow-edited");
    assert_eq!(count(&t.path("log"), "b"), 0, "a refused resume runs nothing");
    drb(&t, &["resume", "e", "--allow-edited"]).expect_status(0);
    let log = t.path("log");
    assert_eq!((count(&log, "a"), count(&log, "b"), count(&log, "c2")), (1, 1, 1));
}

#[test]
fn editing_a_not_started_steps_duration_is_accepted_with_allow_edited() {
    // x (1s) fails; y (3s) succeeds and is critical; w needs x. Making w 10s moves the
    // critical path to x -> w: only w, which never started, was edited.
    let rb = runbook(
        "crit",
        r#"
  step x { duration 1s; run "test -f ok"; idempotent }
  step y { duration 3s; run "echo y >> log"; idempotent }
  step w { needs x; duration 1s; run "echo w >> log"; idempotent }"#,
    );
    let t = Test::new().file("cr.drbook", &rb);
    drb(&t, &["run", "cr.drbook", "--run-id", "c"]).expect_status(1);
    let edited = t.read("cr.drbook").replace("needs x; duration 1s", "needs x; duration 10s");
    std::fs::write(t.path("cr.drbook"), edited).expect("edit");
    std::fs::write(t.path("ok"), "").expect("fix");
    // Today: exit 2, "the runbook changed in step `x`, which already started".
    drb(&t, &["resume", "c", "--allow-edited"]).expect_status(0);
}

#[test]
fn editing_a_started_steps_check_or_env_is_refused() {
    // Today: the `check` edit resumes and succeeds (exit 0); the `env` edit re-runs the step
    // (exit 1). Both should be refused (exit 2) like any edit of a started step.
    let mut got = Vec::new();
    for (from, to) in [("check n == 6", "check n == 5"), ("X = \"1\"", "X = \"2\"")] {
        let rb = runbook(
            "chk",
            r#"
  step a { duration 1s; env { X = "1" }; run "echo 5"; capture n from stdout; check n == 6; idempotent }"#,
        );
        let t = Test::new().file("ck.drbook", &rb);
        drb(&t, &["run", "ck.drbook", "--run-id", "k"]).expect_status(1);
        let edited = t.read("ck.drbook").replace(from, to);
        std::fs::write(t.path("ck.drbook"), edited).expect("edit");
        got.push((to, drb(&t, &["resume", "k"]).status));
    }
    assert_eq!(got, [("check n == 5", 2), ("X = \"2\"", 2)], "(edit, exit code of resume)");
}

#[test]
fn run_id_names_the_run_and_is_refused_twice() {
    let rb = runbook("named", r#"  step a { duration 1s; run "echo a >> log"; idempotent }"#);
    let t = Test::new().file("n.drbook", &rb);
    let out = drb(&t, &["run", "n.drbook", "--run-id", "nightly-2026.11.23"]);
    out.expect_status(0);
    assert!(out.stdout.contains("run nightly-2026.11.23"), "{}", out.stdout);
    assert!(t.path("state/runs/nightly-2026.11.23/journal").exists());
    drb(&t, &["run", "n.drbook", "--run-id", "nightly-2026.11.23"])
        .expect_status(2)
        .expect_stderr("already exists");
    for bad in ["../escape", ".hidden", "a/b", ""] {
        drb(&t, &["run", "n.drbook", "--run-id", bad]).expect_status(2);
    }
    assert_eq!(count(&t.path("log"), "a"), 1, "refused runs ran nothing");
    drb(&t, &["resume", "no-such-run"]).expect_status(2).expect_stderr("no-such-run");
}

#[test]
fn resume_file_points_at_a_runbook_that_moved() {
    let t = failed_run();
    std::fs::create_dir_all(t.path("moved")).expect("mkdir");
    std::fs::rename(t.path("ed.drbook"), t.path("moved/ed.drbook")).expect("move");
    std::fs::write(t.path("ok"), "").expect("fix");
    drb(&t, &["resume", "e"]).expect_status(2);
    assert_eq!(count(&t.path("log"), "b"), 0);
    drb(&t, &["resume", "e", "--file", "moved/ed.drbook"]).expect_status(0);
    let log = t.path("log");
    assert_eq!((count(&log, "a"), count(&log, "b"), count(&log, "c")), (1, 1, 1));
}

#[test]
fn simultaneous_runs_of_one_runbook_start_only_one() {
    let rb =
        runbook("race", r#"  step a { duration 1s; run "echo a >> log; sleep 1"; idempotent }"#);
    let mut started = Vec::new();
    for _ in 0..5 {
        let t = Test::new().file("race.drbook", &rb);
        let runners: Vec<_> = (0..8).map(|_| drb_spawn(&t, &["run", "race.drbook"])).collect();
        let codes: Vec<i32> = runners.into_iter().map(|r| r.wait().status).collect();
        assert!(codes.iter().all(|c| *c == 0 || *c == 2), "{codes:?}");
        started.push(count(&t.path("log"), "a"));
    }
    // Today, e.g. [2, 4, 1, 1, 1]: several runs of the runbook at once.
    assert_eq!(started, [1; 5], "runs that started, per trial of 8 simultaneous `run`s");
}

/// `resume --wait` asks how an interrupted step ended and takes the answer from another shell
/// (`drbook approve` = done, `drbook deny` = failed), through the same loop as approvals.
#[test]
fn resume_with_wait_takes_the_decision_about_an_interrupted_step_from_another_shell() {
    for (answer, code, state) in [("approve", 0, "succeeded"), ("deny", 1, "failed")] {
        let t = killed_mid_step(false);
        let resume = drb_spawn(&t, &["resume", "k", "--wait"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut args = vec![answer, "k", "act"];
        if answer == "deny" {
            args.extend(["--reason", "it half ran"]);
        }
        loop {
            let out = drb(&t, &args);
            if out.status == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the runner never asked about `act`:\n{}",
                out.stderr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = resume.wait();
        out.expect_status(code);
        assert_eq!(step_states(&t, "k")["act"].0, state, "after `{answer}`");
        let decided = journal(&t, "k")
            .into_iter()
            .filter(|r| r["event"] == "decision_asked" || r["event"] == "step_decided")
            .map(|r| r["event"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>();
        assert_eq!(decided, ["decision_asked", "step_decided"], "after `{answer}`");
        // Done: `act` is not run again and `last` runs; failed: nothing after it runs.
        assert_eq!(count(&t.path("log"), "act"), 1);
        assert_eq!(count(&t.path("log"), "last"), usize::from(answer == "approve"));
    }
}
