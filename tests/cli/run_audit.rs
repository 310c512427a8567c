//! Nothing a person did is lost: a denial stays (until `resume --reopen`), every person's act
//! is kept in an audit trail shown by `status` and every report format, `drbook report` prints
//! the report of any run at any time without writing, and no step is left `running` once a
//! run ends (nor shown as waiting on a person when resume reruns it unasked).

use crate::runkit::{
    count, count_events, drb, drb_spawn, journal, runbook, status_json, step_json, wait_for_file,
    wait_no_procs, STATE,
};
use crate::Test;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Waits (at most ~6 s) for the file `release`, so a step stays in flight while a test kills
/// its runner, and cannot outlive a failed test for long.
const HOLD: &str = "i=0; while [ ! -f release ] && [ $i -lt 300 ]; do sleep 0.02; i=$((i+1)); done";

/// A runbook declaring `lead = [alice, bob]` and `mgr = [carol]`, around `body`.
fn with_roles(name: &str, body: &str) -> String {
    format!(
        "runbook \"{name}\" {{\n  owner \"ops\"\n  rto 1h\n  roles {{\n    lead = [\"alice\", \"bob\"]\n    mgr  = [\"carol\"]\n  }}\n{body}\n}}\n"
    )
}

/// `promote`, gated by one lead and one manager, appends `promoted` to `side` when it runs.
const PROMOTE: &str = r#"  step promote {
    duration 1s
    approval { by lead, mgr }
    run "echo promoted >> side"
    idempotent
  }"#;

/// `(action, step, by)` of each entry of an `audit` array.
#[track_caller]
fn trail(audit: &Value) -> Vec<(String, String, String)> {
    audit
        .as_array()
        .unwrap_or_else(|| panic!("`audit` is an array: {audit}"))
        .iter()
        .map(|a| {
            let f = |k: &str| a[k].as_str().unwrap_or("-").to_string();
            (f("action"), f("step"), f("by"))
        })
        .collect()
}

fn owned(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter().map(|(a, s, b)| (a.to_string(), s.to_string(), b.to_string())).collect()
}

#[test]
fn a_denied_gate_stays_denied_on_resume_until_reopened_explicitly() {
    let t = Test::new().file("d.drbook", &with_roles("deny", PROMOTE));
    drb(&t, &["run", "d.drbook", "--run-id", "d"]).expect_status(3);
    drb(&t, &["deny", "d", "promote", "--as", "carol", "--reason", "not today"]).expect_status(0);

    // Resume does not ask again: the step failed, its policy (abort) applies, and it says so.
    let out = drb(&t, &["resume", "d"]);
    out.expect_status(1)
        .expect_stderr("denied by carol")
        .expect_stderr("not today")
        .expect_stderr("--reopen promote");
    let records = journal(&t, "d");
    assert_eq!(count_events(&records, "approval_requested", "promote"), 1, "{records:#?}");
    assert!(!t.path("side").exists(), "the denied step never ran");
    let s = step_json(&t, "d", "promote");
    assert_eq!(s["state"], "failed", "{s}");
    assert!(s["error"].as_str().is_some_and(|e| e.contains("not today")), "{s}");
    let st = drb(&t, &["status", "d"]);
    assert!(st.stdout.contains("denied") && st.stdout.contains("not today"), "{}", st.stdout);

    // A second resume is no different.
    drb(&t, &["resume", "d"]).expect_status(1);
    assert_eq!(count_events(&journal(&t, "d"), "approval_requested", "promote"), 1);

    // `--reopen` must name a denied gate; nothing is written otherwise.
    let before = journal(&t, "d").len();
    drb(&t, &["resume", "d", "--reopen", "promot"])
        .expect_status(2)
        .expect_stderr("did you mean `promote`");
    assert_eq!(journal(&t, "d").len(), before);

    // Re-opened on request, journaled with who and why; the gate asks afresh.
    let out =
        drb(&t, &["resume", "d", "--reopen", "promote", "--as", "bob", "--reason", "caught up"]);
    out.expect_status(3).expect_stderr("promote needs approval by lead, mgr");
    let records = journal(&t, "d");
    let reopened: Vec<&Value> = records.iter().filter(|r| r["event"] == "gate_reopened").collect();
    assert_eq!(reopened.len(), 1, "{records:#?}");
    assert_eq!((&reopened[0]["by"], &reopened[0]["reason"]), (&"bob".into(), &"caught up".into()));
    assert!(reopened[0]["at"].is_string());
    assert_eq!(count_events(&records, "approval_requested", "promote"), 2);

    for who in ["alice", "carol"] {
        drb(&t, &["approve", "d", "promote", "--as", who]).expect_status(0);
    }
    drb(&t, &["resume", "d", "--report", "d.md"]).expect_status(0);
    assert_eq!(count(&t.path("side"), "promoted"), 1);

    // The denial outlives the re-open and the success: in status and in every report.
    let audit = trail(&status_json(&t, "d")["audit"]);
    assert_eq!(
        audit,
        owned(&[
            ("denied", "promote", "carol"),
            ("reopened", "promote", "bob"),
            ("approved", "promote", "alice"),
            ("approved", "promote", "carol"),
        ])
    );
    let md = t.read("d.md");
    assert!(md.contains("## Audit") && md.contains("not today"), "{md}");
    assert!(md.contains("caught up"), "{md}");
}

