//! Rollback (LANGUAGE.md §5 `rollback`, §8): reverse dependency order read from the side
//! effects of real rollback actions, the three failure policies side by side, exit 4 and 5,
//! manual rollbacks, rollbacks killed with SIGKILL and resumed (each rollback action acts
//! exactly once), and `drbook rollback RUN` on demand.

use crate::runkit::{
    count, count_events, drb, drb_spawn, journal, journal_path, lines, runbook, status_json,
    step_states, STATE,
};
use crate::Test;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// `run "echo NAME >> did.log"` with a rollback that appends NAME to `undo.log`.
fn undoable(name: &str, needs: &str) -> String {
    let needs = if needs.is_empty() { String::new() } else { format!("needs {needs}; ") };
    format!(
        "  step {name} {{ {needs}duration 1s; run \"echo {name} >> did.log\"; rollback run \"echo {name} >> undo.log\" }}\n"
    )
}

/// The position of `word` in `list`; panics when absent.
#[track_caller]
fn pos(list: &[String], word: &str) -> usize {
    list.iter().position(|l| l == word).unwrap_or_else(|| panic!("no `{word}` in {list:?}"))
}

/// Each step's state, by id.
fn states(t: &Test, id: &str) -> Vec<(String, String)> {
    step_states(t, id).into_iter().map(|(k, (s, _))| (k, s)).collect()
}

#[track_caller]
fn state_of(t: &Test, id: &str, step: &str) -> String {
    step_states(t, id).remove(step).unwrap_or_else(|| panic!("no step `{step}`")).0
}

#[test]
fn rollback_undoes_a_chain_in_reverse_order_and_exits_4() {
    let body = format!(
        "{}{}  step c {{ needs b; duration 1s; run \"echo c >> did.log\"; idempotent }}\n{}  step boom {{ needs d; duration 1s; on_failure rollback; run \"exit 3\"; idempotent }}",
        undoable("a", ""),
        undoable("b", "a"),
        undoable("d", "c")
    );
    let t = Test::new().file("chain.drbook", &runbook("chain", &body));
    let out = drb(
        &t,
        &["run", "chain.drbook", "--run-id", "c1", "--report", "r.json", "--non-interactive"],
    );
    out.expect_status(4).expect_stderr("rolled back");
    assert_eq!(lines(&t.path("did.log")), ["a", "b", "c", "d"]);
    assert_eq!(lines(&t.path("undo.log")), ["d", "b", "a"], "reverse dependency order");
    let want = [
        ("a", "undone"),
        ("b", "undone"),
        ("boom", "failed"),
        ("c", "not_undone"),
        ("d", "undone"),
    ];
    let want: Vec<(String, String)> =
        want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(states(&t, "c1"), want);
    assert_eq!(status_json(&t, "c1")["status"], "rolled_back");

    // The report: text at the end of the run, JSON with every rollback, markdown.
    assert!(out.stdout.contains("rollback (step `boom` failed: exit code 3)"), "{}", out.stdout);
    let r: Value = serde_json::from_str(&t.read("r.json")).expect("the report is JSON");
    assert_eq!(r["status"], "rolled_back");
    let rollbacks: Vec<(String, String)> = r["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .map(|u| {
            (u["step"].as_str().unwrap_or("").into(), u["status"].as_str().unwrap_or("").into())
        })
        .collect();
    for (step, status) in [("a", "undone"), ("b", "undone"), ("c", "not_undone"), ("d", "undone")] {
        assert!(rollbacks.contains(&(step.into(), status.into())), "{step}: {rollbacks:?}");
    }
    assert!(!rollbacks.iter().any(|(s, _)| s == "boom"), "the failed step is not undone");
    let d = r["rollbacks"].as_array().and_then(|a| a.iter().find(|u| u["step"] == "d"));
    assert!(d.is_some_and(|d| d["duration_ms"].is_u64()), "{r}");
    drb(&t, &["resume", "c1"]).expect_status(4).expect_no_crash();
}

