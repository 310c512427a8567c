//! Probes (`verify ACTION`, docs/language.md "Probes: verify"): a step in doubt is decided from
//! the world, not from a guess. The reproduction of issue 10 §1: a non-idempotent `promote`
//! whose effect happened, its runner SIGKILLed before the end was journaled; `retry` is
//! refused because the probe sees the promotion, a plain resume counts it succeeded; and a
//! rollback undoes a failed step whose effect is in place. Also: "was it done?" for a failed
//! step without a probe, `retry` in `rollback { }`, and retrying a failed rollback.

use crate::runkit::{
    count, count_events, drb, drb_spawn_env, journal, lines, runbook, status_json, step_state,
};
use crate::Test;

const KILL: &str = "DRBOOK_TEST_KILL";

/// `promote` appends to `ran.log` and creates `promoted`; its probe looks for `promoted`.
fn promote(extra: &str) -> String {
    format!(
        r#"  step promote {{
    duration 1s
    run      "echo run >> ran.log; touch promoted"
    verify   run "test -f promoted"
    rollback run "rm -f promoted; echo undo >> undo.log"
{extra}  }}"#
    )
}

/// Runs `args` with the runner SIGKILLing itself at `point` (`after_exit:STEP`, ...).
#[track_caller]
fn run_killed(t: &Test, point: &str, args: &[&str]) {
    let out = drb_spawn_env(t, (KILL, point), args).wait();
    assert_eq!(out.status, -9, "the runner should SIGKILL itself at {point}\n{}", out.stderr);
}

fn probe_of(t: &Test, id: &str, step: &str) -> serde_json::Value {
    let v = status_json(t, id);
    v["steps"].as_array().expect("steps").iter().find(|s| s["id"] == step).expect("the step")
        ["probe"]
        .clone()
}

#[test]
fn retry_is_refused_when_the_probe_sees_the_effect_and_a_plain_resume_counts_it_succeeded() {
    let t = Test::new().file("p.drbook", &runbook("p", &promote("")));
    run_killed(&t, "after_exit:promote", &["run", "p.drbook", "--run-id", "p1"]);
    assert!(t.path("promoted").exists(), "the promotion happened before the runner died");
    assert_eq!(step_state(&t, "p1", "promote"), "interrupted", "its runner is dead");

    let refused = drb(&t, &["resume", "p1", "--interrupted", "promote=retry", "--non-interactive"]);
    refused.expect_status(3);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(said.contains("says its effect is in place"), "{said}");
    assert!(said.contains("--force"), "the refusal says how to force: {said}");
    assert_eq!(count(&t.path("ran.log"), "run"), 1, "refused: not run a second time");
    assert_eq!(probe_of(&t, "p1", "promote")["seen"], "in_place");
    let text = drb(&t, &["status", "p1"]);
    assert!(text.stdout.contains("probe: effect in place"), "{}", text.stdout);

    drb(&t, &["resume", "p1", "--non-interactive"]).expect_status(0);
    assert_eq!(step_state(&t, "p1", "promote"), "succeeded");
    assert_eq!(count(&t.path("ran.log"), "run"), 1, "decided by its probe, never run twice");
    let records = journal(&t, "p1");
    let decided =
        records.iter().filter(|r| r["event"] == "step_probed" && r["decides"] == true).count();
    assert_eq!(decided, 1, "journaled as decided by its probe");
    assert_eq!(count_events(&records, "step_decided", "promote"), 0, "no person decided it");
}

