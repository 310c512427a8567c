//! Crash windows of the executor, reproduced on purpose, and the durability contract behind
//! them: what a step's own process can read in the journal, and what `resume` finds after a
//! runner died at the worst instant.
//!
//! The instants come from a test-only fault switch, the environment variable
//! `DRBOOK_TEST_KILL`, given to one `run` and to nothing after it:
//!
//! - `after_spawn:STEP`: the runner SIGKILLs itself right after spawning the `run` action's
//!   process of STEP and before anything about that process is journaled. The step's `sh` is
//!   spawned blocked on a pipe and released only once the record that lets `resume` find and
//!   stop it is durable, so here the script never runs: the child sees the pipe close and
//!   exits.
//! - `after_go:STEP`: the runner SIGKILLs itself right after STEP's process record is durable
//!   and the process was released: the script runs on with no runner.
//! - `after_run_dir`: the runner SIGKILLs itself after the run's directory was begun and before
//!   the run exists whole.
//!
//! Every wait has a deadline. Every runbook here takes a secret, and no output of any command
//! of a scenario, nor any file of its state dir, may show the secret's value.

use crate::runkit::{
    count, drb, drb_spawn_env, files_under, lines, procs_with, run_ids, runbook, state,
    status_json, step_states, wait_no_procs, STATE,
};
use crate::{Output, Test};
use std::path::Path;
use std::time::{Duration, Instant};

const KILL: &str = "DRBOOK_TEST_KILL";
const SECRET_VAR: &str = "DRBOOK_WINDOWS_SECRET";
const SECRET: &str = "s3cr3t-WINDOWS-5d2a71";

/// `s` as one shell word.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A test file's path in the test's directory, shell-quoted.
fn sh_path(t: &Test, name: &str) -> String {
    sh_quote(&t.path(name).display().to_string())
}

/// A runbook `name` that takes the secret `token`, around `steps`.
fn with_secret(name: &str, steps: &str) -> String {
    runbook(name, &format!("  secret token = env(\"{SECRET_VAR}\")\n{steps}"))
}

/// Runs `drbook ARGS` (state dir of `t`) with `DRBOOK_TEST_KILL=point` and expects the runner
/// to die of the SIGKILL it sent itself.
#[track_caller]
fn run_killed_at(t: &Test, point: &str, args: &[&str]) -> Output {
    let out = drb_spawn_env(t, (KILL, point), args).wait();
    assert_eq!(
        out.status, -9,
        "with {KILL}={point} the runner should SIGKILL itself; it exited with {} instead\n--- stdout\n{}\n--- stderr\n{}",
        out.status, out.stdout, out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "the runner panicked\n{}", out.stderr);
    out
}

/// No output of the scenario and no file of its state dir shows the secret.
#[track_caller]
fn expect_no_secret(t: &Test, outputs: &[&Output]) {
    for out in outputs {
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "a command printed the secret\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout,
            out.stderr
        );
    }
    for f in files_under(&t.path(STATE)) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "{} holds the secret",
            f.display()
        );
    }
}