#[test]
fn rollback_order_on_a_diamond_waits_for_every_dependent_and_runs_independent_ones_together() {
    let undo = |name: &str, needs: &str| {
        let needs = if needs.is_empty() { String::new() } else { format!("needs {needs}; ") };
        format!(
            "  step {name} {{ {needs}duration 1s; run \"true\"; rollback run \"echo {name}-start >> undo.log; sleep 0.3; echo {name}-end >> undo.log\" }}\n"
        )
    };
    let body = format!(
        "  parallel 2\n  on_failure rollback\n{}{}{}{}  step boom {{ needs d; duration 1s; run \"exit 1\"; idempotent }}",
        undo("a", ""),
        undo("b", "a"),
        undo("c", "a"),
        undo("d", "b, c")
    );
    let t = Test::new().file("diamond.drbook", &runbook("diamond", &body));
    let out = drb(
        &t,
        &["run", "diamond.drbook", "--run-id", "d1", "--log-format", "json", "--report", "r.md"],
    );
    out.expect_status(4);
    let md = t.read("r.md");
    assert!(md.contains("## Rollback") && md.contains("| `d` | undone |"), "{md}");
    let log = lines(&t.path("undo.log"));
    assert_eq!(log.len(), 8, "{log:?}");
    assert_eq!(&log[..2], ["d-start", "d-end"], "d, needed by nothing, first: {log:?}");
    for x in ["b", "c"] {
        assert!(pos(&log, &format!("{x}-start")) > pos(&log, "d-end"), "{x} after d: {log:?}");
        assert!(pos(&log, &format!("{x}-end")) < pos(&log, "a-start"), "{x} before a: {log:?}");
    }
    // b and c are independent: with `parallel 2` both start before either ends.
    let first_end = pos(&log, "b-end").min(pos(&log, "c-end"));
    assert!(pos(&log, "b-start") < first_end && pos(&log, "c-start") < first_end, "{log:?}");
    assert_eq!(&log[6..], ["a-start", "a-end"], "a last: {log:?}");
    // The JSON progress stream tells the same story.
    let events: Vec<Value> =
        out.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let of = |name: &str| events.iter().filter(|e| e["event"] == name).count();
    assert_eq!((of("rollback_started"), of("undo_started"), of("undo_succeeded")), (1, 4, 4));
}

#[test]
fn continue_abort_and_rollback_policies_differ() {
    let rb = |policy: &str| {
        runbook(
            "pol",
            &format!(
                "{}  step bad {{ needs a; duration 1s; on_failure {policy}; run \"sleep 0.1; exit 3\"; idempotent }}\n  step next {{ needs bad; duration 1s; run \"echo next >> did.log\"; idempotent }}\n  step other {{ needs a; duration 1s; run \"sleep 0.5; echo other >> did.log\"; rollback run \"echo other >> undo.log\" }}",
                undoable("a", "")
            ),
        )
    };
    // continue: the failure is noted, dependents run, the run succeeds, nothing is undone.
    let t = Test::new().file("p.drbook", &rb("continue"));
    drb(&t, &["run", "p.drbook", "--run-id", "p"]).expect_status(0);
    assert_eq!(lines(&t.path("did.log")).len(), 3, "a, other and next ran");
    assert_eq!(count(&t.path("did.log"), "next"), 1);
    assert!(!t.path("undo.log").exists());

    // abort: no new launches, the running step finishes, nothing is undone, resumable (1).
    let t = Test::new().file("p.drbook", &rb("abort"));
    drb(&t, &["run", "p.drbook", "--run-id", "p"]).expect_status(1);
    assert_eq!(lines(&t.path("did.log")), ["a", "other"], "other finished; next never ran");
    assert!(!t.path("undo.log").exists());
    assert_eq!(status_json(&t, "p")["status"], "failed");

    // rollback: as abort, then what succeeded is undone, dependents first (4).
    let t = Test::new().file("p.drbook", &rb("rollback"));
    drb(&t, &["run", "p.drbook", "--run-id", "p"]).expect_status(4);
    assert_eq!(lines(&t.path("did.log")), ["a", "other"]);
    assert_eq!(lines(&t.path("undo.log")), ["other", "a"]);
    assert_eq!(state_of(&t, "p", "next"), "pending");
    assert_eq!(state_of(&t, "p", "bad"), "failed", "the failed step is not undone");
}

