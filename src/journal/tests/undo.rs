//! Replay of a rollback: `rollback_started`, the `undo_*` events, and what may no longer
//! happen once a run rolls back.

use super::*;

fn rollback() -> Event {
    Event::RollbackStarted { at: AT.into(), reason: "step `c` failed".into(), by: "ana".into() }
}

fn undo_start(step: &str) -> Event {
    Event::UndoStarted { step: step.into(), at: AT.into() }
}

fn undo_process(step: &str) -> Event {
    Event::UndoProcess { step: step.into(), pid: 200, pgid: 200, pid_start: 9 }
}

fn undo_ok(step: &str) -> Event {
    Event::UndoSucceeded { step: step.into(), at: AT.into(), duration_ms: 5 }
}

fn undo_failed(step: &str) -> Event {
    Event::UndoFailed {
        step: step.into(),
        at: AT.into(),
        error: "exit code 9".into(),
        will_retry: false,
    }
}

fn undo_skip(step: &str) -> Event {
    Event::UndoSkipped { step: step.into(), at: AT.into(), reason: "no rollback action".into() }
}

fn undo_decide(step: &str, decision: Decision) -> Event {
    Event::UndoDecided {
        step: step.into(),
        decision,
        by: "ana".into(),
        at: AT.into(),
        reason: None,
    }
}

/// `a` and `b` succeeded, `c` failed: the usual start of a rollback.
fn before() -> Vec<Event> {
    vec![start("a", 1), ok("a", 1), start("b", 1), ok("b", 1), start("c", 1), fail("c", 1, false)]
}

fn with(rest: Vec<Event>) -> Vec<Event> {
    let mut all = before();
    all.extend(rest);
    journal(&["a", "b", "c"], all)
}

#[test]
fn a_rollback_replays_to_rolled_back_with_each_steps_undo() {
    let mut state =
        replay(&with(vec![rollback(), undo_start("b"), undo_process("b")])).expect("valid journal");
    assert_eq!(state.status, RunStatus::Running);
    assert_eq!(state.rollback.as_ref().map(|r| r.by.as_str()), Some("ana"));
    let b = state.step("b").expect("test: step exists");
    assert_eq!(b.state, StepState::Undoing);
    assert_eq!(b.undo.as_ref().and_then(|u| u.process), Some((200, 200, 9)), "kept for resume");
    for e in [undo_ok("b"), undo_skip("a"), finished(Outcome::RolledBack)] {
        state.apply(state.records + 1, &e).expect("valid");
    }
    assert_eq!(state.status, RunStatus::RolledBack);
    assert!(!state.status.is_unfinished());
    let b = state.step("b").expect("test: step exists");
    assert_eq!(
        (b.state, b.undo.as_ref().and_then(|u| u.duration_ms)),
        (StepState::Undone, Some(5))
    );
    assert_eq!(b.undo.as_ref().and_then(|u| u.process), None);
    let a = state.step("a").expect("test: step exists");
    assert_eq!(a.state, StepState::NotUndone);
    assert_eq!(a.undo.as_ref().and_then(|u| u.reason.as_deref()), Some("no rollback action"));
    assert_eq!(state.step("c").map(|r| r.state), Some(StepState::Failed), "not undone");
}

#[test]
fn a_person_decides_an_interrupted_rollback_done_or_failed_never_retried() {
    let state = replay(&with(vec![
        rollback(),
        undo_start("b"),
        run_interrupted(),
        resumed(),
        undo_decide("b", Decision::Done),
        undo_start("a"),
        undo_failed("a"),
        finished(Outcome::RollbackFailed),
    ]))
    .expect("valid journal");
    assert_eq!(state.status, RunStatus::RollbackFailed);
    assert_eq!(state.step("b").map(|r| r.state), Some(StepState::Undone));
    let a = state.step("a").expect("test: step exists");
    assert_eq!(a.state, StepState::UndoFailed);
    assert_eq!(a.undo.as_ref().and_then(|u| u.error.as_deref()), Some("exit code 9"));
    let failed = replay(&with(vec![rollback(), undo_start("b"), undo_decide("b", Decision::Fail)]))
        .expect("valid journal");
    let b = failed.step("b").expect("test: step exists");
    assert_eq!(b.state, StepState::UndoFailed);
    assert_eq!(b.undo.as_ref().and_then(|u| u.error.as_deref()), Some("marked failed by ana"));
}

#[test]
fn a_finished_run_may_still_roll_back_once() {
    let ok_run =
        vec![start("a", 1), ok("a", 1), finished(Outcome::Succeeded), rollback(), resumed()];
    let state = replay(&journal(&["a"], ok_run)).expect("a succeeded run may roll back");
    assert_eq!(state.status, RunStatus::Running);
    // Running steps may still end after the turn, and a person may decide one done.
    let state = replay(&journal(
        &["a", "b"],
        vec![start("a", 1), start("b", 1), rollback(), ok("a", 1), decide("b", Decision::Done)],
    ))
    .expect("valid journal");
    assert_eq!(state.step("b").map(|r| r.state), Some(StepState::Succeeded));
}

