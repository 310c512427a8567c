//! `drbook watch` end to end (issue 14, "Done when"): real watcher processes probing a local
//! HTTP server whose health the test flips while they run. Each test is one promise: the
//! trigger fires after exactly `failures` failed rounds; the quorum; the cooldown, also across
//! a `kill -9` and a restart; the disarm surviving a `kill -9`; the RPO gate; approval and
//! denial from another shell; `requires auto` and the practice-run rule; disarm and `ack`;
//! `--once` exit codes, a runbook without a trigger, one watcher per runbook; `--dry-run` and
//! SIGTERM; the RTO clock starting at the first failed round; `--log-format json`; secrets in
//! probes never shown; every transition posted to the `notify` webhook.
//!
//! Rounds are 300 ms apart so the tests are quick; every wait polls the watcher's output for
//! up to a minute (the harness is in `watch_e2e/kit.rs`), never a fixed sleep.

mod kit;

use crate::runkit::{drb, files_under, journal, runbook, STATE};
use kit::{
    book, drill, events, ms, probe_a, real_runs, rounds, run_started, test_with, wait_run,
    wait_run_ended, watch_status, Health, Watcher,
};
use nix::sys::signal::Signal;
use serde_json::Value;

/// The settings most tests share: quick rounds, 3 failures, fire without a person.
fn auto(h: &Health, cooldown: &str) -> String {
    format!("{}\nevery 300ms\nfailures 3\ncooldown {cooldown}\nrequires auto", probe_a(h))
}

/// `drbook watch f.drbook --log-format json [more]`.
fn watch_json(t: &crate::Test, more: &[&str]) -> Watcher {
    let mut args = vec!["watch", "f.drbook", "--log-format", "json"];
    args.extend(more);
    Watcher::start(t, &args)
}

/// The field `k` of `v` as a string (panics naming `v` when it is not one).
#[track_caller]
fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("`{k}` is not a string in {v}"))
}

/// How many lines of the file `effects` say `failed-over` (the drill's and each run's).
fn failovers(t: &crate::Test) -> usize {
    crate::runkit::count(&t.path("effects"), "failed-over")
}

#[test]
fn fires_after_exactly_n_failed_rounds_and_not_before() {
    let h = Health::start();
    let trigger =
        format!("{}\nparams {{ change_ticket = \"AUTO-${{trigger.fired_at}}\" }}", auto(&h, "0s"));
    let t = test_with(&book("orders", "", &trigger, ""));
    drill(&t);
    let mut w = Watcher::start(&t, &["watch", "f.drbook"]);
    w.line(" round 1: healthy");
    h.set("/a", false);
    let id = w.until("`fired: run ID`", |ls| {
        ls.iter()
            .find_map(|l| l.split_once(" fired: run "))
            .map(|(_, id)| id.split_whitespace().next().unwrap_or_default().to_string())
    });
    let lines = w.lines();
    let fired = lines.iter().position(|l| l.contains(" fired: run ")).expect("the fired line");
    let failing: Vec<&String> =
        lines[..fired].iter().filter(|l| l.contains(": failing (")).collect();
    assert_eq!(failing.len(), 3, "exactly 3 failed rounds before firing\n{}", w.dump());
    for (n, l) in failing.iter().enumerate() {
        let want = format!("(1 of 1 probes failed; {} of 3 consecutive) - primary: ", n + 1);
        assert!(l.contains(&want), "{l:?} should contain {want:?}\n{}", w.dump());
    }
    // The run began after the third failed round, so there was none after the second.
    let third_at = failing[2].split_whitespace().next().expect("a time first");
    let started = run_started(&t, &id);
    assert!(ms(s(&started, "at")) >= ms(third_at), "{started}\n{}", w.dump());
    assert_eq!(real_runs(&t).len(), 1, "one run, the trigger's");
    let trigger = &started["trigger"];
    assert_eq!(trigger["by"], "auto", "run_started records the trigger: {started}");
    assert_eq!(trigger["watcher_pid"].as_u64(), Some(u64::from(w.pid())), "{started}");
    assert_eq!(trigger["evidence"][0]["name"], "primary", "{started}");
    assert_eq!(trigger["evidence"][0]["ok"], false, "{started}");
    assert_eq!(trigger["detected_at"], started["clock_start"], "{started}");
    let ticket = started["params"]["change_ticket"].as_str().unwrap_or_default();
    assert!(ticket.starts_with("AUTO-20"), "the trigger's params: {started}");
    assert_eq!(wait_run_ended(&t, &id), "succeeded");
    assert_eq!(failovers(&t), 2, "the drill's and the run's");
    w.stop(Signal::SIGTERM).expect_status(0);
}

