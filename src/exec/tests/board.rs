//! Table tests of [`Board`]: what it launches, when, in which order, and how each phase ends.
//!
//! Steps are `s0..sN`; `needs[i]` lists the steps step `i` needs. The diamond is
//! `s0 -> s1, s0 -> s2, s1 -> s3, s2 -> s3`.

use super::super::board::{Board, Done, ForwardEnd, Fwd, Phase, Undid, Undo, UndoEnd};
use crate::graph::Dag;
use crate::journal::StepState;
use crate::model::FailurePolicy::{self, Abort, Continue, Rollback};

const DIAMOND: &[&[usize]] = &[&[], &[0], &[0], &[1, 2]];

fn board_with(
    needs: &[&[usize]],
    policy: &[FailurePolicy],
    parallel: usize,
    state: &[Option<StepState>],
    keep_failed: &[usize],
) -> Board {
    let n = needs.len();
    let dag = Dag::new(vec![0; n], needs.iter().map(|r| r.to_vec()).collect())
        .expect("test graph is acyclic");
    let ids = (0..n).map(|i| format!("s{i}")).collect();
    Board::new(&dag, ids, policy.to_vec(), parallel, state, keep_failed)
}

/// A fresh run: every step under `policy`, nothing journaled.
fn board(needs: &[&[usize]], policy: FailurePolicy, parallel: usize) -> Board {
    let n = needs.len();
    board_with(needs, &vec![policy; n], parallel, &vec![None; n], &[])
}

/// A run in its undo phase, each step's rollback standing as `state` says.
fn undoing(needs: &[&[usize]], state: &[Option<StepState>], parallel: usize) -> Board {
    let mut b = board(needs, Rollback, parallel);
    b.rolling_back("step `x` failed: boom");
    assert_eq!(b.phase(), Phase::RollingBack);
    b.start_undo(state);
    assert_eq!(b.phase(), Phase::Undo);
    b
}

fn failed(why: &str) -> Done {
    Done::Failed(why.to_string())
}

const NONE: Vec<usize> = Vec::new();
const OK: Option<StepState> = Some(StepState::Succeeded);

#[test]
fn a_step_starts_only_once_all_its_needs_are_satisfied() {
    let mut b = board(DIAMOND, Abort, 8);
    assert_eq!(b.launch(), vec![0]);
    assert_eq!(b.launch(), NONE);
    assert_eq!(b.forward_done(0, Done::Succeeded), None);
    assert_eq!(b.launch(), vec![1, 2]);
    b.forward_done(1, Done::Succeeded);
    assert_eq!(b.launch(), NONE, "s3 still needs s2");
    assert_eq!(b.fwd(3), Fwd::Pending);
    b.forward_done(2, Done::Succeeded);
    assert_eq!(b.launch(), vec![3]);
    assert_eq!(b.fwd(3), Fwd::Running);
    b.forward_done(3, Done::Succeeded);
    assert!(b.idle());
    assert_eq!(b.unfinished(), vec![false; 4]);
    assert_eq!(b.forward_end(), ForwardEnd::Succeeded);
}

#[test]
fn what_satisfies_a_need() {
    // How s0 ended, under which policy, and whether s1 (which needs s0) may start then.
    let cases = [
        (Done::Succeeded, Abort, true),
        (Done::Skipped, Abort, true),
        (failed("boom"), Continue, true),
        (failed("boom"), Abort, false),
        (failed("boom"), Rollback, false),
        (Done::Waiting, Abort, false),
        (Done::Interrupted, Abort, false),
        (Done::Halted, Abort, false),
    ];
    for (done, policy, ready) in cases {
        let mut b = board_with(&[&[], &[0]], &[policy, Abort], 4, &[None, None], &[]);
        assert_eq!(b.launch(), vec![0]);
        b.forward_done(0, done.clone());
        let launched = b.launch();
        assert_eq!(
            launched == vec![1],
            ready,
            "s0 {done:?} under {policy:?}: launched {launched:?}"
        );
    }
}

