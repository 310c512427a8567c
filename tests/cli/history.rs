//! `drbook history` (issue 12 §2): every run and drill newest first, from the summaries runners
//! write when they stop; a summary that no longer describes its journal is ignored and the
//! journal replayed; text, JSON, Markdown and SVG; a thousand runs.

use crate::forge::{at, forge, Forged};
use crate::runkit::{drb, kill_when, runbook, STATE};
use crate::Test;
use crate::{golden, report};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

fn history_json(t: &Test, extra: &[&str]) -> Value {
    let mut args = vec!["history", "--format", "json"];
    args.extend(extra);
    let out = drb(t, &args);
    out.expect_status(0);
    crate::json(&out)
}

fn runs(v: &Value) -> Vec<Value> {
    v["runs"].as_array().expect("`runs` is an array").clone()
}

fn summary_path(t: &Test, id: &str) -> std::path::PathBuf {
    t.path(STATE).join("runs").join(id).join("summary.json")
}

const BOOK: &str = r#"  step a { duration 1s; run "true" }
  step b { needs a; duration 1s; run "test ! -e fail" }"#;

#[test]
fn every_runner_stop_leaves_a_private_summary_and_history_lists_runs_newest_first() {
    let t = Test::new().file("q.drbook", &runbook("quick", BOOK));
    drb(&t, &["run", "q.drbook", "--run-id", "r1"]).expect_status(0);
    drb(&t, &["drill", "q.drbook", "--type", "full", "--run-id", "d1"]).expect_status(0);
    std::fs::write(t.path("fail"), "").expect("write");
    drb(&t, &["run", "q.drbook", "--run-id", "r2"]).expect_status(1);
    for id in ["r1", "d1", "r2"] {
        let meta = std::fs::symlink_metadata(summary_path(&t, id)).expect("a summary");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{id}");
    }
    let v = history_json(&t, &[]);
    assert_eq!(v["schema"], "drbook.history/1");
    let rows = runs(&v);
    let ids: Vec<&str> = rows.iter().map(|r| r["run_id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["r2", "d1", "r1"], "newest first");
    assert_eq!(rows[1]["kind"], "full");
    assert_eq!(rows[2]["kind"], "run");
    assert_eq!(rows[2]["status"], "succeeded");
    assert_eq!(rows[2]["success"], true);
    assert_eq!(rows[2]["rto_met"], true);
    assert!(rows[2]["achieved_rto_seconds"].as_f64().is_some_and(|s| s < 60.0), "{}", rows[2]);
    assert_eq!(rows[0]["status"], "failed");
    assert_eq!(rows[0]["success"], false);
    assert_eq!(rows[0]["issues_found"], 1);
    assert_eq!(rows[0]["issues"][0]["step"], "b");
    assert!(rows.iter().all(|r| r["changed_since"] == false), "{v}");
    // The failed run is resumed to success: its summary follows.
    std::fs::remove_file(t.path("fail")).expect("remove");
    drb(&t, &["resume", "r2"]).expect_status(0);
    let rows = runs(&history_json(&t, &[]));
    assert_eq!((&rows[0]["run_id"], &rows[0]["status"]), (&"r2".into(), &"succeeded".into()));

    // The runbook changes: every run proved the old content.
    std::fs::write(t.path("q.drbook"), runbook("quick", "  step a { run \"true\" }")).expect("w");
    let rows = runs(&history_json(&t, &[]));
    assert!(rows.iter().all(|r| r["changed_since"] == true), "{rows:?}");
    std::fs::remove_file(t.path("q.drbook")).expect("remove");
    let rows = runs(&history_json(&t, &["quick"]));
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["changed_since"].is_null()), "the file is gone: {rows:?}");
    assert!(runs(&history_json(&t, &["other"])).is_empty());
}

#[test]
fn a_paused_run_has_a_summary_too() {
    let body = r#"  step gate { duration 1s; manual "Flip the breaker" }"#;
    let t = Test::new().file("m.drbook", &runbook("manual", body));
    drb(&t, &["run", "m.drbook", "--run-id", "m", "--non-interactive"]).expect_status(3);
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(summary_path(&t, "m")).expect("summary"))
            .expect("JSON");
    assert_eq!(s["status"], "paused");
    assert_eq!(runs(&history_json(&t, &[]))[0]["status"], "paused");
}

