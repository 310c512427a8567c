//! The `http` and `notify` actions against a real server on 127.0.0.1 ([`crate::httpd`]):
//! expectations and their failure messages, timeouts, redirects, large bodies and captures,
//! retries, webhook payloads, rollback, Ctrl-C, proxies from the environment, and secrets that
//! never leave the process.

use crate::httpd::{Reply, Server};
use crate::runkit::{drb, drb_spawn, files_under, journal, runbook, status_json, step_states};
use crate::runkit::{journal_path, STATE};
use crate::Test;
use std::time::Duration;

const PROXY_VARS: [&str; 6] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// A test whose runbook `w.drbook` is `body` with `SRV` replaced by the server's base URL,
/// run without any proxy from the environment.
fn web(srv: &Server, body: &str) -> Test {
    let rb = runbook("web", &body.replace("SRV", &srv.url("")));
    let t = PROXY_VARS.iter().fold(Test::new(), |t, k| t.without_env(k));
    t.env("NO_PROXY", "127.0.0.1,localhost").without_env("no_proxy").file("w.drbook", &rb)
}

/// The error journaled for `step` in run `id`.
fn error_of(t: &Test, id: &str, step: &str) -> String {
    let st = status_json(t, id);
    let steps = st["steps"].as_array().expect("steps").clone();
    let s = steps.iter().find(|s| s["id"] == step).expect("the step is in the run");
    s["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_status_outside_the_expectation_fails_with_the_status_and_the_body_start() {
    let srv = Server::start();
    srv.route("/health", Reply::new(503, r#"{"status":"down","detail":"db"}"#));
    let t = web(&srv, r#"  step probe { duration 1s; http GET "SRV/health"; idempotent }"#);
    let out = drb(&t, &["run", "w.drbook", "--run-id", "s"]);
    let want = format!(
        r#"HTTP 503 from GET {} (expected 200..299): {{"status":"down","detail":"db"}}"#,
        srv.url("/health")
    );
    out.expect_status(1).expect_stderr(&want);
    assert!(out.stdout.contains(&format!("GET {} → 503 (", srv.url("/health"))), "{}", out.stdout);
    assert_eq!(error_of(&t, "s", "probe"), want);
    assert_eq!(srv.requests_to("/health").len(), 1, "one request per attempt");
}

#[test]
fn status_codes_lists_and_ranges_are_expectations() {
    let srv = Server::start();
    srv.route("/created", Reply::new(201, "made"))
        .route("/gone", Reply::new(204, ""))
        .route("/accepted", Reply::new(202, "queued\n\tlater"));
    let t = web(
        &srv,
        r#"
  step exact  { duration 1s; http POST "SRV/created" { status 201 }; idempotent }
  step listed { duration 1s; http DELETE "SRV/gone" { status [200, 204] }; idempotent }
  step ranged { duration 1s; http GET "SRV/missing" { status 400..499 }; idempotent }
  step wrong  {
    needs exact, listed, ranged
    duration 1s
    http GET "SRV/accepted" { status [200, 204] }
    idempotent
  }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--run-id", "c"]);
    out.expect_status(1).expect_stderr(&format!(
        "HTTP 202 from GET {} (expected [200, 204]): queued\\n\\tlater",
        srv.url("/accepted")
    ));
    let states = step_states(&t, "c");
    for s in ["exact", "listed", "ranged"] {
        assert_eq!(states[s].0, "succeeded", "{s}: {states:?}");
    }
    assert_eq!(states["wrong"].0, "failed");
    assert_eq!(srv.requests_to("/gone")[0].method, "DELETE");
}

#[test]
fn body_contains_passes_on_a_match_and_says_so_when_it_fails() {
    let srv = Server::start();
    srv.route("/version", Reply::new(200, r#"{"version":"2.4.1","primary":"us-west-2"}"#));
    let t = web(
        &srv,
        r#"
  param region = "us-west-2"
  step moved { duration 1s; http GET "SRV/version" { body_contains "\"primary\":\"${region}\"" }; idempotent }
  step newer { needs moved; duration 1s; http GET "SRV/version" { body_contains "2.5" }; idempotent }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--run-id", "b"]);
    out.expect_status(1).expect_stderr(&format!(
        r#"the body of GET {} (HTTP 200) does not contain "2.5": {{"version":"2.4.1""#,
        srv.url("/version")
    ));
    assert_eq!(step_states(&t, "b")["moved"].0, "succeeded");
}

#[test]
fn a_slow_answer_fails_at_the_steps_timeout() {
    let srv = Server::start();
    srv.route("/slow", Reply::new(200, "late").after(Duration::from_secs(6)));
    let t = web(
        &srv,
        r#"  step wait_for_it { duration 1s; timeout 1s; http GET "SRV/slow"; idempotent }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--run-id", "t"]);
    out.expect_status(1).expect_stderr("timed out after 1s");
    assert!(out.elapsed < Duration::from_secs(5), "the timeout held: {:?}", out.elapsed);
    assert_eq!(
        error_of(&t, "t", "wait_for_it"),
        format!("GET {} timed out after 1s", srv.url("/slow"))
    );
}

#[test]
fn a_refused_connection_is_named() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address").port()
    };
    let srv = Server::start();
    let body = format!(
        r#"  step probe {{ duration 1s; http GET "http://127.0.0.1:{port}/x"; idempotent }}"#
    );
    let t = web(&srv, &body);
    let out = drb(&t, &["run", "w.drbook"]);
    out.expect_status(1).expect_stderr(&format!("connection refused to 127.0.0.1:{port}"));
}

#[test]
fn redirects_are_followed_up_to_ten() {
    let srv = Server::start();
    srv.route("/old", Reply::redirect("/new"))
        .route("/new", Reply::new(200, "moved here"))
        .route("/loop", Reply::redirect("/loop"));
    let t = web(
        &srv,
        r#"
  step follow { duration 1s; http GET "SRV/old" { body_contains "moved here" }; capture page from stdout; idempotent }
  step spin   { needs follow; duration 1s; http GET "SRV/loop"; idempotent }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--run-id", "r"]);
    out.expect_status(1).expect_stderr("too many redirects (at most 10 redirects are followed)");
    assert_eq!(step_states(&t, "r")["follow"].0, "succeeded");
    assert_eq!(srv.requests_to("/new").len(), 1);
    assert_eq!(srv.requests_to("/new")[0].header("referer"), None, "no Referer is sent");
    assert_eq!(srv.requests_to("/loop").len(), 11, "the first request and ten redirects");
    let records = journal(&t, "r");
    let done = records.iter().find(|r| r["event"] == "step_succeeded").expect("follow succeeded");
    assert_eq!(done["captures"]["page"], "moved here");
}

#[test]
fn a_large_json_body_feeds_json_and_regex_captures_and_a_huge_one_is_cut() {
    let srv = Server::start();
    let doc = format!(
        r#"{{"pad":"{}","build":{{"version":"v1.2.3"}},"replicas": 42}}"#,
        "x".repeat(3 << 20)
    );
    srv.route("/big", Reply::new(200, doc).header("Content-Type", "application/json"))
        .route("/huge", Reply::new(200, "y".repeat(6 << 20)));
    let t = web(
        &srv,
        r#"
  step big {
    duration 1s
    http GET "SRV/big"
    capture version from json "build.version"
    capture replicas from regex "\"replicas\":\s*(\d+)"
    check replicas == 42
    idempotent
  }
  step use  { needs big; duration 1s; run "echo ${steps.big.version} > seen"; idempotent }
  step huge { duration 1s; http GET "SRV/huge"; idempotent }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--run-id", "l"]);
    out.expect_status(0);
    assert_eq!(t.read("seen"), "v1.2.3\n");
    assert!(out.stdout.contains("3.0 MB)"), "{}", out.stdout);
    assert!(out.stdout.contains("first 4.0 MB kept)"), "{}", out.stdout);
}

#[test]
fn retries_until_the_service_is_healthy() {
    let srv = Server::start();
    srv.route("/health", Reply::new(200, r#"{"status":"ok"}"#).unhealthy_first(3));
    let t = web(
        &srv,
        r#"  step healthy { duration 1s; http GET "SRV/health"; retry 5 every 100ms; idempotent }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--run-id", "h"]);
    out.expect_status(0);
    assert_eq!(step_states(&t, "h")["healthy"], ("succeeded".to_string(), 4));
    assert_eq!(srv.requests_to("/health").len(), 4);
    assert!(
        out.stdout.contains(r#"HTTP 503 from GET"#),
        "failed attempts are shown: {}",
        out.stdout
    );
}

#[test]
fn notify_posts_the_interpolated_text_as_json() {
    let srv = Server::start();
    srv.route("/hook", Reply::new(200, "ok"));
    let t = web(
        &srv,
        r#"
  param dr = "us-west-2"
  param ticket: string
  step announce { duration 1s; notify "SRV/hook" "Failover to ${dr} started (ticket ${ticket}, run ${run.id}) \"quoted\""; idempotent }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--param", "ticket=CHG-7", "--run-id", "n1"]);
    out.expect_status(0);
    let got = srv.requests_to("/hook");
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("content-type"), Some("application/json"));
    let payload: serde_json::Value = serde_json::from_slice(&req.body).expect("the body is JSON");
    assert_eq!(
        payload,
        serde_json::json!({"text": "Failover to us-west-2 started (ticket CHG-7, run n1) \"quoted\""})
    );
}

#[test]
fn a_notify_answered_with_an_error_fails() {
    let srv = Server::start();
    srv.route("/hook", Reply::new(500, "invalid_token"));
    let t = web(&srv, r#"  step announce { duration 1s; notify "SRV/hook" "hello"; idempotent }"#);
    let out = drb(&t, &["run", "w.drbook"]);
    out.expect_status(1).expect_stderr(&format!(
        "HTTP 500 from POST {} (expected 200..299): invalid_token",
        srv.url("/hook")
    ));
}

/// Distinctive, so a leak of any part of it is found.
const TOKEN: &str = "tok-Z9q8R7s6T5u4";

#[test]
fn a_secret_in_the_url_a_header_or_the_body_never_leaves_the_process() {
    let srv = Server::start();
    // The server echoes the token back in failure bodies and in a capture.
    srv.route("/api", Reply::new(500, format!("bad key {TOKEN}, try again")))
        .route("/whoami", Reply::new(200, format!(r#"{{"user":"ops","key":"{TOKEN}"}}"#)))
        .route("/hook/T0/B1", Reply::new(403, format!("no_access for {TOKEN}")));
    let t = web(
        &srv,
        r#"
  secret tok  = env("DRBOOK_TEST_HTTP_TOKEN")
  secret hook = env("DRBOOK_TEST_HOOK")
  step whoami {
    duration 1s
    http GET "SRV/whoami?key=${tok}" { header "Authorization" = "Bearer ${tok}" }
    capture key from json "key"
    idempotent
  }
  step call {
    needs whoami
    duration 1s
    on_failure continue
    http POST "SRV/api?key=${tok}" {
      header "X-Key" = "${tok}"
      body   "{\"token\": \"${tok}\", \"seen\": \"${steps.whoami.key}\"}"
    }
    idempotent
  }
  step tell { needs whoami; duration 1s; notify "${hook}" "key ${tok} rotated"; idempotent }"#,
    )
    .env("DRBOOK_TEST_HTTP_TOKEN", TOKEN)
    .env("DRBOOK_TEST_HOOK", &srv.url("/hook/T0/B1"));
    let run = drb(&t, &["run", "w.drbook", "--run-id", "sec", "--report", "r.json"]);
    run.expect_status(1);
    let json_log = drb(&t, &["resume", "sec", "--log-format", "json", "--report", "r.md"]);
    let outputs = [
        ("run", run),
        ("resume", json_log),
        ("status", drb(&t, &["status", "sec"])),
        ("status json", drb(&t, &["status", "sec", "--format", "json"])),
    ];
    for (what, out) in &outputs {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text.contains("Z9q8R7"),
                "the secret leaked to the {stream} of {what}:\n{text}"
            );
            assert!(!text.contains("/hook/T0"), "the webhook leaked to the {stream} of {what}");
        }
    }
    let run = &outputs[0].1;
    assert!(run.stdout.contains("GET http://127.0.0.1:"), "{}", run.stdout);
    assert!(run.stdout.contains("/whoami?key=<secret:tok> → 200"), "{}", run.stdout);
    assert!(run.stdout.contains("POST <secret:hook> → 403"), "{}", run.stdout);
    assert!(
        run.stdout.contains("(expected 200..299): bad key <secret:tok>, try again"),
        "{}",
        run.stdout
    );
    run.expect_stderr(
        "HTTP 403 from POST <secret:hook> (expected 200..299): no_access for <secret:tok>",
    );

    let mut files = files_under(&t.path(STATE));
    files.extend([t.path("r.json"), t.path("r.md")]);
    assert!(files.contains(&journal_path(&t, "sec")), "the journal is searched: {files:?}");
    assert!(files.iter().any(|f| f.to_string_lossy().contains("logs")), "logs too: {files:?}");
    for f in &files {
        let text =
            String::from_utf8_lossy(&std::fs::read(f).expect("read a state file")).into_owned();
        assert!(
            !text.contains("Z9q8R7") && !text.contains("/hook/T0"),
            "secret in {}",
            f.display()
        );
    }

    // The server did get the real values.
    let api = &srv.requests_to("/api")[0];
    assert_eq!(api.path, format!("/api?key={TOKEN}"));
    assert_eq!(api.header("x-key"), Some(TOKEN));
    let body: serde_json::Value = serde_json::from_slice(&api.body).expect("JSON body");
    assert_eq!(body, serde_json::json!({"token": TOKEN, "seen": TOKEN}));
    let who = &srv.requests_to("/whoami")[0];
    assert_eq!(who.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    let hook = &srv.requests_to("/hook/T0/B1")[0];
    assert_eq!(hook.body_text(), format!(r#"{{"text":"key {TOKEN} rotated"}}"#));
}

#[test]
fn http_and_notify_rollbacks_run_newest_first_when_the_run_rolls_back() {
    let srv = Server::start();
    srv.route("/deploy", Reply::new(201, "deployed"))
        .route("/undo", Reply::new(200, "undone"))
        .route("/hook", Reply::new(200, "ok"))
        .route("/verify", Reply::new(503, "still broken"));
    let t = web(
        &srv,
        r#"
  step deploy {
    duration 1s
    http POST "SRV/deploy" { body "v2" }
    rollback http POST "SRV/undo" { header "X-Run" = "${run.id}"; body "undo v2" }
  }
  step announce {
    needs deploy
    duration 1s
    notify "SRV/hook" "deployed v2"
    rollback notify "SRV/hook" "rolling back ${runbook.name}"
  }
  step verify { needs announce; duration 1s; on_failure rollback; http GET "SRV/verify"; idempotent }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--run-id", "rb1"]);
    out.expect_status(4);
    let states = step_states(&t, "rb1");
    assert_eq!(states["deploy"].0, "undone");
    assert_eq!(states["announce"].0, "undone");
    let paths: Vec<String> = srv.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/deploy", "/hook", "/verify", "/hook", "/undo"], "the order of calls");
    let undo = &srv.requests_to("/undo")[0];
    assert_eq!((undo.method.as_str(), undo.body_text().as_str()), ("POST", "undo v2"));
    assert_eq!(undo.header("x-run"), Some("rb1"));
    let told = &srv.requests_to("/hook")[1];
    assert_eq!(told.body_text(), r#"{"text":"rolling back web"}"#);
}

#[test]
fn ctrl_c_aborts_a_request_in_flight() {
    let srv = Server::start();
    srv.route("/slow", Reply::new(200, "late").after(Duration::from_secs(20)));
    let t = web(&srv, r#"  step probe { duration 1s; http GET "SRV/slow"; idempotent }"#);
    let live = drb_spawn(&t, &["run", "w.drbook", "--run-id", "c"]);
    srv.wait_for("/slow", Duration::from_secs(30));
    live.signal(nix::sys::signal::Signal::SIGINT);
    let out = live.wait();
    out.expect_status(130);
    assert!(out.elapsed < Duration::from_secs(15), "stopped at once: {:?}", out.elapsed);
    assert_eq!(step_states(&t, "c")["probe"].0, "interrupted");
}

#[test]
fn proxies_come_from_the_environment_and_no_proxy_star_turns_them_off() {
    let proxy = Server::start();
    proxy.route("http://service.example.invalid/health", Reply::new(200, "via proxy"));
    let rb = runbook(
        "proxied",
        r#"  step probe { duration 1s; http GET "http://service.example.invalid/health" { body_contains "via proxy" }; idempotent }"#,
    );
    let clean = || PROXY_VARS.iter().fold(Test::new(), |t, k| t.without_env(k));
    let t = clean()
        .without_env("NO_PROXY")
        .without_env("no_proxy")
        .env("HTTP_PROXY", &proxy.url(""))
        .file("p.drbook", &rb);
    drb(&t, &["run", "p.drbook"]).expect_status(0);
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "http://service.example.invalid/health", "absolute form: a proxy");

    let direct = Server::start();
    direct.route("/health", Reply::new(200, "direct"));
    let rb = runbook(
        "direct",
        &r#"  step probe { duration 1s; http GET "SRV/health"; idempotent }"#
            .replace("SRV", &direct.url("")),
    );
    let t = clean().env("HTTP_PROXY", &proxy.url("")).env("NO_PROXY", "*").file("d.drbook", &rb);
    drb(&t, &["run", "d.drbook"]).expect_status(0);
    assert_eq!(direct.requests_to("/health").len(), 1);
    assert_eq!(proxy.requests().len(), 1, "the proxy saw nothing more");
}

#[test]
fn dry_run_shows_what_each_http_and_notify_step_would_send() {
    let srv = Server::start();
    let t = web(
        &srv,
        r#"
  param region = "eu-west-1"
  secret hook = env("DRBOOK_TEST_HOOK_UNSET")
  step probe { duration 5s; http GET "SRV/health?region=${region}"; idempotent }
  step tell  { needs probe; duration 1s; notify "${hook}" "moved to ${region}"; idempotent }"#,
    );
    let out = drb(&t, &["run", "w.drbook", "--dry-run"]);
    out.expect_status(0);
    let probe = out.stdout.lines().find(|l| l.contains(" probe ")).unwrap_or_default();
    assert!(
        probe.ends_with(&format!("sends GET {}", srv.url("/health?region=eu-west-1"))),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(r#"sends POST <secret:hook> "moved to eu-west-1""#),
        "{}",
        out.stdout
    );
    assert!(srv.requests().is_empty(), "a dry run sends nothing");
    assert!(!t.path(STATE).exists(), "and writes nothing");
}

#[test]
fn without_a_trust_store_http_still_works_and_https_says_why() {
    let srv = Server::start();
    srv.route("/health", Reply::new(200, "ok"));
    let https = srv.url("/health").replace("http://", "https://");
    let body = format!(
        r#"
  step plain  {{ duration 1s; http GET "SRV/health"; idempotent }}
  step secure {{ needs plain; duration 1s; http GET "{https}"; idempotent }}"#
    );
    let t = web(&srv, &body).env("SSL_CERT_FILE", "/dev/null").env("SSL_CERT_DIR", "/nonexistent");
    let out = drb(&t, &["run", "w.drbook", "--run-id", "ca"]);
    out.expect_status(1)
        .expect_stderr("cannot verify TLS certificates")
        .expect_stderr("SSL_CERT_FILE");
    assert_eq!(step_states(&t, "ca")["plain"].0, "succeeded");
    assert_eq!(srv.requests_to("/health").len(), 1, "the https request was never sent");
}
