//! The scheduler's state for one session: the [`Phase`] the run is in, where each step stands,
//! and what may start next. Pure: no I/O, no clock, no tasks. The loop (`scheduler.rs`) feeds it
//! what tasks came back with and what people answered, and launches what it hands out.
//!
//! Readiness comes from the DAG. Forward, a step is ready when each of its needs succeeded,
//! was skipped, or failed under `continue`; in the undo phase, a step's rollback is ready when
//! each of its dependents is settled: undone, not undone (no rollback action), or never
//! succeeded. Both are kept as counters of unmet edges, so a launch costs O(edges) over the
//! whole run, not a scan per event. Among ready steps the forward phase starts the earliest
//! declared first, the undo phase the latest declared first.
//!
//! Phases: `Forward` launches; a failure under `abort` turns it to `Draining` (no launches;
//! waits for a person end; running steps finish and may retry); a failure under `rollback` to
//! `RollingBack` (the same, and no new attempts); once nothing runs, a run whose journal holds
//! `rollback_started` enters `Undo`. A signal ([`Board::interrupt`]) stops all launches.

use crate::graph::Dag;
use crate::journal::StepState;
use crate::model::FailurePolicy;
use std::collections::BTreeSet;

/// Where the run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Forward,
    /// A failure under `abort`: no launches; running steps finish.
    Draining,
    /// A failure under `rollback`: no launches and no new attempts; then the undo phase.
    RollingBack,
    /// Undoing what succeeded.
    Undo,
}

impl Phase {
    /// No more forward launches; gates and manual steps stop waiting for a person.
    pub fn winding_down(self) -> bool {
        self != Phase::Forward
    }

    /// No new attempts of forward steps (a retry due is not made).
    pub fn halted(self) -> bool {
        matches!(self, Phase::RollingBack | Phase::Undo)
    }
}

/// A step's forward state in this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fwd {
    Pending,
    Running,
    Succeeded,
    Skipped,
    Failed,
    /// Waiting for a person (a gate or a manual step).
    Waiting,
    Interrupted,
}

/// A step's rollback state in this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undo {
    /// It succeeded; its rollback has not begun.
    Due,
    Running,
    /// `undoing` and nobody runs it: a person must say how it ended.
    Undecided,
    Undone,
    NotUndone,
    Failed,
    /// It never succeeded: nothing to undo, blocks nothing.
    Idle,
}

/// What a forward step task came back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    Succeeded,
    Skipped,
    Failed(String),
    Waiting,
    Interrupted,
    /// Not started: the run turned to rolling back first.
    Halted,
}

/// What an undo task came back with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undid {
    Undone,
    NotUndone,
    Failed,
    /// A manual rollback without a person, or a person walked away from the prompt.
    Waiting,
    /// A signal stopped it mid-flight.
    Stopped,
}

/// How the forward phase ended, once nothing runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardEnd {
    Interrupted(String),
    Failed(String),
    /// Steps wait for a person (their indices), or are blocked by them.
    Paused {
        waiting: Vec<usize>,
        blocked: bool,
    },
    Succeeded,
}

/// How the undo phase ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UndoEnd {
    Interrupted(String),
    /// Rollbacks waiting for a person to say whether they were done.
    Paused(Vec<usize>),
    /// Rollbacks that failed, and the steps left succeeded because of them.
    Failed {
        failed: Vec<usize>,
        remains: Vec<usize>,
    },
    RolledBack {
        undone: usize,
        not_undone: Vec<usize>,
    },
}

/// The scheduler's state.
pub struct Board {
    phase: Phase,
    needs: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    ids: Vec<String>,
    policy: Vec<FailurePolicy>,
    fwd: Vec<Fwd>,
    undo: Vec<Undo>,
    /// Edges not yet satisfied: needs (forward) or dependents (undo).
    unmet: Vec<usize>,
    ready: BTreeSet<usize>,
    running: usize,
    parallel: usize,
    failure: Option<String>,
    interrupted: Option<String>,
    /// Each step's tail (`Dag::tails`), for the RTO projection.
    tails: Vec<u64>,
}

