//! Honest results (issue 10 §3): the achieved RTO is the time to recovery and a later rollback
//! is its own phase; exit codes for a missed `rpo` and for `continue` failures; every `measure
//! rpo` listed; comparisons that demand numbers; failure messages that carry stderr.

use crate::runkit::{drb, status_json, step_json};
use crate::Test;
use serde_json::Value;
use std::time::Duration;

/// A runbook `name` with `rto` (and `extra` header lines) around `body`.
fn book(name: &str, rto: &str, extra: &str, body: &str) -> String {
    format!("runbook \"{name}\" {{\n  owner \"ops\"\n  rto {rto}\n{extra}{body}\n}}\n")
}

/// The report's `RTO:` line (the text summary printed at the end).
#[track_caller]
fn rto_line(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("RTO:"))
        .unwrap_or_else(|| panic!("no `RTO:` line in\n{stdout}"))
        .to_string()
}

#[track_caller]
fn report(t: &Test, name: &str) -> Value {
    serde_json::from_str(&t.read(name)).expect("the report is JSON")
}

#[test]
fn a_later_rollback_never_rewrites_the_achieved_rto() {
    let body = r#"  step a { duration 1s; run "true"; rollback run "echo a >> undo.log" }"#;
    let t = Test::new().file("q.drbook", &book("quick", "2s", "", body));
    let out = drb(&t, &["run", "q.drbook", "--run-id", "q", "--report", "run.json"]);
    out.expect_status(0);
    let line = rto_line(&out.stdout);
    assert!(line.starts_with("RTO: achieved ") && line.ends_with("PASS"), "{line}");
    let achieved = report(&t, "run.json")["achieved_rto_seconds"].as_f64().expect("achieved");

    // Later than the whole budget: a rollback then must not turn the recovery into a miss.
    std::thread::sleep(Duration::from_millis(2500));
    let out = drb(&t, &["rollback", "q", "--yes", "--report", "rb.json"]);
    out.expect_status(4);
    assert_eq!(rto_line(&out.stdout), line, "the RTO line is the run's, unchanged");
    assert!(out.stdout.contains("rollback phase: rolled_back"), "{}", out.stdout);
    let r = report(&t, "rb.json");
    assert_eq!(r["status"], "rolled_back");
    assert_eq!(r["achieved_rto_seconds"].as_f64(), Some(achieved), "{r}");
    assert_eq!(r["rto_met"], true, "{r}");
    assert_eq!(r["stopped_after_seconds"], Value::Null, "{r}");
    let phase = &r["rollback"];
    assert_eq!(phase["outcome"], "rolled_back", "{r}");
    assert!(phase["started_at"].is_string() && phase["finished_at"].is_string(), "{r}");
    assert!(phase["duration_seconds"].as_f64().is_some_and(|d| d < 2.0), "{r}");
    // `status`, as JSON and as text, says the same.
    let s = status_json(&t, "q");
    assert_eq!(s["achieved_rto_seconds"].as_f64(), Some(achieved), "{s}");
    assert_eq!(s["rto_met"], true, "{s}");
    assert_eq!(s["rollback"]["outcome"], "rolled_back", "{s}");
    let runs = crate::json(&drb(&t, &["status", "--format", "json"]));
    assert_eq!(runs["runs"][0]["achieved_rto_seconds"].as_f64(), Some(achieved), "{runs}");
    assert_eq!(runs["runs"][0]["rto_met"], true, "{runs}");
    let text = drb(&t, &["status", "q"]).stdout.clone();
    assert!(text.contains(&line), "{text}");
    assert!(text.contains("rollback phase: rolled_back"), "{text}");
}