/// Polls until `path` has a line `word`; panics after `limit`.
#[track_caller]
fn wait_for_line(path: &Path, word: &str, limit: Duration) {
    let start = Instant::now();
    while count(path, word) == 0 {
        assert!(
            start.elapsed() < limit,
            "{} got no line {word:?} within {limit:?}: {:?}",
            path.display(),
            lines(path)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The step object `step` of `status RUN --format json`.
#[track_caller]
fn step_json(status: &serde_json::Value, step: &str) -> serde_json::Value {
    status["steps"]
        .as_array()
        .expect("`steps` is an array")
        .iter()
        .find(|s| s["id"] == step)
        .unwrap_or_else(|| panic!("no step `{step}` in {status}"))
        .clone()
}

/// Every process of a scenario (runner, step shells) names the test's directory.
fn marker(t: &Test) -> String {
    t.path("").display().to_string()
}

#[test]
fn a_running_step_reads_itself_running_and_its_dependency_succeeded_in_the_journal() {
    let t = Test::new();
    let drbook = sh_quote(env!("CARGO_BIN_EXE_drbook"));
    let probe = format!(
        "{drbook} --color never status ${{run.id}} --format json --state-dir {} > {}",
        sh_quote(&state(&t)),
        sh_path(&t, "seen.json"),
    );
    let rb = runbook(
        "durable",
        &format!(
            r#"  step first {{ duration 1s; run "echo first"; idempotent }}
  step probe {{
    needs first
    duration 1s
    run """
      {probe}
    """
    idempotent
  }}"#
        ),
    );
    let t = t.file("d.drbook", &rb);
    drb(&t, &["run", "d.drbook", "--run-id", "d"]).expect_status(0);

    let text = t.read("seen.json");
    let seen: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the step's `status` printed no JSON ({e}):\n{text}"));
    assert_eq!(seen["run_id"], "d");
    assert_eq!(seen["status"], "running", "the runner was alive: {seen}");
    // The dependency's end was durable before its dependent started...
    assert_eq!(step_json(&seen, "first")["state"], "succeeded", "{seen}");
    // ... and the step's own start before its action began.
    let me = step_json(&seen, "probe");
    assert_eq!(me["state"], "running", "{seen}");
    assert_eq!(me["attempts"], 1, "{seen}");
    assert_eq!(status_json(&t, "d")["status"], "succeeded");
}

#[test]
fn a_runner_killed_before_its_step_process_is_journaled_leaves_a_script_that_never_ran() {
    let mark = "deploy.log";
    let t = Test::new();
    let script = format!("echo ran >> {}; sleep 0.3", sh_path(&t, mark));
    let rb = with_secret(
        "spawned",
        &format!(
            r#"  step deploy {{
    duration 1s
    env {{ TOKEN = "${{token}}" }}
    run "test -n \"$TOKEN\" && {{ {script}; }}"
    idempotent
  }}"#
        ),
    );
    let t = t.file("w.drbook", &rb).env(SECRET_VAR, SECRET);
    let killed = run_killed_at(&t, "after_spawn:deploy", &["run", "w.drbook", "--run-id", "sp"]);

    // Time for an orphaned script to write, had it been let go; then the blocked child is gone.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !t.path(mark).exists(),
        "the script ran although its process was never journaled: {:?}",
        lines(&t.path(mark))
    );
    wait_no_procs(&marker(&t), Duration::from_secs(5));
    let st = status_json(&t, "sp");
    assert_eq!(st["status"], "interrupted", "{st}");
    let deploy = step_json(&st, "deploy");
    assert!(
        matches!(deploy["state"].as_str(), Some("running" | "interrupted" | "pending")),
        "deploy never acted, so it is not finished: {deploy}"
    );

    let resumed = drb(&t, &["resume", "sp"]);
    resumed.expect_status(0);
    assert_eq!(lines(&t.path(mark)), ["ran"], "the action ran once in all");
    assert_eq!(step_states(&t, "sp")["deploy"].0, "succeeded");
    expect_no_secret(&t, &[&killed, &resumed]);
}

/// `deploy`: takes a lock that dies with the last process holding it, writes `start`, holds
/// on for 4 s, writes `end`. A second attempt that finds the lock taken writes `DOUBLE`.
///
/// (A `mkdir` lock would outlive an attempt that `resume` stopped, and the next attempt would
/// cry `DOUBLE` without any overlap; a `flock` on an open descriptor is released by the kernel
/// when its holders end, however they end.)
fn locking_deploy(t: &Test, idempotent: bool) -> String {
    let (lock, mark) = (sh_path(t, "deploy.lock"), sh_path(t, "deploy.log"));
    with_secret(
        "locked",
        &format!(
            r#"  step prepare {{ duration 1s; run "echo prepared"; idempotent }}
  step deploy {{
    needs prepare
    duration 5s
    env {{ TOKEN = "${{token}}" }}
    run """
      test -n "$TOKEN" || exit 2
      exec 9>> {lock}
      flock -n 9 || {{ echo DOUBLE >> {mark}; exit 1; }}
      echo start >> {mark}
      sleep 4
      echo end >> {mark}
    """
    {}
  }}"#,
            if idempotent { "idempotent" } else { "" }
        ),
    )
}

