//! Language features that shape how steps run: the header's `env`, `workdir` and `shell`, and
//! `finally` steps, exercised with real runs.

use crate::runkit::{drb, journal, runbook, step_states};
use crate::Test;

#[test]
fn env_merges_runbook_then_template_then_step_per_key() {
    let module = r#"template t() {
  env { B = "template"; C = "template" }
}
"#;
    let body = r#"
  env { A = "runbook"; B = "runbook"; C = "runbook" }
  workdir "work"
  step a {
    duration 1s
    use m.t()
    env { C = "step" }
    run "echo $A $B $C > out.txt; pwd > where.txt"
    rollback run "true"
  }
  step b {
    needs a
    duration 1s
    workdir "elsewhere"
    run "echo $A $B $C > out.txt"
    idempotent
  }"#;
    let text = format!("import \"./m.drbook\"\n{}", runbook("merge", body));
    let t = Test::new()
        .file("book/m.drbook", module)
        .file("book/merge.drbook", &text)
        .file("book/work/.keep", "")
        .file("book/elsewhere/.keep", "");
    drb(&t, &["run", "book/merge.drbook", "--run-id", "r1"]).expect_status(0);
    // A relative `workdir` is relative to the runbook file, in the header as in a step.
    assert_eq!(t.read("book/work/out.txt").trim(), "runbook template step");
    assert!(t.read("book/work/where.txt").trim().ends_with("book/work"));
    assert_eq!(t.read("book/elsewhere/out.txt").trim(), "runbook runbook runbook");
}

#[test]
fn header_shell_runs_scripts_and_rollbacks_with_it() {
    let body = r#"
  shell "bash"
  on_failure rollback
  step a {
    duration 1s
    run "set -o pipefail; true | true"
    rollback run "set -o pipefail; echo undone-by-$0 > undone.txt"
  }
  step b {
    needs a
    duration 1s
    run "set -o pipefail; false | true"
    idempotent
  }"#;
    let t = Test::new().file("sh.drbook", &runbook("sh", body));
    // Under bash, pipefail makes `b`'s pipeline fail; `a`'s rollback runs under bash too.
    drb(&t, &["run", "sh.drbook", "--run-id", "r1"]).expect_status(4);
    assert_eq!(t.read("undone.txt").trim(), "undone-by-bash");
    let plan = t.cmd(&["plan", "sh.drbook"]);
    plan.expect_status(0);
    assert!(plan.stdout.contains("shell    bash"), "{}", plan.stdout);
}

#[test]
fn default_shell_is_sh() {
    let body = r#"
  step a { duration 1s; run "echo $0 > shell.txt"; idempotent }"#;
    let t = Test::new().file("d.drbook", &runbook("d", body));
    drb(&t, &["run", "d.drbook", "--run-id", "r1"]).expect_status(0);
    assert_eq!(t.read("shell.txt").trim(), "sh");
}

#[test]
fn a_missing_shell_stops_the_run_before_any_step() {
    let body = r#"
  shell "no-such-shell-xyz"
  step a { duration 1s; run "touch ran.txt"; idempotent }"#;
    let t = Test::new().file("m.drbook", &runbook("m", body));
    drb(&t, &["run", "m.drbook", "--run-id", "r1"])
        .expect_status(2)
        .expect_stderr("no-such-shell-xyz");
    assert!(!t.path("ran.txt").exists());
}

/// A runbook whose `finally` steps write `${run.*}` to files: `tell` first, then `after`,
/// which needs it; `tell` also reads a forward step's capture without `needs`.
fn finally_book(forward: &str) -> String {
    let body = format!(
        r#"
  rpo 1m
{forward}
  finally step tell "Tell the channel how it went" {{
    duration 1s
    run "echo ${{run.status}} ${{run.rto_met}} ${{run.rpo}} > status.txt; echo ${{run.elapsed}} > elapsed.txt; echo ${{steps.lag.secs}} > lag.txt"
    idempotent
  }}
  finally step after {{
    needs tell
    duration 1s
    run "test -f status.txt && echo second >> order.txt"
    idempotent
  }}"#
    );
    runbook("fin", &body)
}

const LAG: &str = r#"
  step lag { duration 1s; run "echo 5"; capture secs from stdout; measure rpo from secs; idempotent }"#;

#[test]
fn finally_steps_run_after_a_successful_run_with_its_outcome() {
    let t = Test::new().file("f.drbook", &finally_book(LAG));
    let out = drb(&t, &["run", "f.drbook", "--run-id", "r1"]);
    out.expect_status(0);
    assert_eq!(t.read("status.txt").trim(), "succeeded true 5s");
    assert!(t.read("elapsed.txt").trim().ends_with('s'), "{}", t.read("elapsed.txt"));
    assert_eq!(t.read("lag.txt").trim(), "5");
    assert_eq!(t.read("order.txt").trim(), "second");
    let states = step_states(&t, "r1");
    assert_eq!(states["tell"], ("succeeded".to_string(), 1));
    assert_eq!(states["after"], ("succeeded".to_string(), 1));
    // The plan lists them apart, outside the critical path.
    let plan = t.cmd(&["plan", "f.drbook"]);
    plan.expect_status(0);
    let (forward, finally) = plan.stdout.split_once("finally steps").expect("a finally section");
    assert!(!forward.contains("tell"), "{}", plan.stdout);
    assert!(finally.contains("tell") && finally.contains("after"), "{}", plan.stdout);
    assert!(plan.stdout.contains("critical path: lag (1s)"), "{}", plan.stdout);
}

