//! `drbook readiness` (issue 12 §3): drills overdue, failed or proving other content, a stale
//! review, the estimated and achieved RTO; text, JSON and Prometheus (checked by `promtool`);
//! exit 0 only when everything is current.

use crate::forge::{at, forge, Forged};
use crate::runkit::{drb, STATE};
use crate::{golden, report, Test};
use serde_json::Value;

/// A runbook `name` reviewed on `reviewed` every 90 days, drilled `full` yearly, around `body`.
fn book(name: &str, reviewed: &str, drills: &str, body: &str) -> String {
    format!(
        "runbook \"{name}\" {{\n  owner \"ops\"\n  rto 1h\n  rpo 5m\n  reviewed {reviewed}\n  review_every 90d\n  drills {{\n{drills}\n  }}\n{body}\n}}\n"
    )
}

const STEPS: &str = "  step a { duration 10m; run \"true\" }\n  step b { needs a; duration 20m; run \"test ! -e fail\" }";

fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    at(now)[..10].to_string()
}

fn in_days(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    at(now + days * 86_400_000)[..10].to_string()
}

fn readiness_json(t: &Test, args: &[&str], code: i32) -> Value {
    let mut all = vec!["readiness"];
    all.extend(args);
    all.extend(["--format", "json"]);
    let out = drb(t, &all);
    out.expect_status(code);
    crate::json(&out)
}

fn drill_of<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["runbooks"][0]["drills"]
        .as_array()
        .expect("drills")
        .iter()
        .find(|d| d["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} drill in {v}"))
}

#[test]
fn a_drilled_runbook_is_current_until_overdue_failed_changed_or_stale() {
    let text = book("db", &today(), "    full every 365d", STEPS);
    let t = Test::new().file("db.drbook", &text);
    // Never drilled: overdue.
    let v = readiness_json(&t, &["db.drbook", "--today", &today()], 1);
    assert_eq!(drill_of(&v, "full")["overdue"], true, "{v}");

    drb(&t, &["drill", "db.drbook", "--type", "full", "--run-id", "f1"]).expect_status(0);
    let v = readiness_json(&t, &["db.drbook", "--today", &today()], 0);
    let rb = &v["runbooks"][0];
    assert_eq!(rb["current"], true, "{v}");
    assert_eq!(rb["estimated_rto_seconds"], 1800.0);
    assert!(rb["last_achieved_rto_seconds"].as_f64().is_some_and(|s| s < 60.0), "{v}");
    let full = drill_of(&v, "full");
    assert_eq!((&full["last"]["run_id"], &full["last"]["success"]), (&"f1".into(), &true.into()));
    let out = drb(&t, &["readiness", "db.drbook", "--today", &today()]);
    out.expect_status(0);
    assert!(out.stdout.contains("db (db.drbook): current"), "{}", out.stdout);

    // A year and a month on: the drill is overdue and the review stale.
    let v = readiness_json(&t, &["db.drbook", "--today", &in_days(400)], 1);
    assert_eq!(drill_of(&v, "full")["overdue"], true);
    assert_eq!(v["runbooks"][0]["review_stale"], true);

    // The runbook changes: the drill proved other content.
    std::fs::write(t.path("db.drbook"), text.replace("10m", "11m")).expect("write");
    let v = readiness_json(&t, &["db.drbook", "--today", &today()], 1);
    assert_eq!(drill_of(&v, "full")["changed_since_drill"], true, "{v}");
    assert_eq!(drill_of(&v, "full")["overdue"], false);

    // Drilled again and it fails: the last drill failed, though the one before proved it.
    std::fs::write(t.path("fail"), "").expect("write");
    drb(&t, &["drill", "db.drbook", "--type", "full", "--run-id", "f2"]).expect_status(1);
    let v = readiness_json(&t, &["db.drbook", "--today", &today()], 1);
    let full = drill_of(&v, "full");
    assert_eq!((&full["failed"], &full["last"]["run_id"]), (&true.into(), &"f2".into()), "{v}");
    assert_eq!(full["last_success"]["run_id"], "f1");
    let problems = v["runbooks"][0]["problems"].to_string();
    assert!(problems.contains("last full drill failed"), "{problems}");
}

/// Two runbooks in a directory (and a module, which is skipped), runs at fixed times.
fn forged_readiness() -> Test {
    let db = book(
        "db",
        "2026-10-01",
        "    tabletop every 30d\n    component every 7d\n    full every 365d",
        STEPS,
    );
    let web = book("web \\\"edge\\\"", "2026-01-01", "    partial every 90d", STEPS);
    let module = "template noop() {\n  run \"true\"\n}\n";
    let t = Test::new()
        .file("rb/db.drbook", &db)
        .file("rb/web.drbook", &web)
        .file("rb/lib.drbook", module);
    let db_hash = crate::forge::sha256_hex(db.as_bytes());
    let day = 86_400_000;
    let t0 = 1_795_000_000_000; // 2026-11-18T11:06:40Z
    let runs = [
        ("db-c1", "db", Some("component"), t0 - 10 * day, true, db_hash.as_str()),
        ("db-c2", "db", Some("component"), t0 - 3 * day, false, db_hash.as_str()),
        ("db-f1", "db", Some("full"), t0 - 100 * day, true, "0ld"),
        ("db-t1", "db", Some("tabletop"), t0 - 5 * day, true, db_hash.as_str()),
        ("db-r1", "db", None, t0 - day, true, db_hash.as_str()),
        ("web-p1", "web \"edge\"", Some("partial"), t0 - 200 * day, true, "0ld"),
    ];
    for (id, runbook, kind, start_ms, ok, hash) in runs {
        forge(&t, &Forged { id, runbook, kind, start_ms, ok, hash, ..Forged::default() });
    }
    t
}

