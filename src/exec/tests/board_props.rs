//! Property tests of [`Board`]: random DAGs (up to 30 steps), random policies, outcomes,
//! answers from people, interrupts and completion orders, driven the way the scheduler's loop
//! drives the board (launch, then one task or answer comes back, repeat), against a model
//! kept here independently.
//!
//! At every launch the board must hand out exactly what the model says is ready, within
//! `parallel`: forward, the earliest-declared steps whose needs are all satisfied; in the undo
//! phase, the latest-declared succeeded steps whose dependents are all settled. So no step
//! starts before its needs, no rollback before its dependents', no slot is ever over-filled and
//! no ready step is left waiting while a slot is free. At the end every step is in a final
//! state that matches the model, and the phase ends as the model says.

use super::super::board::{Board, Done, ForwardEnd, Fwd, Phase, Undid, Undo, UndoEnd};
use crate::graph::Dag;
use crate::journal::StepState;
use crate::model::FailurePolicy::{self, Abort, Continue, Rollback};
use proptest::prelude::*;
use proptest::sample::Index;

/// How a person answers a step left waiting.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Never,
    Done,
    OpenGate,
    Deny,
}

/// What a step's first task comes back with (a reopened gate's second one succeeds).
#[derive(Clone, Copy, Debug)]
enum Out {
    Succeed,
    Fail,
    Skip,
    Wait(Answer),
    /// Halted when the run is rolling back by then (the task had not begun), else succeeds.
    Halt,
}

#[derive(Clone, Copy, Debug)]
struct Script {
    out: Out,
    policy: FailurePolicy,
    undo: Undid,
}

#[derive(Clone, Debug)]
struct Case {
    needs: Vec<Vec<usize>>,
    steps: Vec<Script>,
    parallel: usize,
    /// Drives which task or answer comes back next.
    seed: u64,
    /// After how many completions a signal arrives, if ever.
    interrupt_at: Option<usize>,
}

fn script() -> impl Strategy<Value = Script> {
    let answer = prop_oneof![
        Just(Answer::Never),
        Just(Answer::Done),
        Just(Answer::OpenGate),
        Just(Answer::Deny)
    ];
    let out = prop_oneof![
        6 => Just(Out::Succeed),
        2 => Just(Out::Fail),
        1 => Just(Out::Skip),
        1 => answer.prop_map(Out::Wait),
        1 => Just(Out::Halt),
    ];
    let policy = prop_oneof![2 => Just(Continue), 1 => Just(Abort), 2 => Just(Rollback)];
    let undo = prop_oneof![
        4 => Just(Undid::Undone),
        2 => Just(Undid::NotUndone),
        1 => Just(Undid::Failed),
        1 => Just(Undid::Waiting),
    ];
    (out, policy, undo).prop_map(|(out, policy, undo)| Script { out, policy, undo })
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=30).prop_flat_map(|n| {
        let needs = proptest::collection::vec(proptest::collection::vec(any::<Index>(), 0..=3), n);
        let steps = proptest::collection::vec(script(), n);
        let interrupt = proptest::option::weighted(0.2, 0usize..40);
        (needs, steps, 1usize..=5, any::<u64>(), interrupt).prop_map(
            |(picks, steps, parallel, seed, interrupt_at)| {
                let needs = picks
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let mut v: Vec<usize> =
                            if i == 0 { vec![] } else { p.iter().map(|x| x.index(i)).collect() };
                        v.sort_unstable();
                        v.dedup();
                        v
                    })
                    .collect();
                Case { needs, steps, parallel, seed, interrupt_at }
            },
        )
    })
}

/// splitmix64: the completion order, reproducible from the case's seed.
fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The model of one run through the board.
struct Model<'c> {
    c: &'c Case,
    dependents: Vec<Vec<usize>>,
    fwd: Vec<Fwd>,
    undo: Vec<Undo>,
    phase: Phase,
    failure: Option<String>,
    interrupted: bool,
    launches: Vec<usize>,
    running: Vec<usize>,
    /// Waiting steps a person will answer.
    answers: Vec<usize>,
    completions: usize,
    rng: u64,
}

