//! Unit tests for [`Dag`] and cycle reporting.
//!
//! Input: small hand-built graphs plus large generated chains/cycles.
//! Output: assertions on topo order, waves, critical path (including tie-breaks),
//! remaining critical time, ancestry and cycle reports.
//! Invariant checked throughout: nothing recurses, so 200,000-node chains must not overflow.
//! Property tests live in the `props` submodule.

mod props;

use super::{Cycle, Dag};

fn dag(durations: &[u64], needs: &[&[usize]]) -> Dag {
    let needs = needs.iter().map(|r| r.to_vec()).collect();
    Dag::new(durations.to_vec(), needs).expect("test graph is acyclic")
}

fn cycles(needs: &[&[usize]]) -> Vec<Cycle> {
    let needs: Vec<Vec<usize>> = needs.iter().map(|r| r.to_vec()).collect();
    match Dag::new(vec![0; needs.len()], needs) {
        Ok(_) => panic!("expected a cycle"),
        Err(c) => c,
    }
}

fn cyc(nodes: &[usize], also: &[usize]) -> Cycle {
    Cycle { nodes: nodes.to_vec(), also: also.to_vec() }
}

#[test]
fn empty_dag() {
    let d = dag(&[], &[]);
    assert!(d.is_empty());
    assert_eq!(d.len(), 0);
    assert!(d.topo_order().is_empty());
    assert!(d.waves().is_empty());
    assert_eq!(d.critical_path(), (0, vec![]));
    assert_eq!(d.remaining_critical_ms(&[]), 0);
    assert!(!d.is_ancestor(0, 1));
    assert!(d.ancestors(0).is_empty());
}

#[test]
fn diamond() {
    // a=0; b=1, c=2 need a; d=3 needs b, c.
    let d = dag(&[10, 20, 30, 5], &[&[], &[0], &[0, 0], &[2, 1]]);
    assert_eq!(d.len(), 4);
    assert_eq!(d.needs(3), &[1, 2]);
    assert_eq!(d.needs(2), &[0]);
    assert_eq!(d.dependents(0), &[1, 2]);
    assert_eq!(d.dependents(3), &[] as &[usize]);
    assert_eq!(d.needs(99), &[] as &[usize]);
    assert_eq!(d.topo_order(), vec![0, 1, 2, 3]);
    assert_eq!(d.waves(), vec![vec![0], vec![1, 2], vec![3]]);
    assert_eq!(d.critical_path(), (45, vec![0, 2, 3]));
}

#[test]
fn diamond_tie_prefers_lower_index_predecessor() {
    let d = dag(&[10, 20, 20, 5], &[&[], &[0], &[0], &[2, 1]]);
    assert_eq!(d.critical_path(), (35, vec![0, 1, 3]));
}

#[test]
fn tied_end_nodes_prefer_lower_index() {
    // Two independent chains with equal totals: 0->1 and 2->3.
    let d = dag(&[5, 5, 3, 7], &[&[], &[0], &[], &[2]]);
    assert_eq!(d.critical_path(), (10, vec![0, 1]));
    // A larger total always beats a lower index.
    let d = dag(&[5, 5, 3, 8], &[&[], &[0], &[], &[2]]);
    assert_eq!(d.critical_path(), (11, vec![2, 3]));
}

#[test]
fn zero_durations_pick_lowest_index() {
    let d = dag(&[0, 0, 0], &[&[], &[0], &[1]]);
    assert_eq!(d.critical_path(), (0, vec![0]));
}

#[test]
fn topo_prefers_lowest_ready_index() {
    // 0 needs 3; 1, 2 free; 3 free. Ready initially: 1, 2, 3.
    let d = dag(&[1; 4], &[&[3], &[], &[], &[]]);
    assert_eq!(d.topo_order(), vec![1, 2, 3, 0]);
    assert_eq!(d.waves(), vec![vec![1, 2, 3], vec![0]]);
}

#[test]
fn chain() {
    let d = dag(&[1, 2, 3, 4], &[&[], &[0], &[1], &[2]]);
    assert_eq!(d.topo_order(), vec![0, 1, 2, 3]);
    assert_eq!(d.waves(), vec![vec![0], vec![1], vec![2], vec![3]]);
    assert_eq!(d.critical_path(), (10, vec![0, 1, 2, 3]));
}

#[test]
fn independent_nodes() {
    let d = dag(&[3, 9, 9], &[&[], &[], &[]]);
    assert_eq!(d.topo_order(), vec![0, 1, 2]);
    assert_eq!(d.waves(), vec![vec![0, 1, 2]]);
    assert_eq!(d.critical_path(), (9, vec![1]));
    assert!(!d.is_ancestor(0, 1));
}

