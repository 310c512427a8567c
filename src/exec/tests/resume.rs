//! Resume from every journal prefix: a run is driven to its end once, its journal is cut after
//! every record, and a fresh executor resumes each cut the way `drbook resume` does
//! (`run_resumed`, then the decisions `cli/decide.rs` would record without a terminal when
//! told to go on). Each resumed run must end as the uncut one did, never repeat a finished
//! step or a begun rollback, and leave a journal that replays.

use super::fake::{book, go, job, run_started, Book, Fake, Out, Session, USER};
use crate::exec::Finish;
use crate::journal::{replay, Decision, Event, RunState, RunStatus, StepState};
use crate::model::time as clock;

/// What `resume` appends before the executor goes on: `run_resumed`, and for each step that
/// was in flight when the runner died a person's decision, as `settle_steps` records it with
/// `--interrupted STEP=retry` (forward) or `=done` (rolling back, and for interrupted
/// rollbacks). Idempotent steps run again without one.
fn resumed(book: &Book, prefix: &[Event]) -> Vec<Event> {
    let state = replay(prefix).expect("every prefix of a journal replays");
    let mut events = prefix.to_vec();
    events.push(Event::RunResumed { at: clock::now(), pid: 1, user: USER.into() });
    // As `decide::will_roll_back`: turned already, or a failure under `rollback` will turn it.
    let rolling = state.rollback.is_some()
        || book.rb.steps.iter().any(|s| {
            s.on_failure == crate::model::FailurePolicy::Rollback
                && state.step(&s.id).is_some_and(|r| r.state == StepState::Failed)
        });
    for step in &book.rb.steps {
        let Some(rec) = state.step(&step.id) else { continue };
        let (step, by, at) = (step.id.clone(), USER.to_string(), clock::now());
        match rec.state {
            StepState::Undoing => {
                events.push(Event::UndoDecided {
                    step,
                    decision: Decision::Done,
                    by,
                    at,
                    reason: None,
                });
            }
            StepState::Running | StepState::Interrupted => {
                // Stopped between a failed attempt and its retry while rolling back: nothing
                // was in flight.
                let between = rolling
                    && rec.state == StepState::Interrupted
                    && rec.error.is_some()
                    && rec.process.is_none();
                let idempotent = book.rb.steps[book.index(&step)].idempotent;
                if between || (!rolling && idempotent) {
                    continue;
                }
                let decision = if rolling { Decision::Done } else { Decision::Retry };
                events.push(Event::StepDecided {
                    step,
                    decision,
                    by,
                    at,
                    reason: None,
                    forced: false,
                });
            }
            _ => {}
        }
    }
    events
}

fn count(events: &[Event], name: &str, step: &str) -> usize {
    events.iter().filter(|e| e.name() == name && e.step() == Some(step)).count()
}

/// The job of every session here: `--approve g`, so gate `g` opens without a person.
fn approving(book: &Book) -> crate::exec::Job {
    let mut j = job(book);
    j.approve = vec!["g".into()];
    // As the run rolls back, `e` (which failed after it began) was not done: nothing to undo.
    j.decisions.insert("e".into(), Decision::Fail);
    j
}

/// Runs `book` once with `fake()` to its end, then resumes every cut of its journal short of
/// the last record. Returns the uncut session, and each cut's length, the run as the cut
/// left it, and the resumed session.
async fn cuts(book: &Book, fake: impl Fn() -> Fake) -> (Session, Vec<(usize, RunState, Session)>) {
    let whole = go(approving(book), &[run_started(book)], fake()).await;
    let mut out = Vec::new();
    for k in 1..whole.events.len() {
        let prefix = &whole.events[..k];
        let before = replay(prefix).expect("every prefix of a journal replays");
        let s = go(approving(book), &resumed(book, prefix), fake()).await;
        out.push((k, before, s));
    }
    assert!(out.len() > 10, "the journal has {} records", whole.events.len());
    (whole, out)
}

