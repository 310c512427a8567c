//! Per-service objectives (issue 15): a runbook with `objectives { }` and `restores` run for
//! real; the final report, `status` and `report` judge each service against its own `rto`
//! (restored when the last of its restoring steps finished), and `plan` estimates each one.
//! A runbook without objectives shows none of it.

use crate::runkit::{drb, status_json};
use crate::Test;
use serde_json::Value;

const BOOK: &str = r#"runbook "regional-failover" {
  owner "ops"
  rto 1h
  objectives {
    service "api-gateway" { rto 15m; rpo 0s; tier critical }
    service "user-service" { rto 1s; rpo 5m; tier critical }
    service "reporting-service" { rto 4h; rpo 1h; tier standard }
  }
  step db { duration 1s; idempotent; run "true"; restores "api-gateway", "user-service" }
  step slow { needs db; duration 2s; wait 1500ms; restores "user-service" }
  step report { needs slow; duration 1s; idempotent; run "exit 3"; restores "reporting-service" }
}
"#;

/// The `services:` block of a text report: the lines under it, by service name.
#[track_caller]
fn service_lines(text: &str) -> Vec<(String, String)> {
    let mut lines = text.lines().skip_while(|l| *l != "services:");
    assert_eq!(lines.next(), Some("services:"), "no `services:` in\n{text}");
    lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let (name, rest) = l.trim_start().split_once("  ").expect("name, then the result");
            (name.to_string(), rest.trim_start().to_string())
        })
        .collect()
}

#[track_caller]
fn assert_services(text: &str) {
    let got = service_lines(text);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["api-gateway", "user-service", "reporting-service"], "{text}");
    let (api, user, reporting) = (&got[0].1, &got[1].1, &got[2].1);
    assert!(api.starts_with("restored in ") && api.ends_with(" against 15m: PASS"), "{api}");
    assert!(user.starts_with("restored in 1.") && user.ends_with(" against 1.0s: FAIL"), "{user}");
    assert_eq!(reporting, "not restored (`report` failed) against 4h: FAIL");
}

fn service<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["services"]
        .as_array()
        .unwrap_or_else(|| panic!("no `services` in {v}"))
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service `{name}` in {v}"))
}

#[test]
fn each_service_is_judged_against_its_own_rto_in_the_report_and_status() {
    let t = Test::new().file("rf.drbook", BOOK);
    let out = drb(&t, &["run", "rf.drbook", "--run-id", "rf", "--report", "run.json"]);
    out.expect_status(1);
    assert_services(&out.stdout);

    let r: Value = serde_json::from_str(&t.read("run.json")).expect("the report is JSON");
    let user = service(&r, "user-service");
    assert_eq!(user["status"], "restored", "{r}");
    assert_eq!(user["restored_by"], serde_json::json!(["db", "slow"]), "{r}");
    assert!(user["achieved_seconds"].as_f64().is_some_and(|s| s >= 1.5), "{r}");
    assert_eq!((&user["rto_seconds"], &user["rto_met"]), (&Value::from(1.0), &Value::from(false)));
    let reporting = service(&r, "reporting-service");
    assert_eq!(reporting["status"], "not_restored", "{r}");
    assert_eq!(reporting["reason"], "`report` failed", "{r}");
    assert_eq!(reporting["achieved_seconds"], Value::Null, "{r}");
    assert_eq!(service(&r, "api-gateway")["rto_met"], true, "{r}");

    let status = drb(&t, &["status", "rf"]);
    status.expect_status(0);
    assert_services(&status.stdout);
    let s = status_json(&t, "rf");
    assert_eq!(service(&s, "user-service")["achieved_seconds"], user["achieved_seconds"], "{s}");
    assert_eq!(service(&s, "reporting-service")["status"], "not_restored", "{s}");

    let text = drb(&t, &["report", "rf"]);
    text.expect_status(0);
    assert_services(&text.stdout);
    let md = drb(&t, &["report", "rf", "--format", "markdown"]);
    md.expect_status(0);
    assert!(md.stdout.contains("| service | achieved | objective | verdict | restored by |"));
    assert!(
        md.stdout.contains(
            "| reporting-service | not restored (`report` failed) | 4h | **FAIL** | `report` |"
        ),
        "{}",
        md.stdout
    );
    let json = crate::json(&drb(&t, &["report", "rf", "--format", "json"]));
    assert_eq!(service(&json, "api-gateway")["status"], "restored", "{json}");
}