#[test]
fn a_run_whose_only_failures_are_under_continue_succeeds() {
    let mut b = board(DIAMOND, Continue, 8);
    assert_eq!(b.launch(), vec![0]);
    b.forward_done(0, Done::Succeeded);
    assert_eq!(b.launch(), vec![1, 2]);
    assert_eq!(b.forward_done(1, failed("boom")), None);
    assert_eq!(b.phase(), Phase::Forward);
    b.forward_done(2, Done::Skipped);
    assert_eq!(b.launch(), vec![3]);
    b.forward_done(3, Done::Succeeded);
    assert_eq!(b.fwd(1), Fwd::Failed);
    assert_eq!(b.forward_end(), ForwardEnd::Succeeded);
}

#[test]
fn the_parallel_limit_is_never_exceeded() {
    let mut b = board(&[&[] as &[usize]; 5], Abort, 2);
    assert_eq!(b.launch(), vec![0, 1]);
    assert_eq!(b.launch(), NONE);
    b.forward_done(1, Done::Succeeded);
    assert_eq!(b.launch(), vec![2]);
    // A step that waits for a person, or is skipped, frees its slot too.
    b.forward_done(0, Done::Waiting);
    assert_eq!(b.launch(), vec![3]);
    b.forward_done(2, Done::Skipped);
    assert_eq!(b.launch(), vec![4]);
    assert_eq!(b.launch(), NONE);
}

#[test]
fn a_parallel_limit_of_zero_runs_one_at_a_time() {
    let mut b = board(&[&[] as &[usize]; 3], Abort, 0);
    assert_eq!(b.launch(), vec![0]);
    assert_eq!(b.launch(), NONE);
    b.forward_done(0, Done::Succeeded);
    assert_eq!(b.launch(), vec![1]);
}

#[test]
fn forward_starts_the_earliest_declared_ready_step_first() {
    // s0 needs s2, declared before it: once s2 succeeds, s0 goes before s3.
    let mut b = board(&[&[2], &[], &[], &[]], Abort, 1);
    let mut order = Vec::new();
    loop {
        let launched = b.launch();
        let Some(&i) = launched.first() else { break };
        assert_eq!(launched.len(), 1);
        order.push(i);
        b.forward_done(i, Done::Succeeded);
    }
    assert_eq!(order, vec![1, 2, 0, 3]);
}

#[test]
fn undo_starts_the_latest_declared_ready_step_first() {
    let mut b = undoing(&[&[] as &[usize]; 4], &[OK; 4], 1);
    let mut order = Vec::new();
    loop {
        let launched = b.launch();
        let Some(&i) = launched.first() else { break };
        order.push(i);
        assert_eq!(b.undo_state(i), Undo::Running);
        b.undo_done(i, Undid::Undone);
    }
    assert_eq!(order, vec![3, 2, 1, 0]);
    assert_eq!(b.undo_end(), UndoEnd::RolledBack { undone: 4, not_undone: vec![] });
}

#[test]
fn a_failure_under_abort_drains_running_steps_and_launches_nothing_more() {
    // s0, s1 and s3 are independent; s2 needs s0.
    let mut b = board(&[&[], &[], &[0], &[]], Abort, 2);
    assert_eq!(b.launch(), vec![0, 1]);
    assert_eq!(b.forward_done(1, failed("boom")), None);
    assert_eq!(b.phase(), Phase::Draining);
    assert!(b.phase().winding_down() && !b.phase().halted());
    assert_eq!(b.launch(), NONE, "s3 is ready but the run is draining");
    assert!(!b.idle(), "s0 still runs");
    b.forward_done(0, Done::Succeeded);
    assert_eq!(b.launch(), NONE, "s2 is ready but the run is draining");
    assert!(b.idle());
    assert_eq!((b.fwd(2), b.fwd(3)), (Fwd::Pending, Fwd::Pending));
    assert_eq!(b.forward_end(), ForwardEnd::Failed("step `s1` failed: boom".into()));
}