#[test]
fn a_failed_run_says_its_rto_was_not_achieved_and_when_it_stopped() {
    let body = r#"  step a { duration 1s; run "true"; idempotent }
  step bad { needs a; duration 1s; run "exit 3"; idempotent }"#;
    let t = Test::new().file("f.drbook", &book("failing", "1h", "", body));
    let out = drb(&t, &["run", "f.drbook", "--run-id", "f", "--report", "f.json"]);
    out.expect_status(1);
    let line = rto_line(&out.stdout);
    assert!(line.starts_with("RTO: not achieved (stopped after "), "{line}");
    assert!(!line.contains("FAIL") && !line.contains("PASS"), "{line}");
    let r = report(&t, "f.json");
    assert_eq!(r["achieved_rto_seconds"], Value::Null, "{r}");
    assert_eq!(r["rto_met"], false, "{r}");
    assert!(r["stopped_after_seconds"].as_f64().is_some(), "{r}");
    assert_eq!(r["rollback"], Value::Null, "{r}");
    let s = status_json(&t, "f");
    assert_eq!(s["rto_met"], false, "{s}");
    assert!(s["stopped_after_seconds"].as_f64().is_some(), "{s}");
    let list = drb(&t, &["status"]);
    assert!(list.stdout.contains("not achieved (stopped after"), "{}", list.stdout);

    // Rolled back on demand later: the forward phase still stopped when it failed.
    let stopped = r["stopped_after_seconds"].as_f64();
    drb(&t, &["rollback", "f", "--yes", "--report", "rb.md"]).expect_status(4);
    let md = t.read("rb.md");
    assert!(md.contains("not achieved (stopped after"), "{md}");
    assert!(md.contains("Rollback phase: **rolled_back**"), "{md}");
    let s = status_json(&t, "f");
    assert_eq!(s["stopped_after_seconds"].as_f64(), stopped, "{s}");
}

#[test]
fn a_run_rolled_back_by_its_policy_reports_both_phases() {
    let body = r#"  on_failure rollback
  step a { duration 1s; run "true"; rollback run "true" }
  step bad { needs a; duration 1s; run "exit 3"; idempotent }"#;
    let t = Test::new().file("r.drbook", &book("rolling", "1h", "", body));
    let out = drb(&t, &["run", "r.drbook", "--run-id", "r", "--report", "r.json"]);
    out.expect_status(4);
    assert!(rto_line(&out.stdout).starts_with("RTO: not achieved (stopped after "));
    assert!(out.stdout.contains("rollback phase: rolled_back"), "{}", out.stdout);
    let r = report(&t, "r.json");
    assert_eq!(r["achieved_rto_seconds"], Value::Null, "{r}");
    assert_eq!(r["rto_met"], false, "{r}");
    assert_eq!(r["rollback"]["outcome"], "rolled_back", "{r}");
    assert!(r["rollback"]["reason"].as_str().is_some_and(|w| w.contains("bad")), "{r}");
}

/// Two steps measure the RPO: 1.5 s and 6 s against `rpo 5s`.
const TWO_MEASUREMENTS: &str = r#"  step near { duration 1s; run "echo 1.5"; capture lag from stdout; measure rpo from lag; idempotent }
  step far { duration 1s; run "echo 6"; capture lag from stdout; measure rpo from lag; idempotent }"#;

#[test]
fn every_rpo_measurement_is_listed_and_the_largest_is_said_to_count() {
    let t = Test::new().file("m.drbook", &book("measured", "1h", "  rpo 5s\n", TWO_MEASUREMENTS));
    let out = drb(&t, &["run", "m.drbook", "--run-id", "m", "--report", "m.json"]);
    out.expect_status(0);
    let text = &out.stdout;
    assert!(text.contains("RPO: achieved 6.0s against 5.0s: FAIL"), "{text}");
    let near = text.lines().find(|l| l.contains("measured by near")).expect("near is listed");
    let far = text.lines().find(|l| l.contains("measured by far")).expect("far is listed");
    assert!(near.contains("1.5s") && !near.contains("counts"), "{near}");
    assert!(far.contains("6.0s") && far.contains("counts: the largest"), "{far}");
    let r = report(&t, "m.json");
    let m = &r["rpo_measurements"];
    assert_eq!(m[0], serde_json::json!({"step": "near", "seconds": 1.5, "counts": false}), "{r}");
    assert_eq!(m[1], serde_json::json!({"step": "far", "seconds": 6.0, "counts": true}), "{r}");
    drb(&t, &["rollback", "m", "--yes", "--report", "m.md"]);
    let md = t.read("m.md");
    assert!(md.contains("| `near` | 1.5s |  |") && md.contains("| `far` | 6.0s | yes |"), "{md}");
    assert!(md.contains("the largest counts"), "{md}");
    let s = status_json(&t, "m");
    assert_eq!(s["rpo_measurements"], *m, "{s}");
    let status = drb(&t, &["status", "m"]).stdout.clone();
    assert!(status.contains(near) && status.contains(far), "{status}");
}

#[test]
fn strict_rpo_exits_6_when_a_run_succeeded_but_missed_its_rpo() {
    let t = Test::new().file("m.drbook", &book("measured", "1h", "  rpo 5s\n", TWO_MEASUREMENTS));
    drb(&t, &["run", "m.drbook", "--run-id", "plain"]).expect_status(0);
    let out = drb(&t, &["run", "m.drbook", "--run-id", "strict", "--strict-rpo"]);
    out.expect_status(6).expect_stderr("missed its RPO (--strict-rpo)");
    // Within the budget, --strict-rpo changes nothing.
    let within = book("within", "1h", "  rpo 10s\n", TWO_MEASUREMENTS);
    let t = t.file("w.drbook", &within);
    drb(&t, &["run", "w.drbook", "--run-id", "w", "--strict-rpo", "--strict-rto"]).expect_status(0);
}