impl Model<'_> {
    fn satisfies(&self, d: usize) -> bool {
        match self.fwd[d] {
            Fwd::Succeeded | Fwd::Skipped => true,
            Fwd::Failed => self.c.steps[d].policy == Continue,
            _ => false,
        }
    }

    fn undo_settled(&self, d: usize) -> bool {
        matches!(self.undo[d], Undo::Undone | Undo::NotUndone | Undo::Idle)
    }

    /// What the board must launch now.
    fn expected_launch(&self) -> Vec<usize> {
        let room = self.c.parallel - self.running.len();
        let n = self.fwd.len();
        match self.phase {
            _ if self.interrupted => vec![],
            Phase::Forward => (0..n)
                .filter(|&i| {
                    self.fwd[i] == Fwd::Pending
                        && self.c.needs[i].iter().all(|&d| self.satisfies(d))
                })
                .take(room)
                .collect(),
            Phase::Undo => (0..n)
                .rev()
                .filter(|&i| {
                    self.undo[i] == Undo::Due
                        && self.dependents[i].iter().all(|&d| self.undo_settled(d))
                })
                .take(room)
                .collect(),
            Phase::Draining | Phase::RollingBack => vec![],
        }
    }

    fn fail(&mut self, i: usize, error: &str) -> Option<String> {
        self.fwd[i] = Fwd::Failed;
        let policy = self.c.steps[i].policy;
        if policy == Continue {
            return None;
        }
        let why = format!("step `s{i}` failed: {error}");
        self.failure.get_or_insert(why.clone());
        if policy == Rollback {
            self.phase = Phase::RollingBack;
            return Some(why);
        }
        if self.phase == Phase::Forward {
            self.phase = Phase::Draining;
        }
        None
    }

    /// Launches, checks the launch, lets one task or answer come back; `false` once nothing
    /// can come back any more.
    fn step(&mut self, b: &mut Board) -> Result<bool, TestCaseError> {
        let launched = b.launch();
        prop_assert_eq!(&launched, &self.expected_launch(), "launch in {:?}", self.phase);
        for &i in &launched {
            if self.phase == Phase::Undo {
                prop_assert_eq!(self.fwd[i], Fwd::Succeeded, "only what succeeded is undone");
                for &d in &self.dependents[i] {
                    prop_assert!(self.undo_settled(d), "s{} undone before its dependent s{}", i, d);
                }
                self.undo[i] = Undo::Running;
            } else {
                for &d in &self.c.needs[i] {
                    prop_assert!(self.satisfies(d), "s{} started before its need s{}", i, d);
                }
                self.fwd[i] = Fwd::Running;
                self.launches[i] += 1;
            }
            self.running.push(i);
        }
        prop_assert!(self.running.len() <= self.c.parallel);
        prop_assert_eq!(b.phase(), self.phase);
        prop_assert_eq!(b.idle(), self.running.is_empty());
        let choices = self.running.len() + self.answers.len();
        if choices == 0 {
            return Ok(false);
        }
        if self.c.interrupt_at == Some(self.completions) && !self.interrupted {
            self.interrupted = true;
            b.interrupt("SIGINT");
        }
        self.completions += 1;
        let pick = (next(&mut self.rng) % choices as u64) as usize;
        if pick < self.running.len() {
            let i = self.running.swap_remove(pick);
            if self.phase == Phase::Undo {
                self.undo_back(b, i);
            } else {
                self.forward_back(b, i)?;
            }
        } else {
            let i = self.answers.swap_remove(pick - self.running.len());
            self.answer(b, i)?;
        }
        Ok(true)
    }

    fn forward_back(&mut self, b: &mut Board, i: usize) -> Result<(), TestCaseError> {
        let out = if self.launches[i] > 1 { Out::Succeed } else { self.c.steps[i].out };
        let (done, expect_turn) = match out {
            _ if self.interrupted => {
                self.fwd[i] = Fwd::Interrupted;
                (Done::Interrupted, None)
            }
            Out::Halt if self.phase == Phase::RollingBack => {
                self.fwd[i] = Fwd::Pending;
                (Done::Halted, None)
            }
            Out::Succeed | Out::Halt => {
                self.fwd[i] = Fwd::Succeeded;
                (Done::Succeeded, None)
            }
            Out::Skip => {
                self.fwd[i] = Fwd::Skipped;
                (Done::Skipped, None)
            }
            Out::Fail => (Done::Failed("boom".into()), self.fail(i, "boom")),
            Out::Wait(answer) => {
                self.fwd[i] = Fwd::Waiting;
                if answer != Answer::Never {
                    self.answers.push(i);
                }
                (Done::Waiting, None)
            }
        };
        prop_assert_eq!(b.forward_done(i, done), expect_turn);
        Ok(())
    }

    fn answer(&mut self, b: &mut Board, i: usize) -> Result<(), TestCaseError> {
        match self.c.steps[i].out {
            Out::Wait(Answer::Done) => {
                b.answered(i, StepState::Succeeded, false);
                self.fwd[i] = Fwd::Succeeded;
            }
            Out::Wait(Answer::OpenGate) => {
                b.answered(i, StepState::Waiting, true);
                if self.phase == Phase::Forward {
                    self.fwd[i] = Fwd::Pending;
                }
            }
            Out::Wait(Answer::Deny) => {
                let turn = self.fail(i, "denied");
                prop_assert_eq!(b.answered_failed(i, "denied"), turn);
            }
            other => prop_assert!(false, "s{} was answered after {:?}", i, other),
        }
        Ok(())
    }

    fn undo_back(&mut self, b: &mut Board, i: usize) {
        let undid = if self.interrupted { Undid::Stopped } else { self.c.steps[i].undo };
        self.undo[i] = match undid {
            Undid::Undone => Undo::Undone,
            Undid::NotUndone => Undo::NotUndone,
            Undid::Failed => Undo::Failed,
            Undid::Waiting | Undid::Stopped => Undo::Undecided,
        };
        b.undo_done(i, undid);
    }

    fn journaled(&self) -> Vec<Option<StepState>> {
        self.fwd
            .iter()
            .map(|f| match f {
                Fwd::Succeeded => Some(StepState::Succeeded),
                Fwd::Skipped => Some(StepState::Skipped),
                Fwd::Failed => Some(StepState::Failed),
                Fwd::Waiting => Some(StepState::Waiting),
                Fwd::Interrupted => Some(StepState::Interrupted),
                Fwd::Pending | Fwd::Running => None,
            })
            .collect()
    }

    fn expected_forward_end(&self) -> ForwardEnd {
        if self.interrupted {
            return ForwardEnd::Interrupted("SIGINT".into());
        }
        if let Some(why) = &self.failure {
            return ForwardEnd::Failed(why.clone());
        }
        let waiting: Vec<usize> =
            (0..self.fwd.len()).filter(|&i| self.fwd[i] == Fwd::Waiting).collect();
        let blocked = self.fwd.contains(&Fwd::Pending);
        if !waiting.is_empty() || blocked {
            return ForwardEnd::Paused { waiting, blocked };
        }
        ForwardEnd::Succeeded
    }

    fn expected_undo_end(&self) -> UndoEnd {
        if self.interrupted {
            return UndoEnd::Interrupted("SIGINT".into());
        }
        let with =
            |u: Undo| (0..self.undo.len()).filter(|&i| self.undo[i] == u).collect::<Vec<_>>();
        if !with(Undo::Undecided).is_empty() {
            return UndoEnd::Paused(with(Undo::Undecided));
        }
        if !with(Undo::Failed).is_empty() {
            return UndoEnd::Failed { failed: with(Undo::Failed), remains: with(Undo::Due) };
        }
        UndoEnd::RolledBack { undone: with(Undo::Undone).len(), not_undone: with(Undo::NotUndone) }
    }
}