#[test]
fn the_first_failure_is_the_one_reported() {
    let mut b = board(&[&[], &[]], Abort, 2);
    assert_eq!(b.launch(), vec![0, 1]);
    b.forward_done(1, failed("first"));
    b.forward_done(0, failed("second"));
    assert_eq!(b.forward_end(), ForwardEnd::Failed("step `s1` failed: first".into()));
}

#[test]
fn a_failure_under_rollback_halts_the_forward_phase() {
    let mut b = board(&[&[], &[], &[0]], Rollback, 2);
    assert_eq!(b.launch(), vec![0, 1]);
    let why = b.forward_done(1, failed("boom"));
    assert_eq!(why.as_deref(), Some("step `s1` failed: boom"));
    assert_eq!(b.phase(), Phase::RollingBack);
    assert!(b.phase().halted() && b.phase().winding_down());
    assert_eq!(b.launch(), NONE);
    // A task that had not begun when the run turned comes back halted: pending again.
    b.forward_done(0, Done::Halted);
    assert_eq!(b.fwd(0), Fwd::Pending);
    assert_eq!(b.launch(), NONE);
    assert!(b.idle());
    b.start_undo(&[None, Some(StepState::Failed), None]);
    assert_eq!(b.launch(), NONE, "nothing succeeded, nothing to undo");
    assert_eq!(b.undo_end(), UndoEnd::RolledBack { undone: 0, not_undone: vec![] });
}

#[test]
fn a_failure_under_abort_then_one_under_rollback_rolls_back() {
    let mut b = board_with(&[&[], &[]], &[Abort, Rollback], 2, &[None, None], &[]);
    assert_eq!(b.launch(), vec![0, 1]);
    assert_eq!(b.forward_done(0, failed("a")), None);
    assert_eq!(b.phase(), Phase::Draining);
    assert!(b.forward_done(1, failed("b")).is_some());
    assert_eq!(b.phase(), Phase::RollingBack);
}

#[test]
fn rolling_back_while_undoing_stays_in_the_undo_phase() {
    let mut b = undoing(DIAMOND, &[OK; 4], 4);
    b.rolling_back("again");
    assert_eq!(b.phase(), Phase::Undo);
    assert_eq!(b.launch(), vec![3]);
}

#[test]
fn undo_on_a_diamond_goes_from_the_bottom_up() {
    let mut b = undoing(DIAMOND, &[OK; 4], 8);
    assert_eq!(b.launch(), vec![3]);
    assert_eq!(b.launch(), NONE);
    b.undo_done(3, Undid::Undone);
    assert_eq!(b.launch(), vec![2, 1], "latest declared first");
    b.undo_done(2, Undid::Undone);
    assert_eq!(b.launch(), NONE, "s0 waits for s1's rollback too");
    assert_eq!(b.undo_state(0), Undo::Due);
    b.undo_done(1, Undid::NotUndone);
    assert_eq!(b.launch(), vec![0]);
    b.undo_done(0, Undid::Undone);
    assert!(b.idle());
    assert_eq!(b.undo_end(), UndoEnd::RolledBack { undone: 3, not_undone: vec![1] });
}

#[test]
fn undo_on_a_chain_goes_last_to_first() {
    for n in 1..=6 {
        let needs: Vec<Vec<usize>> =
            (0..n).map(|i| if i == 0 { vec![] } else { vec![i - 1] }).collect();
        let needs: Vec<&[usize]> = needs.iter().map(Vec::as_slice).collect();
        let mut b = undoing(&needs, &vec![OK; n], 8);
        let mut order = Vec::new();
        loop {
            let launched = b.launch();
            let Some(&i) = launched.first() else { break };
            assert_eq!(launched.len(), 1, "a chain undoes one step at a time");
            order.push(i);
            b.undo_done(i, Undid::Undone);
        }
        assert_eq!(order, (0..n).rev().collect::<Vec<_>>(), "chain of {n}");
    }
}