#[test]
fn running_steps_finish_and_are_undone_but_retries_stop_when_the_run_rolls_back() {
    let body = r#"
  on_failure rollback
  step slow  { duration 1s; run "sleep 0.6; echo slow >> did.log"; rollback run "echo slow >> undo.log" }
  step flaky { duration 1s; on_failure abort; run "echo try >> flaky.log; exit 1"; retry 5 every 300ms; verify run "test -f flaky.done"; rollback run "echo flaky >> undo.log" }
  step boom  { duration 1s; run "sleep 0.1; exit 3"; idempotent }
  step after { needs slow; duration 1s; run "echo after >> did.log"; idempotent }"#;
    let t = Test::new().file("r.drbook", &runbook("running", body));
    drb(&t, &["run", "r.drbook", "--run-id", "r"]).expect_status(4);
    assert_eq!(lines(&t.path("did.log")), ["slow"], "slow finished; after never started");
    assert_eq!(lines(&t.path("undo.log")), ["slow"], "what succeeded is undone");
    let tries = count(&t.path("flaky.log"), "try");
    assert!((1..=2).contains(&tries), "no retry once the run rolls back: {tries} attempts");
    assert_eq!(state_of(&t, "r", "after"), "pending");
    let st = drb(&t, &["status", "r"]);
    assert!(!st.stdout.contains("waiting on a person"), "{}", st.stdout);
}

#[test]
fn a_failing_rollback_exits_5_names_it_and_what_remains_and_never_shows_a_secret() {
    let body = r#"
  on_failure rollback
  secret token = env("UNDO_TOKEN")
  step a { duration 1s; run "true"; rollback run "echo a >> undo.log" }
  step b { needs a; duration 1s; run "true"; rollback run "echo b >> undo.log" }
  step c { needs b; duration 1s; run "true"; rollback run "echo leaked ${token}; echo leaked ${token} >&2; exit 9" }
  step boom { needs c; duration 1s; run "exit 1"; idempotent }"#;
    let secret = "hunter2-undo-secret";
    let t = Test::new().file("f.drbook", &runbook("fails", body)).env("UNDO_TOKEN", secret);
    let out = drb(&t, &["run", "f.drbook", "--run-id", "f", "--report", "f.json"]);
    out.expect_status(5)
        .expect_stderr("the rollback of `c` failed: exit code 9")
        .expect_stderr("`a`")
        .expect_stderr("`b`");
    assert!(!t.path("undo.log").exists(), "a and b wait for c's rollback, which failed");
    assert_eq!(state_of(&t, "f", "c"), "undo_failed");
    assert_eq!(state_of(&t, "f", "b"), "succeeded", "b remains");
    let v = status_json(&t, "f");
    assert_eq!(v["status"], "rollback_failed");
    let c = v["steps"].as_array().and_then(|s| s.iter().find(|s| s["id"] == "c"));
    assert_eq!(
        c.map(|c| &c["undo"]["error"]),
        Some(&Value::from("exit code 9; stderr: leaked <secret:token>"))
    );
    let r: Value = serde_json::from_str(&t.read("f.json")).expect("JSON report");
    let remains: Vec<&Value> = r["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .filter(|u| u["status"] == "not_undone")
        .collect();
    assert_eq!(remains.len(), 2, "{r}");
    for text in [&out.stdout, &out.stderr, &t.read("f.json")] {
        assert!(!text.contains(secret), "the secret leaked:\n{text}");
    }
    assert!(out.stdout.contains("leaked <secret:token>"), "{}", out.stdout);
    let journal = std::fs::read_to_string(journal_path(&t, "f")).expect("journal");
    assert!(!journal.contains(secret));
    // Over: nothing to resume; `rollback` tries the failed rollback again, which fails again.
    drb(&t, &["resume", "f"]).expect_status(5);
    let again = drb(&t, &["rollback", "f", "--yes"]);
    again.expect_status(5).expect_stderr("the rollback of `c` failed: exit code 9");
    assert!(!again.stdout.contains(secret) && !again.stderr.contains(secret));
    assert!(!t.path("undo.log").exists(), "a and b still wait for c's rollback");
}

#[test]
fn a_manual_rollback_pauses_without_a_person_and_is_answered_on_resume() {
    let body = r#"
  on_failure rollback
  step a { duration 1s; run "true"; rollback run "echo a >> undo.log" }
  step dns { needs a; duration 1s; run "true"; rollback manual "Point the record back at the primary" }
  step boom { needs dns; duration 1s; run "exit 1"; idempotent }"#;
    let t = Test::new().file("m.drbook", &runbook("manual", body));
    let out = drb(&t, &["run", "m.drbook", "--run-id", "m"]);
    out.expect_status(3).expect_stderr("dns");
    assert!(out.stdout.contains("Point the record back at the primary"), "{}", out.stdout);
    assert_eq!(state_of(&t, "m", "dns"), "undoing");
    assert!(!t.path("undo.log").exists(), "a waits for the person");
    drb(&t, &["resume", "m"]).expect_status(3).expect_stderr("--interrupted dns=fail");
    drb(&t, &["resume", "m", "--interrupted", "dns=retry"])
        .expect_status(2)
        .expect_stderr("never runs twice");
    drb(&t, &["resume", "m", "--interrupted", "dns=done"]).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["a"]);
    assert_eq!(state_of(&t, "m", "dns"), "undone");
    let records = journal(&t, "m");
    assert_eq!(count_events(&records, "undo_decided", "dns"), 1);
}