#[test]
fn the_audit_trail_keeps_approvals_decisions_and_the_rollback_in_journal_order() {
    let body = format!(
        r#"  step gate {{ duration 1s; approval {{ by lead }}; run "echo gate >> log"; rollback run "echo undo-gate >> log" }}
  step act {{
    needs gate
    duration 1s
    run "echo act >> log; touch act.started; {HOLD}"
    rollback run "echo undo-act >> log"
  }}"#
    );
    let t = Test::new().file("a.drbook", &with_roles("audit", &body));
    drb(&t, &["run", "a.drbook", "--run-id", "a"]).expect_status(3);
    drb(&t, &["approve", "a", "gate", "--as", "alice", "--comment", "go ahead"]).expect_status(0);
    let live = drb_spawn(&t, &["resume", "a"]);
    wait_for_file(&t.path("act.started"), Duration::from_secs(30));
    live.signal(nix::sys::signal::Signal::SIGKILL);
    assert_eq!(live.wait().status, -9);
    std::fs::write(t.path("release"), "").expect("release");
    wait_no_procs("touch act.started", Duration::from_secs(20));
    drb(
        &t,
        &[
            "resume",
            "a",
            "--interrupted",
            "act=done",
            "--as",
            "dave",
            "--reason",
            "checked the replica by hand",
        ],
    )
    .expect_status(0);
    drb(&t, &["rollback", "a", "--yes", "--as", "erin"]).expect_status(4);

    let expected = owned(&[
        ("approved", "gate", "alice"),
        ("decided", "act", "dave"),
        ("rollback_started", "-", "erin"),
    ]);
    let status = status_json(&t, "a");
    assert_eq!(trail(&status["audit"]), expected, "{status}");
    let decided = &status["audit"][1];
    assert_eq!(decided["decision"], "done", "{decided}");
    assert_eq!(decided["reason"], "checked the replica by hand", "{decided}");
    assert_eq!(status["audit"][0]["comment"], "go ahead");
    assert!(status["audit"].as_array().into_iter().flatten().all(|a| a["at"].is_string()));

    let text = drb(&t, &["status", "a"]);
    let section = text.stdout.split("\naudit:\n").nth(1);
    let section = section.unwrap_or_else(|| panic!("no audit section:\n{}", text.stdout));
    let at =
        |needle: &str| section.find(needle).unwrap_or_else(|| panic!("{needle:?} in {section}"));
    assert!(at("alice") < at("dave") && at("dave") < at("erin"), "{section}");
    assert!(section.contains("checked the replica by hand"), "{section}");

    let json = drb(&t, &["report", "a", "--format", "json"]);
    json.expect_status(0);
    assert_eq!(trail(&crate::json(&json)["audit"]), expected);
    let txt = drb(&t, &["report", "a"]);
    txt.expect_status(0);
    assert!(txt.stdout.contains("audit:") && txt.stdout.contains("checked the replica by hand"));
    let md = drb(&t, &["report", "a", "--format", "markdown"]);
    md.expect_status(0);
    let section = md.stdout.split("## Audit").nth(1).unwrap_or_else(|| panic!("{}", md.stdout));
    assert!(section.contains("dave") && section.contains("erin"), "{}", md.stdout);
}