#[test]
fn durations_padded_and_saturating() {
    let d = Dag::new(vec![u64::MAX], vec![vec![], vec![0]]).expect("acyclic");
    assert_eq!(d.duration(1), 0);
    let d = Dag::new(vec![u64::MAX, u64::MAX], vec![vec![], vec![0]]).expect("acyclic");
    // Saturated: both finish at u64::MAX, so the lower index ends the path.
    assert_eq!(d.critical_path(), (u64::MAX, vec![0]));
}

#[test]
#[should_panic(expected = "dependency index out of range")]
fn out_of_range_need_panics() {
    let _ = Dag::new(vec![0], vec![vec![1]]);
}

#[test]
fn self_loop() {
    assert_eq!(cycles(&[&[], &[1, 0]]), vec![cyc(&[1], &[])]);
}

#[test]
fn two_cycle() {
    assert_eq!(cycles(&[&[1], &[0]]), vec![cyc(&[0, 1], &[])]);
}

#[test]
fn three_cycle_starts_at_earliest_in_execution_order() {
    // 0 needs 2, 1 needs 0, 2 needs 1: execution edges 0->1->2->0.
    assert_eq!(cycles(&[&[2], &[0], &[1]]), vec![cyc(&[0, 1, 2], &[])]);
    // Reverse direction: 0 needs 1, 1 needs 2, 2 needs 0: 0->2->1->0.
    assert_eq!(cycles(&[&[1], &[2], &[0]]), vec![cyc(&[0, 2, 1], &[])]);
}

#[test]
fn two_disjoint_cycles_and_self_loop_sorted() {
    // 4 <-> 5, self-loop on 3, 0 -> 1 -> 2 -> 0 ... 6 needs the first cycle (not part of it).
    let found = cycles(&[&[2], &[0], &[1], &[3], &[5], &[4], &[0]]);
    assert_eq!(found, vec![cyc(&[0, 1, 2], &[]), cyc(&[3], &[]), cyc(&[4, 5], &[])]);
}

#[test]
fn scc_with_extra_members_reports_simple_cycle_and_also() {
    // Execution edges: 0->1, 1->0, 1->2, 2->1, 3->0 ... 0 needs {1,3}, 1 needs {0,2},
    // 2 needs {1}, 3 needs {2}. SCC = {0,1,2,3}; DFS from 0 via lowest successors:
    // 0 -> 1 -> 0 closes immediately.
    let found = cycles(&[&[1, 3], &[0, 2], &[1], &[2]]);
    assert_eq!(found, vec![cyc(&[0, 1], &[2, 3])]);
}

#[test]
fn cycle_search_skips_non_members() {
    // Execution edges: 3->0, 0->1, 0->3, 1->2, 2->1. 1 and 2 cannot reach 0, so the
    // SCCs are {0,3} and {1,2}; the cycle from 0 must skip 1 and go 0->3->0.
    let found = cycles(&[&[3], &[0, 2], &[1], &[0]]);
    assert_eq!(found, vec![cyc(&[0, 3], &[]), cyc(&[1, 2], &[])]);
}

#[test]
fn dfs_backtracks_out_of_dead_ends() {
    // Execution edges: 0->1, 1->2, 2->1, 1->3, 3->0. DFS from 0 tries 1 then 2, whose only
    // successor (1) is already on the path, backtracks, and closes via 3.
    let found = cycles(&[&[3], &[0, 2], &[1], &[1]]);
    assert_eq!(found, vec![cyc(&[0, 1, 3], &[2])]);
}

#[test]
fn remaining_critical() {
    let d = dag(&[10, 20, 30, 5], &[&[], &[0], &[0], &[1, 2]]);
    assert_eq!(d.remaining_critical_ms(&[true; 4]), 45);
    assert_eq!(d.remaining_critical_ms(&[false, true, true, true]), 35);
    assert_eq!(d.remaining_critical_ms(&[false, true, false, true]), 25);
    assert_eq!(d.remaining_critical_ms(&[false; 4]), 0);
    // Short slice: missing entries count as finished.
    assert_eq!(d.remaining_critical_ms(&[true]), 10);
}