/// Runs (or resumes) with `args`, SIGKILLs the runner once `undo.log` holds `want` lines, and
/// returns the `--interrupted` answers an operator would give: `done` for each rollback that
/// was caught mid-flight and left its mark.
fn kill_during_undo(t: &Test, args: &[&str], want: usize) -> Vec<String> {
    let mut live = drb_spawn(t, args);
    let log = t.path("undo.log");
    let start = Instant::now();
    while lines(&log).len() < want {
        assert!(!live.exited(), "the runner ended before rollback {want} began");
        assert!(start.elapsed() < Duration::from_secs(60), "rollback {want} never began");
        std::thread::sleep(Duration::from_millis(5));
    }
    live.signal(nix::sys::signal::Signal::SIGKILL);
    assert_eq!(live.wait().status, -9);
    let mut answers = Vec::new();
    for (step, state) in states(t, "k") {
        if state == "undoing" {
            let acted = count(&log, &step) > 0;
            answers.push("--interrupted".to_string());
            answers.push(format!("{step}={}", if acted { "done" } else { "fail" }));
        }
    }
    answers
}

/// Every rollback action started exactly once, and the journal agrees.
#[track_caller]
fn each_undone_once(t: &Test, steps: &[&str]) {
    let log = lines(&t.path("undo.log"));
    let records = journal(t, "k");
    for s in steps {
        assert_eq!(count(&t.path("undo.log"), s), 1, "rollback of {s} acted once: {log:?}");
        assert_eq!(count_events(&records, "undo_started", s), 1, "{s}");
        assert_eq!(state_of(t, "k", s), "undone");
    }
}

#[test]
fn a_rollback_killed_again_and_again_resumes_and_runs_each_action_exactly_once() {
    let mut body = String::from("  on_failure rollback\n");
    let chain = ["s1", "s2", "s3", "s4", "s5"];
    for (k, s) in chain.iter().enumerate() {
        let needs = if k == 0 { String::new() } else { format!("needs {}; ", chain[k - 1]) };
        body.push_str(&format!(
            "  step {s} {{ {needs}duration 1s; run \"true\"; rollback run \"echo {s} >> undo.log; sleep 0.5\" }}\n"
        ));
    }
    body.push_str("  step boom { needs s5; duration 1s; run \"exit 1\"; idempotent }");
    let t = Test::new().file("k.drbook", &runbook("kill", &body));
    let mut answers = kill_during_undo(&t, &["run", "k.drbook", "--run-id", "k"], 1);
    for want in 2..=4 {
        assert!(!answers.is_empty(), "a rollback was caught mid-flight");
        assert_eq!(status_json(&t, "k")["status"], "interrupted");
        let mut args = vec!["resume", "k"];
        args.extend(answers.iter().map(String::as_str));
        answers = kill_during_undo(&t, &args, want);
    }
    let mut args = vec!["resume", "k"];
    args.extend(answers.iter().map(String::as_str));
    drb(&t, &args).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["s5", "s4", "s3", "s2", "s1"]);
    each_undone_once(&t, &chain);
    assert_eq!(status_json(&t, "k")["status"], "rolled_back");
}

#[test]
fn a_diamond_killed_with_two_rollbacks_in_flight_resumes_with_both_decided() {
    let undo = |name: &str, needs: &str, secs: &str| {
        let needs = if needs.is_empty() { String::new() } else { format!("needs {needs}; ") };
        format!(
            "  step {name} {{ {needs}duration 1s; run \"true\"; rollback run \"echo {name} >> undo.log; sleep {secs}\" }}\n"
        )
    };
    let body = format!(
        "  parallel 4\n  on_failure rollback\n{}{}{}{}  step boom {{ needs d; duration 1s; run \"exit 1\"; idempotent }}",
        undo("a", "", "0.1"),
        undo("b", "a", "2"),
        undo("c", "a", "2"),
        undo("d", "b, c", "0.1")
    );
    let t = Test::new().file("k.drbook", &runbook("kill", &body));
    // d, then b and c together: kill once all three have begun.
    let answers = kill_during_undo(&t, &["run", "k.drbook", "--run-id", "k"], 3);
    assert_eq!(
        answers,
        ["--interrupted", "b=done", "--interrupted", "c=done"],
        "both rollbacks in flight are left undoing"
    );
    let mut args = vec!["resume", "k"];
    args.extend(answers.iter().map(String::as_str));
    let out = drb(&t, &args);
    out.expect_status(4);
    assert_eq!(lines(&t.path("undo.log")).last().map(String::as_str), Some("a"));
    each_undone_once(&t, &["a", "b", "c", "d"]);
}

