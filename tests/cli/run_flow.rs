//! What a run does and shows: `status`, the `--report`, captures, `when`, checks with
//! retries, `--dry-run`, and the quickstart runbook end to end.

use crate::runkit::{count, count_events, drb, journal, runbook, status_json, step_states, STATE};
use crate::Test;
use serde_json::Value;

/// Step states of LANGUAGE.md §8.
const STEP_STATES: [&str; 10] = [
    "pending",
    "running",
    "waiting",
    "succeeded",
    "failed",
    "skipped",
    "interrupted",
    "undone",
    "undo_failed",
    "not_undone",
];

#[test]
fn status_lists_runs_and_shows_each_steps_state_as_json() {
    let t = Test::new()
        .file(
            "good.drbook",
            &runbook("good", r#"  step a { duration 1s; run "true"; idempotent }"#),
        )
        .file(
            "mixed.drbook",
            &runbook(
                "mixed",
                r#"
  param mode = "fast"
  step ok     { duration 1s; run "true"; idempotent }
  step broken { duration 1s; on_failure continue; run "exit 7"; idempotent }
  step skip   { duration 1s; when mode == "slow"; run "true"; idempotent }
  step gate   { needs ok; duration 1s; manual "Call the DBA" }
  step later  { needs gate; duration 1s; run "true"; idempotent }"#,
            ),
        );
    drb(&t, &["run", "good.drbook", "--run-id", "g1"]).expect_status(0);
    drb(&t, &["run", "mixed.drbook", "--run-id", "m1"]).expect_status(3);

    let list = drb(&t, &["status"]);
    list.expect_status(0);
    let rows: Vec<Vec<&str>> =
        list.stdout.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert!(rows.iter().any(|r| r[..3] == ["g1", "good", "succeeded"]), "{}", list.stdout);
    assert!(rows.iter().any(|r| r[..3] == ["m1", "mixed", "paused"]), "{}", list.stdout);
    let runs = crate::json(&drb(&t, &["status", "--format", "json"]));
    let runs = runs["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["run_id"].is_string() && r["runbook"].is_string()));

    let v = status_json(&t, "m1");
    assert_eq!(
        (&v["run_id"], &v["runbook"], &v["status"]),
        (&Value::from("m1"), &Value::from("mixed"), &Value::from("paused"))
    );
    let steps = v["steps"].as_array().expect("steps");
    let ids: Vec<&str> = steps.iter().map(|s| s["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["ok", "broken", "skip", "gate", "later"], "declaration order");
    for s in steps {
        let state = s["state"].as_str().expect("state");
        assert!(STEP_STATES.contains(&state), "{state} is not a step state of §8");
        assert!(s["attempts"].is_u64(), "{s}");
    }
    let states: Vec<(&str, u64)> = steps
        .iter()
        .map(|s| (s["state"].as_str().unwrap_or(""), s["attempts"].as_u64().unwrap_or(99)))
        .collect();
    assert_eq!(
        states,
        [("succeeded", 1), ("failed", 1), ("skipped", 0), ("waiting", 0), ("pending", 0)]
    );
    drb(&t, &["status", "nope"]).expect_status(2).expect_stderr("nope");
}

#[test]
fn report_json_has_every_field_and_measures_rto_and_rpo() {
    let rb = r#"runbook "rep" {
  owner "ops"
  rto   1h
  rpo   1m
  step m { duration 1s; run "echo 3"; capture x from stdout; measure rpo from x; idempotent }
  step n { needs m; duration 2s; run "true"; idempotent }
}
"#;
    let t = Test::new().file("rep.drbook", rb);
    drb(&t, &["run", "rep.drbook", "--run-id", "p", "--report", "r.json"]).expect_status(0);
    let r: Value = serde_json::from_str(&t.read("r.json")).expect("the report is JSON");
    for field in [
        "run_id",
        "runbook",
        "status",
        "started_at",
        "finished_at",
        "rto_seconds",
        "achieved_rto_seconds",
        "rto_met",
        "rpo_seconds",
        "achieved_rpo_seconds",
        "rpo_met",
        "steps",
    ] {
        assert!(r.get(field).is_some(), "the report has no `{field}`: {r}");
    }
    assert_eq!(
        (&r["run_id"], &r["runbook"], &r["status"]),
        (&Value::from("p"), &Value::from("rep"), &Value::from("succeeded"))
    );
    assert_eq!(r["rto_seconds"], 3600.0);
    let achieved = r["achieved_rto_seconds"].as_f64().expect("achieved RTO");
    assert!((0.0..60.0).contains(&achieved), "{achieved}");
    assert_eq!(r["rto_met"], true);
    assert_eq!(r["rpo_seconds"], 60.0);
    assert_eq!(r["achieved_rpo_seconds"], 3.0);
    assert_eq!(r["rpo_met"], true);
    let steps = r["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2);
    for s in steps {
        for f in [
            "id",
            "status",
            "attempts",
            "expected_seconds",
            "actual_seconds",
            "started_at",
            "finished_at",
        ] {
            assert!(s.get(f).is_some(), "step has no `{f}`: {s}");
        }
        assert_eq!((&s["status"], &s["attempts"]), (&Value::from("succeeded"), &Value::from(1)));
        assert!(s["actual_seconds"].is_f64() && s["started_at"].is_string(), "{s}");
    }
    assert_eq!(
        (&steps[0]["expected_seconds"], &steps[1]["expected_seconds"]),
        (&Value::from(1.0), &Value::from(2.0))
    );
    for at in [&r["started_at"], &r["finished_at"], &steps[1]["finished_at"]] {
        let at = at.as_str().expect("a timestamp");
        assert!(at.len() >= 20 && at.contains('T') && at.ends_with('Z'), "not RFC 3339: {at}");
    }
}

#[test]
fn report_markdown_says_pass_and_fail() {
    // The RTO is met, the RPO (3s lost against a 1s budget) is not.
    let rb = r#"runbook "md" {
  owner "ops"
  rto   1h
  rpo   1s
  step m { duration 1s; run "echo 3s"; capture lag from stdout; measure rpo from lag; idempotent }
}
"#;
    let t = Test::new().file("md.drbook", rb);
    let out = drb(&t, &["run", "md.drbook", "--report", "r.md"]);
    out.expect_status(0);
    let md = t.read("r.md");
    let row = |name: &str| md.lines().find(|l| l.starts_with(&format!("| {name} |"))).unwrap_or("");
    assert!(row("RTO").contains("PASS"), "{md}");
    assert!(row("RPO").contains("FAIL"), "{md}");
    assert!(md.contains("`m`"), "the steps table names the step: {md}");
    assert!(out.stdout.contains("RPO: achieved 3.0s against 1.0s: FAIL"), "{}", out.stdout);
}

#[test]
fn captures_flow_to_descendants_when_skips_and_failed_checks_retry() {
    let rb = runbook(
        "flow",
        r#"
  param mode = "fast"
  step a { duration 1s; run "echo 42"; capture x from stdout; idempotent }
  step j {
    duration 1s
    run "echo '{\"db\": {\"hosts\": [\"db-2\"]}}'"
    capture host from json "db.hosts[0]"
    check host == "db-2"
    idempotent
  }
  step b { needs a; duration 1s; run "echo got ${steps.a.x} > b.out"; idempotent }
  step c { needs b, j; duration 1s; run "echo ${steps.a.x} ${steps.j.host} > c.out"; idempotent }
  step slow_only  { needs a; duration 1s; when mode == "slow"; run "touch slow-ran"; idempotent }
  step after_skip { needs slow_only; duration 1s; run "touch after-skip"; idempotent }
  step flaky {
    duration 1s
    run "n=$(cat tries 2>/dev/null || echo 0); n=$((n+1)); echo $n > tries; echo $n"
    capture tries from stdout
    check tries == 3
    retry 2 every 100ms
    idempotent
  }"#,
    );
    let t = Test::new().file("flow.drbook", &rb);
    drb(&t, &["run", "flow.drbook", "--run-id", "f"]).expect_status(0);
    assert_eq!(t.read("b.out"), "got 42\n");
    assert_eq!(t.read("c.out"), "42 db-2\n");
    assert!(!t.path("slow-ran").exists(), "a false `when` skips the step");
    assert!(t.path("after-skip").exists(), "a skipped step satisfies its dependents");
    let states = step_states(&t, "f");
    assert_eq!(states["slow_only"], ("skipped".to_string(), 0));
    assert_eq!(states["after_skip"].0, "succeeded");
    assert_eq!(states["flaky"], ("succeeded".to_string(), 3));
    let records = journal(&t, "f");
    assert_eq!(count_events(&records, "step_started", "flaky"), 3);
    assert_eq!(count_events(&records, "step_failed", "flaky"), 2);
    let failed: Vec<&Value> =
        records.iter().filter(|r| r["event"] == "step_failed" && r["step"] == "flaky").collect();
    assert!(
        failed.iter().enumerate().all(|(i, r)| r["will_retry"] == true
            && r["error"] == format!("check failed: tries == 3 (tries = {})", i + 1)),
        "{failed:?}"
    );
    assert_eq!(t.read("tries"), "3\n");
}

#[test]
fn a_check_that_stays_false_fails_after_all_retries() {
    let rb = runbook(
        "nope",
        r#"  step s { duration 1s; run "echo no >> tries; echo no"; capture v from stdout; check v == "yes"; retry 2 every 100ms; idempotent }"#,
    );
    let t = Test::new().file("n.drbook", &rb);
    let out = drb(&t, &["run", "n.drbook", "--run-id", "n"]);
    out.expect_status(1).expect_stderr(r#"check failed: v == "yes" (v = "no")"#);
    assert_eq!(count(&t.path("tries"), "no"), 3);
    assert!(out.elapsed.as_millis() >= 200, "two waits of 100ms: {:?}", out.elapsed);
    assert_eq!(count_events(&journal(&t, "n"), "step_started", "s"), 3);
}

#[test]
fn dry_run_prints_a_timeline_and_runs_nothing() {
    let rb = runbook(
        "dry",
        r#"
  step a { duration 10s; run "touch side-a"; idempotent }
  step b { needs a; duration 20s; run "touch side-b"; idempotent }
  step c { needs a; duration 5m; http GET "https://example.invalid/"; idempotent }"#,
    );
    let t = Test::new().file("d.drbook", &rb);
    let out = drb(&t, &["run", "d.drbook", "--dry-run"]);
    out.expect_status(0);
    let line = |id: &str| {
        out.stdout.lines().find(|l| l.split_whitespace().nth(1) == Some(id)).unwrap_or("")
    };
    assert!(line("a").trim_start().starts_with("+0s"), "{}", out.stdout);
    assert!(
        line("b").trim_start().starts_with("+10s") && line("b").contains("+30s"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("projected RTO 5m10s"), "{}", out.stdout);
    assert!(out.stdout.contains("within the 1h budget"), "{}", out.stdout);
    assert!(!t.path("side-a").exists() && !t.path("side-b").exists(), "nothing ran");
    assert!(!t.path(STATE).exists(), "no state dir is written");
}

#[test]
fn the_quickstart_runbook_runs_to_success() {
    let t = Test::new().copy("runbooks/quickstart.drbook", "quickstart.drbook");
    let scratch = format!("scratch={}", t.path("qs").display());
    let out = drb(
        &t,
        &["run", "quickstart.drbook", "--param", &scratch, "--run-id", "qs", "--report", "qs.json"],
    );
    out.expect_status(0);
    let v = status_json(&t, "qs");
    assert_eq!(v["status"], "succeeded");
    let states = step_states(&t, "qs");
    assert_eq!(states["cleanup"].0, "skipped", "kept files by default");
    assert!(
        states.iter().filter(|(id, _)| *id != "cleanup").all(|(_, s)| s.0 == "succeeded"),
        "{states:?}"
    );
    assert!(t.read("qs/report.txt").contains("orders 3"));
    let r: Value = serde_json::from_str(&t.read("qs.json")).expect("report");
    assert_eq!((&r["rto_met"], &r["rpo_met"]), (&Value::from(true), &Value::from(true)));
}

/// The most steps of `log` in flight at once (`+` a step started, `-` it ended).
fn most_at_once(log: &str) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for l in log.lines() {
        if l == "+" {
            now += 1;
            most = most.max(now);
        } else {
            now -= 1;
        }
    }
    most
}

#[test]
fn parallel_bounds_the_steps_in_flight() {
    let mut body = String::from("  parallel 2\n");
    for i in 0..6 {
        body.push_str(&format!(
            "  step p{i} {{ duration 1s; run \"echo + >> log; sleep 0.2; echo - >> log\"; idempotent }}\n"
        ));
    }
    let t = Test::new().file("p.drbook", &runbook("par", &body));
    drb(&t, &["run", "p.drbook", "--run-id", "two"]).expect_status(0);
    assert_eq!(most_at_once(&t.read("log")), 2, "runbook `parallel 2`");
    std::fs::remove_file(t.path("log")).expect("clear the log");
    drb(&t, &["run", "p.drbook", "--run-id", "three", "--parallel", "3"]).expect_status(0);
    assert_eq!(most_at_once(&t.read("log")), 3, "--parallel 3 overrides it");
}

#[test]
fn the_rto_clock_starts_at_since_and_runs_across_a_failure_and_resume() {
    let rb = runbook("clock", r#"  step a { duration 1s; run "test -f ok"; idempotent }"#);
    let t = Test::new().file("c.drbook", &rb);
    let args =
        ["run", "c.drbook", "--run-id", "c", "--since", "2000-01-01T00:00:00Z", "--strict-rto"];
    drb(&t, &args).expect_status(1);
    std::fs::write(t.path("ok"), "").expect("fix");
    // The budget (1h) was blown long before the resume: succeeded, but missed its RTO.
    drb(&t, &["resume", "c", "--strict-rto", "--report", "r.json"]).expect_status(6);
    let r: Value = serde_json::from_str(&t.read("r.json")).expect("report");
    assert!(r["achieved_rto_seconds"].as_f64().expect("achieved") > 26.0 * 365.0 * 86400.0, "{r}");
    assert_eq!(r["rto_met"], false);
    drb(&t, &["run", "c.drbook", "--since", "yesterday"])
        .expect_status(2)
        .expect_stderr("RFC 3339");
}

#[test]
fn log_format_json_prints_one_json_object_per_line() {
    let rb = runbook(
        "jl",
        r#"
  step a { duration 1s; run "echo hello"; idempotent }
  step b { needs a; duration 1s; run "exit 3"; idempotent }"#,
    );
    let t = Test::new().file("j.drbook", &rb);
    let out = drb(&t, &["run", "j.drbook", "--log-format", "json"]);
    out.expect_status(1);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let has =
        |event: &str, step: &str| events.iter().any(|e| e["event"] == event && e["step"] == step);
    assert!(has("step_started", "a") && has("step_succeeded", "a") && has("step_failed", "b"));
    assert!(events.iter().any(|e| e["event"] == "output" && e["line"] == "hello"), "{events:?}");
}