#[test]
fn steps_that_never_succeeded_do_not_block_the_undo() {
    // s3 failed, s2 was skipped, s1 never ran: only s0 is undone, at once.
    let state = [OK, None, Some(StepState::Skipped), Some(StepState::Failed)];
    let mut b = undoing(DIAMOND, &state, 8);
    assert_eq!(b.launch(), vec![0]);
    for i in 1..4 {
        assert_eq!(b.undo_state(i), Undo::Idle);
    }
    b.undo_done(0, Undid::Undone);
    assert_eq!(b.undo_end(), UndoEnd::RolledBack { undone: 1, not_undone: vec![] });
}

#[test]
fn a_failed_rollback_blocks_the_steps_it_needs() {
    let mut b = undoing(DIAMOND, &[OK; 4], 8);
    assert_eq!(b.launch(), vec![3]);
    b.undo_done(3, Undid::Undone);
    assert_eq!(b.launch(), vec![2, 1]);
    b.undo_done(1, Undid::Failed);
    b.undo_done(2, Undid::Undone);
    assert_eq!(b.launch(), NONE);
    assert!(b.idle());
    assert_eq!(b.undo_state(0), Undo::Due);
    assert_eq!(b.undo_end(), UndoEnd::Failed { failed: vec![1], remains: vec![0] });
}

#[test]
fn a_failed_rollback_at_the_end_of_a_chain_leaves_the_whole_chain() {
    let mut b = undoing(&[&[], &[0], &[1]], &[OK; 3], 8);
    assert_eq!(b.launch(), vec![2]);
    b.undo_done(2, Undid::Failed);
    assert_eq!(b.launch(), NONE);
    assert_eq!(b.undo_end(), UndoEnd::Failed { failed: vec![2], remains: vec![0, 1] });
}

#[test]
fn an_undecided_rollback_pauses_the_undo_phase() {
    for undid in [Undid::Waiting, Undid::Stopped] {
        let mut b = undoing(DIAMOND, &[OK; 4], 8);
        assert_eq!(b.launch(), vec![3]);
        b.undo_done(3, Undid::Undone);
        assert_eq!(b.launch(), vec![2, 1]);
        b.undo_done(2, undid);
        assert_eq!(b.undo_state(2), Undo::Undecided);
        b.undo_done(1, Undid::Failed);
        assert_eq!(b.launch(), NONE, "s0 waits for a person to settle s2");
        assert_eq!(b.undo_end(), UndoEnd::Paused(vec![2]), "a person's answer comes first");
    }
}

#[test]
fn undo_resumes_from_the_journaled_states() {
    use StepState::{NotUndone, UndoFailed, Undoing, Undone};
    // (s1's rollback as journaled, what launches first, how the phase ends if nothing else runs)
    let cases = [
        (Undone, vec![0], None),
        (NotUndone, vec![0], None),
        (Undoing, vec![], Some(UndoEnd::Paused(vec![1]))),
        (UndoFailed, vec![], Some(UndoEnd::Failed { failed: vec![1], remains: vec![0] })),
    ];
    for (s1, first, end) in cases {
        let state = [OK, Some(s1), Some(NotUndone), Some(Undone)];
        let mut b = undoing(DIAMOND, &state, 8);
        assert_eq!(b.launch(), first, "s1 {s1:?}");
        if let Some(end) = end {
            assert_eq!(b.undo_end(), end, "s1 {s1:?}");
        }
    }
}