#[test]
fn a_summary_that_no_longer_describes_its_journal_is_ignored_and_never_rewritten() {
    let t = Test::new().file("q.drbook", &runbook("quick", BOOK));
    drb(&t, &["run", "q.drbook", "--run-id", "r"]).expect_status(0);
    let path = summary_path(&t, "r");
    let real = std::fs::read_to_string(&path).expect("summary");
    let mut v: Value = serde_json::from_str(&real).expect("JSON");
    let shown = |t: &Test| runs(&history_json(t, &[]))[0].clone();

    // A summary that still describes the journal is what history reads (no replay).
    v["started_by"] = "mallory".into();
    std::fs::write(&path, v.to_string()).expect("write");
    assert_eq!(shown(&t)["started_by"], "mallory", "a fresh summary is read, not replayed");

    let forged = |edit: &dyn Fn(&mut Value)| {
        let mut f: Value = serde_json::from_str(&real).expect("JSON");
        f["status"] = "failed".into();
        f["success"] = false.into();
        edit(&mut f);
        f.to_string()
    };
    let cases: Vec<(&str, String)> = vec![
        ("not JSON", "{\"v\": 1, \"run_id\": ".into()),
        ("a journal size that is not the journal's", forged(&|f| f["journal_bytes"] = 7.into())),
        ("a record count the anchor denies", forged(&|f| f["records"] = 3.into())),
        ("another run's", forged(&|f| f["run_id"] = "other".into())),
        ("another format version", forged(&|f| f["v"] = 99.into())),
    ];
    for (what, text) in cases {
        std::fs::write(&path, &text).expect("write");
        let row = shown(&t);
        assert_eq!(row["status"], "succeeded", "{what}: replayed instead\n{row}");
        assert_eq!(row["started_by"], real_user(&real), "{what}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text, "{what}: never rewritten");
    }
    // Others could have written it: not trusted.
    std::fs::write(&path, forged(&|_| ())).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    assert_eq!(shown(&t)["status"], "succeeded", "a world-writable summary is ignored");
    // A link in its place is never followed.
    std::fs::remove_file(&path).expect("remove");
    std::fs::write(t.path("elsewhere.json"), forged(&|_| ())).expect("write");
    std::os::unix::fs::symlink(t.path("elsewhere.json"), &path).expect("symlink");
    assert_eq!(shown(&t)["status"], "succeeded", "a linked summary is ignored");
    assert_eq!(std::fs::read_to_string(t.path("elsewhere.json")).expect("r"), forged(&|_| ()));
}

#[test]
fn a_runner_never_writes_its_summary_through_a_link() {
    let t = Test::new().file("q.drbook", &runbook("quick", BOOK)).file("fail", "");
    drb(&t, &["run", "q.drbook", "--run-id", "r"]).expect_status(1);
    let path = summary_path(&t, "r");
    std::fs::remove_file(&path).expect("remove");
    std::fs::write(t.path("elsewhere.json"), "mine\n").expect("write");
    std::os::unix::fs::symlink(t.path("elsewhere.json"), &path).expect("symlink");
    std::fs::remove_file(t.path("fail")).expect("remove");
    let out = drb(&t, &["resume", "r"]);
    out.expect_status(0).expect_stderr("symbolic link");
    assert_eq!(t.read("elsewhere.json"), "mine\n", "the link's target is untouched");
    assert_eq!(runs(&history_json(&t, &[]))[0]["status"], "succeeded", "replayed");
}

fn real_user(summary: &str) -> Value {
    serde_json::from_str::<Value>(summary).expect("JSON")["started_by"].clone()
}

#[test]
fn a_killed_runner_leaves_no_summary_and_history_replays_the_journal() {
    let body = r#"  step a { duration 1s; run "touch started; sleep 30" }"#;
    let t = Test::new().file("k.drbook", &runbook("killed", body));
    kill_when(&t, &["run", "k.drbook", "--run-id", "k"], "started");
    assert!(!summary_path(&t, "k").exists());
    let row = runs(&history_json(&t, &[]))[0].clone();
    assert_eq!((&row["run_id"], &row["status"]), (&"k".into(), &"interrupted".into()), "{row}");
    assert_eq!(row["achieved_rto_seconds"], Value::Null);
}

#[test]
fn history_is_read_only_and_bad_input_exits_2() {
    let t = Test::new();
    let out = drb(&t, &["history"]);
    out.expect_status(0);
    assert_eq!(out.stdout, "no runs\n");
    assert!(!t.path(STATE).exists(), "history creates no state dir");
    drb(&t, &["history", "--since", "yesterday"]).expect_status(2).expect_stderr("--since");
    drb(&t, &["history", "--format", "pdf"]).expect_status(2);
}

/// Two runbooks, runs and drills at fixed times: every format, byte for byte.
fn forged_history() -> Test {
    let t = Test::new().file("q.drbook", "the current content\n");
    let q = t.path("q.drbook").display().to_string();
    let day = 86_400_000;
    let t0 = 1_795_000_000_000; // 2026-11-18
    let runs = [
        ("q-1", "quick", None, 0, 40 * 60_000, true),
        ("q-2", "quick", Some("full"), day, 50 * 60_000, true),
        ("q-3", "quick", Some("partial"), 2 * day, 20 * 60_000, true),
        ("q-4", "quick", Some("component"), 3 * day, 60_000, true),
        ("q-5", "quick", Some("full"), 4 * day, 70 * 60_000, true),
        ("q-6", "quick", Some("full"), 5 * day, 10 * 60_000, false),
        ("s-1", "slow|db", Some("full"), day / 2, 3 * 3_600_000, true),
    ];
    for (id, book, kind, off, took, ok) in runs {
        forge(
            &t,
            &Forged {
                id,
                runbook: book,
                path: &q,
                hash: if id == "q-6" { CURRENT } else { "00" },
                kind,
                start_ms: t0 + off,
                took_ms: took,
                ok,
                ..Forged::default()
            },
        );
    }
    t
}

/// SHA-256 of "the current content\n".
const CURRENT: &str = "ea973a9813322ebf139c555a9b5a7c187bdf85bab58b11cb633d56a44a9a76a1";

#[test]
fn every_format_is_golden() {
    let t = forged_history();
    let tmp = t.path("").display().to_string();
    let mut failures = Vec::new();
    for (format, file) in [
        ("text", "text.txt"),
        ("json", "history.json"),
        ("markdown", "history.md"),
        ("svg", "chart.svg"),
    ] {
        let out = drb(&t, &["history", "--format", format]);
        out.expect_status(0);
        let shown = out.stdout.replace(tmp.trim_end_matches('/'), "<tmp>");
        if let Err(e) = golden(&format!("tests/golden/history/{file}"), &shown) {
            failures.push(e);
        }
    }
    report(failures);
    // --output writes the same, owner-only; --since and a name narrow the list.
    let out = drb(&t, &["history", "--format", "svg", "--output", "c.svg"]);
    out.expect_status(0);
    assert!(t.read("c.svg").starts_with("<svg"));
    let v = history_json(&t, &["quick", "--since", &at(1_795_000_000_000 + 3 * 86_400_000)]);
    let ids: Vec<String> = runs(&v).iter().map(|r| r["run_id"].to_string()).collect();
    assert_eq!(ids, ["\"q-6\"", "\"q-5\"", "\"q-4\""]);
    let v = history_json(&t, &["q.drbook", "--since", "2026-11-20"]);
    assert_eq!(runs(&v).len(), 4, "a file's runs: both runbooks were started from it");
}

#[test]
fn a_thousand_runs_are_listed_newest_first() {
    let t = Test::new();
    let t0 = 1_795_000_000_000;
    for i in 0..1000_i64 {
        let id = format!("run-{i:04}");
        let book = if i % 2 == 0 { "even" } else { "odd" };
        // Out of order on disk: ids do not sort by time.
        let start = t0 + ((i * 7919) % 1000) * 60_000;
        forge(&t, &Forged { id: &id, runbook: book, start_ms: start, ..Forged::default() });
    }
    let rows = runs(&history_json(&t, &[]));
    assert_eq!(rows.len(), 1000);
    let starts: Vec<&str> = rows.iter().map(|r| r["started_at"].as_str().expect("at")).collect();
    assert!(starts.windows(2).all(|w| w[0] > w[1]), "strictly newest first");
    assert_eq!(starts[999], at(t0));
    assert_eq!(runs(&history_json(&t, &["odd"])).len(), 500);
    assert!(rows.iter().all(|r| r["status"] == "succeeded" && r["achieved_rto_seconds"] == 60.0));
}

#[test]
fn an_interrupted_runner_and_a_rollback_leave_their_summaries() {
    let body = r#"  step a { duration 1s; run "touch started; sleep 30"; rollback run "true" }"#;
    let t = Test::new().file("i.drbook", &runbook("interrupted", body));
    let live = crate::runkit::drb_spawn(&t, &["run", "i.drbook", "--run-id", "i"]);
    crate::runkit::wait_for_file(&t.path("started"), std::time::Duration::from_secs(30));
    live.signal(nix::sys::signal::Signal::SIGINT);
    live.wait().expect_status(130);
    let s: Value = serde_json::from_str(&t.read("state/runs/i/summary.json")).expect("JSON");
    assert_eq!(s["status"], "interrupted", "{s}");
    drb(&t, &["rollback", "i", "--yes", "--interrupted", "a=done"]).expect_status(4);
    let s: Value = serde_json::from_str(&t.read("state/runs/i/summary.json")).expect("JSON");
    assert_eq!(s["status"], "rolled_back", "{s}");
    assert_eq!(runs(&history_json(&t, &[]))[0]["status"], "rolled_back");
}

#[test]
fn a_secret_in_a_failed_step_never_reaches_a_summary_or_the_history() {
    let body = r#"
  secret tok = env("DRBOOK_TEST_TOK")
  step leak { duration 1s; env { T = "${tok}" }; run "echo \"token=$T\" >&2; exit 3" }"#;
    let secret = "s3cr3t-Hist0ry-Tok";
    let t =
        Test::new().file("s.drbook", &runbook("secretive", body)).env("DRBOOK_TEST_TOK", secret);
    drb(&t, &["run", "s.drbook", "--run-id", "s"]).expect_status(1);
    let summary = t.read("state/runs/s/summary.json");
    assert!(summary.contains("token="), "the error carries the stderr tail: {summary}");
    assert!(!summary.contains(secret), "{summary}");
    for format in ["text", "json", "markdown", "svg"] {
        let out = drb(&t, &["history", "--format", format]);
        out.expect_status(0);
        assert!(!out.stdout.contains(secret), "{format}: {}", out.stdout);
    }
}
