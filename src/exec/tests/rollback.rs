//! [`super::super::execute_with`] end to end with stand-in actions, rolling back: the undo
//! order, what is not undone and why, failed and interrupted rollbacks, and what stops once
//! the run turns.

use super::fake::{book, fresh, go, job, run_started, Book, Fake, Out, Session, USER};
use crate::exec::{Finish, Note};
use crate::journal::{Decision, Event, Outcome, RunStatus, StepState};
use crate::model::time as clock;

/// a -> b, a -> c, b -> d, c -> d, d -> e; `e` fails in the tests below; `c` has nothing to
/// undo.
const ROLLBACK: &str = r#"
runbook "undo" {
  owner "ops"
  on_failure rollback
  step a { run "a"; rollback run "undo a" }
  step b { needs a; run "b"; rollback run "undo b" }
  step c { needs a; run "c" }
  step d { needs b, c; run "d"; rollback run "undo d" }
  step e { needs d; run "e"; rollback run "undo e" }
}
"#;

/// A fresh run of `b` where a person says `e`, which failed after it began, was not done
/// (the question a rollback asks about a failed step that has a rollback action).
async fn fresh_e_not_done(b: &Book, fake: Fake) -> Session {
    let mut j = job(b);
    j.decisions.insert("e".into(), Decision::Fail);
    go(j, &[run_started(b)], fake).await
}

#[tokio::test]
async fn a_failed_step_said_done_is_undone_with_the_rest() {
    let b = book(ROLLBACK);
    let mut j = job(&b);
    j.decisions.insert("e".into(), Decision::Done);
    let s = go(j, &[run_started(&b)], Fake::new().on("e", &[Out::Fail("boom")])).await;
    assert_eq!(
        s.finish,
        Finish::RolledBack("4 step(s) undone; not undone (no rollback action): `c`".into())
    );
    assert_eq!(s.fake.count("undo:e"), 1, "it was done, so it is undone");
    assert_eq!(s.steps_of("undo_started").first().map(String::as_str), Some("e"));
}

#[tokio::test]
async fn a_failed_step_with_a_rollback_action_pauses_the_rollback_for_a_person() {
    let b = book(ROLLBACK);
    let s = fresh(&b, Fake::new().on("e", &[Out::Fail("boom")])).await;
    let Finish::Paused(why) = &s.finish else { panic!("{:?}", s.finish) };
    assert!(why.contains("`e`") || why.contains(" e "), "{why}");
    assert_eq!(s.fake.count("undo:d"), 0, "nothing is undone before the answer");
    assert!(matches!(s.last(), Event::RunPaused { .. }));
}

