//! `drbook run` exit codes (LANGUAGE.md §8), each produced by a real run: 0, 1, 2, 3, 130, 6.

use crate::runkit::{count, drb, drb_spawn, journal, runbook, status_json, step_state, STATE};
use crate::Test;
use std::time::Duration;

#[test]
fn exit_0_when_every_step_succeeds() {
    let rb = runbook(
        "ok",
        r#"
  step a { duration 1s; run "echo a >> log"; idempotent }
  step b { needs a; duration 1s; run "echo b >> log"; idempotent }
  step c { needs a; duration 1s; run "echo c >> log"; idempotent }
  step d { needs b, c; duration 1s; run "echo d >> log"; idempotent }"#,
    );
    let t = Test::new().file("ok.drbook", &rb);
    let out = drb(&t, &["run", "ok.drbook", "--run-id", "r0"]);
    out.expect_status(0);
    assert!(out.stdout.contains("run r0 of ok: succeeded"), "{}", out.stdout);
    for s in ["a", "b", "c", "d"] {
        assert_eq!(count(&t.path("log"), s), 1, "step {s} ran once");
    }
    assert_eq!(status_json(&t, "r0")["status"], "succeeded");
}

#[test]
fn exit_1_when_a_step_fails_and_resume_after_the_fix_does_not_rerun_succeeded_steps() {
    // `side` is independent of the failing branch; under `abort` it was already running (it
    // starts with `a`) and is let finish. `c` needs the failed `b` and never starts.
    let rb = runbook(
        "fails",
        r#"
  step a    { duration 1s; run "echo a >> log" }
  step side { duration 1s; run "sleep 0.5; echo side >> log" }
  step b    { needs a; duration 1s; run "test -f ok && echo b >> log" }
  step c    { needs b; duration 1s; run "echo c >> log" }"#,
    );
    let t = Test::new().file("f.drbook", &rb);
    let out = drb(&t, &["run", "f.drbook", "--run-id", "r1"]);
    out.expect_status(1).expect_stderr("step `b` failed").expect_stderr("drbook resume r1");
    let report_line = out.stdout.lines().find(|l| l.trim_start().starts_with("b ")).unwrap_or("");
    assert!(report_line.contains("failed"), "the summary shows `b` failed:\n{}", out.stdout);
    assert!(out.stdout.contains("run r1 of fails: failed"), "{}", out.stdout);
    let st = status_json(&t, "r1");
    assert_eq!(st["status"], "failed");
    assert_eq!(step_state(&t, "r1", "b"), "failed");
    assert_eq!(step_state(&t, "r1", "c"), "pending");
    assert_eq!(step_state(&t, "r1", "side"), "succeeded", "running steps finish under abort");
    let log = t.path("log");
    assert_eq!((count(&log, "a"), count(&log, "side"), count(&log, "b")), (1, 1, 0));

    // Fix the cause, resume: only `b` and `c` run.
    std::fs::write(t.path("ok"), "").expect("create ok");
    drb(&t, &["resume", "r1"]).expect_status(0);
    for s in ["a", "side", "b", "c"] {
        assert_eq!(count(&log, s), 1, "step {s} ran exactly once in all; log: {:?}", t.read("log"));
    }
    assert_eq!(status_json(&t, "r1")["status"], "succeeded");
    let steps = crate::runkit::step_states(&t, "r1");
    assert_eq!(steps["a"], ("succeeded".to_string(), 1));
    assert_eq!(steps["b"], ("succeeded".to_string(), 2));
}

#[test]
fn exit_2_for_an_invalid_runbook_and_nothing_runs() {
    let rb = runbook(
        "bad",
        r#"
  step a { duration 1s; run "echo a >> log"; idempotent }
  step b { needs nosuch; duration 1s; run "echo b >> log"; idempotent }"#,
    );
    let t = Test::new().file("bad.drbook", &rb);
    drb(&t, &["run", "bad.drbook"]).expect_status(2).expect_stderr("nosuch");
    assert!(!t.path(STATE).exists(), "no state dir for an invalid runbook");
    assert!(!t.path("log").exists(), "no step ran");

    let t = Test::new().file("syntax.drbook", "runbook \"s\" {\n  step a { run \"x\" \n");
    drb(&t, &["run", "syntax.drbook"]).expect_status(2);
    assert!(!t.path(STATE).exists());

    let rb = runbook(
        "req",
        "  param ticket: string\n  step a { duration 1s; run \"echo ${ticket} >> log\"; idempotent }",
    );
    let t = Test::new().file("req.drbook", &rb);
    drb(&t, &["run", "req.drbook"]).expect_status(2).expect_stderr("ticket");
    assert!(!t.path(STATE).exists() && !t.path("log").exists());
    drb(&t, &["run", "req.drbook", "--param", "ticket=CHG-1"]).expect_status(0);
    assert_eq!(t.read("log"), "CHG-1\n");
}