#[test]
fn report_prints_any_run_at_any_time_and_writes_nothing() {
    let body = format!(
        "{PROMOTE}\n{}",
        r#"  step broken { duration 1s; run "echo nope >&2; exit 3"; on_failure continue; idempotent }"#
    );
    let t = Test::new().file("r.drbook", &with_roles("rep", &body));
    let mut live = drb_spawn(&t, &["run", "r.drbook", "--run-id", "r", "--wait"]);
    let start = Instant::now();
    let gate_asked = || {
        crate::runkit::journal_path(&t, "r").exists()
            && count_events(&journal(&t, "r"), "approval_requested", "promote") > 0
            && count_events(&journal(&t, "r"), "step_failed", "broken") > 0
    };
    while !gate_asked() {
        assert!(!live.exited() && start.elapsed() < Duration::from_secs(20), "no gate");
        std::thread::sleep(Duration::from_millis(20));
    }
    // While a runner holds the run (and only waits at the gate): no lock needed, nothing
    // written.
    std::thread::sleep(Duration::from_millis(300));
    let snapshot = || -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut files = crate::runkit::files_under(&t.path(STATE).join("runs").join("r"));
        files.sort();
        files.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap_or_default())).collect()
    };
    let before = snapshot();
    let out = drb(&t, &["report", "r", "--format", "json"]);
    out.expect_status(0);
    assert_eq!(crate::json(&out)["status"], "running", "{}", out.stdout);
    assert_eq!(snapshot(), before, "report writes nothing to the run dir");
    for who in ["alice", "carol"] {
        drb(&t, &["approve", "r", "promote", "--as", who]).expect_status(0);
    }
    live.wait().expect_status(0);

    // Afterwards, in each format, to stdout or a file.
    let v = crate::json(drb(&t, &["report", "r", "--format", "json"]).expect_status(0));
    assert_eq!(v["status"], "succeeded");
    let broken = v["steps"].as_array().and_then(|s| s.iter().find(|s| s["id"] == "broken"));
    let broken = broken.unwrap_or_else(|| panic!("{v}"));
    assert!(broken["error"].as_str().is_some_and(|e| e.contains("exit code 3")), "{broken}");
    let text = drb(&t, &["report", "r"]);
    text.expect_status(0);
    assert!(text.stdout.contains("run r of rep: succeeded"), "{}", text.stdout);
    assert!(text.stdout.contains("exit code 3"), "the step's error is shown: {}", text.stdout);
    drb(&t, &["report", "r", "--format", "markdown", "--output", "r.md"]).expect_status(0);
    assert!(t.read("r.md").starts_with("# Run report: rep"));
    drb(&t, &["report", "nope"]).expect_status(2).expect_stderr("no run `nope`");

    // `resume --report` on a run that is over writes the report too.
    drb(&t, &["resume", "r", "--report", "again.json"]).expect_status(0);
    let again: Value = serde_json::from_str(&t.read("again.json")).expect("JSON report");
    assert_eq!(again["run_id"], "r");
}

#[test]
fn json_progress_lines_carry_the_run_id_and_end_with_the_runs_finish() {
    let rb = runbook(
        "jl",
        r#"  step a { duration 1s; run "echo hello"; idempotent }
  step b { needs a; duration 1s; run "exit 3"; idempotent }"#,
    );
    let t = Test::new().file("j.drbook", &rb);
    let out = drb(&t, &["run", "j.drbook", "--run-id", "j", "--log-format", "json"]);
    out.expect_status(1);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(events.len() > 3, "{}", out.stdout);
    for e in &events {
        assert_eq!(e["run_id"], "j", "{e}");
    }
    let last = events.last().expect("a last line");
    assert_eq!(last["event"], "run_finished", "{last}");
    assert_eq!((&last["status"], &last["exit_code"]), (&"failed".into(), &1.into()), "{last}");
}

#[test]
fn dry_run_shows_gates_conditions_probes_and_whole_scripts() {
    let body = r#"  param go = true
  step promote {
    duration 1m
    when     go == true
    approval { by lead, mgr; timeout 15m }
    run """
      echo first line
      echo second line
      echo third line
    """
    verify run """
      test -f promoted
      grep -q primary role.txt
    """
    idempotent
  }"#;
    let t = Test::new().file("w.drbook", &with_roles("dry", body));
    let out = drb(&t, &["run", "w.drbook", "--dry-run"]);
    out.expect_status(0);
    let o = &out.stdout;
    for needle in [
        "approval by lead, mgr",
        "timeout 15m",
        "when go == true",
        "echo first line",
        "echo second line",
        "echo third line",
        "verify (exit 0: the effect is in place):",
        "test -f promoted",
        "grep -q primary role.txt",
    ] {
        assert!(o.contains(needle), "{needle:?} missing from the dry run:\n{o}");
    }
}