#[test]
fn quorum_two_of_two_one_failing_probe_does_not_fail_the_round_both_do() {
    let h = Health::start();
    let trigger = format!(
        "{}\nprobe secondary http GET \"{}\" {{ status 200..299 }}\nevery 300ms\nfailures 5\nquorum 2 of 2\nrequires auto",
        probe_a(&h),
        h.url("/b")
    );
    let t = test_with(&book("quorum", "", &trigger, ""));
    let once = |more: &[&str]| {
        let mut args = vec!["watch", "f.drbook", "--once"];
        args.extend(more);
        drb(&t, &args)
    };
    once(&[]).expect_status(0);
    h.set("/a", false);
    let out = once(&[]);
    out.expect_status(0);
    assert!(out.stdout.contains(": healthy") && !out.stdout.contains("failing"), "{}", out.stdout);
    let out = once(&["--log-format", "json"]);
    out.expect_status(0);
    let round = rounds(&json_lines(&out.stdout)).pop().expect("a round line");
    assert_eq!(
        (round["healthy"].as_bool(), round["failed"].as_u64()),
        (Some(true), Some(1)),
        "{round}"
    );
    assert_eq!(round["of"], 2, "{round}");
    let primary = probe(&round, "primary");
    assert_eq!(primary["ok"], false, "{round}");
    assert_eq!(probe(&round, "secondary")["ok"], true, "{round}");

    h.set("/b", false);
    let out = once(&[]);
    out.expect_status(1);
    assert!(
        out.stdout.contains(": failing (2 of 2 probes failed; 1 of 5 consecutive)"),
        "{}",
        out.stdout
    );
}

/// The probe named `name` of a round line.
#[track_caller]
fn probe<'a>(round: &'a Value, name: &str) -> &'a Value {
    round["probes"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no probe `{name}` in {round}"))
}

/// Every line of `text` parsed as JSON; panics on one that is not.
#[track_caller]
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