/// Runs `body` to success as run `s` and returns the test.
fn succeeded_run(body: &str) -> Test {
    let t = Test::new().file("s.drbook", &runbook("ondemand", body));
    drb(&t, &["run", "s.drbook", "--run-id", "s"]).expect_status(0);
    t
}

const ON_DEMAND: &str = r#"
  step a { duration 1s; run "true"; rollback run "echo a >> undo.log" }
  step b { needs a; duration 1s; run "true"; rollback { wait 100ms; timeout 5s } }
  step c { needs b; duration 1s; run "true"; rollback run "echo c >> undo.log" }
  step d { needs a; duration 1s; run "true"; idempotent }"#;

#[test]
fn drbook_rollback_with_yes_undoes_a_succeeded_run() {
    let t = succeeded_run(ON_DEMAND);
    let out = drb(&t, &["--as", "alice", "rollback", "s", "--yes"]);
    out.expect_status(4);
    assert!(out.stdout.contains("will be undone"), "the plan is shown: {}", out.stdout);
    assert_eq!(lines(&t.path("undo.log")), ["c", "a"]);
    let want = [("a", "undone"), ("b", "undone"), ("c", "undone"), ("d", "not_undone")];
    let want: Vec<(String, String)> =
        want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(states(&t, "s"), want);
    let v = status_json(&t, "s");
    assert_eq!(v["status"], "rolled_back");
    assert_eq!(v["rollback"]["by"], "alice");
    assert_eq!(v["rollback"]["reason"], "requested by alice");
    // Once is all.
    drb(&t, &["rollback", "s", "--yes"]).expect_status(2).expect_stderr("over");
    drb(&t, &["resume", "s"]).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["c", "a"]);
}

#[test]
fn drbook_rollback_without_a_terminal_and_without_yes_is_refused_and_changes_nothing() {
    let t = succeeded_run(ON_DEMAND);
    let before = std::fs::read(journal_path(&t, "s")).expect("journal");
    let out = drb(&t, &["rollback", "s"]);
    out.expect_status(2).expect_stderr("--yes").expect_stderr("nothing was changed");
    assert_eq!(std::fs::read(journal_path(&t, "s")).expect("journal"), before);
    assert!(!t.path("undo.log").exists());
    assert_eq!(status_json(&t, "s")["status"], "succeeded");
    drb(&t, &["rollback", "nope", "--yes"]).expect_status(2).expect_stderr("nope");
    drb(&t, &["rollback", "s", "--yes", "--interrupted", "a=retry"])
        .expect_status(2)
        .expect_stderr("rolling back");
    assert_eq!(std::fs::read(journal_path(&t, "s")).expect("journal"), before);
}

#[test]
fn drbook_rollback_undoes_a_run_that_failed_under_abort() {
    let body = format!(
        "{}  step bad {{ needs a; duration 1s; run \"exit 2\"; idempotent }}",
        undoable("a", "")
    );
    let t = Test::new().file("f.drbook", &runbook("aborted", &body));
    drb(&t, &["run", "f.drbook", "--run-id", "f"]).expect_status(1);
    assert!(!t.path("undo.log").exists(), "abort undoes nothing by itself");
    drb(&t, &["rollback", "f", "--yes"]).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["a"]);
    assert_eq!(state_of(&t, "f", "bad"), "failed");
    assert!(Path::new(&t.path(STATE)).exists());
}

#[test]
fn a_step_marked_failed_on_resume_under_rollback_rolls_the_run_back() {
    let body = format!(
        "{}  step slow {{ needs a; duration 1s; on_failure rollback; run \"echo slow >> started.log; sleep 30\"; rollback run \"echo slow >> undo.log\" }}",
        undoable("a", "")
    );
    let t = Test::new().file("s.drbook", &runbook("decided", &body));
    crate::runkit::kill_when(&t, &["run", "s.drbook", "--run-id", "s"], "started.log");
    drb(&t, &["resume", "s", "--interrupted", "slow=fail"]).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["a"], "the failed step is not undone; a is");
    assert_eq!(state_of(&t, "s", "slow"), "failed");
}