#[test]
fn resume_never_runs_a_second_attempt_alongside_the_dead_runners_live_one() {
    let t = Test::new();
    let text = locking_deploy(&t, true);
    let t = t.file("w.drbook", &text).env(SECRET_VAR, SECRET);
    let mark = t.path("deploy.log");
    let killed = run_killed_at(&t, "after_go:deploy", &["run", "w.drbook", "--run-id", "go"]);
    // The script runs on without a runner.
    wait_for_line(&mark, "start", Duration::from_secs(5));

    let st = status_json(&t, "go");
    assert_eq!(st["status"], "interrupted", "{st}");
    let deploy = step_json(&st, "deploy");
    assert_eq!(
        deploy["process_alive"], true,
        "status should say the dead runner's `deploy` process is still alive: {deploy}"
    );
    assert_eq!(count(&mark, "end"), 0, "the old attempt ended before resume could meet it");

    let resumed = drb(&t, &["resume", "go"]);
    resumed.expect_status(0);
    wait_no_procs(&marker(&t), Duration::from_secs(10));
    let log = lines(&mark);
    assert_eq!(count(&mark, "DOUBLE"), 0, "two attempts of `deploy` ran at once: {log:?}");
    assert!(count(&mark, "start") >= 1 && log.last().is_some_and(|l| l == "end"), "{log:?}");
    assert_eq!(step_states(&t, "go")["deploy"].0, "succeeded");
    assert_eq!(status_json(&t, "go")["status"], "succeeded");
    expect_no_secret(&t, &[&killed, &resumed]);
}

#[test]
fn a_decision_given_before_resume_met_the_live_process_is_set_aside() {
    let t = Test::new();
    let text = locking_deploy(&t, false);
    let t = t.file("w.drbook", &text).env(SECRET_VAR, SECRET);
    let mark = t.path("deploy.log");
    let killed = run_killed_at(&t, "after_go:deploy", &["run", "w.drbook", "--run-id", "st"]);
    wait_for_line(&mark, "start", Duration::from_secs(5));

    // `retry` was decided without knowing the old attempt was still at work.
    let first = drb(&t, &["resume", "st", "--interrupted", "deploy=retry"]);
    wait_no_procs(&marker(&t), Duration::from_secs(10));
    let log = lines(&mark);
    assert_eq!(count(&mark, "DOUBLE"), 0, "the retry overlapped the old attempt: {log:?}");
    assert_eq!(
        count(&mark, "start"),
        1,
        "the retry decided in advance was applied although the old attempt was alive: {log:?}"
    );
    assert_eq!(count(&mark, "end"), 0, "the old attempt ran to its end: resume did not stop it");
    first.expect_status(3);
    let says = first.stderr.to_lowercase();
    assert!(
        says.contains("deploy") && says.contains("still running"),
        "resume should say `deploy`'s process was still running, so the decision given in advance was set aside:\n{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("--interrupted deploy="),
        "how to decide again:\n{}",
        first.stderr
    );
    let st = status_json(&t, "st");
    assert_eq!(st["status"], "paused", "{st}");
    let deploy = step_json(&st, "deploy");
    assert!(matches!(deploy["state"].as_str(), Some("running" | "interrupted")), "{deploy}");

    // Decided again, now that nothing of the old attempt runs: the retry runs, once.
    let second = drb(&t, &["resume", "st", "--interrupted", "deploy=retry"]);
    second.expect_status(0);
    let log = lines(&mark);
    assert_eq!(log, ["start", "start", "end"], "one stopped attempt, one retry");
    assert_eq!(step_states(&t, "st")["deploy"].0, "succeeded");
    expect_no_secret(&t, &[&killed, &first, &second]);
}

#[test]
fn a_runner_killed_while_creating_its_run_leaves_the_run_id_usable() {
    let t = Test::new();
    let rb = with_secret(
        "fixed",
        &format!(
            r#"  step act {{
    duration 1s
    env {{ TOKEN = "${{token}}" }}
    run "test -n \"$TOKEN\" && echo act >> {}"
    idempotent
  }}"#,
            sh_path(&t, "act.log")
        ),
    );
    let t = t.file("w.drbook", &rb).env(SECRET_VAR, SECRET);
    let args = ["run", "w.drbook", "--run-id", "fixed-1"];
    let killed = run_killed_at(&t, "after_run_dir", &args);
    assert!(!t.path("act.log").exists(), "a step ran in a run that did not exist whole");

    let listed = drb(&t, &["status", "--format", "json"]);
    listed.expect_status(0);
    assert!(
        !listed.stderr.contains("fixed-1"),
        "a half-created run is reported broken:\n{}",
        listed.stderr
    );
    assert!(!run_ids(&t).contains(&"fixed-1".to_string()), "{}", listed.stdout);

    let again = drb(&t, &args);
    again.expect_status(0);
    assert_eq!(lines(&t.path("act.log")), ["act"]);
    assert_eq!(status_json(&t, "fixed-1")["status"], "succeeded");
    assert!(procs_with(&marker(&t)).is_empty(), "nothing of the killed runner runs on");
    expect_no_secret(&t, &[&killed, &listed, &again]);
}