fn succeeded(st: &RunState, id: &str) -> bool {
    st.step(id).is_some_and(|r| r.state == StepState::Succeeded)
}

const FORWARD: &str = r#"
runbook "resume" {
  owner "ops"
  parallel 2
  step a { run "a" }
  step b { needs a; run "b"; retry 1 every 1ms }
  step c { needs a; run "c"; idempotent }
  step g { needs a; approval { by lead }; run "g" }
  step d { needs b, c, g; run "d" }
}
"#;

#[tokio::test]
async fn a_run_resumed_from_any_prefix_completes_without_repeating_finished_steps() {
    let b = book(FORWARD);
    // b's first attempt fails in every session and its retry succeeds.
    let (whole, sessions) = cuts(&b, || Fake::new().on("b", &[Out::Fail("flaky")])).await;
    assert_eq!(whole.finish, Finish::Succeeded);
    for (k, before, s) in sessions {
        assert_eq!(s.finish, Finish::Succeeded, "cut {k}");
        let after = s.state();
        assert_eq!(after.status, RunStatus::Succeeded, "cut {k}");
        for (id, rec) in &after.steps {
            assert_eq!(rec.state, StepState::Succeeded, "cut {k}: `{id}`");
            assert_eq!(count(&s.events, "step_succeeded", id), 1, "cut {k}: `{id}` succeeds once");
            let done = succeeded(&before, id);
            assert_eq!(
                s.fake.count(id) > 0,
                !done,
                "cut {k}: `{id}` runs iff it had not succeeded"
            );
        }
        // Approvals hold across a crash: the gate is asked for once overall.
        assert_eq!(count(&s.events, "approval_requested", "g"), 1, "cut {k}");
    }
}

const ROLLBACK: &str = r#"
runbook "undo" {
  owner "ops"
  on_failure rollback
  step a { run "a"; rollback run "undo a" }
  step b { needs a; run "b"; rollback run "undo b" }
  step c { needs a; run "c"; idempotent }
  step d { needs b, c; run "d"; rollback run "undo d" }
  step e { needs d; run "e"; rollback run "undo e" }
}
"#;

#[tokio::test]
async fn a_rolling_back_run_resumed_from_any_prefix_undoes_each_step_once() {
    let b = book(ROLLBACK);
    let (whole, sessions) = cuts(&b, || Fake::new().on("e", &[Out::Fail("boom")])).await;
    let undone =
        Finish::RolledBack("3 step(s) undone; not undone (no rollback action): `c`".into());
    assert_eq!(whole.finish, undone);
    for (k, before, s) in sessions {
        assert_eq!(s.finish, undone, "cut {k}");
        let after = s.state();
        assert_eq!(after.status, RunStatus::RolledBack, "cut {k}");
        let prefix = &s.events[..k];
        for (id, st) in [
            ("a", StepState::Undone),
            ("b", StepState::Undone),
            ("c", StepState::NotUndone),
            ("d", StepState::Undone),
            ("e", StepState::Failed),
        ] {
            assert_eq!(after.step(id).map(|r| r.state), Some(st), "cut {k}: `{id}`");
            // A rollback action runs at most once overall: before the cut (its
            // `undo_started` is there) or in the resumed session.
            let undo = format!("undo:{id}");
            let runs = count(prefix, "undo_started", id) + s.fake.count(&undo);
            assert_eq!(
                runs,
                usize::from(st == StepState::Undone),
                "cut {k}: `{undo}` ran {runs} times"
            );
            let once = usize::from(id != "e");
            assert_eq!(count(&s.events, "step_succeeded", id), once, "cut {k}: `{id}`");
            if succeeded(&before, id) {
                assert_eq!(s.fake.count(id), 0, "cut {k}: `{id}` had succeeded: not run again");
            }
        }
        if before.rollback.is_some() {
            let forward: Vec<String> =
                s.fake.calls().into_iter().filter(|c| !c.starts_with("undo:")).collect();
            assert!(
                forward.is_empty(),
                "cut {k}: nothing runs forward once rolling back: {forward:?}"
            );
        }
    }
}