impl Board {
    /// The board for a run whose steps stand as `state` says (`None`: never journaled).
    /// `keep_failed`: steps a person just decided `fail`, not run again in this session.
    pub fn new(
        dag: &Dag,
        ids: Vec<String>,
        policy: Vec<FailurePolicy>,
        parallel: usize,
        state: &[Option<StepState>],
        keep_failed: &[usize],
    ) -> Board {
        let n = ids.len();
        let fwd: Vec<Fwd> = (0..n)
            .map(|i| match state[i] {
                Some(StepState::Succeeded) => Fwd::Succeeded,
                Some(StepState::Skipped) => Fwd::Skipped,
                _ if keep_failed.contains(&i) => Fwd::Failed,
                _ => Fwd::Pending,
            })
            .collect();
        let failure = keep_failed
            .iter()
            .find(|&&i| policy[i] != FailurePolicy::Continue)
            .map(|&i| format!("step `{}` was marked failed", ids[i]));
        let mut b = Board {
            phase: if failure.is_some() { Phase::Draining } else { Phase::Forward },
            needs: (0..n).map(|i| dag.needs(i).to_vec()).collect(),
            dependents: (0..n).map(|i| dag.dependents(i).to_vec()).collect(),
            ids,
            policy,
            fwd,
            undo: vec![Undo::Idle; n],
            unmet: vec![0; n],
            ready: BTreeSet::new(),
            running: 0,
            parallel: parallel.max(1),
            failure,
            interrupted: None,
            tails: dag.tails(),
        };
        for i in 0..n {
            b.unmet[i] = b.needs[i].iter().filter(|&&d| !b.satisfies(d)).count();
            if b.fwd[i] == Fwd::Pending && b.unmet[i] == 0 {
                b.ready.insert(i);
            }
        }
        b
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    #[cfg(test)]
    pub fn fwd(&self, i: usize) -> Fwd {
        self.fwd[i]
    }

    #[cfg(test)]
    pub fn undo_state(&self, i: usize) -> Undo {
        self.undo[i]
    }

    /// Nothing runs.
    pub fn idle(&self) -> bool {
        self.running == 0
    }

    pub fn interrupted(&self) -> Option<&str> {
        self.interrupted.as_deref()
    }

    /// The run turns to rolling back (the journal holds, or now gets, `rollback_started`).
    pub fn rolling_back(&mut self, why: &str) {
        self.failure.get_or_insert_with(|| why.to_string());
        if self.phase != Phase::Undo {
            self.phase = Phase::RollingBack;
        }
    }

    /// A signal: nothing more is launched.
    pub fn interrupt(&mut self, signal: &str) {
        self.interrupted.get_or_insert_with(|| signal.to_string());
    }

    /// The steps to start now (marked running), within `parallel`.
    pub fn launch(&mut self) -> Vec<usize> {
        let mut out = Vec::new();
        let launching = matches!(self.phase, Phase::Forward | Phase::Undo);
        while launching && self.interrupted.is_none() && self.running < self.parallel {
            let next = if self.phase == Phase::Undo {
                self.ready.pop_last()
            } else {
                self.ready.pop_first()
            };
            let Some(i) = next else { break };
            if self.phase == Phase::Undo {
                self.undo[i] = Undo::Running;
            } else {
                self.fwd[i] = Fwd::Running;
            }
            self.running += 1;
            out.push(i);
        }
        out
    }

    /// A step that stays failed in this session for a reason the journal holds (its gate was
    /// denied and nobody re-opened it): it is not run again, and its failure policy applies as
    /// if it had just failed. `Some(reason)` when the run must turn to rolling back. Call
    /// before the first launch.
    pub fn stays_failed(&mut self, i: usize, error: &str) -> Option<String> {
        if self.fwd[i] != Fwd::Pending {
            return None;
        }
        self.ready.remove(&i);
        self.failed(i, error)
    }

    /// A forward task came back. `Some(reason)` when the run must turn to rolling back now.
    pub fn forward_done(&mut self, i: usize, done: Done) -> Option<String> {
        self.running = self.running.saturating_sub(1);
        match done {
            Done::Succeeded => self.settle_fwd(i, Fwd::Succeeded),
            Done::Skipped => self.settle_fwd(i, Fwd::Skipped),
            Done::Waiting => self.fwd[i] = Fwd::Waiting,
            Done::Interrupted => self.fwd[i] = Fwd::Interrupted,
            Done::Halted => self.fwd[i] = Fwd::Pending,
            Done::Failed(err) => return self.failed(i, &err),
        }
        None
    }

    /// Steps waiting for a person, for the loop to look at after an answer came in.
    pub fn waiting(&self) -> Vec<usize> {
        (0..self.fwd.len()).filter(|&i| self.fwd[i] == Fwd::Waiting).collect()
    }

    /// A waiting step was answered from another shell: it succeeded (a manual step marked
    /// done), or its gate is satisfied (`gate_open`) and it may go on. Failures go through
    /// [`Board::answered_failed`].
    pub fn answered(&mut self, i: usize, now: StepState, gate_open: bool) {
        if self.fwd[i] != Fwd::Waiting {
            return;
        }
        match now {
            StepState::Succeeded => self.settle_fwd(i, Fwd::Succeeded),
            StepState::Waiting if gate_open && self.phase == Phase::Forward => {
                self.fwd[i] = Fwd::Pending;
                if self.unmet[i] == 0 {
                    self.ready.insert(i);
                }
            }
            _ => {}
        }
    }

    /// Like [`Board::answered`] for a failure whose error the journal holds.
    pub fn answered_failed(&mut self, i: usize, error: &str) -> Option<String> {
        if self.fwd[i] != Fwd::Waiting {
            return None;
        }
        self.failed(i, error)
    }

    fn failed(&mut self, i: usize, err: &str) -> Option<String> {
        self.settle_fwd(i, Fwd::Failed);
        match self.policy[i] {
            FailurePolicy::Continue => None,
            p => {
                let why = format!("step `{}` failed: {err}", self.ids[i]);
                self.failure.get_or_insert(why.clone());
                if p == FailurePolicy::Rollback {
                    self.rolling_back(&why);
                    Some(why)
                } else {
                    if self.phase == Phase::Forward {
                        self.phase = Phase::Draining;
                    }
                    None
                }
            }
        }
    }

    fn satisfies(&self, d: usize) -> bool {
        match self.fwd[d] {
            Fwd::Succeeded | Fwd::Skipped => true,
            Fwd::Failed => self.policy[d] == FailurePolicy::Continue,
            _ => false,
        }
    }

    fn settle_fwd(&mut self, i: usize, to: Fwd) {
        self.fwd[i] = to;
        if !self.satisfies(i) {
            return;
        }
        for k in 0..self.dependents[i].len() {
            let d = self.dependents[i][k];
            self.unmet[d] = self.unmet[d].saturating_sub(1);
            if self.unmet[d] == 0 && self.fwd[d] == Fwd::Pending {
                self.ready.insert(d);
            }
        }
    }

    /// Which steps have not finished.
    #[cfg(test)]
    pub fn unfinished(&self) -> Vec<bool> {
        self.fwd.iter().map(|f| !matches!(f, Fwd::Succeeded | Fwd::Skipped | Fwd::Failed)).collect()
    }

    /// The critical time of what is left: the largest tail of a step not finished. A step
    /// finishes only after its needs, so this is `Dag::remaining_critical_ms` without a walk
    /// over the edges on every step's end.
    pub fn remaining_ms(&self) -> u64 {
        self.fwd
            .iter()
            .zip(&self.tails)
            .filter(|(f, _)| !matches!(f, Fwd::Succeeded | Fwd::Skipped | Fwd::Failed))
            .map(|(_, &t)| t)
            .max()
            .unwrap_or(0)
    }

    /// How the forward phase ended; call once nothing runs and the run does not turn to its
    /// undo phase.
    pub fn forward_end(&self) -> ForwardEnd {
        if let Some(sig) = &self.interrupted {
            return ForwardEnd::Interrupted(sig.clone());
        }
        if let Some(why) = &self.failure {
            return ForwardEnd::Failed(why.clone());
        }
        let waiting = self.waiting();
        let blocked = self.fwd.contains(&Fwd::Pending);
        if !waiting.is_empty() || blocked {
            return ForwardEnd::Paused { waiting, blocked };
        }
        ForwardEnd::Succeeded
    }

    /// Enters the undo phase, each step's rollback standing as `state` says.
    pub fn start_undo(&mut self, state: &[Option<StepState>]) {
        self.phase = Phase::Undo;
        self.ready.clear();
        self.undo = state
            .iter()
            .map(|s| match s {
                Some(StepState::Succeeded) => Undo::Due,
                Some(StepState::Undoing) => Undo::Undecided,
                Some(StepState::Undone) => Undo::Undone,
                Some(StepState::NotUndone) => Undo::NotUndone,
                Some(StepState::UndoFailed) => Undo::Failed,
                _ => Undo::Idle,
            })
            .collect();
        for i in 0..self.undo.len() {
            self.unmet[i] = self.dependents[i].iter().filter(|&&d| !self.undo_settled(d)).count();
            if self.undo[i] == Undo::Due && self.unmet[i] == 0 {
                self.ready.insert(i);
            }
        }
    }

    fn undo_settled(&self, i: usize) -> bool {
        matches!(self.undo[i], Undo::Undone | Undo::NotUndone | Undo::Idle)
    }

    /// An undo task came back.
    pub fn undo_done(&mut self, i: usize, undid: Undid) {
        self.running = self.running.saturating_sub(1);
        self.undo[i] = match undid {
            Undid::Undone => Undo::Undone,
            Undid::NotUndone => Undo::NotUndone,
            Undid::Failed => Undo::Failed,
            Undid::Waiting | Undid::Stopped => Undo::Undecided,
        };
        if !self.undo_settled(i) {
            return;
        }
        for k in 0..self.needs[i].len() {
            let d = self.needs[i][k];
            self.unmet[d] = self.unmet[d].saturating_sub(1);
            if self.unmet[d] == 0 && self.undo[d] == Undo::Due {
                self.ready.insert(d);
            }
        }
    }

    /// How the undo phase ended; call once nothing runs.
    pub fn undo_end(&self) -> UndoEnd {
        if let Some(sig) = &self.interrupted {
            return UndoEnd::Interrupted(sig.clone());
        }
        let with = |u: Undo| -> Vec<usize> {
            (0..self.undo.len()).filter(|&i| self.undo[i] == u).collect()
        };
        // A rollback waiting for a person is not over, even where another one failed.
        let undecided = with(Undo::Undecided);
        if !undecided.is_empty() {
            return UndoEnd::Paused(undecided);
        }
        let failed = with(Undo::Failed);
        if !failed.is_empty() {
            return UndoEnd::Failed { failed, remains: with(Undo::Due) };
        }
        UndoEnd::RolledBack { undone: with(Undo::Undone).len(), not_undone: with(Undo::NotUndone) }
    }
}