#[test]
fn a_service_still_to_be_restored_when_the_run_pauses_has_no_verdict_yet() {
    let book = BOOK
        .replace(r#"run "exit 3""#, r#"manual "Check the reports by hand""#)
        .replace("idempotent; manual", "manual");
    let t = Test::new().file("rf.drbook", &book);
    // Without a terminal, a manual step pauses the run.
    let out = drb(&t, &["run", "rf.drbook", "--run-id", "rf"]);
    assert_ne!(out.status, 0, "{}", out.stdout);
    let status = drb(&t, &["status", "rf"]);
    let got = service_lines(&status.stdout);
    assert_eq!(got[2], ("reporting-service".to_string(), "not restored yet; rto 4h".into()));
    assert_eq!(service(&status_json(&t, "rf"), "reporting-service")["rto_met"], Value::Null);
}

#[test]
fn the_plan_estimates_each_service_by_the_chain_to_its_last_restoring_step() {
    let t = Test::new().file("rf.drbook", BOOK);
    let out = t.cmd(&["plan", "rf.drbook"]);
    out.expect_status(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("services (")).expect("a services section");
    assert_eq!(
        &lines[at + 1..at + 4],
        [
            "  api-gateway        estimated 1s within rto 15m (slack 14m59s); rpo 0s; tier critical; chain db",
            "  user-service       estimated 3s OVER rto 1s by 2s; rpo 5m; tier critical; chain db -> slow",
            "  reporting-service  estimated 4s within rto 4h (slack 3h59m56s); rpo 1h; tier standard; chain db -> slow -> report",
        ]
    );
    let md = t.cmd(&["plan", "rf.drbook", "--format", "markdown"]);
    md.expect_status(0);
    assert!(
        md.stdout.contains(
            "| **user-service** | critical | 1s | 5m | 3s | ❌ **OVER by 2s** | `db`, `slow` |"
        ),
        "{}",
        md.stdout
    );
    let json = crate::json(&t.cmd(&["plan", "rf.drbook", "--format", "json"]));
    assert_eq!(
        service(&json, "reporting-service")["critical_path"],
        serde_json::json!(["db", "slow", "report"])
    );
}

#[test]
fn without_objectives_no_report_mentions_services() {
    let book =
        crate::runkit::runbook("plain", r#"  step a { duration 1s; idempotent; run "true" }"#);
    let t = Test::new().file("p.drbook", &book);
    let out = drb(&t, &["run", "p.drbook", "--run-id", "p", "--report", "run.json"]);
    out.expect_status(0);
    assert!(!out.stdout.contains("services"), "{}", out.stdout);
    let r: Value = serde_json::from_str(&t.read("run.json")).expect("the report is JSON");
    assert!(r.get("services").is_none(), "{r}");
    assert!(status_json(&t, "p").get("services").is_none());
    assert!(!drb(&t, &["status", "p"]).stdout.contains("services"));
    assert!(!t.cmd(&["plan", "p.drbook"]).stdout.contains("services"));
}

#[test]
fn diff_labels_a_loosened_or_removed_service_and_a_dropped_restores_as_risks() {
    let new = BOOK
        .replace(
            r#"service "api-gateway" { rto 15m; rpo 0s; tier critical }"#,
            r#"service "api-gateway" { rto 1h; tier critical }"#,
        )
        .replace("    service \"reporting-service\" { rto 4h; rpo 1h; tier standard }\n", "")
        .replace(r#"wait 1500ms; restores "user-service""#, "wait 1500ms")
        .replace(r#"; restores "reporting-service""#, "");
    let t = Test::new().file("old.drbook", BOOK).file("new.drbook", &new);
    let out = t.cmd(&["diff", "old.drbook", "new.drbook", "--format", "json"]);
    out.expect_status(1);
    let doc = crate::json(&out);
    let risks: Vec<(String, String)> = doc["risks"]
        .as_array()
        .expect("a risks array")
        .iter()
        .map(|r| {
            let kind = r["kind"].as_str().expect("a kind").to_string();
            (kind, r["message"].as_str().expect("a message").to_string())
        })
        .collect();
    let want = [
        ("service_objective_loosened", "service `api-gateway`'s rto is 1h, was 15m"),
        ("service_objective_loosened", "service `api-gateway`'s rpo is none, was 0s"),
        ("service_removed", "service `reporting-service` was removed from `objectives`: its RTO is no longer judged"),
        ("restores_removed", "step `slow` no longer restores `user-service`: the service counts as restored without it"),
    ];
    let want: Vec<(String, String)> =
        want.iter().map(|(k, m)| (k.to_string(), m.to_string())).collect();
    assert_eq!(risks, want, "{doc}");
    // A removed step that restored a service is a lost restore too.
    let gone = BOOK
        .replace(
            "  step slow { needs db; duration 2s; wait 1500ms; restores \"user-service\" }\n",
            "",
        )
        .replace("needs slow", "needs db");
    let t = t.file("gone.drbook", &gone);
    let out = t.cmd(&["diff", "old.drbook", "gone.drbook", "--format", "json"]);
    let doc = crate::json(&out);
    assert_eq!(doc["risks"][0]["kind"], "restores_removed", "{doc}");
    assert_eq!(doc["risks"][0]["step"], "slow", "{doc}");
    // Tightened the other way round: every change listed, no risk (a new service is none).
    let back = t.cmd(&["diff", "new.drbook", "old.drbook", "--format", "json"]);
    assert_eq!(crate::json(&back)["risks"], serde_json::json!([]), "{}", back.stdout);
}

#[test]
fn a_partial_drill_judges_only_the_services_it_restores() {
    let t = Test::new().file("rf.drbook", BOOK);
    let out =
        drb(&t, &["drill", "rf.drbook", "--type", "partial", "--only", "db", "--run-id", "d"]);
    out.expect_status(0);
    let got = service_lines(&out.stdout);
    assert!(got[0].1.starts_with("restored in ") && got[0].1.ends_with("against 15m: PASS"));
    assert_eq!(got[1].1, "outside the drill; rto 1.0s", "{}", out.stdout);
    let s = status_json(&t, "d");
    assert_eq!(service(&s, "reporting-service")["status"], "outside_drill", "{s}");
    assert_eq!(service(&s, "reporting-service")["rto_met"], Value::Null, "{s}");
    // A component drill restores nothing: no service is judged.
    let out = drb(&t, &["drill", "rf.drbook", "--type", "component", "--run-id", "c"]);
    assert!(!out.stdout.contains("services:"), "{}", out.stdout);
    assert!(status_json(&t, "c").get("services").is_none());
}