/// A crash between a step's failure under `rollback` and `rollback_started` (the window
/// `scheduler.rs` closes on resume by turning the run then), while a sibling, `y`, was running.
/// Resume counts the run as rolling back already (a failure under `rollback` turns it), so it
/// asks whether `y` finished — `done` here, idempotent or not — and `y` is then undone like
/// every step that succeeded. (It used to journal `retry`, or skip an idempotent `y`; the
/// executor then turned the run, `y` never ran again, and was never undone.)
#[tokio::test]
async fn a_step_running_just_before_the_run_turns_is_not_left_behind() {
    for (y, decided) in [("", Some(Decision::Done)), ("; idempotent", Some(Decision::Done))] {
        let step = format!("  step y {{ needs d; run \"y\"; rollback run \"undo y\"{y} }}\n}}\n");
        let b = book(&ROLLBACK.replace("\n}\n", &format!("\n{step}")));
        let fake = || Fake::new().on("e", &[Out::Fail("boom")]).on("y", &[Out::Late(5)]);
        let whole = go(job(&b), &[run_started(&b)], fake()).await;
        let turned = whole
            .events
            .iter()
            .position(|e| e.name() == "rollback_started")
            .expect("the run rolled back");
        let prefix = &whole.events[..turned];
        let before = replay(prefix).expect("every prefix of a journal replays");
        assert_eq!(before.step("e").map(|r| r.state), Some(StepState::Failed));
        assert_eq!(before.step("y").map(|r| r.state), Some(StepState::Running), "y's action began");
        let s = go(job(&b), &resumed(&b, prefix), fake()).await;
        let rec = s.state().step("y").cloned().expect("a step of the run");
        assert_eq!(rec.decision, decided, "what resume decided for y{y}");
        assert!(
            !matches!(rec.state, StepState::Pending | StepState::Running),
            "y{y}, whose action ran, is left {} and not undone, yet the run ended {:?}",
            rec.state,
            s.finish
        );
    }
}

#[test]
fn what_resume_does_with_a_step_left_in_flight() {
    use crate::exec::{on_resume, OnResume};
    use crate::journal::StepRecord;
    let mut step =
        crate::model::tests_support::runbook_with_durations(&[1000], &[&[]]).steps[0].clone();
    let rec = |state: StepState| StepRecord { state, attempts: 1, ..StepRecord::default() };
    let remote =
        StepRecord { remote: Some(("command".into(), "c-1".into())), ..rec(StepState::Running) };
    let halted = StepRecord { error: Some("boom".into()), ..rec(StepState::Interrupted) };
    step.idempotent = false;
    // (idempotent, record, rolling back, what resume does)
    let cases = [
        (false, rec(StepState::Running), false, Some(OnResume::Ask)),
        (true, rec(StepState::Running), false, Some(OnResume::Rerun)),
        (true, rec(StepState::Interrupted), false, Some(OnResume::Rerun)),
        (false, remote.clone(), false, Some(OnResume::Reattach)),
        (true, rec(StepState::Running), true, Some(OnResume::Ask)),
        (false, remote, true, Some(OnResume::Ask)),
        (false, halted, true, None),
        (true, rec(StepState::Undoing), true, Some(OnResume::Ask)),
        (true, rec(StepState::Succeeded), false, None),
        (false, rec(StepState::Waiting), false, None),
        (false, rec(StepState::Failed), false, None),
    ];
    for (idempotent, r, rolling, want) in cases {
        step.idempotent = idempotent;
        assert_eq!(on_resume(&step, &r, rolling), want, "{idempotent} {:?} {rolling}", r.state);
    }
}
