//! [`super::super::execute_with`] end to end with stand-in actions, forward: what it
//! journals, how the run finishes, and what it tells the observer. No process is spawned,
//! nothing is written.

use super::fake::{book, fresh, go, job, run_started, Fake, Out, USER};
use crate::exec::{backoff, Finish, Note, Secrets};
use crate::journal::{Decision, Event, Outcome, RunStatus, StepState};
use crate::model::time as clock;
use crate::model::Retry;
use std::collections::BTreeSet;
use std::sync::Arc;

const DIAMOND: &str = r#"
runbook "diamond" {
  owner "ops"
  step a { run "a" }
  step b { needs a; run "b" }
  step c { needs a; run "c" }
  step d { needs b, c; run "d" }
}
"#;

#[tokio::test]
async fn a_diamond_runs_each_step_once_after_its_needs() {
    let b = book(DIAMOND);
    let s = fresh(&b, Fake::new().hold(2)).await;
    assert_eq!(s.finish, Finish::Succeeded);
    let calls = s.fake.calls();
    assert_eq!(calls.len(), 4);
    assert_eq!((calls[0].as_str(), calls[3].as_str()), ("a", "d"));
    let mut between = calls[1..3].to_vec();
    between.sort();
    assert_eq!(between, ["b", "c"]);
    assert_eq!(s.fake.most_at_once(), 2, "b and c run together");
    for id in ["a", "b", "c", "d"] {
        assert_eq!(s.events_of(id), ["step_started", "step_succeeded"], "{id}");
        assert_eq!(s.state_of(id), StepState::Succeeded);
    }
    assert!(s.at("step_succeeded", Some("a")) < s.at("step_started", Some("b")));
    assert!(s.at("step_succeeded", Some("c")) < s.at("step_started", Some("d")));
    assert!(s.at("step_succeeded", Some("b")) < s.at("step_started", Some("d")));
    s.finished(Outcome::Succeeded);
    assert_eq!(s.state().status, RunStatus::Succeeded);
    let count = |f: fn(&Note) -> bool| s.notes.iter().filter(|n| f(n)).count();
    assert_eq!(count(|n| matches!(n, Note::StepStarted { attempt: 1, .. })), 4);
    assert_eq!(count(|n| matches!(n, Note::StepSucceeded { attempt: 1, .. })), 4);
    assert_eq!(count(|n| matches!(n, Note::Clock { .. })), 4, "the clock after every step");
    let lines: BTreeSet<&str> = s
        .notes
        .iter()
        .filter_map(|n| match n {
            Note::Output { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(lines, BTreeSet::from(["a", "b", "c", "d"]));
}

#[tokio::test]
async fn the_parallel_limit_holds_and_steps_start_in_declaration_order() {
    let src = r#"
runbook "wide" {
  owner "ops"
  parallel 2
  step s1 { run "1" }
  step s2 { run "2" }
  step s3 { run "3" }
  step s4 { run "4" }
  step s5 { run "5" }
  step s6 { run "6" }
}
"#;
    let b = book(src);
    let s = fresh(&b, Fake::new().hold(3)).await;
    assert_eq!(s.finish, Finish::Succeeded);
    assert_eq!(s.fake.most_at_once(), 2);
    assert_eq!(s.fake.calls(), ["s1", "s2", "s3", "s4", "s5", "s6"]);
    // The job's own limit wins over the runbook's (`--parallel`).
    let mut j = job(&b);
    j.parallel = 1;
    let s = go(j, &[run_started(&b)], Fake::new().hold(1)).await;
    assert_eq!(s.fake.most_at_once(), 1);
}

#[tokio::test]
async fn a_failed_attempt_is_retried_and_then_succeeds() {
    let b = book(r#"runbook "r" { owner "o"; step a { run "a"; retry 2 every 1ms } }"#);
    let s = fresh(&b, Fake::new().on("a", &[Out::Fail("flaky")])).await;
    assert_eq!(s.finish, Finish::Succeeded);
    assert_eq!(s.fake.count("a"), 2);
    assert_eq!(s.events_of("a"), ["step_started", "step_failed", "step_started", "step_succeeded"]);
    let failed = &s.new_events()[s.at("step_failed", Some("a"))];
    match failed {
        Event::StepFailed { attempt, error, will_retry, .. } => {
            assert_eq!((*attempt, error.as_str(), *will_retry), (1, "flaky", true));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.new_events()[s.at("step_succeeded", Some("a"))],
        Event::StepSucceeded { attempt: 2, .. }
    ));
    assert!(s
        .notes
        .iter()
        .any(|n| matches!(n, Note::StepFailed { attempt: 1, retry_in_ms: Some(1), .. })));
    assert_eq!(s.state().step("a").map(|r| r.attempts), Some(2));
}

#[tokio::test]
async fn a_step_out_of_retries_fails_the_run() {
    let b = book(r#"runbook "r" { owner "o"; step a { run "a"; retry 2 every 1ms } }"#);
    let fails = [Out::Fail("down"), Out::Fail("down"), Out::Fail("still down")];
    let s = fresh(&b, Fake::new().on("a", &fails)).await;
    assert_eq!(s.finish, Finish::Failed("step `a` failed: still down".into()));
    assert_eq!(s.fake.count("a"), 3);
    let retries: Vec<bool> = s
        .new_events()
        .iter()
        .filter_map(|e| match e {
            Event::StepFailed { will_retry, .. } => Some(*will_retry),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [true, true, false]);
}

#[test]
fn backoff_doubles_up_to_ten_times_every() {
    let fixed = Retry { attempts: 9, every: 1000, exponential: false };
    let doubling = Retry { exponential: true, ..fixed.clone() };
    let waits: Vec<(u64, u64)> =
        (1..=6).map(|n| (backoff(&fixed, n), backoff(&doubling, n))).collect();
    assert_eq!(
        waits,
        [(1000, 1000), (1000, 2000), (1000, 4000), (1000, 8000), (1000, 10_000), (1000, 10_000)]
    );
    assert_eq!(backoff(&doubling, 64), 10_000, "no overflow far out");
}

const ABORT: &str = r#"
runbook "abort" {
  owner "ops"
  step a { run "a" }
  step b { needs a; run "b" }
  step c { needs b; run "c" }
  step d { needs a; run "d" }
}
"#;

#[tokio::test]
async fn a_failure_under_abort_stops_dependents_and_leaves_the_run_resumable() {
    let b = book(ABORT);
    let s = fresh(&b, Fake::new().hold(1).on("b", &[Out::Fail("boom")])).await;
    assert_eq!(s.finish, Finish::Failed("step `b` failed: boom".into()));
    assert_eq!(s.fake.count("c"), 0);
    assert!(s.events_of("c").is_empty(), "c never starts");
    assert_eq!(s.state_of("d"), StepState::Succeeded, "d was already running: it finishes");
    assert_eq!(s.state_of("b"), StepState::Failed);
    s.finished(Outcome::Failed);
    // `resume`: b gets a fresh attempt, c runs, a and d do not run again.
    let mut prior = s.events.clone();
    prior.push(Event::RunResumed { at: clock::now(), pid: 1, user: USER.into() });
    let again = go(job(&b), &prior, Fake::new()).await;
    assert_eq!(again.finish, Finish::Succeeded);
    assert_eq!(again.fake.calls(), ["b", "c"]);
    assert!(matches!(
        again.new_events()[again.at("step_started", Some("b"))],
        Event::StepStarted { attempt: 2, .. }
    ));
    assert_eq!(again.state().status, RunStatus::Succeeded);
}

#[tokio::test]
async fn a_failure_under_continue_lets_dependents_run_and_the_run_succeed() {
    let src = ABORT.replace(
        r#"step b { needs a; run "b" }"#,
        r#"step b { needs a; run "b"; on_failure continue }"#,
    );
    let b = book(&src);
    let s = fresh(&b, Fake::new().on("b", &[Out::Fail("meh")])).await;
    assert_eq!(s.finish, Finish::Succeeded);
    assert_eq!(s.state_of("b"), StepState::Failed);
    assert_eq!(s.state_of("c"), StepState::Succeeded);
    assert!(s.at("step_failed", Some("b")) < s.at("step_started", Some("c")));
    s.finished(Outcome::Succeeded);
}

const PEOPLE: &str = r#"
runbook "people" {
  owner "ops"
  step a { run "a" }
  step confirm { needs a; manual "Check the dashboard" }
  step after { needs confirm; run "after" }
  step g { needs a; approval { by lead }; run "g" }
  step side { needs a; run "side" }
}
"#;

#[tokio::test]
async fn without_a_person_manual_steps_and_gates_pause_the_run() {
    let b = book(PEOPLE);
    let s = fresh(&b, Fake::new()).await;
    assert_eq!(
        s.finish,
        Finish::Paused(
            "waiting for a person: confirm (manual step); g needs approval by lead".into()
        )
    );
    assert!(matches!(s.last(), Event::RunPaused { .. }));
    assert_eq!(s.state().status, RunStatus::Paused);
    assert_eq!(s.events_of("confirm"), ["step_waiting"]);
    assert_eq!(s.events_of("g"), ["approval_requested"]);
    for id in ["confirm", "g"] {
        assert_eq!(s.state_of(id), StepState::Waiting, "{id}");
    }
    assert!(s.events_of("after").is_empty());
    assert_eq!(s.state_of("side"), StepState::Succeeded, "other branches go on");
    assert_eq!(
        s.fake.calls().iter().filter(|c| ["confirm", "g", "after"].contains(&c.as_str())).count(),
        0
    );
    assert!(s.notes.iter().any(|n| matches!(n, Note::StepWaiting { step, reason } if step == "confirm" && reason == "Check the dashboard")));
    assert!(s.notes.iter().any(|n| matches!(n, Note::AwaitingApproval { step, missing, .. } if step == "g" && missing == &["lead".to_string()])));
}

#[tokio::test]
async fn an_approval_given_with_the_run_opens_the_gate() {
    let b = book(PEOPLE);
    let mut j = job(&b);
    j.approve = vec!["g".into()];
    let s = go(j, &[run_started(&b)], Fake::new()).await;
    assert_eq!(
        s.events_of("g"),
        ["approval_requested", "approved", "step_started", "step_succeeded"]
    );
    match &s.new_events()[s.at("approved", Some("g"))] {
        Event::Approved { by, role, how, .. } => {
            assert_eq!(
                (by.as_str(), role.as_str(), *how),
                (USER, "lead", crate::journal::How::Flag)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.finish, Finish::Paused("waiting for a person: confirm (manual step)".into()));
}

#[tokio::test]
async fn a_manual_step_decided_done_on_resume_lets_its_dependents_run() {
    let b = book(PEOPLE);
    let first = fresh(&b, Fake::new()).await;
    let mut prior = first.events.clone();
    prior.push(Event::RunResumed { at: clock::now(), pid: 1, user: USER.into() });
    prior.push(Event::StepDecided {
        step: "confirm".into(),
        decision: Decision::Done,
        by: USER.into(),
        at: clock::now(),
        reason: None,
        forced: false,
    });
    let mut j = job(&b);
    j.approve = vec!["g".into()];
    let s = go(j, &prior, Fake::new()).await;
    assert_eq!(s.finish, Finish::Succeeded);
    let mut calls = s.fake.calls();
    calls.sort();
    assert_eq!(calls, ["after", "g"]);
    assert_eq!(s.events_of("g"), ["approved", "step_started", "step_succeeded"], "asked once");
}

#[tokio::test]
async fn a_false_when_skips_the_step_and_satisfies_its_dependents() {
    let src = r#"
runbook "w" {
  owner "ops"
  param target = "dev"
  step a { run "a"; when target == "prod" }
  step b { needs a; run "b" }
}
"#;
    let b = book(src);
    let s = fresh(&b, Fake::new()).await;
    assert_eq!(s.finish, Finish::Succeeded);
    assert_eq!(s.events_of("a"), ["step_skipped"]);
    assert_eq!(s.fake.calls(), ["b"]);
}

#[tokio::test]
async fn captures_reach_checks_and_later_steps() {
    let src = r#"
runbook "c" {
  owner "ops"
  step a { run "a"; capture lag from stdout; check lag < 900 }
  step b { needs a; run "echo ${steps.a.lag}" }
  step c { run "c"; capture n from stdout; check n > 100; on_failure continue }
}
"#;
    let b = book(src);
    let s = fresh(&b, Fake::new().on("a", &[Out::Ok("42\n")]).on("c", &[Out::Ok("7")])).await;
    assert!(s.fake.rendered().contains(&("b".to_string(), "echo 42".to_string())));
    assert_eq!(
        s.state().step("a").and_then(|r| r.captures.get("lag").cloned()).as_deref(),
        Some("42")
    );
    assert_eq!(s.finish, Finish::Succeeded);
    let c = s.state().step("c").cloned().expect("a step of the run");
    assert_eq!(
        (c.state, c.error.as_deref()),
        (StepState::Failed, Some("check failed: n > 100 (n = 7)"))
    );
}

#[tokio::test]
async fn secrets_are_masked_in_notes_and_in_the_journal() {
    let src = r#"
runbook "s" {
  owner "ops"
  secret tok = env("TOK")
  step a { run "login ${tok}" }
}
"#;
    let b = book(src);
    let mut j = job(&b);
    j.secrets = Arc::new(Secrets::from_pairs(vec![("tok".into(), "s3cr3t".into())]));
    let s = go(j, &[run_started(&b)], Fake::new().on("a", &[Out::Fail("bad token s3cr3t")])).await;
    assert_eq!(
        s.fake.rendered(),
        [("a".to_string(), "login s3cr3t".to_string())],
        "the action sees it"
    );
    assert_eq!(s.finish, Finish::Failed("step `a` failed: bad token <secret:tok>".into()));
    let journal = format!("{:?}", s.events);
    let notes = format!("{:?}", s.notes);
    assert!(!journal.contains("s3cr3t") && !notes.contains("s3cr3t"));
    assert!(notes.contains("login <secret:tok>"));
}