#[test]
fn cooldown_blocks_a_second_failover_across_a_kill_9_and_a_restart() {
    let h = Health::start();
    let t = test_with(&book("cool", "", &auto(&h, "1h"), ""));
    drill(&t);
    let mut w = watch_json(&t, &[]);
    w.rounds(1);
    h.set("/a", false);
    let fired = w.event("fired", 1);
    let id = s(&fired, "run_id").to_string();
    w.event("run_ended", 1);
    assert_eq!(w.stop(Signal::SIGKILL).status, -9);

    // Acknowledged, so only the cooldown stands between the outage and a second failover.
    drb(&t, &["watch", "ack", "f.drbook", "--as", "bob"]).expect_status(0);
    let mut w = watch_json(&t, &[]);
    let blocked = w.event("blocked", 1);
    let block = &blocked["block"];
    assert_eq!(block["kind"], "cooldown", "{blocked}\n{}", w.dump());
    assert_eq!(block["last_fired_at"], fired["at"], "the cooldown starts at the firing: {blocked}");
    let hour = ms(s(block, "until")) - ms(s(&fired, "at"));
    assert_eq!(hour, 3_600_000, "until = fired + 1h: {blocked}");
    // Re-judged after another 3 failed rounds: blocked again, never fired.
    w.event("blocked", 2);
    assert!(events(&w.json(), "fired").is_empty(), "{}", w.dump());
    let runs = real_runs(&t);
    assert_eq!(runs.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    assert_eq!(failovers(&t), 2, "the drill's and the one run's");

    let status = watch_status(&t);
    assert!(status.to_string().contains("cooldown"), "{status}");
    let text = drb(&t, &["watch", "status", "f.drbook"]);
    text.expect_status(0);
    assert!(text.stdout.contains("cooldown"), "{}", text.stdout);
    w.stop(Signal::SIGTERM).expect_status(0);
}

#[test]
fn a_kill_9_right_after_firing_and_a_restart_never_fires_twice() {
    let h = Health::start();
    let t = test_with(&book("twice", "", &auto(&h, "0s"), ""));
    drill(&t);
    let mut w = watch_json(&t, &[]);
    h.set("/a", false);
    w.event("fired", 1);
    assert_eq!(w.stop(Signal::SIGKILL).status, -9);

    let mut w = watch_json(&t, &[]);
    // Twice the threshold of failed rounds: an armed watcher would have fired.
    w.rounds(7);
    let seen = w.json();
    assert!(events(&seen, "fired").is_empty(), "it fired again after the restart\n{}", w.dump());
    assert!(rounds(&seen).iter().all(|r| r["healthy"] == false), "{}", w.dump());
    assert!(real_runs(&t).len() <= 1, "at most the one run it fired: {:?}", real_runs(&t));
    assert!(failovers(&t) <= 2, "the drill's and at most one run's");
    assert_eq!(watch_status(&t)["state"]["phase"], "disarmed", "{}", watch_status(&t));
    // The new watcher says what became of the run the killed one was driving (when the kill
    // came before that run ended).
    let ended = !watch_status(&t)["state"]["last_run_status"].is_null();
    let left = seen
        .iter()
        .find(|l| l["type"] == "info" && s(l, "message").contains("fired by an earlier watcher"));
    match (ended, left) {
        (true, _) => {}
        // Resumed when the run began; started by hand when the kill came before it did.
        (false, Some(left)) => {
            let m = s(left, "message");
            assert!(m.contains("resume ") || m.contains(" --since "), "{left}");
        }
        (false, None) => panic!("no word of the run left behind\n{}", w.dump()),
    }
    w.stop(Signal::SIGTERM).expect_status(0);
}

#[test]
fn the_rpo_gate_blocks_over_the_rpo_and_lets_it_fire_under() {
    let h = Health::start();
    let gate = "\n  step lag {\n    duration 1s\n    safe\n    run      \"cat lag\"\n    capture  lag_seconds from stdout\n  }\n";
    let trigger = format!("{}\nrpo_gate lag", auto(&h, "0s"));
    let t = test_with(&book("rpo", "  rpo   5m", &trigger, gate)).file("lag", "900\n");
    drill(&t);
    let mut w = watch_json(&t, &[]);
    h.set("/a", false);
    let blocked = w.event("blocked", 1);
    let block = &blocked["block"];
    assert_eq!(block["kind"], "rpo_gate", "{blocked}\n{}", w.dump());
    assert_eq!(
        (block["step"].as_str(), block["lag_ms"].as_u64(), block["rpo_ms"].as_u64()),
        (Some("lag"), Some(900_000), Some(300_000)),
        "{blocked}"
    );
    assert!(events(&w.json(), "fired").is_empty());
    assert!(real_runs(&t).is_empty(), "blocked: no run");

    std::fs::write(t.path("lag"), "10\n").expect("lower the lag");
    let fired = w.event("fired", 1);
    let id = s(&fired, "run_id");
    wait_run(&t, id);
    assert_eq!(real_runs(&t).len(), 1);
    assert_eq!(wait_run_ended(&t, id), "succeeded");
    // The outage was re-judged after another 3 failed rounds, not at once.
    let seen = w.json();
    let after_block = seen
        .iter()
        .skip_while(|v| v["event"] != "blocked")
        .take_while(|v| v["event"] != "fired")
        .filter(|v| v["type"] == "round" && v["healthy"] == false)
        .count();
    assert!(
        after_block >= 3,
        "{after_block} failed rounds between blocked and fired\n{}",
        w.dump()
    );
    w.stop(Signal::SIGTERM).expect_status(0);
}

/// A runbook whose trigger needs one `lead` (alice) to approve.
fn needs_lead(h: &Health) -> String {
    let trigger = format!(
        "{}\nevery 300ms\nfailures 3\ncooldown 0s\nrequires approval {{ by lead }}",
        probe_a(h)
    );
    book("approved", "  roles {\n    lead = [\"alice\"]\n  }", &trigger, "")
}

#[test]
fn approval_from_another_shell_only_a_member_fires_it() {
    let h = Health::start();
    let t = test_with(&needs_lead(&h));
    let approve = |who: &str| drb(&t, &["watch", "approve", "f.drbook", "--as", who]);
    approve("alice").expect_status(2).expect_stderr("approv");

    let mut w = watch_json(&t, &[]);
    h.set("/a", false);
    w.event("awaiting_approval", 1);
    let out = approve("mallory");
    assert_ne!(out.status, 0, "a non-member is refused\n{}", out.stdout);
    out.expect_stderr("mallory").expect_stderr("not a member");
    // Still waiting: another round or two, and nothing fired.
    w.more_rounds(2);
    assert!(events(&w.json(), "fired").is_empty(), "{}", w.dump());
    assert!(real_runs(&t).is_empty());

    approve("alice").expect_status(0);
    let approved = w.event("approved", 1);
    assert!(approved.to_string().contains("alice"), "{approved}");
    let fired = w.event("fired", 1);
    let id = s(&fired, "run_id");
    wait_run(&t, id);
    assert_eq!(real_runs(&t).len(), 1);
    let started = run_started(&t, id);
    let by = started["trigger"]["by"].as_str().unwrap_or_default();
    assert!(by.contains("alice"), "the run records who allowed it: {started}");
    assert_eq!(wait_run_ended(&t, id), "succeeded");
    w.stop(Signal::SIGTERM).expect_status(0);
}

#[test]
fn a_denial_from_another_shell_blocks_and_the_outage_is_judged_again_later() {
    let h = Health::start();
    let t = test_with(&needs_lead(&h));
    drb(&t, &["watch", "deny", "f.drbook", "--as", "alice"]).expect_status(2);
    let mut w = watch_json(&t, &[]);
    h.set("/a", false);
    w.event("awaiting_approval", 1);
    let args = ["watch", "deny", "f.drbook", "--as", "alice", "--reason", "planned maintenance"];
    drb(&t, &args).expect_status(0);
    let blocked = w.event("blocked", 1);
    let block = &blocked["block"];
    assert_eq!(block["kind"], "denied", "{blocked}");
    assert_eq!(
        (block["by"].as_str(), block["reason"].as_str()),
        (Some("alice"), Some("planned maintenance"))
    );
    // After another 3 failed rounds it asks again.
    w.event("awaiting_approval", 2);
    assert!(events(&w.json(), "fired").is_empty(), "{}", w.dump());
    assert!(real_runs(&t).is_empty(), "denied: no run");
    w.stop(Signal::SIGTERM).expect_status(0);
}

#[test]
fn requires_auto_is_refused_without_a_recent_drill_and_fires_after_one() {
    let h = Health::start();
    let t = test_with(&book("practice", "", &auto(&h, "0s"), ""));
    let mut w = watch_json(&t, &[]);
    h.set("/a", false);
    let blocked = w.event("blocked", 1);
    let block = &blocked["block"];
    assert_eq!(block["kind"], "practice", "{blocked}\n{}", w.dump());
    assert!(s(block, "why").contains("drill"), "the reason names the missing drill: {blocked}");
    assert!(real_runs(&t).is_empty());

    // A full drill of this very content, while the watcher keeps probing.
    drill(&t);
    let fired = w.event("fired", 1);
    wait_run(&t, s(&fired, "run_id"));
    assert_eq!(real_runs(&t).len(), 1);
    assert_eq!(wait_run_ended(&t, s(&fired, "run_id")), "succeeded");
    w.stop(Signal::SIGTERM).expect_status(0);
}

#[test]
fn after_firing_it_stays_disarmed_until_a_person_acknowledges() {
    let h = Health::start();
    let t = test_with(&book("disarm", "", &auto(&h, "0s"), ""));
    drill(&t);
    let ack = |more: &[&str]| {
        let mut args = vec!["watch", "ack", "f.drbook", "--as", "bob"];
        args.extend(more);
        drb(&t, &args)
    };
    ack(&[]).expect_status(2);
    let mut w = watch_json(&t, &[]);
    h.set("/a", false);
    let fired = w.event("fired", 1);
    let id = s(&fired, "run_id").to_string();
    assert_eq!(s(&w.event("disarmed", 1), "run_id"), id);
    w.event("run_ended", 1);
    // More failed rounds than the threshold: disarmed, nothing fires.
    w.more_rounds(5);
    assert_eq!(events(&w.json(), "fired").len(), 1, "{}", w.dump());
    assert_eq!(real_runs(&t).len(), 1);
    assert_eq!(watch_status(&t)["state"]["phase"], "disarmed", "{}", watch_status(&t));

    let metrics = drb(&t, &["readiness", "f.drbook", "--format", "prometheus"]);
    assert!(matches!(metrics.status, 0 | 1), "{}", metrics.stderr);
    let has = |metric: &str, labels: &[&str], value: &str| {
        metrics.stdout.lines().any(|l| {
            l.starts_with(&format!("{metric}{{"))
                && labels.iter().all(|x| l.contains(x))
                && l.ends_with(&format!(" {value}"))
        })
    };
    assert!(
        has("drbook_watch_state", &["runbook=\"disarm\"", "state=\"disarmed\""], "1"),
        "{}",
        metrics.stdout
    );
    assert!(
        metrics.stdout.lines().any(|l| l.starts_with("drbook_watch_consecutive_failures{")
            && l.contains("runbook=\"disarm\"")),
        "{}",
        metrics.stdout
    );

    ack(&["--comment", "primary is really down; fail over again if needed"]).expect_status(0);
    let acked = w.event("acknowledged", 1);
    assert_eq!(acked["by"], "bob", "{acked}");
    let again = w.event("fired", 2);
    assert_ne!(s(&again, "run_id"), id);
    wait_run(&t, s(&again, "run_id"));
    assert_eq!(real_runs(&t).len(), 2, "re-armed, it fired a second run");
    w.stop(Signal::SIGTERM).expect_status(0);
}

#[test]
fn once_exits_0_healthy_1_failing_2_without_a_trigger() {
    let h = Health::start();
    let t = test_with(&book("once", "", &auto(&h, "0s"), ""))
        .file("plain.drbook", &runbook("plain", "  step a { duration 1s; run \"true\" }"));
    let out = drb(&t, &["watch", "f.drbook", "--once"]);
    out.expect_status(0);
    assert!(out.stdout.contains(" round 1: healthy"), "{}", out.stdout);
    h.set("/a", false);
    let out = drb(&t, &["watch", "f.drbook", "--once"]);
    out.expect_status(1);
    assert!(
        out.stdout.contains(": failing (1 of 1 probes failed; 1 of 3 consecutive)"),
        "{}",
        out.stdout
    );
    drb(&t, &["watch", "plain.drbook", "--once"]).expect_status(2).expect_stderr("trigger");
    drb(&t, &["watch", "missing.drbook", "--once"]).expect_status(2);
    assert!(real_runs(&t).is_empty());
}

#[test]
fn a_second_watcher_of_the_same_runbook_and_state_dir_is_refused() {
    let h = Health::start();
    let t = test_with(&book("single", "", &auto(&h, "0s"), ""));
    let mut w = Watcher::start(&t, &["watch", "f.drbook"]);
    w.line(" round 1: ");
    let holder = format!("another watcher (pid {})", w.pid());
    drb(&t, &["watch", "f.drbook", "--once"]).expect_status(2).expect_stderr(&holder);
    drb(&t, &["watch", "f.drbook"]).expect_status(2).expect_stderr(&holder);
    let status = watch_status(&t);
    assert!(
        status.to_string().contains(&w.pid().to_string()),
        "status names the watcher: {status}"
    );
    w.stop(Signal::SIGTERM).expect_status(0);
    // The lock went with it.
    drb(&t, &["watch", "f.drbook", "--once"]).expect_status(0);
}

#[test]
fn dry_run_never_starts_a_run_and_sigterm_stops_it_cleanly() {
    let h = Health::start();
    let t = test_with(&book("dry", "", &auto(&h, "1h"), ""));
    drill(&t);
    let mut w = watch_json(&t, &["--dry-run"]);
    h.set("/a", false);
    let first = w.event("fired", 1);
    assert_eq!(first["dry_run"], true, "{first}");
    // A dry-run firing neither disarms nor starts the 1h cooldown: it "fires" again.
    let second = w.event("fired", 2);
    assert_eq!(second["dry_run"], true, "{second}");
    let seen = w.json();
    assert!(
        events(&seen, "disarmed").is_empty() && events(&seen, "blocked").is_empty(),
        "{}",
        w.dump()
    );
    assert!(real_runs(&t).is_empty(), "no run: {:?}", real_runs(&t));
    assert_eq!(failovers(&t), 1, "only the drill acted");

    let out = w.stop(Signal::SIGTERM);
    out.expect_status(0).expect_no_crash();
    let journals: Vec<String> = files_under(&t.path(STATE).join("watch"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "journal"))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert_eq!(journals.len(), 1, "one watch journal");
    assert!(journals[0].contains("\"watch_stopped\""), "SIGTERM is journaled\n{}", journals[0]);
}

#[test]
fn the_rto_clock_of_a_fired_run_starts_at_the_first_failed_round() {
    let h = Health::start();
    let t = test_with(&book("clock", "", &auto(&h, "0s"), ""));
    drill(&t);
    let mut w = watch_json(&t, &[]);
    w.rounds(1);
    h.set("/a", false);
    let fired = w.event("fired", 1);
    let first_failed =
        rounds(&w.json()).into_iter().find(|r| r["healthy"] == false).expect("a failed round");
    let started = run_started(&t, s(&fired, "run_id"));
    let clock = s(&started, "clock_start");
    assert_eq!(clock, s(&fired, "detected_at"), "{started}\n{fired}");
    assert_eq!(clock, s(&first_failed, "at"), "{started}\n{first_failed}");
    // Two whole intervals before firing at least: not the firing time.
    assert!(ms(s(&fired, "at")) - ms(clock) >= 600, "{fired}\n{started}");
    assert!(ms(s(&started, "at")) > ms(clock), "{started}");
    w.stop(Signal::SIGTERM).expect_status(0);
}

#[test]
fn log_format_json_prints_one_json_object_per_line() {
    let h = Health::start();
    let trigger = format!("{}\nevery 300ms\nfailures 2\nrequires approval", probe_a(&h));
    let t = test_with(&book("json", "", &trigger, ""));
    let mut w = watch_json(&t, &[]);
    w.rounds(1);
    h.set("/a", false);
    w.event("degraded", 1);
    w.event("awaiting_approval", 1);
    h.set("/a", true);
    w.event("recovered", 1);
    // Down again, approved, fired: the run it starts prints JSON too (or nothing).
    h.set("/a", false);
    w.event("awaiting_approval", 2);
    drb(&t, &["watch", "approve", "f.drbook", "--as", "alice"]).expect_status(0);
    w.event("run_ended", 1);
    w.more_rounds(1);
    let out = w.stop(Signal::SIGTERM);
    out.expect_status(0);
    let all = json_lines(&out.stdout);
    let mut last_round = 0;
    for v in &all {
        match v["type"].as_str() {
            Some("round") => {
                for k in ["at", "round", "healthy", "failed", "of", "consecutive", "probes"] {
                    assert!(!v[k].is_null(), "a round line has `{k}`: {v}");
                }
                ms(s(v, "at"));
                let n = v["round"].as_u64().expect("a round number");
                assert_eq!(n, last_round + 1, "rounds count up by one: {v}");
                last_round = n;
                for p in v["probes"].as_array().expect("probes") {
                    assert!(
                        p["name"].is_string() && p["ok"].is_boolean() && p["ms"].is_u64(),
                        "{p}"
                    );
                    assert!(p["detail"].is_string(), "{p}");
                }
            }
            Some("event") => {
                assert!(v["event"].is_string(), "{v}");
                ms(s(v, "at"));
            }
            // The fired run's own JSON log (`drbook run --log-format json`'s lines).
            None if v["run_id"].is_string() => assert!(v["event"].is_string(), "{v}"),
            // A message that is no transition (a request answered, a run's outcome).
            Some("info") => {
                assert!(v["message"].is_string(), "{v}");
                ms(s(v, "at"));
            }
            _ => panic!("a line that is neither a round, an event nor the run's log: {v}"),
        }
    }
    for e in ["degraded", "awaiting_approval", "recovered", "approved", "fired", "disarmed"] {
        assert!(!events(&all, e).is_empty(), "no `{e}` event in\n{}", out.stdout);
    }
    let degraded = &events(&all, "degraded")[0];
    assert_eq!(
        (degraded["failed"].as_u64(), degraded["of"].as_u64()),
        (Some(1), Some(1)),
        "{degraded}"
    );
    // At least the 2 failed rounds that reached the threshold, and maybe more while it waited.
    let after = events(&all, "recovered")[0]["after"].as_u64().unwrap_or_default();
    let failed = rounds(&all).iter().filter(|r| r["healthy"] == false).count() as u64;
    assert!(after >= 2 && after <= failed, "recovered after {after} of {failed} failed rounds");
}

#[test]
fn a_secret_used_by_a_probe_never_appears_in_output_journals_or_rounds() {
    const TOKEN: &str = "s3cr3t-watch-t0ken-4242";
    let h = Health::start();
    let trigger = format!(
        "probe primary http GET \"{}?token=${{tok}}\" {{ header \"Authorization\" = \"Bearer ${{tok}}\"; status 200..299 }}\n\
         probe db run \"echo token=${{tok}} >&2; exit 1\"\nevery 300ms\nfailures 3\ncooldown 0s\nrequires auto",
        h.url("/a")
    );
    let header = "  secret tok = env(\"DRBOOK_WATCH_TOKEN\")";
    let t = test_with(&book("masked", header, &trigger, "")).env("DRBOOK_WATCH_TOKEN", TOKEN);
    let mut outputs = vec![];
    let out = drb(&t, &["drill", "f.drbook", "--type", "full", "--non-interactive"]);
    out.expect_status(0);
    outputs.push(out.stdout + &out.stderr);
    let mut w = watch_json(&t, &[]);
    h.set("/a", false);
    let fired = w.event("fired", 1);
    wait_run_ended(&t, s(&fired, "run_id"));
    w.more_rounds(1);
    let out = w.stop(Signal::SIGTERM);
    outputs.push(out.stdout + &out.stderr);
    let mut text = Watcher::start(&t, &["watch", "f.drbook"]);
    text.line(": failing (");
    let out = text.stop(Signal::SIGTERM);
    outputs.push(out.stdout + &out.stderr);
    for args in [
        &["watch", "status", "f.drbook"][..],
        &["watch", "status", "f.drbook", "--format", "json"],
        &["status", "--format", "json"],
        &["status", s(&fired, "run_id")],
    ] {
        let out = drb(&t, args);
        outputs.push(out.stdout + &out.stderr);
    }

    // The probe really sent it, and really printed it.
    let sent = h.server.requests_to("/a");
    assert!(sent.iter().any(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}"))));
    assert!(sent.iter().any(|r| r.path.contains(TOKEN)));
    for o in &outputs {
        assert!(!o.contains(TOKEN), "the secret leaked into output:\n{o}");
    }
    assert!(outputs.iter().any(|o| o.contains("<secret:tok>")), "masked, not dropped");
    let files = files_under(&t.path(STATE));
    assert!(files.iter().any(|p| p.ends_with("rounds.json")), "{files:?}");
    for p in files {
        let bytes = std::fs::read(&p).expect("read a state file");
        let leaked = bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes());
        assert!(!leaked, "the secret leaked into {}", p.display());
    }
    assert!(!journal(&t, s(&fired, "run_id")).is_empty());
}

#[test]
fn every_transition_is_posted_to_the_notify_webhook() {
    let h = Health::start();
    h.server.route("/hook", crate::httpd::Reply::new(200, "ok"));
    let trigger = format!("{}\nnotify \"{}\"", auto(&h, "0s"), h.url("/hook"));
    let t = test_with(&book("hooked", "", &trigger, ""));
    drill(&t);
    let mut w = watch_json(&t, &[]);
    h.set("/a", false);
    let fired = w.event("fired", 1);
    w.event("run_ended", 1);
    let posted = || -> Vec<Value> {
        h.server
            .requests_to("/hook")
            .iter()
            .map(|r| serde_json::from_str(&r.body_text()).expect("a JSON body"))
            .collect()
    };
    let start = std::time::Instant::now();
    while !posted().iter().any(|b| b["event"] == "run_ended") {
        assert!(start.elapsed() < kit::LIMIT, "no run_ended post: {:?}", posted());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let bodies = posted();
    let names: Vec<&str> = bodies.iter().filter_map(|b| b["event"].as_str()).collect();
    for e in ["degraded", "fired", "disarmed", "run_ended"] {
        assert!(names.contains(&e), "no `{e}` posted: {names:?}");
    }
    let post = bodies.iter().find(|b| b["event"] == "fired").expect("the fired post");
    assert!(post.to_string().contains(s(&fired, "run_id")), "{post}");
    assert!(h.server.requests_to("/hook").iter().all(|r| r.method == "POST"));
    w.stop(Signal::SIGTERM).expect_status(0);
}