#[test]
fn every_format_is_golden() {
    let t = forged_readiness();
    let mut failures = Vec::new();
    for (format, file) in
        [("text", "text.txt"), ("json", "readiness.json"), ("prometheus", "metrics.prom")]
    {
        let out = drb(&t, &["readiness", "rb", "--today", "2026-11-23", "--format", format]);
        out.expect_status(1);
        if let Err(e) = golden(&format!("tests/golden/readiness/{file}"), &out.stdout) {
            failures.push(e);
        }
    }
    report(failures);
}

#[test]
fn the_metrics_pass_promtool_and_are_written_atomically() {
    let t = forged_readiness();
    let out = drb(&t, &["readiness", "rb", "--today", "2026-11-23", "--format", "prometheus"]);
    out.expect_status(1);
    for name in [
        "drbook_rto_budget_seconds{runbook=\"db\"} 3600",
        "drbook_estimated_rto_seconds{runbook=\"db\"} 1800",
        "drbook_rpo_objective_seconds{runbook=\"db\"} 300",
        "drbook_last_achieved_rto_seconds{runbook=\"db\"} 60",
        "drbook_last_drill_success{runbook=\"db\",type=\"component\"} 0",
        "drbook_drill_overdue{runbook=\"db\",type=\"tabletop\"} 0",
        "drbook_drill_overdue{runbook=\"db\",type=\"component\"} 1",
        "drbook_changed_since_drill{runbook=\"db\",type=\"full\"} 1",
        "drbook_review_due_timestamp_seconds{runbook=\"db\"} 1798588800",
        "drbook_drill_overdue{runbook=\"web \\\"edge\\\"\",type=\"partial\"} 1",
        "# TYPE drbook_last_drill_timestamp_seconds gauge",
    ] {
        assert!(out.stdout.lines().any(|l| l == name), "no `{name}` in\n{}", out.stdout);
    }
    // Into a file, for node_exporter's textfile collector: replaced whole, readable by it.
    std::fs::write(t.path("drbook.prom"), "old\n").expect("write");
    let args = ["readiness", "rb", "--today", "2026-11-23", "--format", "prometheus"];
    let mut with_output = args.to_vec();
    with_output.extend(["--output", "drbook.prom"]);
    drb(&t, &with_output).expect_status(1);
    assert_eq!(t.read("drbook.prom"), out.stdout);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(t.path("drbook.prom")).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    let leftovers: Vec<_> = std::fs::read_dir(t.path(""))
        .expect("ls")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left: {leftovers:?}");

    // `DRBOOK_PROMTOOL` (set by .ci/run) must work; otherwise promtool on PATH, or SKIPPED.
    let Some(promtool) = crate::promtool::promtool() else {
        println!("SKIPPED: promtool not installed (the Debian package `prometheus` has it)");
        return;
    };
    let checked = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(t.path("drbook.prom")).expect("open"))
        .output()
        .expect("run promtool");
    assert!(
        checked.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn bad_input_exits_2() {
    let t = forged_readiness().file("bad.drbook", "runbook \"bad\" {\n  stepp a {}\n}\n");
    drb(&t, &["readiness", "rb", "--today", "23-11-2026"])
        .expect_status(2)
        .expect_stderr("--today");
    drb(&t, &["readiness", "nowhere"]).expect_status(2).expect_stderr("nowhere");
    drb(&t, &["readiness", "rb/lib.drbook"]).expect_status(2).expect_stderr("module");
    drb(&t, &["readiness", "bad.drbook"]).expect_status(2);
    drb(&t, &["readiness", "rb", "--format", "yaml"]).expect_status(2);
    let dup = t.file("again/db.drbook", &book("db", "2026-10-01", "    full every 1d", STEPS));
    drb(&dup, &["readiness", "rb", "again"]).expect_status(2).expect_stderr("both runbook `db`");
    assert!(!dup.path(STATE).join("runs").join("x").exists());
}

#[test]
fn real_component_and_partial_drills_are_judged_and_listed() {
    let body = "  step lag { duration 1s; safe; run \"echo lag\" }\n  step promote { needs lag; duration 1s; run \"touch promoted\" }\n  step dns { needs promote; duration 1s; run \"true\" }";
    let drills = "    component every 7d\n    partial every 90d";
    let t = Test::new().file("db.drbook", &book("db", &today(), drills, body));
    drb(&t, &["drill", "db.drbook", "--type", "component", "--run-id", "c1"]).expect_status(0);
    assert!(!t.path("promoted").exists(), "a component drill runs only safe steps");
    let v = readiness_json(&t, &["db.drbook", "--today", &today()], 1);
    assert_eq!(drill_of(&v, "component")["overdue"], false, "{v}");
    assert_eq!(drill_of(&v, "partial")["overdue"], true, "{v}");
    let only = ["drill", "db.drbook", "--type", "partial", "--only", "promote", "--run-id", "p1"];
    drb(&t, &only).expect_status(0);
    let v = readiness_json(&t, &["db.drbook", "--today", &today()], 0);
    assert_eq!(drill_of(&v, "partial")["last"]["run_id"], "p1", "{v}");
    // history names each drill's type, and a partial drill's targets.
    let out = drb(&t, &["history", "--format", "json"]);
    out.expect_status(0);
    let h = crate::json(&out);
    let rows = h["runs"].as_array().expect("runs");
    assert_eq!((&rows[0]["kind"], &rows[0]["targets"][0]), (&"partial".into(), &"promote".into()));
    assert_eq!(rows[1]["kind"], "component");
    assert_eq!(rows[1]["achieved_rto_seconds"], Value::Null, "a component drill recovers nothing");
    let text = drb(&t, &["history"]).stdout;
    assert!(text.contains("partial (promote)"), "{text}");
}