#[test]
fn exit_2_when_an_ssm_runbook_has_no_aws_credentials_and_nothing_runs() {
    let cases = [
        ("ssm put", r#"ssm put "/dr/active" = "us-west-2""#),
        (
            "rollback",
            "on_failure rollback\n    run \"true\"\n    rollback ssm put \"/dr/active\" = \"us-east-1\"",
        ),
    ];
    for (kind, action) in cases {
        let rb = format!(
            "runbook \"u\" {{\n  owner \"ops\"\n  rto 1h\n  \
             step first {{ duration 1s; run \"echo first >> log\"; idempotent }}\n  \
             step later {{\n    needs first\n    duration 1s\n    {action}\n    idempotent\n  }}\n}}\n"
        );
        let t = crate::ssmd::aws_isolated(Test::new().file("u.drbook", &rb))
            .env("AWS_REGION", "us-east-1");
        let out = drb(&t, &["run", "u.drbook"]);
        out.expect_status(2).expect_stderr("no AWS credentials").expect_stderr("nothing was run");
        assert!(!t.path("log").exists(), "{kind}: no step may run, not even the first");
        assert!(
            !t.path(STATE).join("runs").exists()
                || std::fs::read_dir(t.path(STATE).join("runs")).expect("list").next().is_none(),
            "{kind}: no run is recorded"
        );
    }
}

#[test]
fn exit_3_when_a_manual_step_waits_and_independent_branches_still_run() {
    let rb = runbook(
        "man",
        r#"
  step gate  { duration 1s; manual "Flip the breaker in rack 12" }
  step after { needs gate; duration 1s; run "echo after >> log"; idempotent }
  step other { duration 1s; run "echo other >> log"; idempotent }
  step more  { needs other; duration 1s; run "echo more >> log"; idempotent }"#,
    );
    let t = Test::new().file("m.drbook", &rb);
    let out = drb(&t, &["run", "m.drbook", "--run-id", "r3"]);
    out.expect_status(3).expect_stderr("gate");
    let log = t.path("log");
    assert_eq!((count(&log, "other"), count(&log, "more"), count(&log, "after")), (1, 1, 0));
    let st = drb(&t, &["status", "r3"]);
    st.expect_status(0);
    assert!(st.stdout.contains("paused"), "{}", st.stdout);
    assert!(st.stdout.contains("waiting on a person or a decision: gate"), "{}", st.stdout);
    assert_eq!(status_json(&t, "r3")["status"], "paused");
    assert_eq!(step_state(&t, "r3", "gate"), "waiting");
    assert_eq!(step_state(&t, "r3", "after"), "pending");
    // Still no terminal: resuming pauses again, without re-running anything.
    drb(&t, &["resume", "r3"]).expect_status(3);
    assert_eq!((count(&log, "other"), count(&log, "after")), (1, 0));
}

/// Sends `sig` to a run while its step `slow` is in flight: exit 130, and `resume` completes.
fn interrupted_by(sig: nix::sys::signal::Signal, name: &str) {
    // `slow` sleeps until `fast` exists, so the resumed attempt is quick.
    let rb = runbook(
        "sig",
        r#"
  step first { duration 1s; run "echo first >> log"; idempotent }
  step slow  {
    needs first
    duration 1s
    run "touch slow.started; test -f fast || sleep 30; echo slow >> log"
    idempotent
  }
  step last  { needs slow; duration 1s; run "echo last >> log"; idempotent }"#,
    );
    let t = Test::new().file("s.drbook", &rb);
    let live = drb_spawn(&t, &["run", "s.drbook", "--run-id", "r130"]);
    crate::runkit::wait_for_file(&t.path("slow.started"), Duration::from_secs(30));
    live.signal(sig);
    let out = live.wait();
    out.expect_status(130)
        .expect_stderr(&format!("interrupted by {name}"))
        .expect_stderr("resume r130");
    assert!(out.elapsed < Duration::from_secs(20), "SIGINT stops the run promptly");
    let st = status_json(&t, "r130");
    assert_eq!(st["status"], "interrupted");
    assert_eq!(step_state(&t, "r130", "slow"), "interrupted");
    assert_eq!(step_state(&t, "r130", "last"), "pending");
    let records = journal(&t, "r130");
    assert!(
        records.iter().any(|r| r["event"] == "run_interrupted" && r["signal"] == name),
        "the journal records the interruption"
    );
    assert_eq!(crate::runkit::count_events(&records, "step_interrupted", "slow"), 1);
    let log = t.path("log");
    assert_eq!((count(&log, "first"), count(&log, "slow")), (1, 0));

    std::fs::write(t.path("fast"), "").expect("create fast");
    drb(&t, &["resume", "r130"]).expect_status(0);
    for s in ["first", "slow", "last"] {
        assert_eq!(count(&log, s), 1, "{s} ran once in all");
    }
    assert_eq!(status_json(&t, "r130")["status"], "succeeded");
}

#[test]
fn exit_130_on_sigint_and_resume_completes_the_run() {
    interrupted_by(nix::sys::signal::Signal::SIGINT, "SIGINT");
}

#[test]
fn exit_130_on_sigterm_and_resume_completes_the_run() {
    interrupted_by(nix::sys::signal::Signal::SIGTERM, "SIGTERM");
}

#[test]
fn exit_6_with_strict_rto_when_the_run_misses_its_budget() {
    let rb = "runbook \"late\" {\n  owner \"ops\"\n  rto 1s\n  \
              step slow { duration 500ms; run \"sleep 1.5\"; idempotent }\n}\n";
    let t = Test::new().file("late.drbook", rb);
    let out = drb(&t, &["run", "late.drbook", "--strict-rto", "--run-id", "r6"]);
    out.expect_status(6).expect_stderr("missed its RTO");
    assert!(out.stdout.contains("FAIL"), "the summary judges the RTO: {}", out.stdout);
    assert_eq!(status_json(&t, "r6")["status"], "succeeded");
}

#[test]
fn a_lost_terminal_does_not_stop_the_run() {
    let rb = runbook(
        "hup",
        r#"
  step slow  { duration 1s; run "sleep 1; echo slow >> log"; idempotent }
  step after { needs slow; duration 1s; run "echo after >> log"; idempotent }"#,
    );
    let t = Test::new().file("h.drbook", &rb);
    let mut live = drb_spawn(&t, &["run", "h.drbook", "--run-id", "h1"]);
    crate::runkit::wait_for_file(&t.path(STATE).join("runs/h1/journal"), Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!live.exited(), "the run is still going");
    live.signal(nix::sys::signal::Signal::SIGHUP);
    let out = live.wait();
    out.expect_status(0);
    assert_eq!(count(&t.path("log"), "slow") + count(&t.path("log"), "after"), 2);
}

#[test]
fn status_and_approve_leave_a_missing_state_dir_alone() {
    let t = Test::new();
    drb(&t, &["status"]).expect_status(0);
    drb(&t, &["status", "nope"]).expect_status(2).expect_stderr("no run `nope`");
    drb(&t, &["approve", "nope", "step", "--as", "alice"]).expect_status(2);
    assert!(!t.path(STATE).exists(), "reading never creates the state dir");
}

#[test]
fn a_malformed_aws_region_is_refused_before_anything_runs() {
    let rb = runbook(
        "region",
        r#"
  step first { duration 1s; run "echo first >> log"; idempotent }
  step put   { needs first; duration 1s; ssm put "/dr/active" = "us-west-2"; idempotent }"#,
    );
    let t = crate::ssmd::aws_isolated(Test::new().file("r.drbook", &rb))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    let out = drb(&t, &["run", "r.drbook", "--aws-region", "bad region!"]);
    out.expect_status(2)
        .expect_stderr("is not an AWS region name")
        .expect_stderr("nothing was run");
    assert!(!t.path("log").exists());
}

/// From cron (no `USER`, no `LOGNAME`), the run is journaled as the OS account that ran it.
#[test]
fn without_user_or_logname_the_os_account_is_who_ran_it() {
    let rb = crate::runkit::runbook("who", "  step a { duration 1s; run \"true\" }");
    let t = crate::Test::new()
        .file("w.drbook", &rb)
        .without_env("USER")
        .without_env("LOGNAME")
        .without_env("DRBOOK_USER");
    crate::runkit::drb(&t, &["run", "w.drbook", "--run-id", "w"]).expect_status(0);
    let account = std::process::Command::new("id").arg("-un").output().expect("id runs");
    let account = String::from_utf8_lossy(&account.stdout).trim().to_string();
    let first = crate::runkit::journal(&t, "w").into_iter().next().expect("run_started");
    assert_eq!(first["user"], account.as_str());
    assert_ne!(first["user"], "unknown");
}

/// A step whose `workdir` does not exist fails naming the directory; a run id that is not
/// there names the state dir that was searched.
#[test]
fn missing_places_are_named() {
    let rb = crate::runkit::runbook(
        "wd",
        "  step a { duration 1s; workdir \"no/such/dir\"; run \"true\" }",
    );
    let t = crate::Test::new().file("wd.drbook", &rb);
    let out = crate::runkit::drb(&t, &["run", "wd.drbook", "--run-id", "wd"]);
    out.expect_status(1);
    let status = crate::runkit::status_json(&t, "wd");
    let error = status["steps"][0]["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("workdir") && error.contains("no/such/dir"), "{error}");
    let st = crate::runkit::state(&t);
    let out = crate::runkit::drb(&t, &["status", "nope"]);
    out.expect_status(2).expect_stderr("no run `nope`").expect_stderr(&st);
}
