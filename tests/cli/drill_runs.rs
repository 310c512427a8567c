//! `drbook drill --type component|partial|full` with real processes: which steps run (side
//! effects write marker files, read-only probes hit a local HTTP server), how the others are
//! shown (`skipped (drill)`), the drill result in the reports, exit codes, and admission
//! beside an unfinished run.

use crate::httpd::{Reply, Server};
use crate::runkit::{drb, runbook, status_json, step_json, step_states};
use crate::Test;

const PROXY_VARS: [&str; 6] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// A test whose runbook `d.drbook` is `body` with `SRV` replaced by the server's base URL.
fn web(srv: &Server, body: &str) -> Test {
    let rb = runbook("dr", &body.replace("SRV", &srv.url("")));
    let t = PROXY_VARS.iter().fold(Test::new(), |t, k| t.without_env(k));
    t.env("NO_PROXY", "127.0.0.1,localhost").without_env("no_proxy").file("d.drbook", &rb)
}

/// A failover: side-effect steps (markers) around read-only probes (`http GET`).
const FAILOVER: &str = r#"
  step fence   { duration 1s; run "touch fenced"; idempotent }
  step health  { needs fence; duration 1s; http GET "SRV/health" }
  step lag     { needs health; duration 1s; run "touch lagged; echo 3"; capture v from stdout; idempotent }
  step reads   { needs lag; duration 1s; http GET "SRV/lag?v=${steps.lag.v}" }
  step promote { needs health; duration 1s; run "touch promoted"; idempotent }
  step verify  { needs promote; duration 1s; http GET "SRV/health" }
  finally step tell { run "touch told"; idempotent }
"#;

fn server() -> Server {
    let srv = Server::start();
    srv.route("/health", Reply::new(200, "ok")).route("/lag", Reply::new(200, "fine"));
    srv
}