#[test]
fn no_step_is_left_running_after_a_kill_and_a_resume_that_fails() {
    let body = format!(
        r#"  step manual_act {{ duration 1s; run "touch a.started; {HOLD}" }}
  step rerun_me {{ duration 1s; run "touch b.started; {HOLD}"; idempotent }}"#
    );
    let t = Test::new().file("k.drbook", &runbook("sib", &body));
    let live = drb_spawn(&t, &["run", "k.drbook", "--run-id", "k"]);
    wait_for_file(&t.path("a.started"), Duration::from_secs(30));
    wait_for_file(&t.path("b.started"), Duration::from_secs(30));
    live.signal(nix::sys::signal::Signal::SIGKILL);
    assert_eq!(live.wait().status, -9);

    // Right after the kill: both interrupted; resume reruns one and asks about the other.
    let a = step_json(&t, "k", "manual_act");
    let b = step_json(&t, "k", "rerun_me");
    assert_eq!((&a["state"], &a["on_resume"]), (&"interrupted".into(), &"ask".into()), "{a}");
    assert_eq!((&b["state"], &b["on_resume"]), (&"interrupted".into(), &"rerun".into()), "{b}");
    let report = crate::json(drb(&t, &["report", "k", "--format", "json"]).expect_status(0));
    assert_eq!(report["status"], "interrupted", "{report}");
    assert!(report["steps"].as_array().into_iter().flatten().all(|s| s["status"] == "interrupted"));
    let st = drb(&t, &["status", "k"]);
    let waiting = st.stdout.lines().find(|l| l.starts_with("waiting on a person"));
    let waiting = waiting.unwrap_or_else(|| panic!("{}", st.stdout));
    assert!(waiting.contains("manual_act") && !waiting.contains("rerun_me"), "{}", st.stdout);
    assert!(st.stdout.contains("resume reruns it"), "{}", st.stdout);

    std::fs::write(t.path("release"), "").expect("release");
    wait_no_procs("touch a.started", Duration::from_secs(20));
    wait_no_procs("touch b.started", Duration::from_secs(20));
    // Under abort, `fail` ends the run failed before `rerun_me` runs again.
    drb(&t, &["resume", "k", "--interrupted", "manual_act=fail", "--report", "k.json"])
        .expect_status(1);
    let v = status_json(&t, "k");
    assert_eq!(v["status"], "failed");
    for s in v["steps"].as_array().expect("steps") {
        assert_ne!(s["state"], "running", "a step left running by a finished run: {v}");
    }
    assert_eq!(step_json(&t, "k", "rerun_me")["state"], "interrupted");
    let records = journal(&t, "k");
    assert_eq!(count_events(&records, "step_interrupted", "rerun_me"), 1, "{records:#?}");
    let report: Value = serde_json::from_str(&t.read("k.json")).expect("JSON report");
    assert!(report["steps"].as_array().into_iter().flatten().all(|s| s["status"] != "running"));
}

#[test]
fn a_secret_pasted_into_a_reopen_reason_is_masked() {
    let body = format!("  secret tok = env(\"TOK\")\n{PROMOTE}");
    let t = Test::new().file("s.drbook", &with_roles("pasted", &body)).env("TOK", "hunter2-tok");
    drb(&t, &["run", "s.drbook", "--run-id", "s"]).expect_status(3);
    drb(&t, &["deny", "s", "promote", "--as", "carol", "--reason", "no"]).expect_status(0);
    let reason = "token hunter2-tok rotated";
    drb(&t, &["resume", "s", "--reopen", "promote", "--reason", reason]).expect_status(3);
    let text = std::fs::read_to_string(crate::runkit::journal_path(&t, "s")).expect("journal");
    assert!(!text.contains("hunter2-tok"), "the secret reached the journal");
    assert!(text.contains("token <secret:tok> rotated"), "the reason is kept, masked");
    let st = drb(&t, &["status", "s"]);
    assert!(st.stdout.contains("token <secret:tok> rotated"), "{}", st.stdout);
}
