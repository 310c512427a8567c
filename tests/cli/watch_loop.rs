//! `drbook watch FILE`, the watcher itself, with real processes: a local HTTP server whose
//! health flips, `drbook watch --once` run round after round on one state dir, and long-running
//! watchers signalled, killed with SIGKILL and started again. What fired is seen in the
//! runbook's own failover step, which appends a line to `failed-over.log` per run.

use crate::httpd::{Reply, Server};
use crate::runkit::{drb, drb_spawn, run_ids, runbook, state};
use crate::Test;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A runbook `name` whose trigger probes `url` (HTTP 2xx is healthy) plus `probes` more,
/// with `settings` (`failures 3`, `requires auto`, ...), an RPO gate step printing `lag`, and
/// a failover step that logs each firing with the ticket the trigger's params gave it.
fn book(name: &str, url: &str, probes: &str, settings: &str, lag: &str) -> String {
    let body = format!(
        r#"  rpo 1m
  drills {{
    full every 30d
  }}
  roles {{
    lead    = ["alice"]
    manager = ["bob"]
  }}
  param ticket = "manual"
  trigger {{
    probe primary http GET "{url}" {{ status 200..299 }}
{probes}
    cooldown 30m
    rpo_gate lag
    params {{ ticket = "AUTO-${{trigger.fired_at}}" }}
{settings}
  }}
  step lag {{
    safe
    duration 1s
    run "echo {lag}"
    capture lag_seconds from stdout
  }}
  step failover {{
    needs lag
    duration 1s
    idempotent
    run "echo fired ${{ticket}} >> failed-over.log"
  }}"#
    );
    runbook(name, &body)
}

fn auto_book(url: &str, failures: u32) -> String {
    book(
        "api",
        url,
        "",
        &format!("    every 200ms\n    failures {failures}\n    requires auto"),
        "5",
    )
}

/// One `drbook watch FILE --once` round.
fn once(t: &Test, extra: &[&str]) -> crate::Output {
    let mut args = vec!["watch", "api.drbook", "--once"];
    args.extend(extra);
    drb(t, &args)
}

/// How many times the failover step ran.
fn firings(t: &Test) -> usize {
    std::fs::read_to_string(t.path("failed-over.log")).map_or(0, |s| s.lines().count())
}