#[test]
fn fail_on_continue_exits_1_when_a_run_succeeded_with_a_failed_continue_step() {
    let body = r#"  step a { duration 1s; run "true"; idempotent }
  step notify { duration 1s; on_failure continue; run "exit 7"; idempotent }
  step b { needs a, notify; duration 1s; run "true"; idempotent }"#;
    let t = Test::new().file("c.drbook", &book("tolerant", "1h", "", body));
    drb(&t, &["run", "c.drbook", "--run-id", "plain"]).expect_status(0);
    let out = drb(&t, &["run", "c.drbook", "--run-id", "strict", "--fail-on-continue"]);
    out.expect_status(1).expect_stderr("`notify` failed under `continue` (--fail-on-continue)");
    assert_eq!(status_json(&t, "strict")["status"], "succeeded", "the run itself succeeded");
    // A failure outranks a missed objective; a clean run is 0 with the flag too.
    let tight = book("tight", "1ms", "", body);
    let t = t.file("t.drbook", &tight);
    let args = ["run", "t.drbook", "--run-id", "t", "--fail-on-continue", "--strict-rto"];
    drb(&t, &args).expect_status(1);
    let clean = book("clean", "1h", "", r#"  step a { duration 1s; run "true"; idempotent }"#);
    let t = t.file("k.drbook", &clean);
    drb(&t, &["run", "k.drbook", "--run-id", "k", "--fail-on-continue"]).expect_status(0);
}

#[test]
fn resume_takes_the_strict_flags_too() {
    let body = r#"  step gate { duration 1s; manual "Confirm the replica is caught up" }
  step near { needs gate; duration 1s; run "echo 6"; capture lag from stdout; measure rpo from lag; idempotent }"#;
    let t = Test::new().file("g.drbook", &book("gated", "1h", "  rpo 5s\n", body));
    drb(&t, &["run", "g.drbook", "--run-id", "g", "--non-interactive"]).expect_status(3);
    let out = drb(&t, &["resume", "g", "--interrupted", "gate=done", "--strict-rpo"]);
    out.expect_status(6);
}

#[test]
fn a_number_on_one_side_of_a_comparison_demands_a_number_on_the_other() {
    // psql prints nothing for NULL: the check must not pass by comparing strings.
    let body = r#"  step lag { duration 1s; run "printf ''"; capture lag_seconds from stdout; check lag_seconds < 300; idempotent }"#;
    let t = Test::new().file("n.drbook", &book("nulls", "1h", "", body));
    let out = drb(&t, &["run", "n.drbook", "--run-id", "n", "--report", "n.json"]);
    out.expect_status(1);
    let want = r#"check failed: lag_seconds < 300: lag_seconds is "" (not a number)"#;
    assert_eq!(step_json(&t, "n", "lag")["error"], want);
    assert!(out.stdout.contains(want) || out.stderr.contains(want), "{}{}", out.stdout, out.stderr);
    // `when` with such a comparison fails its step with the same message: no silent skip.
    let body = r#"  step lag { duration 1s; run "printf ''"; capture lag_seconds from stdout; idempotent }
  step promote { needs lag; duration 1s; when steps.lag.lag_seconds < 300; run "touch promoted"; idempotent }"#;
    let t = t.file("w.drbook", &book("whens", "1h", "", body));
    drb(&t, &["run", "w.drbook", "--run-id", "w"]).expect_status(1);
    let e = step_json(&t, "w", "promote");
    assert_eq!(e["state"], "failed", "{e}");
    let error = e["error"].as_str().expect("an error");
    assert!(error.contains(r#"steps.lag.lag_seconds is "" (not a number)"#), "{error}");
    assert!(!t.path("promoted").exists());
    // Two names keep the old rule: numbers when both parse, else strings.
    let body = r#"  param a = "abc"
  param b = "abd"
  step cmp { duration 1s; run "echo 10"; capture n from stdout; check a < b && n > "9"; idempotent }"#;
    let t = t.file("s.drbook", &book("strings", "1h", "", body));
    drb(&t, &["run", "s.drbook", "--run-id", "s"]).expect_status(0);
}

#[test]
fn a_false_check_names_the_expression_and_the_values_and_keeps_the_captures() {
    let body = r#"  secret token = env("DRB_TOKEN")
  step lag { duration 1s; run "echo 1200"; capture lag_seconds from stdout; check lag_seconds < 300 || token == "x"; idempotent }"#;
    let hostile = "s3cr'et \"$(x)\"";
    let t = Test::new().file("f.drbook", &book("falsy", "1h", "", body)).env("DRB_TOKEN", hostile);
    let out = drb(&t, &["run", "f.drbook", "--run-id", "f", "--report", "f.md"]);
    out.expect_status(1);
    let want = "check failed: lag_seconds < 300 || token == \"x\" (lag_seconds = 1200, token = <secret:token>)";
    let lag = step_json(&t, "f", "lag");
    assert_eq!(lag["error"], want, "{lag}");
    assert_eq!(lag["captures"]["lag_seconds"], "1200", "the capture is kept to be reported");
    let status = drb(&t, &["status", "f"]).stdout.clone();
    assert!(status.contains(want) && status.contains("captured: lag_seconds = 1200"), "{status}");
    let md = t.read("f.md");
    assert!(md.contains("lag_seconds = 1200"), "{md}");
    assert!(out.stdout.contains("captured: lag_seconds = 1200"), "{}", out.stdout);
    let journal = std::fs::read_to_string(crate::runkit::journal_path(&t, "f")).expect("journal");
    for text in [&out.stdout, &out.stderr, &status, &md, &journal] {
        assert!(!text.contains("s3cr"), "the secret leaked:\n{text}");
    }
}

#[test]
fn a_failed_run_step_carries_the_tail_of_its_stderr_with_secrets_masked() {
    let body = r#"  secret pw = env("DRB_PW")
  step load {
    duration 1s
    run """
      for i in 1 2 3 4 5 6; do echo "noise $i" >&2; done
      printf 'psql: error: password %s rejected\n' ${pw} >&2
      echo "all good on stdout"
      exit 3
    """
    idempotent
  }"#;
    let hostile = "p'w\"; $(reboot) \\ %s `id`";
    let t = Test::new().file("e.drbook", &book("erring", "1h", "", body)).env("DRB_PW", hostile);
    let out = drb(&t, &["run", "e.drbook", "--run-id", "e", "--report", "e.json"]);
    out.expect_status(1);
    let error = step_json(&t, "e", "load")["error"].as_str().expect("an error").to_string();
    let want = "exit code 3; stderr: noise 3 | noise 4 | noise 5 | noise 6 | psql: error: password <secret:pw> rejected";
    assert_eq!(error, want);
    assert!(
        out.stdout.contains(want) || out.stderr.contains(want),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let status = drb(&t, &["status", "e"]).stdout.clone();
    assert!(status.contains(want), "{status}");
    let report = t.read("e.json");
    assert_eq!(report_step_error(&report, "load").as_deref(), Some(want));
    drb(&t, &["rollback", "e", "--yes", "--report", "e.md"]);
    let md = t.read("e.md");
    assert!(md.contains("password <secret:pw> rejected"), "{md}");
    let journal = std::fs::read_to_string(crate::runkit::journal_path(&t, "e")).expect("journal");
    let logs: Vec<String> = crate::runkit::files_under(&t.path(crate::runkit::STATE))
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned())
        .collect();
    for text in [&out.stdout, &out.stderr, &status, &report, &md, &journal].into_iter().chain(&logs)
    {
        assert!(!text.contains("reboot"), "the secret leaked:\n{text}");
    }
}

#[test]
fn the_stderr_tail_is_bounded() {
    let body = r#"  step long { duration 1s; run "head -c 20000 /dev/zero | tr '\\0' x >&2; echo >&2; sleep 0.3; exit 1"; idempotent }"#;
    let t = Test::new().file("l.drbook", &book("long", "1h", "", body));
    drb(&t, &["run", "l.drbook", "--run-id", "l"]).expect_status(1);
    let error = step_json(&t, "l", "long")["error"].as_str().expect("an error").to_string();
    assert!(error.starts_with("exit code 1; stderr: xxx") && error.ends_with('…'), "{error}");
    assert!(error.len() < 1200, "{} bytes", error.len());
}

/// The `error` of `step` in a JSON report.
fn report_step_error(report: &str, step: &str) -> Option<String> {
    let r: Value = serde_json::from_str(report).ok()?;
    let s = r["steps"].as_array()?.iter().find(|s| s["id"] == step)?;
    s["error"].as_str().map(str::to_string)
}