#[test]
fn a_step_running_when_a_rolling_back_runner_died_is_decided_done_or_fail_never_retried() {
    let body = r#"
  on_failure rollback
  step a    { duration 1s; run "true"; rollback run "echo a >> undo.log" }
  step slow { needs a; duration 1s; run "echo slow >> started.log; sleep 30"; rollback run "echo slow >> undo.log" }
  step boom { needs a; duration 1s; run "sleep 0.2; exit 1"; idempotent }"#;
    let t = Test::new().file("s.drbook", &runbook("dying", body));
    let live = drb_spawn(&t, &["run", "s.drbook", "--run-id", "s"]);
    // Wait until the run has turned to rolling back while `slow` still runs.
    let start = Instant::now();
    let rolling = || {
        std::fs::read_to_string(journal_path(&t, "s"))
            .is_ok_and(|j| j.contains("\"event\":\"rollback_started\""))
    };
    while !rolling() {
        assert!(start.elapsed() < Duration::from_secs(60), "the run never rolled back");
        std::thread::sleep(Duration::from_millis(10));
    }
    live.signal(nix::sys::signal::Signal::SIGKILL);
    assert_eq!(live.wait().status, -9);
    assert_eq!(state_of(&t, "s", "slow"), "interrupted", "its runner is dead");
    drb(&t, &["resume", "s"]).expect_status(3).expect_stderr("--interrupted slow=fail");
    drb(&t, &["resume", "s", "--interrupted", "slow=retry"])
        .expect_status(2)
        .expect_stderr("rolling back");
    drb(&t, &["resume", "s", "--interrupted", "slow=done"]).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["slow", "a"], "done: it is undone, before a");
    assert_eq!(count(&t.path("started.log"), "slow"), 1, "never run again");
}

/// The `manual` rollback of `a_manual_rollback_pauses…`, answered from another shell.
const MANUAL: &str = r#"
  on_failure rollback
  step a { duration 1s; run "true"; rollback run "echo a >> undo.log" }
  step dns { needs a; duration 1s; run "true"; rollback manual "Point the record back at the primary" }
  step boom { needs dns; duration 1s; run "exit 1"; idempotent }"#;

#[test]
fn a_manual_rollback_is_answered_with_approve_while_paused_or_while_the_runner_waits() {
    // Paused: `approve` records the answer, the run stays paused, `resume` goes on.
    let t = Test::new().file("m.drbook", &runbook("manual", MANUAL));
    drb(&t, &["run", "m.drbook", "--run-id", "p"]).expect_status(3);
    let out = drb(&t, &["approve", "p", "dns", "--as", "bob"]);
    out.expect_status(0);
    assert!(out.stdout.contains("marked the rollback of `dns` done"), "{}", out.stdout);
    assert_eq!(status_json(&t, "p")["status"], "paused");
    drb(&t, &["resume", "p"]).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["a"]);

    // `--wait`: the runner holds at the manual rollback until `deny` says it failed.
    let t = Test::new().file("m.drbook", &runbook("manual", MANUAL));
    let mut live = drb_spawn(&t, &["run", "m.drbook", "--run-id", "w", "--wait"]);
    let start = Instant::now();
    let undoing = |t: &Test| {
        let out = drb(t, &["status", "w", "--format", "json"]);
        out.status == 0
            && crate::json(&out)["steps"]
                .as_array()
                .is_some_and(|ss| ss.iter().any(|s| s["id"] == "dns" && s["state"] == "undoing"))
    };
    while !undoing(&t) {
        assert!(!live.exited(), "the runner ended before the manual rollback");
        assert!(start.elapsed() < Duration::from_secs(20), "no manual rollback");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!live.exited(), "with --wait the runner holds");
    drb(&t, &["deny", "w", "dns", "--as", "bob", "--reason", "the DNS console is down"])
        .expect_status(0);
    let out = live.wait();
    out.expect_status(5).expect_stderr("the DNS console is down");
    assert_eq!(state_of(&t, "w", "dns"), "undo_failed");
    assert!(!t.path("undo.log").exists(), "`a` waits for `dns`, whose rollback failed");
}