#[test]
fn a_probe_that_finds_nothing_puts_a_non_idempotent_step_to_a_person_and_done_needs_force() {
    // The script never gets to its effect: the runner dies as it starts, and resume stops it.
    let body = r#"  step promote {
    duration 1s
    run      "sleep 30; touch promoted"
    verify   run "test -f promoted"
    rollback run "rm -f promoted"
  }"#;
    let t = Test::new().file("p.drbook", &runbook("p", body));
    run_killed(&t, "after_go:promote", &["run", "p.drbook", "--run-id", "p2"]);
    let paused = drb(&t, &["resume", "p2", "--non-interactive"]);
    paused.expect_status(3);
    let said = format!("{}{}", paused.stdout, paused.stderr);
    assert!(said.contains("says its effect is not in place"), "the pause shows the probe: {said}");
    let st = status_json(&t, "p2");
    assert_eq!(probe_of(&t, "p2", "promote")["seen"], "not_in_place", "{st}");

    let refused = drb(&t, &["approve", "p2", "promote"]);
    assert_ne!(refused.status, 0);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(said.contains("not in place") && said.contains("--force"), "{said}");
    assert_eq!(step_state(&t, "p2", "promote"), "interrupted", "nothing was recorded");

    drb(&t, &["approve", "p2", "promote", "--force"]).expect_status(0);
    assert_eq!(step_state(&t, "p2", "promote"), "succeeded");
    let records = journal(&t, "p2");
    let forced = records.iter().filter(|r| r["event"] == "step_decided" && r["forced"] == true);
    assert_eq!(forced.count(), 1, "a forced answer is journaled as forced");
}

#[test]
fn an_idempotent_step_whose_probe_finds_nothing_runs_again() {
    let body = r#"  step warm {
    duration 1s
    run      "echo run >> ran.log; test -f second || sleep 30; touch warmed"
    verify   run "test -f warmed"
    idempotent
  }"#;
    let t = Test::new().file("w.drbook", &runbook("w", body));
    run_killed(&t, "after_go:warm", &["run", "w.drbook", "--run-id", "w1"]);
    let t = t.file("second", "");
    let out = drb(&t, &["resume", "w1", "--non-interactive"]);
    out.expect_status(0);
    assert_eq!(count(&t.path("ran.log"), "run"), 2, "run again after the probe found nothing");
}

#[test]
fn a_rollback_undoes_a_failed_step_whose_probe_finds_its_effect_in_place() {
    let body = r#"  step promote {
    duration   1s
    on_failure rollback
    run        "touch promoted; exit 1"
    verify     run "test -f promoted"
    rollback   run "rm -f promoted; echo undo >> undo.log"
  }"#;
    let t = Test::new().file("r.drbook", &runbook("r", body));
    let out = drb(&t, &["run", "r.drbook", "--run-id", "r1", "--non-interactive"]);
    out.expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["undo"], "undone like a step that succeeded");
    assert!(!t.path("promoted").exists());
    assert_eq!(step_state(&t, "r1", "promote"), "undone");
}

#[test]
fn a_rollback_leaves_a_failed_step_alone_when_its_probe_finds_nothing() {
    let body = r#"  step promote {
    duration   1s
    on_failure rollback
    run        "exit 1"
    verify     run "test -f promoted"
    rollback   run "echo undo >> undo.log"
  }"#;
    let t = Test::new().file("r.drbook", &runbook("r", body));
    drb(&t, &["run", "r.drbook", "--run-id", "r2", "--non-interactive"]).expect_status(4);
    assert!(!t.path("undo.log").exists(), "nothing to undo");
    assert_eq!(step_state(&t, "r2", "promote"), "failed");
    assert_eq!(probe_of(&t, "r2", "promote")["seen"], "not_in_place");
}

#[test]
fn without_a_probe_a_failed_step_that_began_is_put_to_a_person_was_it_done() {
    let body = r#"  step promote {
    duration   1s
    on_failure rollback
    run        "echo run >> ran.log; exit 1"
    rollback   run "echo undo >> undo.log"
  }
"#;
    let t = Test::new().file("q.drbook", &runbook("q", body));
    let paused = drb(&t, &["run", "q.drbook", "--run-id", "q1", "--non-interactive"]);
    paused.expect_status(3);
    let said = format!("{}{}", paused.stdout, paused.stderr);
    assert!(said.contains("was it done") || said.contains("whether each was done"), "{said}");
    assert!(said.contains("drbook approve q1"), "names the commands: {said}");
    assert!(!t.path("undo.log").exists(), "not undone before a person says so");

    // "Yes, it was done" from another shell: the rollback undoes it.
    drb(&t, &["approve", "q1", "promote"]).expect_status(0);
    drb(&t, &["resume", "q1", "--non-interactive"]).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["undo"]);
    let records = journal(&t, "q1");
    let by = records
        .iter()
        .find(|r| r["event"] == "step_decided" && r["step"] == "promote")
        .expect("the answer is journaled");
    assert_eq!(by["decision"], "done");
    assert!(by["by"].as_str().is_some_and(|b| !b.is_empty()), "with who");
}