#[test]
fn a_component_drill_runs_only_the_read_only_steps() {
    let srv = server();
    let t = web(&srv, FAILOVER);
    let out = drb(
        &t,
        &["drill", "d.drbook", "--type", "component", "--run-id", "c", "--report", "r.json"],
    );
    out.expect_status(0);
    for marker in ["fenced", "lagged", "promoted", "told"] {
        assert!(!t.path(marker).exists(), "`{marker}`: a component drill changed something");
    }
    assert_eq!(srv.requests_to("/health").len(), 2, "health and verify ran");
    assert!(srv.requests_to("/lag").is_empty(), "reads needs a value of a step not run");
    let states = step_states(&t, "c");
    for s in ["fence", "lag", "reads", "promote", "tell"] {
        assert_eq!(states[s].0, "skipped", "{s}: {states:?}");
    }
    assert_eq!(
        (states["health"].0.as_str(), states["verify"].0.as_str()),
        ("succeeded", "succeeded")
    );
    assert_eq!(step_json(&t, "c", "fence")["skip_reason"], "drill");
    assert_eq!(step_json(&t, "c", "reads")["skip_reason"], "drill: needs a value from lag");
    // The live lines, the status and the report say why.
    assert!(out.stdout.starts_with("component drill c: dr (7 steps"), "{}", out.stdout);
    assert!(out.stdout.contains("- fence skipped (drill)"), "{}", out.stdout);
    assert!(
        out.stdout.contains("- reads skipped (drill: needs a value from lag)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("drill result (component drill): SUCCESS"), "{}", out.stdout);
    let st = drb(&t, &["status", "c"]);
    assert!(st.stdout.contains("kind component drill"), "{}", st.stdout);
    assert!(
        st.stdout.lines().any(|l| l.contains("fence") && l.contains("skipped (drill)")),
        "{}",
        st.stdout
    );
    let report: serde_json::Value = serde_json::from_str(&t.read("r.json")).expect("JSON report");
    let drill = &report["drill"];
    assert_eq!(drill["drill_type"], "component");
    assert_eq!(drill["steps_tested"], serde_json::json!(["health", "verify"]));
    assert_eq!(
        (&drill["success"], &drill["achieved_rto_seconds"]),
        (&true.into(), &serde_json::Value::Null)
    );
    assert_eq!(drill["runbook_hash"].as_str().map(str::len), Some(64));
    assert_eq!(status_json(&t, "c")["kind"], "component");
}

#[test]
fn a_partial_drill_runs_its_targets_and_their_ancestors_only() {
    let srv = server();
    let t = web(&srv, FAILOVER);
    let out =
        drb(&t, &["drill", "d.drbook", "--type", "partial", "--only", "promote", "--run-id", "p"]);
    out.expect_status(0);
    assert!(
        t.path("fenced").exists() && t.path("promoted").exists(),
        "promote and its ancestors ran"
    );
    for marker in ["lagged", "told"] {
        assert!(!t.path(marker).exists(), "`{marker}` is outside the drill");
    }
    let states = step_states(&t, "p");
    let ran: Vec<&str> =
        states.iter().filter(|(_, (s, _))| s == "succeeded").map(|(id, _)| id.as_str()).collect();
    assert_eq!(ran, ["fence", "health", "promote"]);
    let v = status_json(&t, "p");
    assert_eq!(
        (&v["kind"], &v["drill"]["targets"]),
        (&"partial".into(), &serde_json::json!(["promote"]))
    );
    assert!(
        v["drill"]["achieved_rto_seconds"].is_number(),
        "a partial drill measures its RTO: {v}"
    );
    let md = drb(&t, &["report", "p", "--format", "markdown"]);
    assert!(
        md.stdout.contains("## Drill result") && md.stdout.contains("| targets | promote |"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("| `verify` | skipped (drill) |"), "{}", md.stdout);
}

#[test]
fn an_unknown_target_is_refused_with_the_closest_step_and_nothing_runs() {
    let srv = server();
    let t = web(&srv, FAILOVER);
    let out = drb(
        &t,
        &["drill", "d.drbook", "--type", "partial", "--only", "promote,promot", "--run-id", "x"],
    );
    out.expect_status(2)
        .expect_stderr("`--only promot`: there is no step `promot` (did you mean `promote`?)");
    out.expect_stderr("nothing was run");
    assert!(!t.path("fenced").exists() && srv.requests().is_empty());
    assert!(crate::runkit::run_ids(&t).is_empty(), "no run was created");
}

#[test]
fn a_full_drill_runs_like_a_run_and_exits_1_when_it_found_an_issue() {
    let srv = server();
    // A step that fails under `continue`: the run succeeds, the drill finds an issue.
    let body = format!("{FAILOVER}\n  step flaky {{ needs verify; on_failure continue; run \"exit 3\"; idempotent }}\n");
    let t = web(&srv, &body);
    let run = drb(&t, &["run", "d.drbook", "--run-id", "r"]);
    run.expect_status(0);
    let ran = step_states(&t, "r");
    let full = drb(&t, &["drill", "d.drbook", "--type", "full", "--run-id", "f"]);
    assert_eq!(step_states(&t, "f"), ran, "the same step outcomes");
    // The run succeeded; the drill's result is FAILED (an issue found): exit 1, said why.
    full.expect_status(1).expect_stderr("the full drill FAILED: 1 issue(s) found (exit 1)");
    assert!(full.stdout.contains("drill result (full drill): FAILED"), "{}", full.stdout);
    let v = status_json(&t, "f");
    assert_eq!(v["drill"]["issues_found"][0]["step"], "flaky");
    assert_eq!((&v["status"], &status_json(&t, "r")["kind"]), (&"succeeded".into(), &"run".into()));
    // Resumed once over, it exits as it ended.
    drb(&t, &["resume", "f"]).expect_status(1).expect_stderr("the full drill FAILED");
    let list = drb(&t, &["status"]);
    assert!(
        list.stdout.lines().any(|l| l.starts_with("f ") && l.contains(" full ")),
        "{}",
        list.stdout
    );
}

#[test]
fn a_component_drill_is_admitted_beside_a_paused_run_and_a_partial_one_is_not() {
    let srv = server();
    let body = format!("{FAILOVER}\n  step ok {{ needs verify; manual \"say so\" }}\n");
    let t = web(&srv, &body);
    drb(&t, &["run", "d.drbook", "--run-id", "paused"]).expect_status(3);
    drb(&t, &["drill", "d.drbook", "--type", "component", "--run-id", "c"]).expect_status(0);
    let out =
        drb(&t, &["drill", "d.drbook", "--type", "partial", "--only", "health", "--run-id", "p"]);
    out.expect_status(2).expect_stderr("run `paused` of this runbook is unfinished");
}

#[test]
fn a_component_drill_runs_the_safe_steps() {
    let t = Test::new().file(
        "d.drbook",
        &runbook(
            "dr",
            r#"
  step backup  { duration 1s; safe; run "touch backup_checked; echo 42"; capture age from stdout }
  step fence   { needs backup; duration 1s; run "touch fenced"; idempotent }
  step capacity { needs fence; duration 1s; safe; run "touch capacity_checked" }
  step age     { needs fence; duration 1s; safe; run "echo ${steps.backup.age} > age" }
  step promote { needs capacity; duration 1s; run "touch promoted"; idempotent }
"#,
        ),
    );
    drb(&t, &["drill", "d.drbook", "--type", "component", "--run-id", "c"]).expect_status(0);
    for marker in ["backup_checked", "capacity_checked"] {
        assert!(t.path(marker).exists(), "the safe step behind `{marker}` ran");
    }
    assert_eq!(t.read("age"), "42\n", "a safe step reads a value of a safe step that ran");
    assert!(!t.path("fenced").exists() && !t.path("promoted").exists());
    let states = step_states(&t, "c");
    let ran: Vec<&str> =
        states.iter().filter(|(_, (s, _))| s == "succeeded").map(|(id, _)| id.as_str()).collect();
    assert_eq!(ran, ["age", "backup", "capacity"]);
    let tested = &status_json(&t, "c")["drill"]["steps_tested"];
    assert_eq!(tested, &serde_json::json!(["backup", "capacity", "age"]));
}

#[test]
fn a_component_drill_that_rolls_back_runs_no_rollback_action() {
    let srv = server();
    let body = r#"
  step probe { duration 1s; http GET "SRV/health"; rollback run "touch undone" }
  step check { needs probe; duration 1s; safe; on_failure rollback; run "exit 1" }
"#;
    let t = web(&srv, body);
    let out = drb(&t, &["drill", "d.drbook", "--type", "component", "--run-id", "c"]);
    out.expect_status(4);
    assert!(!t.path("undone").exists(), "a component drill changed something while rolling back");
    let probe = step_json(&t, "c", "probe");
    assert_eq!(probe["state"], "not_undone", "{probe}");
    assert_eq!(probe["undo"]["reason"], "drill: a component drill changes nothing", "{probe}");
}

#[test]
fn a_full_drill_and_a_run_end_alike_whether_they_succeed_or_fail() {
    let srv = server();
    let failing =
        format!("{FAILOVER}\n  step broken {{ needs verify; run \"exit 2\"; idempotent }}\n");
    for (body, code) in [(FAILOVER.to_string(), 0), (failing, 1)] {
        let t = web(&srv, &body);
        drb(&t, &["run", "d.drbook", "--run-id", "r"]).expect_status(code);
        drb(&t, &["drill", "d.drbook", "--type", "full", "--run-id", "f"]).expect_status(code);
        assert_eq!(step_states(&t, "f"), step_states(&t, "r"), "the same step outcomes");
        let (run, drill) = (status_json(&t, "r"), status_json(&t, "f"));
        assert_eq!(run["status"], drill["status"]);
        assert_eq!(drill["drill"]["success"], code == 0, "{drill}");
    }
}