#[test]
fn impossible_rollback_events_are_rejected_with_their_record() {
    use Decision::*;
    let s = &["a", "b", "c"];
    // Record 1 is `run_started`, then `before()`: the next record, then the one after it.
    let (first, at) = (before().len() + 2, before().len() + 3);
    let cases: Vec<(Vec<Event>, usize, &str)> = vec![
        (vec![undo_start("a")], first, "`undo_started` before `rollback_started`"),
        (vec![rollback(), start("c", 2)], at, "the run is rolling back"),
        (vec![rollback(), decide("c", Retry)], at, "the run is rolling back"),
        (vec![rollback(), rollback()], at, "already rolling back"),
        (vec![rollback(), undo_start("c")], at, "only a step that succeeded is undone"),
        (vec![rollback(), undo_ok("a")], at, "step `a` already succeeded, so `undo_succeeded`"),
        (vec![rollback(), undo_start("a"), undo_start("a")], at + 1, "(rolled back)"),
        (vec![rollback(), undo_start("a"), undo_decide("a", Retry)], at + 1, "never runs twice"),
        (vec![rollback(), undo_skip("a"), undo_start("a")], at + 1, "(rolled back)"),
        (vec![rollback(), finished(Outcome::Succeeded)], at, "ends rolled back or rollback failed"),
        (vec![finished(Outcome::RolledBack)], first, "never rolled back cannot end rolled back"),
        (
            vec![rollback(), finished(Outcome::RolledBack), resumed()],
            at + 1,
            "a finished run takes no more",
        ),
        (
            vec![rollback(), finished(Outcome::RolledBack), rollback()],
            at + 1,
            "a finished run takes no more",
        ),
    ];
    for (rest, want_record, want) in cases {
        let shown = format!("{rest:?}");
        let mut all = before();
        all.extend(rest);
        match replay(&journal(s, all)) {
            Err(JournalError::Impossible { record, reason, .. }) => {
                assert_eq!(record, want_record, "{shown}: {reason}");
                assert!(reason.contains(want), "{shown}: `{reason}` lacks `{want}`");
            }
            other => panic!("{shown}: expected an impossible transition, got {other:?}"),
        }
    }
}

fn probed(step: &str, seen: Seen, decides: bool) -> Event {
    Event::StepProbed { step: step.into(), at: AT.into(), seen, output: "t".into(), decides }
}

#[test]
fn a_failed_step_whose_probe_finds_its_effect_is_succeeded_and_can_be_undone() {
    let state = replay(&with(vec![
        rollback(),
        probed("c", Seen::InPlace, true),
        undo_start("c"),
        undo_ok("c"),
    ]))
    .expect("valid journal");
    assert_eq!(state.step("c").map(|r| r.state), Some(StepState::Undone));
    let p = state.step("c").and_then(|r| r.probe.clone()).expect("the probe is kept");
    assert!(p.decided && p.seen == Seen::InPlace);
}

#[test]
fn only_a_probe_that_finds_the_effect_decides_a_step() {
    let err = replay(&with(vec![rollback(), probed("c", Seen::NotInPlace, true)]))
        .expect_err("a probe that finds nothing cannot count the step succeeded");
    assert!(err.to_string().contains("in place"), "{err}");
    let state = replay(&with(vec![rollback(), probed("c", Seen::NotInPlace, false)]))
        .expect("a probe that only looks changes nothing");
    assert_eq!(state.step("c").map(|r| r.state), Some(StepState::Failed));
}

#[test]
fn a_failed_rollback_starts_again_only_when_tried_again() {
    let base = vec![rollback(), undo_start("b"), undo_failed("b")];
    let mut again = base.clone();
    again.push(undo_start("b"));
    replay(&with(again)).expect_err("a rollback that failed for good never starts again by itself");

    let mut retried = base.clone();
    retried[2] = Event::UndoFailed {
        step: "b".into(),
        at: AT.into(),
        error: "exit code 9".into(),
        will_retry: true,
    };
    retried.extend([undo_start("b"), undo_ok("b")]);
    let state = replay(&with(retried)).expect("the rollback block's retry starts it again");
    assert_eq!(state.step("b").map(|r| r.state), Some(StepState::Undone));

    let mut later = base;
    later.extend([
        undo_skip("a"),
        finished(Outcome::RollbackFailed),
        Event::RollbackRetried { at: AT.into(), by: "ana".into() },
        resumed(),
        undo_start("b"),
        undo_ok("b"),
        finished(Outcome::RolledBack),
    ]);
    let state = replay(&with(later)).expect("`drbook rollback` tries it again after exit 5");
    assert_eq!(state.status, RunStatus::RolledBack);
}

#[test]
fn a_rollback_is_tried_again_only_after_it_failed() {
    let events = with(vec![
        rollback(),
        undo_start("b"),
        undo_ok("b"),
        undo_skip("a"),
        finished(Outcome::RolledBack),
        Event::RollbackRetried { at: AT.into(), by: "ana".into() },
    ]);
    replay(&events).expect_err("a rolled-back run takes nothing more");
}