#[test]
fn a_step_waiting_for_a_person_pauses_the_forward_phase() {
    // s0 waits at its gate; s1 needs s0; s2 is independent.
    let mut b = board(&[&[], &[0], &[]], Abort, 4);
    assert_eq!(b.launch(), vec![0, 2]);
    b.forward_done(0, Done::Waiting);
    b.forward_done(2, Done::Succeeded);
    assert_eq!(b.fwd(0), Fwd::Waiting);
    assert_eq!(b.waiting(), vec![0]);
    assert_eq!(b.launch(), NONE);
    assert!(b.idle());
    assert_eq!(b.unfinished(), vec![true, true, false]);
    assert_eq!(b.forward_end(), ForwardEnd::Paused { waiting: vec![0], blocked: true });
}

#[test]
fn a_manual_step_answered_done_lets_its_dependents_start() {
    let mut b = board(&[&[], &[0]], Abort, 4);
    assert_eq!(b.launch(), vec![0]);
    b.forward_done(0, Done::Waiting);
    b.answered(0, StepState::Succeeded, false);
    assert_eq!(b.fwd(0), Fwd::Succeeded);
    assert_eq!(b.waiting(), NONE);
    assert_eq!(b.launch(), vec![1]);
}

#[test]
fn an_opened_gate_sends_its_step_back_to_be_launched() {
    let mut b = board(&[&[], &[0]], Abort, 4);
    assert_eq!(b.launch(), vec![0]);
    b.forward_done(0, Done::Waiting);
    b.answered(0, StepState::Waiting, true);
    assert_eq!(b.fwd(0), Fwd::Pending);
    assert_eq!(b.launch(), vec![0]);
    b.forward_done(0, Done::Succeeded);
    assert_eq!(b.launch(), vec![1]);
}

#[test]
fn an_answer_that_settles_nothing_changes_nothing() {
    let mut b = board(&[&[], &[]], Abort, 4);
    assert_eq!(b.launch(), vec![0, 1]);
    b.forward_done(0, Done::Waiting);
    // An approval came in, but the gate still lacks a role.
    b.answered(0, StepState::Waiting, false);
    assert_eq!(b.fwd(0), Fwd::Waiting);
    // Answers about a step that does not wait are ignored.
    b.answered(1, StepState::Succeeded, false);
    assert_eq!(b.answered_failed(1, "denied"), None);
    assert_eq!(b.fwd(1), Fwd::Running);
    assert_eq!(b.phase(), Phase::Forward);
}

#[test]
fn a_gate_opened_while_draining_is_not_launched() {
    let mut b = board(&[&[], &[]], Abort, 4);
    assert_eq!(b.launch(), vec![0, 1]);
    b.forward_done(0, Done::Waiting);
    b.forward_done(1, failed("boom"));
    b.answered(0, StepState::Waiting, true);
    assert_eq!(b.fwd(0), Fwd::Waiting);
    assert_eq!(b.launch(), NONE);
    assert_eq!(b.forward_end(), ForwardEnd::Failed("step `s1` failed: boom".into()));
}

#[test]
fn a_denied_gate_fails_its_step_under_its_policy() {
    // (policy, turns to rolling back, phase after, whether s1 (needs s0) starts)
    let cases = [
        (Abort, false, Phase::Draining, false),
        (Rollback, true, Phase::RollingBack, false),
        (Continue, false, Phase::Forward, true),
    ];
    for (policy, turns, phase, next) in cases {
        let mut b = board_with(&[&[], &[0]], &[policy, Abort], 4, &[None, None], &[]);
        assert_eq!(b.launch(), vec![0]);
        b.forward_done(0, Done::Waiting);
        let why = b.answered_failed(0, "approval denied by carol: no");
        assert_eq!(why.is_some(), turns, "{policy:?}");
        assert_eq!(b.phase(), phase, "{policy:?}");
        assert_eq!(b.fwd(0), Fwd::Failed);
        assert_eq!(b.launch() == vec![1], next, "{policy:?}");
    }
}