#[test]
fn finally_steps_run_after_a_failed_run_and_a_failed_one_changes_nothing() {
    let forward = format!(
        "{LAG}\n  step broken {{ needs lag; duration 1s; run \"exit 3\"; idempotent }}\n  step never {{ needs lag; duration 1s; when false; run \"echo 1\"; capture x from stdout; idempotent }}\n  finally step oops {{ duration 1s; run \"exit 4\"; idempotent }}\n  finally step uses {{ duration 1s; run \"echo ${{steps.never.x}}\"; idempotent }}"
    );
    let t = Test::new().file("f.drbook", &finally_book(&forward));
    let out = drb(&t, &["run", "f.drbook", "--run-id", "r1"]);
    // The run failed (exit 1); the failed finally step does not change that.
    out.expect_status(1);
    assert_eq!(t.read("status.txt").trim(), "failed false 5s");
    let states = step_states(&t, "r1");
    assert_eq!(states["oops"].0, "failed");
    assert_eq!(states["after"].0, "succeeded");
    let v = crate::runkit::status_json(&t, "r1");
    assert_eq!(v["status"], "failed");
    // A capture that was never taken fails the finally step that uses it, with its reason.
    assert_eq!(states["uses"].0, "failed");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("step `never` was skipped"), "{all}");
}

#[test]
fn finally_steps_run_after_a_rollback() {
    let forward = format!(
        "{LAG}\n  step change {{ needs lag; duration 1s; run \"true\"; rollback run \"echo undone > undone.txt\" }}\n  step broken {{ needs change; duration 1s; on_failure rollback; run \"exit 3\"; idempotent }}"
    );
    let t = Test::new().file("f.drbook", &finally_book(&forward));
    drb(&t, &["run", "f.drbook", "--run-id", "r1", "--report", "r.json"]).expect_status(4);
    assert_eq!(t.read("undone.txt").trim(), "undone");
    let report: serde_json::Value = serde_json::from_str(&t.read("r.json")).expect("json");
    let undone: Vec<&str> = report["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .filter_map(|u| u["step"].as_str())
        .collect();
    assert!(!undone.contains(&"tell") && undone.contains(&"change"), "{undone:?}");
    assert_eq!(t.read("status.txt").trim(), "rolled_back false 5s");
    assert_eq!(step_states(&t, "r1")["tell"].0, "succeeded");
    // Never undone: a finally step has no rollback, and the rollback came before it.
    let records = journal(&t, "r1");
    assert_eq!(crate::runkit::count_events(&records, "undo_started", "tell"), 0);
}

#[test]
fn a_runner_killed_during_a_finally_step_finishes_the_run_on_resume() {
    let body = r#"
  step work { duration 1s; run "true"; idempotent }
  finally step tell {
    duration 1s
    run "echo ${run.status} >> told.txt; touch started; [ -f second ] || sleep 30"
    idempotent
  }"#;
    let t = Test::new().file("k.drbook", &runbook("k", body));
    crate::runkit::kill_when(&t, &["run", "k.drbook", "--run-id", "r1"], "started");
    // Unfinished: the finally step had not ended.
    assert_eq!(crate::runkit::status_json(&t, "r1")["status"], "interrupted");
    std::fs::write(t.path("second"), "").expect("write the marker");
    drb(&t, &["resume", "r1"]).expect_status(0);
    // Idempotent: run again on resume, with the outcome decided before the crash.
    assert_eq!(t.read("told.txt").lines().collect::<Vec<_>>(), ["succeeded", "succeeded"]);
    assert_eq!(crate::runkit::status_json(&t, "r1")["status"], "succeeded");
}

/// The issue's case: psql printed a lag over the limit, the check failed; a finally step can
/// still tell the channel the value that failed it.
#[test]
fn a_finally_step_reports_the_value_a_failed_check_refused() {
    let body = r#"
  step lag {
    duration 1s
    run      "echo 1200"
    capture  lag_seconds from stdout
    check    lag_seconds < 300
  }
  finally step tell {
    duration 1s
    run      "echo ${run.status} lag=${steps.lag.lag_seconds} > told.txt"
    idempotent
  }"#;
    let t = Test::new().file("f.drbook", &runbook("lagged", body));
    let out = drb(&t, &["run", "f.drbook", "--run-id", "r1"]);
    out.expect_status(1).expect_stderr("check failed: lag_seconds < 300 (lag_seconds = 1200)");
    assert_eq!(t.read("told.txt").trim(), "failed lag=1200");
}
