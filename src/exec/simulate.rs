//! `run --dry-run`: the whole scheduler with simulated actions. Nothing runs and nothing is
//! written; time is fast-forwarded by each step's `duration`, with the real `parallel` limit,
//! so the timeline shows when each step would start and finish and when the run would end.

use crate::graph::Dag;
use crate::model::{Millis, Runbook};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One step in the simulated timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub step: usize,
    pub start_ms: Millis,
    pub end_ms: Millis,
}

/// Steps in start order; the run's simulated length is the latest `end_ms`. `finally` steps
/// start once every other step has ended.
pub fn simulate(rb: &Runbook, dag: &Dag, parallel: usize) -> Vec<Slot> {
    let forward = rb.forward_len();
    let mut out = phase(rb, dag, parallel, 0..forward, 0);
    let end = out.iter().map(|s| s.end_ms).max().unwrap_or(0);
    out.extend(phase(rb, dag, parallel, forward..rb.steps.len(), end));
    out
}

/// The steps of `range` (closed under `needs`), from `now` on.
fn phase(
    rb: &Runbook,
    dag: &Dag,
    parallel: usize,
    range: std::ops::Range<usize>,
    mut now: Millis,
) -> Vec<Slot> {
    let n = rb.steps.len();
    let parallel = parallel.max(1);
    let mut waiting: Vec<usize> = (0..n).map(|i| dag.needs(i).len()).collect();
    // Ready steps, earliest-declared first; running steps by end time.
    let mut ready: BinaryHeap<Reverse<usize>> =
        range.filter(|&i| waiting[i] == 0).map(Reverse).collect();
    let mut running: BinaryHeap<Reverse<(Millis, usize)>> = BinaryHeap::new();
    let mut out = Vec::with_capacity(n);
    loop {
        while running.len() < parallel {
            let Some(Reverse(i)) = ready.pop() else { break };
            let end = now + rb.steps[i].duration.unwrap_or(0);
            out.push(Slot { step: i, start_ms: now, end_ms: end });
            running.push(Reverse((end, i)));
        }
        let Some(Reverse((end, i))) = running.pop() else { break };
        now = end;
        for &d in dag.dependents(i) {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_limit_stretches_the_timeline() {
        // Three independent 10 s steps, then one needing all three.
        let dag = Dag::new(
            vec![10_000, 10_000, 10_000, 5_000],
            vec![vec![], vec![], vec![], vec![0, 1, 2]],
        )
        .expect("a DAG");
        let rb = crate::model::tests_support::runbook_with_durations(
            &[10_000, 10_000, 10_000, 5_000],
            &[&[], &[], &[], &[0, 1, 2]],
        );
        let wide = simulate(&rb, &dag, 8);
        assert_eq!(wide.iter().map(|s| s.end_ms).max(), Some(15_000));
        let narrow = simulate(&rb, &dag, 2);
        assert_eq!(narrow.iter().map(|s| s.end_ms).max(), Some(25_000));
        assert_eq!(narrow[2], Slot { step: 2, start_ms: 10_000, end_ms: 20_000 });
    }
}
