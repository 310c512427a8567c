//! A drill whose runner is SIGKILLed mid-step (`DRBOOK_TEST_KILL`) and resumed: it stays a
//! drill of its type, skips the same steps, and ends with a drill result.

use crate::runkit::{drb, drb_spawn_env, journal, runbook, status_json, step_states};
use crate::Test;

const BOOK: &str = r#"
  step fence   { duration 1s; run "echo x >> fenced" }
  step promote { needs fence; duration 1s; run "echo x >> promoted"; idempotent }
  step dns     { needs promote; duration 1s; run "echo x >> dns" }
  step other   { duration 1s; run "echo x >> other" }
  finally step tell { run "echo x >> told"; idempotent }
"#;

#[test]
fn a_partial_drill_killed_mid_step_resumes_as_the_same_drill() {
    let t = Test::new().file("d.drbook", &runbook("dr", BOOK));
    let args = ["drill", "d.drbook", "--type", "partial", "--only", "promote", "--run-id", "k"];
    // Killed once `promote` acted, before its end was journaled.
    let out = drb_spawn_env(&t, ("DRBOOK_TEST_KILL", "after_exit:promote"), &args).wait();
    assert_eq!(out.status, -9, "the runner died of SIGKILL\n{}", out.stderr);
    assert_eq!(status_json(&t, "k")["status"], "interrupted");
    let out = drb(&t, &["resume", "k", "--report", "r.json"]);
    out.expect_status(0);
    // `promote` is idempotent: run again; `fence` acted once; the rest never ran.
    assert_eq!(t.read("fenced"), "x\n");
    assert_eq!(t.read("promoted"), "x\nx\n");
    for marker in ["dns", "other", "told"] {
        assert!(!t.path(marker).exists(), "`{marker}` is outside the drill");
    }
    let states = step_states(&t, "k");
    for s in ["dns", "other", "tell"] {
        assert_eq!(states[s].0, "skipped", "{s}: {states:?}");
    }
    let skipped: Vec<String> = journal(&t, "k")
        .iter()
        .filter(|r| r["event"] == "step_skipped")
        .map(|r| {
            format!(
                "{}={}",
                r["step"].as_str().unwrap_or_default(),
                r["reason"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(skipped.len(), 3, "each skipped once: {skipped:?}");
    assert!(skipped.iter().all(|s| s.ends_with("=drill")), "{skipped:?}");
    let v = status_json(&t, "k");
    assert_eq!((&v["kind"], &v["drill"]["drill_type"]), (&"partial".into(), &"partial".into()));
    let report: serde_json::Value = serde_json::from_str(&t.read("r.json")).expect("JSON report");
    assert_eq!(report["drill"]["steps_tested"], serde_json::json!(["fence", "promote"]));
    assert_eq!(
        (&report["drill"]["success"], &report["drill"]["status"]),
        (&true.into(), &"succeeded".into())
    );
    assert!(out.stdout.contains("drill result (partial drill): SUCCESS"), "{}", out.stdout);
}

#[test]
fn a_component_drill_killed_in_a_safe_step_resumes_skipping_the_same_steps() {
    let body = r#"
  step fence  { duration 1s; run "echo x >> fenced" }
  step probe  { needs fence; duration 1s; safe; idempotent; run "echo x >> probed" }
  step after  { needs probe; duration 1s; safe; run "echo x >> after" }
  step change { needs probe; duration 1s; run "echo x >> changed" }
"#;
    let t = Test::new().file("d.drbook", &runbook("dr", body));
    let args = ["drill", "d.drbook", "--type", "component", "--run-id", "k"];
    let out = drb_spawn_env(&t, ("DRBOOK_TEST_KILL", "after_exit:probe"), &args).wait();
    assert_eq!(out.status, -9, "the runner died of SIGKILL\n{}", out.stderr);
    let out = drb(&t, &["resume", "k"]);
    out.expect_status(0);
    assert_eq!((t.read("probed"), t.read("after")), ("x\nx\n".into(), "x\n".into()));
    assert!(!t.path("fenced").exists() && !t.path("changed").exists(), "nothing changed");
    let skipped: Vec<String> = journal(&t, "k")
        .iter()
        .filter(|r| r["event"] == "step_skipped")
        .map(|r| r["step"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(skipped, ["fence", "change"], "each skipped once, by the drill");
    assert_eq!(status_json(&t, "k")["drill"]["drill_type"], "component");
    assert!(out.stdout.contains("drill result (component drill): SUCCESS"), "{}", out.stdout);
}