#[tokio::test]
async fn a_failure_under_rollback_undoes_the_diamond_from_the_bottom_up() {
    let b = book(ROLLBACK);
    let s = fresh_e_not_done(&b, Fake::new().on("e", &[Out::Fail("boom")])).await;
    assert_eq!(
        s.finish,
        Finish::RolledBack("3 step(s) undone; not undone (no rollback action): `c`".into())
    );
    let started = s.steps_of("undo_started");
    assert_eq!(started.first().map(String::as_str), Some("d"));
    assert_eq!(started.last().map(String::as_str), Some("a"));
    assert_eq!(started.len(), 3, "{started:?}: b in between, c has nothing to undo");
    assert_eq!(s.steps_of("undo_skipped"), ["c"]);
    // b and c are settled only after d, and before a starts.
    for mid in [s.at("undo_succeeded", Some("b")), s.at("undo_skipped", Some("c"))] {
        assert!(s.at("undo_succeeded", Some("d")) < mid && mid < s.at("undo_started", Some("a")));
    }
    assert!(s.events_of("e").iter().all(|n| !n.starts_with("undo")), "a failed step is not undone");
    assert_eq!(s.fake.count("undo:e"), 0);
    let rollback = s.new_events().iter().find_map(|e| match e {
        Event::RollbackStarted { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(rollback.as_deref(), Some("step `e` failed: boom"));
    for (id, st) in
        [("a", StepState::Undone), ("b", StepState::Undone), ("c", StepState::NotUndone)]
    {
        assert_eq!(s.state_of(id), st, "{id}");
    }
    assert_eq!((s.state_of("d"), s.state_of("e")), (StepState::Undone, StepState::Failed));
    s.finished(Outcome::RolledBack);
    assert!(s.notes.iter().any(|n| matches!(n, Note::RollbackStarted { .. })));
}

#[tokio::test]
async fn a_failed_rollback_leaves_what_it_needs_and_names_them() {
    let b = book(ROLLBACK);
    let fake =
        Fake::new().on("e", &[Out::Fail("boom")]).on("undo:b", &[Out::Fail("cannot demote")]);
    let s = fresh_e_not_done(&b, fake).await;
    assert_eq!(
        s.finish,
        Finish::RollbackFailed(
            "the rollback of `b` failed: cannot demote; not undone because of it (still succeeded): `a`"
                .into()
        )
    );
    assert_eq!(s.fake.count("undo:a"), 0);
    assert_eq!(s.state_of("a"), StepState::Succeeded);
    assert_eq!(s.state_of("b"), StepState::UndoFailed);
    s.finished(Outcome::RollbackFailed);
    assert_eq!(s.state().status, RunStatus::RollbackFailed);
}

#[tokio::test]
async fn a_rollback_stopped_mid_flight_waits_for_a_person() {
    let b = book(ROLLBACK);
    let fake = Fake::new().on("e", &[Out::Fail("boom")]).on("undo:d", &[Out::Stop]);
    let s = fresh_e_not_done(&b, fake).await;
    let Finish::Paused(why) = &s.finish else { panic!("{:?}", s.finish) };
    assert!(why.starts_with("the rollback of `d` waits for a person"), "{why}");
    assert_eq!(s.state_of("d"), StepState::Undoing);
    assert_eq!((s.fake.count("undo:b"), s.fake.count("undo:a")), (0, 0));
    assert!(matches!(s.last(), Event::RunPaused { .. }));
    assert!(s.notes.iter().any(|n| matches!(n, Note::UndoInterrupted { step } if step == "d")));
}

#[tokio::test]
async fn a_retry_due_when_the_run_turns_to_rolling_back_is_not_made() {
    let src = r#"
runbook "r" {
  owner "ops"
  step slow { run "slow"; retry 3 every 10s; on_failure continue }
  step bad { run "bad"; on_failure rollback }
}
"#;
    let b = book(src);
    let began = std::time::Instant::now();
    let fake = Fake::new().on("slow", &[Out::Fail("flaky")]).on("bad", &[Out::Fail("boom")]);
    let s = fresh(&b, fake).await;
    assert!(began.elapsed().as_secs() < 5, "the 10s retry wait was cut short");
    assert_eq!(s.events_of("slow"), ["step_started", "step_failed", "step_interrupted"]);
    assert_eq!(s.fake.count("slow"), 1);
    assert_eq!(s.finish, Finish::RolledBack("0 step(s) undone".into()));
}

#[tokio::test]
async fn a_step_marked_failed_on_resume_turns_the_run_to_rolling_back() {
    let b = book(ROLLBACK);
    // The runner died while b ran: a person decides `fail` on resume.
    let mut prior = vec![run_started(&b)];
    let now = clock::now;
    prior.push(Event::StepStarted { step: "a".into(), attempt: 1, at: now() });
    prior.push(Event::StepSucceeded {
        step: "a".into(),
        attempt: 1,
        at: now(),
        duration_ms: 1,
        captures: Default::default(),
        rpo_ms: None,
    });
    prior.push(Event::StepStarted { step: "b".into(), attempt: 1, at: now() });
    prior.push(Event::RunResumed { at: now(), pid: 1, user: USER.into() });
    prior.push(Event::StepDecided {
        step: "b".into(),
        decision: Decision::Fail,
        by: USER.into(),
        at: now(),
        reason: None,
        forced: false,
    });
    let mut j = job(&b);
    j.keep_failed = vec![b.index("b")];
    let s = go(j, &prior, Fake::new()).await;
    assert_eq!(s.finish, Finish::RolledBack("1 step(s) undone".into()));
    assert_eq!(s.fake.calls(), ["undo:a"]);
    assert_eq!(s.steps_of("undo_started"), ["a"]);
    match s.new_events().first() {
        Some(Event::RollbackStarted { reason, .. }) => {
            assert_eq!(reason, "step `b` failed: marked failed by tester");
        }
        other => panic!("the session should start by rolling back: {other:?}"),
    }
}

#[tokio::test]
async fn no_forward_step_begins_once_the_run_turned_to_rolling_back() {
    let src = r#"
runbook "r" {
  owner "ops"
  on_failure rollback
  step bad { run "bad" }
  step late { run "late"; rollback run "undo late" }
}
"#;
    let b = book(src);
    // `late` was launched with `bad`, but asks to begin only after `bad` failed.
    let fake = Fake::new().on("bad", &[Out::Fail("boom")]).slow_start("late", 5);
    let s = fresh(&b, fake).await;
    assert_eq!(s.finish, Finish::RolledBack("0 step(s) undone".into()));
    assert!(s.events_of("late").is_empty(), "{:?}", s.events_of("late"));
    assert_eq!(s.fake.calls(), ["bad"]);
    assert_eq!(s.state_of("late"), StepState::Pending);
}

#[tokio::test]
async fn a_step_still_running_when_the_run_turns_finishes_and_is_undone() {
    let src = ROLLBACK
        .replace("\n}\n", "\n  step y { needs d; run \"y\"; rollback run \"undo y\" }\n}\n");
    let b = book(&src);
    let fake = Fake::new().on("e", &[Out::Fail("boom")]).on("y", &[Out::Late(5)]);
    let s = fresh_e_not_done(&b, fake).await;
    assert_eq!(
        s.finish,
        Finish::RolledBack("4 step(s) undone; not undone (no rollback action): `c`".into())
    );
    assert!(
        s.at("step_succeeded", Some("y"))
            > s.new_events()
                .iter()
                .position(|e| e.name() == "rollback_started")
                .expect("it rolled back")
    );
    assert_eq!(s.steps_of("undo_started").first().map(String::as_str), Some("y"));
    assert_eq!(s.state_of("y"), StepState::Undone);
}