#[test]
fn was_it_done_answered_no_leaves_the_step_not_undone() {
    let body = r#"  step promote {
    duration   1s
    on_failure rollback
    run        "exit 1"
    rollback   run "echo undo >> undo.log"
  }"#;
    let t = Test::new().file("q.drbook", &runbook("q", body));
    drb(&t, &["run", "q.drbook", "--run-id", "q2", "--non-interactive"]).expect_status(3);
    drb(&t, &["deny", "q2", "promote", "--reason", "it never promoted"]).expect_status(0);
    drb(&t, &["resume", "q2", "--non-interactive"]).expect_status(4);
    assert!(!t.path("undo.log").exists());
    assert_eq!(step_state(&t, "q2", "promote"), "failed");
}

#[test]
fn a_step_that_failed_before_its_action_began_is_not_asked_about() {
    let body = r#"  step promote {
    duration   1s
    on_failure rollback
    workdir    "no/such/dir"
    run        "true"
    rollback   run "echo undo >> undo.log"
  }"#;
    let t = Test::new().file("n.drbook", &runbook("n", body));
    drb(&t, &["run", "n.drbook", "--run-id", "n1", "--non-interactive"]).expect_status(4);
    assert!(!t.path("undo.log").exists());
}

#[test]
fn retry_inside_a_rollback_block_tries_the_rollback_action_again() {
    let body = r#"  step a {
    duration 1s
    run      "true"
    verify   run "true"
    rollback {
      run   "echo try >> tries.log; test $(wc -l < tries.log) -ge 3"
      retry 3 every 100ms
    }
  }
  step boom {
    needs      a
    duration   1s
    on_failure rollback
    run        "exit 1"
    idempotent
  }"#;
    let t = Test::new().file("t.drbook", &runbook("t", body));
    drb(&t, &["run", "t.drbook", "--run-id", "t1", "--non-interactive"]).expect_status(4);
    assert_eq!(lines(&t.path("tries.log")).len(), 3, "two failures, then it worked");
    assert_eq!(step_state(&t, "t1", "a"), "undone");
    let records = journal(&t, "t1");
    assert_eq!(count_events(&records, "undo_started", "a"), 3, "each attempt journaled");
}

#[test]
fn a_failed_rollback_is_retried_by_drbook_rollback() {
    let body = r#"  step a {
    duration 1s
    run      "true"
    verify   run "true"
    rollback run "test -f fixed && echo undo >> undo.log"
  }
  step boom {
    needs      a
    duration   1s
    on_failure rollback
    run        "exit 1"
    idempotent
  }"#;
    let t = Test::new().file("f.drbook", &runbook("f", body));
    drb(&t, &["run", "f.drbook", "--run-id", "f1", "--non-interactive"]).expect_status(5);
    assert_eq!(step_state(&t, "f1", "a"), "undo_failed");
    let t = t.file("fixed", "");
    let again = drb(&t, &["rollback", "f1", "--yes", "--non-interactive"]);
    again.expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["undo"]);
    assert_eq!(step_state(&t, "f1", "a"), "undone");
    let records = journal(&t, "f1");
    assert_eq!(records.iter().filter(|r| r["event"] == "rollback_retried").count(), 1);
}