#[test]
fn an_interrupt_stops_all_launches() {
    let mut b = board(&[&[], &[], &[0]], Abort, 1);
    assert_eq!(b.launch(), vec![0]);
    b.interrupt("SIGINT");
    b.interrupt("SIGTERM");
    assert_eq!(b.interrupted(), Some("SIGINT"), "the first signal is kept");
    b.forward_done(0, Done::Interrupted);
    assert_eq!(b.fwd(0), Fwd::Interrupted);
    assert_eq!(b.launch(), NONE);
    assert!(b.idle());
    assert_eq!(b.forward_end(), ForwardEnd::Interrupted("SIGINT".into()));
}

#[test]
fn an_interrupt_stops_undo_launches_too() {
    let mut b = undoing(&[&[], &[]], &[OK; 2], 1);
    assert_eq!(b.launch(), vec![1]);
    b.interrupt("SIGTERM");
    b.undo_done(1, Undid::Stopped);
    assert_eq!(b.launch(), NONE);
    assert_eq!(b.undo_end(), UndoEnd::Interrupted("SIGTERM".into()));
}

#[test]
fn a_step_marked_failed_on_resume_is_not_run_again() {
    // Under abort: the run is over before anything starts.
    let mut b = board_with(&[&[], &[0], &[]], &[Abort; 3], 4, &[None; 3], &[0]);
    assert_eq!(b.fwd(0), Fwd::Failed);
    assert_eq!(b.phase(), Phase::Draining);
    assert_eq!(b.launch(), NONE);
    assert_eq!(b.forward_end(), ForwardEnd::Failed("step `s0` was marked failed".into()));
    // Under continue: its dependents go on.
    let mut b = board_with(&[&[], &[0]], &[Continue, Abort], 4, &[None; 2], &[0]);
    assert_eq!(b.phase(), Phase::Forward);
    assert_eq!(b.launch(), vec![1]);
    b.forward_done(1, Done::Succeeded);
    assert_eq!(b.forward_end(), ForwardEnd::Succeeded);
}

#[test]
fn journaled_steps_stand_as_the_journal_says() {
    use StepState::{Failed, Interrupted, Running, Skipped, Waiting};
    // Succeeded and skipped steps never run again; everything else gets a fresh start.
    let state = [OK, Some(Skipped), None, None];
    let mut b = board_with(DIAMOND, &[Abort; 4], 4, &state, &[]);
    assert_eq!(b.launch(), vec![2]);
    for s in [Failed, Interrupted, Running, Waiting] {
        let state = [OK, Some(s), None, None];
        let mut b = board_with(DIAMOND, &[Abort; 4], 4, &state, &[]);
        assert_eq!(b.launch(), vec![1, 2], "s1 {s:?}");
    }
    let mut b = board_with(DIAMOND, &[Abort; 4], 4, &[OK; 4], &[]);
    assert_eq!(b.launch(), NONE);
    assert_eq!(b.forward_end(), ForwardEnd::Succeeded);
}

#[test]
fn a_step_whose_gate_stays_denied_is_not_run_again_and_its_policy_applies() {
    // (policy, turns to rolling back, phase after, what launches next)
    let cases = [
        (Abort, false, Phase::Draining, NONE),
        (Rollback, true, Phase::RollingBack, NONE),
        (Continue, false, Phase::Forward, vec![1, 2]),
    ];
    for (policy, turns, phase, next) in cases {
        let mut b = board_with(&[&[], &[0], &[]], &[policy, Abort, Abort], 4, &[None; 3], &[]);
        let why = b.stays_failed(0, "approval denied by carol: no");
        assert_eq!(why.is_some(), turns, "{policy:?}");
        assert_eq!((b.phase(), b.fwd(0)), (phase, Fwd::Failed), "{policy:?}");
        assert_eq!(b.launch(), next, "{policy:?}: the denied step never launches");
    }
    let mut b = board_with(&[&[]], &[Abort], 1, &[None], &[]);
    b.stays_failed(0, "approval denied by carol: no");
    assert_eq!(
        b.forward_end(),
        ForwardEnd::Failed("step `s0` failed: approval denied by carol: no".into())
    );
}