fn simulate(c: &Case) -> Result<(), TestCaseError> {
    let n = c.needs.len();
    let durations = (0..n).map(|i| (i as u64 * 37 % 11) * 1000).collect();
    let dag = Dag::new(durations, c.needs.clone()).expect("needs point backwards: acyclic");
    let ids = (0..n).map(|i| format!("s{i}")).collect();
    let policy = c.steps.iter().map(|s| s.policy).collect();
    let mut b = Board::new(&dag, ids, policy, c.parallel, &vec![None; n], &[]);
    let mut dependents = vec![Vec::new(); n];
    for (i, needs) in c.needs.iter().enumerate() {
        for &d in needs {
            dependents[d].push(i);
        }
    }
    let mut m = Model {
        c,
        dependents,
        fwd: vec![Fwd::Pending; n],
        undo: vec![Undo::Idle; n],
        phase: Phase::Forward,
        failure: None,
        interrupted: false,
        launches: vec![0; n],
        running: Vec::new(),
        answers: Vec::new(),
        completions: 0,
        rng: c.seed,
    };
    while m.step(&mut b)? {
        // The RTO projection from tails is the walk over the edges, at every point of a run.
        prop_assert_eq!(b.remaining_ms(), dag.remaining_critical_ms(&b.unfinished()));
    }
    for i in 0..n {
        prop_assert_eq!(b.fwd(i), m.fwd[i], "s{} after the forward phase", i);
        prop_assert!(m.fwd[i] != Fwd::Running);
        prop_assert!(m.launches[i] <= 2, "s{} launched {} times", i, m.launches[i]);
    }
    // The scheduler turns to its undo phase once nothing runs, unless a signal came.
    if m.phase != Phase::RollingBack || m.interrupted {
        let end = b.forward_end();
        prop_assert_eq!(&end, &m.expected_forward_end());
        if end == ForwardEnd::Succeeded {
            for i in 0..n {
                prop_assert!(m.satisfies(i), "the run succeeded with s{} {:?}", i, m.fwd[i]);
            }
        }
        return Ok(());
    }
    b.start_undo(&m.journaled());
    m.phase = Phase::Undo;
    m.answers.clear();
    for i in 0..n {
        m.undo[i] = if m.fwd[i] == Fwd::Succeeded { Undo::Due } else { Undo::Idle };
        prop_assert_eq!(b.undo_state(i), m.undo[i]);
    }
    while m.step(&mut b)? {
        // The RTO projection from tails is the walk over the edges, at every point of a run.
        prop_assert_eq!(b.remaining_ms(), dag.remaining_critical_ms(&b.unfinished()));
    }
    for i in 0..n {
        prop_assert_eq!(b.undo_state(i), m.undo[i], "s{} after the undo phase", i);
        prop_assert!(m.undo[i] != Undo::Running);
        if m.undo[i] == Undo::Due && !m.interrupted {
            // Left as it was only because a dependent's rollback did not settle.
            let blocked = m.dependents[i].iter().any(|&d| !m.undo_settled(d));
            prop_assert!(blocked, "s{} was never undone, yet nothing blocked it", i);
        }
    }
    prop_assert_eq!(b.undo_end(), m.expected_undo_end());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_board_launches_exactly_what_is_ready_within_parallel(c in case()) {
        simulate(&c)?;
    }
}
