//! The drill notification against a local HTTP server: the Slack-compatible summary posted
//! when a drill ends (not while it is paused; on the resume that ends it), a failed post as a
//! warning that changes no outcome, and a webhook URL that never appears in any output.

use crate::httpd::{Reply, Server};
use crate::runkit::{drb, files_under, runbook, STATE};
use crate::Test;

const PROXY_VARS: [&str; 6] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

fn web(srv: &Server, body: &str) -> Test {
    let rb = runbook("dr", &body.replace("SRV", &srv.url("")));
    let t = PROXY_VARS.iter().fold(Test::new(), |t, k| t.without_env(k));
    t.env("NO_PROXY", "127.0.0.1,localhost").without_env("no_proxy").file("d.drbook", &rb)
}

const BOOK: &str = r#"
  rpo 5m
  step fence  { duration 1s; run "touch fenced"; idempotent }
  step health { needs fence; duration 1s; http GET "SRV/health" }
  step lag    { needs health; duration 1s; http GET "SRV/lag"; capture s from json "seconds"; measure rpo from s }
"#;

/// The one JSON body posted to `path`, as `{"text": ...}`'s text.
#[track_caller]
fn posted(srv: &Server, path: &str) -> String {
    let got = srv.requests_to(path);
    assert_eq!(got.len(), 1, "one notification: {got:?}");
    assert_eq!(
        (got[0].method.as_str(), got[0].header("content-type")),
        ("POST", Some("application/json"))
    );
    let v: serde_json::Value = serde_json::from_slice(&got[0].body).expect("a JSON body");
    v["text"].as_str().expect("a text field").to_string()
}

#[test]
fn a_drill_posts_its_summary_when_it_ends() {
    let srv = Server::start();
    srv.route("/health", Reply::new(200, "ok"))
        .route("/lag", Reply::new(200, r#"{"seconds": 12}"#))
        .route("/hook", Reply::new(200, "ok"));
    let t = web(&srv, BOOK);
    let hook = srv.url("/hook");
    let out =
        drb(&t, &["drill", "d.drbook", "--type", "component", "--notify", &hook, "--run-id", "c"]);
    out.expect_status(0);
    let text = posted(&srv, "/hook");
    assert!(
        text.starts_with("DR Drill Complete: SUCCESS\nRunbook: dr\nType: component\nDuration: "),
        "{text}"
    );
    assert!(text.contains("\nRTO: not measured\nRPO: 12.0s (target: 5m) PASS\n"), "{text}");
    assert!(text.contains("\nSteps tested: 2 (health, lag)\nIssues found: 0\n"), "{text}");
    assert!(out.stdout.contains("drill result posted"), "{}", out.stdout);
}

#[test]
fn a_paused_drill_posts_nothing_and_its_resume_posts_the_end() {
    let srv = Server::start();
    srv.route("/health", Reply::new(200, "ok"))
        .route("/lag", Reply::new(200, r#"{"seconds": 600}"#))
        .route("/hook", Reply::new(200, "ok"));
    let body = format!("{BOOK}\n  step ok {{ needs lag; duration 1s; manual \"look\" }}\n");
    let t = web(&srv, &body);
    let hook = srv.url("/hook");
    let args = [
        "drill", "d.drbook", "--type", "partial", "--only", "ok", "--notify", &hook, "--run-id",
        "p",
    ];
    drb(&t, &args).expect_status(3);
    assert!(srv.requests_to("/hook").is_empty(), "a paused drill has not ended");
    drb(&t, &["approve", "p", "ok"]).expect_status(0);
    let out = drb(&t, &["resume", "p", "--notify", &hook]);
    // The run succeeded, but the RPO was missed: the drill FAILED, exit 1.
    out.expect_status(1).expect_stderr("the partial drill FAILED: the RPO was missed (exit 1)");
    let text = posted(&srv, "/hook");
    assert!(text.starts_with("DR Drill Complete: FAILED\n"), "{text}");
    assert!(text.contains("Type: partial\nTargets: ok\n"), "{text}");
    assert!(text.contains("RPO: 10m (target: 5m) FAIL"), "{text}");
}

#[test]
fn a_failed_post_is_a_warning_and_the_webhook_url_is_never_shown() {
    let srv = Server::start();
    let token = "T0KEN-b7f3c9e1d2";
    srv.route("/health", Reply::new(200, "ok"))
        .route("/lag", Reply::new(200, r#"{"seconds": 1}"#))
        .route(&format!("/hooks/{token}"), Reply::new(500, "down"));
    let t = web(&srv, BOOK);
    let hook = srv.url(&format!("/hooks/{token}"));
    let out = drb(
        &t,
        &[
            "drill",
            "d.drbook",
            "--type",
            "component",
            "--notify",
            &hook,
            "--run-id",
            "c",
            "--report",
            "r.json",
        ],
    );
    out.expect_status(0).expect_stderr("warning: the drill notification was not posted: HTTP 500");
    assert_eq!(srv.requests_to(&format!("/hooks/{token}")).len(), 1);
    let mut seen = vec![out.stdout.clone(), out.stderr.clone(), t.read("r.json")];
    for f in files_under(&t.path(STATE)) {
        seen.push(
            String::from_utf8_lossy(&std::fs::read(&f).expect("read a state file")).into_owned(),
        );
    }
    for cmd in [vec!["status", "c"], vec!["status", "c", "--format", "json"], vec!["report", "c"]] {
        seen.push(drb(&t, &cmd).stdout);
    }
    for s in &seen {
        assert!(!s.contains(token), "the webhook URL leaked:\n{s}");
    }
}

#[test]
fn the_headers_notify_drills_secret_is_posted_to_and_never_shown() {
    let srv = Server::start();
    let token = "T0KEN-5ecret-9f1e";
    srv.route("/health", Reply::new(200, "ok"))
        .route("/lag", Reply::new(200, r#"{"seconds": 1}"#))
        .route(&format!("/hooks/{token}"), Reply::new(200, "ok"));
    let header = "  secret hook = env(\"DRILL_HOOK\")\n  notify_drills hook\n";
    let t = web(&srv, &format!("{header}{BOOK}"))
        .env("DRILL_HOOK", &srv.url(&format!("/hooks/{token}")));
    let out = drb(
        &t,
        &["drill", "d.drbook", "--type", "component", "--run-id", "c", "--report", "r.json"],
    );
    out.expect_status(0);
    let text = posted(&srv, &format!("/hooks/{token}"));
    assert!(text.starts_with("DR Drill Complete: SUCCESS\n"), "{text}");
    let mut seen = vec![out.stdout.clone(), out.stderr.clone(), t.read("r.json")];
    for f in files_under(&t.path(STATE)) {
        seen.push(
            String::from_utf8_lossy(&std::fs::read(&f).expect("read a state file")).into_owned(),
        );
    }
    seen.push(drb(&t, &["status", "c", "--format", "json"]).stdout);
    for s in &seen {
        assert!(!s.contains(token), "the webhook URL leaked:\n{s}");
    }
}