#[test]
fn ancestry() {
    // 0 -> 1 -> 3, 2 -> 3, 4 isolated.
    let d = dag(&[1; 5], &[&[], &[0], &[], &[1, 2], &[]]);
    assert!(d.is_ancestor(0, 1));
    assert!(d.is_ancestor(0, 3));
    assert!(d.is_ancestor(2, 3));
    assert!(!d.is_ancestor(3, 0));
    assert!(!d.is_ancestor(0, 2));
    assert!(!d.is_ancestor(0, 0));
    assert!(!d.is_ancestor(0, 4));
    assert!(!d.is_ancestor(0, 50));
    assert_eq!(d.ancestors(3), vec![true, true, true, false, false]);
    assert_eq!(d.ancestors(0), vec![false; 5]);
    assert_eq!(d.ancestors(50), vec![false; 5]);
}

fn chain_needs(n: usize) -> Vec<Vec<usize>> {
    (0..n).map(|i| if i == 0 { vec![] } else { vec![i - 1] }).collect()
}

#[test]
fn deep_chain_200k_does_not_overflow() {
    let n = 200_000;
    let d = Dag::new(vec![1; n], chain_needs(n)).expect("a chain is acyclic");
    let (total, path) = d.critical_path();
    assert_eq!(total, n as u64);
    assert_eq!(path.len(), n);
    assert_eq!(path.first(), Some(&0));
    assert_eq!(path.last(), Some(&(n - 1)));
    assert_eq!(d.waves().len(), n);
    assert!(d.is_ancestor(0, n - 1));
    assert!(d.ancestors(n - 1).iter().take(n - 1).all(|&a| a));
    assert_eq!(d.remaining_critical_ms(&vec![true; n]), n as u64);
}

#[test]
fn big_cycle_100k_does_not_overflow() {
    let n = 100_000;
    let mut needs = chain_needs(n);
    needs[0].push(n - 1);
    let found = match Dag::new(vec![0; n], needs) {
        Ok(_) => panic!("expected a cycle"),
        Err(c) => c,
    };
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].nodes, (0..n).collect::<Vec<_>>());
    assert!(found[0].also.is_empty());
}

#[test]
fn wide_random_100k() {
    // Deterministic LCG: each node needs 1-3 random earlier nodes.
    let n = 100_000;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut needs = vec![Vec::new(); n];
    let mut durations = vec![0u64; n];
    for (i, row) in needs.iter_mut().enumerate().skip(1) {
        let k = 1 + next() % 3;
        for _ in 0..k {
            row.push((next() % i as u64) as usize);
        }
        durations[i] = next() % 1000;
    }
    let d = Dag::new(durations, needs).expect("edges go to lower indices");
    let topo = d.topo_order();
    let mut pos = vec![0; n];
    for (k, &v) in topo.iter().enumerate() {
        pos[v] = k;
    }
    assert!((0..n).all(|i| d.needs(i).iter().all(|&p| pos[p] < pos[i])));
    let (total, path) = d.critical_path();
    assert_eq!(path.iter().map(|&v| d.duration(v)).sum::<u64>(), total);
}

#[test]
fn undo_order_undoes_dependents_first_latest_declared_first() {
    // a(0) <- b(1), a <- c(2), b <- d(3), c <- d: a diamond.
    let g = dag(&[0; 4], &[&[], &[0], &[0], &[1, 2]]);
    assert_eq!(g.undo_order(&[true; 4]), vec![3, 2, 1, 0]);
    // d never succeeded: b and c go first, latest declared first.
    assert_eq!(g.undo_order(&[true, true, true, false]), vec![2, 1, 0]);
    // Only a and d succeeded: d, then a (b and c block nothing).
    assert_eq!(g.undo_order(&[true, false, false, true]), vec![3, 0]);
    assert_eq!(g.undo_order(&[false; 4]), Vec::<usize>::new());
}

#[test]
fn critical_path_to_a_service_ends_at_its_latest_step() {
    // 0 (10) -> 1 (5) -> 3 (1); 0 -> 2 (30). Service ends {1, 3}: 3 finishes at 16.
    let d = dag(&[10, 5, 30, 1], &[&[], &[0], &[0], &[1]]);
    assert_eq!(d.critical_path_to(&[1, 3]), (16, vec![0, 1, 3]));
    assert_eq!(d.critical_path_to(&[2]), (40, vec![0, 2]));
    assert_eq!(d.critical_path(), (40, vec![0, 2]));
    // Equal finishes: the lower index wins, whatever order the ends come in.
    let e = dag(&[5, 5], &[&[], &[]]);
    assert_eq!(e.critical_path_to(&[1, 0]), (5, vec![0]));
    assert_eq!(d.critical_path_to(&[]), (0, vec![]));
    assert_eq!(d.critical_path_to(&[9]), (0, vec![]));
}