#[test]
fn under_wait_was_it_done_is_answered_from_another_shell() {
    let body = r#"  step promote {
    duration   1s
    on_failure rollback
    run        "exit 1"
    rollback   run "echo undo >> undo.log"
  }"#;
    let t = Test::new().file("w.drbook", &runbook("w", body));
    let runner = crate::runkit::drb_spawn(&t, &["run", "w.drbook", "--run-id", "w2", "--wait"]);
    let start = std::time::Instant::now();
    while count_events(&journal_or_empty(&t, "w2"), "decision_asked", "promote") == 0 {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "never asked");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drb(&t, &["approve", "w2", "promote", "--as", "dana"]).expect_status(0);
    runner.wait().expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["undo"], "it was done, so it is undone");
}

/// The journal's records so far (none while the run is being created).
fn journal_or_empty(t: &Test, id: &str) -> Vec<serde_json::Value> {
    let path = crate::runkit::journal_path(t, id);
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.find('{').map(|i| &l[i..]))
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect()
}

#[test]
fn what_a_probe_prints_is_masked_in_the_journal_status_and_output() {
    let secret = "s3cr3t-PROBE-77a1";
    let body = r#"  secret token = env("PROBE_TOKEN")
  step promote {
    duration   1s
    on_failure rollback
    run        "exit 1"
    verify     run "echo seen ${token}; echo also ${token} >&2; exit 1"
    rollback   run "echo undo >> undo.log"
  }"#;
    let t = Test::new().file("s.drbook", &runbook("s", body)).env("PROBE_TOKEN", secret);
    let out = drb(&t, &["run", "s.drbook", "--run-id", "s1", "--non-interactive"]);
    out.expect_status(4);
    let probe = probe_of(&t, "s1", "promote");
    let shown = probe["output"].as_str().unwrap_or_default().to_string();
    assert!(shown.contains("seen <secret:token>"), "{probe}");
    let status = drb(&t, &["status", "s1"]);
    let journal = std::fs::read_to_string(crate::runkit::journal_path(&t, "s1")).expect("journal");
    for text in [&out.stdout, &out.stderr, &status.stdout, &journal, &shown] {
        assert!(!text.contains(secret), "the secret leaked:\n{text}");
    }
}

#[test]
fn a_template_body_carries_a_probe_and_a_step_own_verify_wins() {
    let tpl = "template promote(dir) {\n  run    \"pg_ctl promote -D ${dir} -w\"\n  verify run \"test -f ${dir}/promoted\"\n  rollback run \"pg_ctl stop -D ${dir}\"\n}\n";
    let body = r#"  step a { duration 1m; use pg.promote(dir = "/srv/a") }
  step b {
    duration 1m
    use      pg.promote(dir = "/srv/b")
    verify   run "pg-is-primary /srv/b"
  }"#;
    let rb = format!("import \"./tpl.drbook\" as pg\n{}", runbook("t", body));
    let t = Test::new().file("tpl.drbook", tpl).file("t.drbook", &rb);
    let out = t.cmd(&["plan", "t.drbook", "--format", "json"]);
    out.expect_status(0);
    let plan = crate::json(&out);
    let verify = |i: usize| plan["steps"][i]["verify"]["script"].as_str().unwrap_or("").to_string();
    assert_eq!(verify(0), "test -f /srv/a/promoted");
    assert_eq!(verify(1), "pg-is-primary /srv/b");
}

#[test]
fn rollback_on_demand_asks_about_a_failed_step_that_began_and_undoes_it_when_it_was_done() {
    let body = r#"  step promote {
    duration 1s
    run      "echo half >> did.log; exit 1"
    rollback run "echo undo >> undo.log"
  }"#;
    let t = Test::new().file("d.drbook", &runbook("d", body));
    drb(&t, &["run", "d.drbook", "--run-id", "d1", "--non-interactive"]).expect_status(1);
    let asked = drb(&t, &["rollback", "d1", "--yes", "--non-interactive"]);
    asked.expect_status(3);
    assert!(asked.stdout.contains("promote"), "the plan names the step in doubt: {}", asked.stdout);
    drb(&t, &["approve", "d1", "promote", "--comment", "the half was done"]).expect_status(0);
    drb(&t, &["resume", "d1", "--non-interactive"]).expect_status(4);
    assert_eq!(lines(&t.path("undo.log")), ["undo"]);
}