/// `drbook watch status FILE --format json`.
fn status(t: &Test, file: &str) -> Value {
    let out = drb(t, &["watch", "status", file, "--format", "json"]);
    out.expect_status(0);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn phase(t: &Test, file: &str) -> String {
    status(t, file)["state"]["phase"].as_str().unwrap_or_default().to_string()
}

/// Polls `f` every 50 ms until it holds; panics after `limit`.
#[track_caller]
fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn server(status: u16) -> Server {
    let s = Server::start();
    s.route("/health", Reply::new(status, "health"));
    s
}

#[test]
fn fires_after_exactly_n_failed_rounds_then_stays_disarmed_until_ack_and_cooldown_blocks() {
    let s = server(200);
    let t = Test::new().file("api.drbook", &auto_book(&s.url("/health"), 3));
    once(&t, &[]).expect_status(0);
    assert!(drb(&t, &["drill", "api.drbook", "--type", "full"]).status == 0);
    std::fs::remove_file(t.path("failed-over.log")).unwrap_or_else(|e| panic!("{e}"));
    s.route("/health", Reply::new(503, "down"));
    let first = once(&t, &[]);
    first.expect_status(1);
    assert!(
        first.stdout.contains(
            "round 2: failing (1 of 1 probes failed; 1 of 3 consecutive) - primary: HTTP 503"
        ),
        "{}",
        first.stdout
    );
    once(&t, &[]).expect_status(1);
    assert_eq!(firings(&t), 0, "two failed rounds of three never fire");
    let third = once(&t, &[]);
    third.expect_status(1);
    assert_eq!(firings(&t), 1, "{}", third.stdout);
    assert!(third.stdout.contains("fired: run api-"), "{}", third.stdout);
    // The run got the trigger's params and records what started it.
    let log = t.read("failed-over.log");
    assert!(log.starts_with("fired AUTO-20"), "{log}");
    let ids = run_ids(&t);
    let triggered: Vec<_> = ids
        .iter()
        .filter(|id| drb(&t, &["status", id]).stdout.contains("started by the trigger"))
        .collect();
    assert_eq!(triggered.len(), 1, "{ids:?}");
    assert_eq!(phase(&t, "api.drbook"), "disarmed");
    // Disarmed: more failed rounds fire nothing.
    for _ in 0..4 {
        once(&t, &[]).expect_status(1);
    }
    assert_eq!(firings(&t), 1);
    // Acknowledged, still failing, inside the cooldown: blocked, recorded why.
    drb(&t, &["watch", "ack", "api.drbook", "--as", "alice"]).expect_status(0);
    drb(&t, &["watch", "ack", "api.drbook", "--as", "alice"]).expect_status(2);
    for _ in 0..3 {
        once(&t, &[]);
    }
    assert_eq!(firings(&t), 1);
    let st = status(&t, "api.drbook");
    assert_eq!(st["state"]["last_block"]["kind"], "cooldown", "{st}");
    // Health returns: recovered.
    s.route("/health", Reply::new(200, "ok"));
    let ok = once(&t, &[]);
    ok.expect_status(0);
    assert!(ok.stdout.contains("recovered after"), "{}", ok.stdout);
}

#[test]
fn quorum_k_of_n_and_the_rpo_gate() {
    let s = server(503);
    let probes = r#"    probe db run "test -e db-down && exit 1; exit 0""#;
    let settings = "    every 200ms\n    failures 1\n    quorum 2 of 2\n    requires auto";
    let t =
        Test::new().file("api.drbook", &book("api", &s.url("/health"), probes, settings, "120"));
    // One of two probes failing: a healthy round under `quorum 2 of 2`.
    let out = once(&t, &[]);
    out.expect_status(0);
    assert!(out.stdout.contains("round 1: healthy"), "{}", out.stdout);
    std::fs::write(t.path("db-down"), "").unwrap_or_else(|e| panic!("{e}"));
    // Both failing reaches `failures 1`; the gate step measures 120 s against `rpo 1m`.
    let out = once(&t, &[]);
    out.expect_status(1);
    assert!(
        out.stdout.contains("blocked: rpo gate: `lag` measured a lag of 2m over the rpo of 1m"),
        "{}",
        out.stdout
    );
    assert_eq!(firings(&t), 0);
    assert!(run_ids(&t).is_empty());
}

#[test]
fn auto_is_refused_without_a_recent_drill_of_this_content() {
    let s = server(503);
    let t = Test::new().file("api.drbook", &auto_book(&s.url("/health"), 1));
    let out = once(&t, &[]);
    out.expect_status(1);
    assert!(
        out.stdout.contains(
            "blocked: practice rule: no successful full or partial drill of this content"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(firings(&t), 0);
    // A drill of another version of the file does not count either.
    drb(&t, &["drill", "api.drbook", "--type", "full"]);
    let _ = std::fs::remove_file(t.path("failed-over.log"));
    let edited = auto_book(&s.url("/health"), 1).replace("duration 1s", "duration 2s");
    std::fs::write(t.path("api.drbook"), edited).unwrap_or_else(|e| panic!("{e}"));
    let out = once(&t, &[]);
    assert!(out.stdout.contains("drilled another version of the file"), "{}", out.stdout);
    assert_eq!(firings(&t), 0);
    // Back to the drilled content: allowed, it fires.
    std::fs::write(t.path("api.drbook"), auto_book(&s.url("/health"), 1))
        .unwrap_or_else(|e| panic!("{e}"));
    once(&t, &[]);
    once(&t, &[]);
    assert_eq!(firings(&t), 1);
}

#[test]
fn a_dry_run_records_the_firing_and_starts_nothing() {
    let s = server(503);
    let t = Test::new().file("api.drbook", &auto_book(&s.url("/health"), 1));
    drb(&t, &["drill", "api.drbook", "--type", "full"]);
    let _ = std::fs::remove_file(t.path("failed-over.log"));
    let out = once(&t, &["--dry-run"]);
    out.expect_status(1);
    assert!(out.stdout.contains("fired (dry run)"), "{}", out.stdout);
    assert_eq!(firings(&t), 0);
    assert_ne!(phase(&t, "api.drbook"), "disarmed");
}

#[test]
fn no_trigger_block_and_a_second_watcher_are_refused() {
    let s = server(200);
    let t = Test::new().file("api.drbook", &auto_book(&s.url("/health"), 3)).file(
        "plain.drbook",
        &runbook("plain", "  step a {\n    duration 1s\n    idempotent\n    run \"true\"\n  }"),
    );
    let out = drb(&t, &["watch", "plain.drbook", "--once"]);
    out.expect_status(2);
    assert!(out.stderr.contains("has no `trigger` block"), "{}", out.stderr);
    let st = state(&t);
    let first = drb_spawn(&t, &["watch", "api.drbook"]);
    wait_until(Duration::from_secs(20), "a round", || {
        t.path("state").join("watch").exists()
            && status(&t, "api.drbook")["rounds"].as_array().is_some_and(|r| !r.is_empty())
    });
    let second = drb(&t, &["watch", "api.drbook", "--once"]);
    second.expect_status(2);
    assert!(
        second.stderr.contains(&format!("another watcher (pid {}) is watching `api`", first.pid())),
        "{}",
        second.stderr
    );
    first.signal(nix::sys::signal::Signal::SIGTERM);
    let out = first.wait();
    out.expect_status(0);
    assert!(out.stdout.contains("stopped: SIGTERM received"), "{}", out.stdout);
    let transitions = status(&t, "api.drbook")["transitions"].to_string();
    assert!(transitions.contains("watch_stopped"), "{transitions} {st}");
}

#[test]
fn a_watcher_killed_after_firing_does_not_fire_twice_when_started_again() {
    let s = server(200);
    let t = Test::new().file("api.drbook", &auto_book(&s.url("/health"), 2));
    drb(&t, &["drill", "api.drbook", "--type", "full"]);
    let _ = std::fs::remove_file(t.path("failed-over.log"));
    let w = drb_spawn(&t, &["watch", "api.drbook"]);
    s.route("/health", Reply::new(503, "down"));
    wait_until(Duration::from_secs(30), "the first firing", || firings(&t) == 1);
    w.signal(nix::sys::signal::Signal::SIGKILL);
    let killed = w.wait();
    assert_eq!(killed.status, -9);
    // Started again while the outage goes on: disarmed, it never fires again.
    let again = drb_spawn(&t, &["watch", "api.drbook"]);
    wait_until(Duration::from_secs(20), "rounds after the restart", || {
        status(&t, "api.drbook")["rounds"].as_array().is_some_and(|r| r.len() >= 8)
    });
    assert_eq!(firings(&t), 1);
    assert_eq!(phase(&t, "api.drbook"), "disarmed");
    // Acknowledged from another shell while it runs: the cooldown still blocks.
    drb(&t, &["watch", "ack", "api.drbook", "--as", "alice"]).expect_status(0);
    wait_until(Duration::from_secs(20), "a cooldown block", || {
        status(&t, "api.drbook")["state"]["last_block"]["kind"] == "cooldown"
    });
    again.signal(nix::sys::signal::Signal::SIGTERM);
    again.wait().expect_status(0);
    assert_eq!(firings(&t), 1);
}

#[test]
fn approval_from_another_shell_fires_and_transitions_are_posted() {
    let s = server(503);
    s.route("/hook", Reply::new(200, "ok"));
    let settings = format!(
        "    every 200ms\n    failures 2\n    requires approval {{ by lead, manager; timeout 10m }}\n    notify \"{}\"",
        s.url("/hook")
    );
    let t = Test::new().file("api.drbook", &book("api", &s.url("/health"), "", &settings, "5"));
    let w = drb_spawn(&t, &["watch", "api.drbook", "--log-format", "json"]);
    wait_until(Duration::from_secs(20), "awaiting approval", || {
        phase(&t, "api.drbook") == "awaiting_approval"
    });
    assert_eq!(firings(&t), 0);
    let refused = drb(&t, &["watch", "approve", "api.drbook", "--as", "mallory"]);
    refused.expect_status(2);
    drb(&t, &["watch", "approve", "api.drbook", "--as", "alice"]).expect_status(0);
    assert_eq!(firings(&t), 0, "one role of two approved");
    drb(&t, &["watch", "approve", "api.drbook", "--as", "bob"]).expect_status(0);
    wait_until(Duration::from_secs(20), "the firing", || firings(&t) == 1);
    wait_until(Duration::from_secs(20), "the run's end", || {
        status(&t, "api.drbook")["state"]["last_run_status"] == "succeeded"
    });
    w.signal(nix::sys::signal::Signal::SIGTERM);
    let out = w.wait();
    out.expect_status(0);
    let lines: Vec<Value> =
        out.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let events: Vec<&str> =
        lines.iter().filter(|v| v["type"] == "event").filter_map(|v| v["event"].as_str()).collect();
    for e in [
        "watch_started",
        "degraded",
        "awaiting_approval",
        "approved",
        "fired",
        "disarmed",
        "run_ended",
        "watch_stopped",
    ] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
    assert!(lines.iter().any(|v| v["type"] == "round" && v["healthy"] == false));
    let posted: Vec<Value> = s
        .requests_to("/hook")
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect();
    let kinds: Vec<&str> = posted.iter().filter_map(|v| v["event"].as_str()).collect();
    assert!(kinds.contains(&"awaiting_approval") && kinds.contains(&"fired"), "{kinds:?}");
    let asked =
        posted.iter().find(|v| v["event"] == "awaiting_approval").map(|v| v["detail"].to_string());
    assert!(asked.is_some_and(|d| d.contains("watch approve api.drbook --as NAME")));
}
