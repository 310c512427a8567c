//! Property tests for [`Dag`] against brute-force reference computations.
//!
//! Input: random DAGs (n ≤ 60, each node needs a random set of lower indices, durations
//! 0..1000) and random arbitrary digraphs (which may contain cycles).
//! Output: assertions that topo order, waves, critical path, remaining critical time,
//! ancestry and cycle reports agree with simple O(n³) reference implementations.
//! Invariant: the reference code only relies on "needs point to lower indices" (DAG case)
//! or on a transitive-closure matrix (general case), never on the code under test.

use proptest::prelude::*;
use proptest::sample::Index;

use super::super::{Cycle, Dag};

/// `(durations, needs)` where every need of node i is < i.
fn dag_input() -> impl Strategy<Value = (Vec<u64>, Vec<Vec<usize>>)> {
    (0usize..=60).prop_flat_map(|n| {
        (
            // Mostly 0..1000; small values make finish-time ties (tie-break rules) common.
            prop::collection::vec(prop_oneof![3 => 0u64..1000, 1 => 0u64..3], n),
            prop::collection::vec(prop::collection::vec(any::<Index>(), 0..6), n),
        )
            .prop_map(|(durations, picks)| {
                let needs = picks
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| {
                        if i == 0 {
                            Vec::new()
                        } else {
                            row.into_iter().map(|ix| ix.index(i)).collect()
                        }
                    })
                    .collect();
                (durations, needs)
            })
    })
}

/// Arbitrary digraph on n ≤ 30 nodes; needs may point anywhere, including to self.
fn any_graph() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (1usize..=30).prop_flat_map(|n| {
        prop::collection::vec(prop::collection::vec(any::<Index>(), 0..3), n).prop_map(
            move |picks| {
                picks
                    .into_iter()
                    .map(|row| row.into_iter().map(|ix| ix.index(n)).collect())
                    .collect()
            },
        )
    })
}

/// `reach[a][b]`: there is a path of ≥ 1 execution edges from a to b (b transitively needs a).
fn closure(needs: &[Vec<usize>]) -> Vec<Vec<bool>> {
    let n = needs.len();
    let mut reach = vec![vec![false; n]; n];
    for (i, row) in needs.iter().enumerate() {
        for &p in row {
            reach[p][i] = true;
        }
    }
    for k in 0..n {
        let via = reach[k].clone();
        for row in reach.iter_mut() {
            if row[k] {
                for (dst, &v) in row.iter_mut().zip(&via) {
                    *dst |= v;
                }
            }
        }
    }
    reach
}

/// Longest weighted chain ending at each node, by DP over indices (needs are lower).
fn longest_by_index(durations: &[u64], needs: &[Vec<usize>], count: &[bool]) -> Vec<u64> {
    let mut best = vec![0u64; needs.len()];
    for (i, row) in needs.iter().enumerate() {
        let base = row.iter().map(|&p| best[p]).max().unwrap_or(0);
        best[i] = base + if count[i] { durations[i] } else { 0 };
    }
    best
}

/// Lowest-ready-first Kahn by O(n²) simulation.
fn ref_topo(needs: &[Vec<usize>]) -> Vec<usize> {
    let n = needs.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while let Some(v) = (0..n).find(|&v| !done[v] && needs[v].iter().all(|&p| done[p])) {
        done[v] = true;
        order.push(v);
    }
    order
}

/// The critical-path tie rule, spelled out naively over a given topological order.
fn ref_critical(durations: &[u64], needs: &[Vec<usize>], order: &[usize]) -> (u64, Vec<usize>) {
    let n = needs.len();
    let mut finish = vec![0u64; n];
    let mut pred = vec![None; n];
    for &v in order {
        let max = needs[v].iter().map(|&p| finish[p]).max();
        pred[v] = max.and_then(|m| needs[v].iter().copied().filter(|&p| finish[p] == m).min());
        finish[v] = max.unwrap_or(0) + durations[v];
    }
    let Some(total) = finish.iter().copied().max() else {
        return (0, Vec::new());
    };
    let mut cur = finish.iter().position(|&f| f == total);
    let mut path = Vec::new();
    while let Some(v) = cur {
        path.push(v);
        cur = pred[v];
    }
    path.reverse();
    (total, path)
}

fn check_cycle(c: &Cycle, needs: &[Vec<usize>], reach: &[Vec<bool>]) -> Result<(), TestCaseError> {
    let k = c.nodes.len();
    prop_assert!(k >= 1);
    for (j, &v) in c.nodes.iter().enumerate() {
        let prev = c.nodes[(j + k - 1) % k];
        prop_assert!(needs[v].contains(&prev), "{v} must need {prev} in {c:?}");
    }
    let mut members: Vec<usize> = c.nodes.iter().chain(&c.also).copied().collect();
    members.sort_unstable();
    let len_before = members.len();
    members.dedup();
    prop_assert_eq!(len_before, members.len(), "repeated node in {:?}", c);
    let s = c.nodes[0];
    prop_assert_eq!(members[0], s);
    let scc: Vec<usize> =
        (0..needs.len()).filter(|&v| v == s || (reach[s][v] && reach[v][s])).collect();
    prop_assert_eq!(&members, &scc);
    prop_assert!(c.also.windows(2).all(|w| w[0] < w[1]));
    Ok(())
}

proptest! {
    #[test]
    fn dag_properties((durations, needs) in dag_input(), mask in prop::collection::vec(any::<bool>(), 60)) {
        let n = needs.len();
        let dag = Dag::new(durations.clone(), needs.clone()).expect("needs point to lower indices");
        prop_assert_eq!(dag.len(), n);

        // Topological order: a permutation, every node after all its needs.
        let topo = dag.topo_order();
        let mut pos = vec![usize::MAX; n];
        for (k, &v) in topo.iter().enumerate() {
            prop_assert_eq!(pos[v], usize::MAX, "node {} appears twice", v);
            pos[v] = k;
        }
        prop_assert_eq!(topo.len(), n);
        prop_assert_eq!(&topo, &ref_topo(&needs));
        for (i, row) in needs.iter().enumerate() {
            for &p in row {
                prop_assert!(pos[p] < pos[i]);
            }
            let mut expect = row.clone();
            expect.sort_unstable();
            expect.dedup();
            prop_assert_eq!(dag.needs(i), expect.as_slice());
            for &p in &expect {
                prop_assert!(dag.dependents(p).contains(&i));
            }
        }

        // Waves: partition, sorted, needs in earlier waves, some need in the previous wave.
        let waves = dag.waves();
        let mut wave_of = vec![usize::MAX; n];
        for (k, wave) in waves.iter().enumerate() {
            prop_assert!(!wave.is_empty());
            prop_assert!(wave.windows(2).all(|w| w[0] < w[1]));
            for &v in wave {
                prop_assert_eq!(wave_of[v], usize::MAX);
                wave_of[v] = k;
            }
        }
        for (i, row) in needs.iter().enumerate() {
            prop_assert!(wave_of[i] != usize::MAX);
            prop_assert!(row.iter().all(|&p| wave_of[p] < wave_of[i]));
            if wave_of[i] > 0 {
                prop_assert!(row.iter().any(|&p| wave_of[p] + 1 == wave_of[i]));
            } else {
                prop_assert!(row.is_empty());
            }
        }

        // Critical path: brute-force total, valid chain summing to the total.
        let all = vec![true; n];
        let best = longest_by_index(&durations, &needs, &all);
        let expected_total = best.iter().copied().max().unwrap_or(0);
        let (total, path) = dag.critical_path();
        prop_assert_eq!(total, expected_total);
        prop_assert_eq!(path.is_empty(), n == 0);
        prop_assert_eq!(path.iter().map(|&v| durations[v]).sum::<u64>(), total);
        if let Some(&first) = path.first() {
            prop_assert!(needs[first].is_empty());
        }
        for w in path.windows(2) {
            prop_assert!(needs[w[1]].contains(&w[0]), "{} -> {} is not an edge", w[0], w[1]);
        }
        prop_assert_eq!((total, path.clone()), ref_critical(&durations, &needs, &topo));
        if let Some(&end) = path.last() {
            // The end is the lowest index reaching the max finish.
            prop_assert_eq!(Some(end), best.iter().position(|&b| b == expected_total));
        }

        // Remaining critical time with a random unfinished mask.
        let unfinished: Vec<bool> = mask.iter().copied().take(n).collect();
        let rem = longest_by_index(&durations, &needs, &unfinished);
        prop_assert_eq!(dag.remaining_critical_ms(&unfinished), rem.into_iter().max().unwrap_or(0));

        // With a down-closed finished set (a step finishes only after its needs), the
        // remaining critical time is the largest tail of an unfinished node.
        let mut finished = vec![false; n];
        for &v in &topo {
            finished[v] =
                !mask.get(v).copied().unwrap_or(false) && needs[v].iter().all(|&p| finished[p]);
        }
        let down_unfinished: Vec<bool> = finished.iter().map(|f| !f).collect();
        let tails = dag.tails();
        let by_tails =
            (0..n).filter(|&v| down_unfinished[v]).map(|v| tails[v]).max().unwrap_or(0);
        prop_assert_eq!(dag.remaining_critical_ms(&down_unfinished), by_tails);

        // Ancestry against the transitive closure.
        let reach = closure(&needs);
        for b in 0..n {
            let anc = dag.ancestors(b);
            for (a, row) in reach.iter().enumerate() {
                prop_assert_eq!(anc[a], row[b]);
                prop_assert_eq!(dag.is_ancestor(a, b), row[b], "is_ancestor({}, {})", a, b);
            }
        }
    }

    #[test]
    fn relabelled_dag_matches_original(
        (durations, needs, perm) in dag_input().prop_flat_map(|(d, needs)| {
            let n = needs.len();
            (Just(d), Just(needs), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        }),
        mask in prop::collection::vec(any::<bool>(), 60),
    ) {
        // Old node v becomes new node perm[v]; this exercises the general (heap) Kahn path.
        let n = needs.len();
        let mut new_needs = vec![Vec::new(); n];
        let mut new_durations = vec![0u64; n];
        let mut new_mask = vec![false; n];
        for v in 0..n {
            new_needs[perm[v]] = needs[v].iter().map(|&p| perm[p]).collect();
            new_durations[perm[v]] = durations[v];
            new_mask[perm[v]] = mask[v];
        }
        let old = Dag::new(durations, needs.clone()).expect("acyclic");
        let new = Dag::new(new_durations.clone(), new_needs.clone()).expect("relabelled DAG is acyclic");
        let topo = new.topo_order();
        prop_assert_eq!(&topo, &ref_topo(&new_needs));
        let mut wave_of = vec![0; n];
        for (k, wave) in new.waves().iter().enumerate() {
            prop_assert!(wave.windows(2).all(|w| w[0] < w[1]));
            for &v in wave {
                wave_of[v] = k;
            }
        }
        for (k, wave) in old.waves().iter().enumerate() {
            for &v in wave {
                prop_assert_eq!(wave_of[perm[v]], k);
            }
        }
        let (total, path) = new.critical_path();
        prop_assert_eq!(total, old.critical_path().0);
        prop_assert_eq!((total, path), ref_critical(&new_durations, &new_needs, &topo));
        prop_assert_eq!(
            new.remaining_critical_ms(&new_mask),
            old.remaining_critical_ms(&mask[..n])
        );
        let reach = closure(&needs);
        for (a, row) in reach.iter().enumerate() {
            for (b, &r) in row.iter().enumerate() {
                prop_assert_eq!(new.is_ancestor(perm[a], perm[b]), r);
            }
        }
    }

    #[test]
    fn back_edge_to_descendant_is_a_cycle((durations, needs) in dag_input(), pick in any::<Index>()) {
        let reach = closure(&needs);
        let n = needs.len();
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|a| (0..n).map(move |b| (a, b)))
            .filter(|&(a, b)| reach[a][b])
            .collect();
        if pairs.is_empty() {
            return Ok(());
        }
        let (a, b) = pairs[pick.index(pairs.len())];
        let mut needs = needs;
        needs[a].push(b); // a, an ancestor of b, now also needs b.
        let found = match Dag::new(durations, needs.clone()) {
            Ok(_) => return Err(TestCaseError::fail("cycle not detected")),
            Err(c) => c,
        };
        prop_assert_eq!(found.len(), 1);
        let c = &found[0];
        prop_assert_eq!(c.nodes.first(), Some(&a));
        prop_assert_eq!(c.nodes.last(), Some(&b));
        check_cycle(c, &needs, &closure(&needs))?;
    }

    #[test]
    fn arbitrary_graphs_cycles_or_valid_dag(needs in any_graph()) {
        let n = needs.len();
        let reach = closure(&needs);
        let cyclic: Vec<usize> = (0..n).filter(|&v| reach[v][v]).collect();
        match Dag::new(vec![1; n], needs.clone()) {
            Ok(dag) => {
                prop_assert!(cyclic.is_empty());
                let topo = dag.topo_order();
                let mut pos = vec![0; n];
                for (k, &v) in topo.iter().enumerate() {
                    pos[v] = k;
                }
                for (i, row) in needs.iter().enumerate() {
                    prop_assert!(row.iter().all(|&p| pos[p] < pos[i]));
                }
            }
            Err(found) => {
                prop_assert!(!found.is_empty());
                prop_assert!(found.windows(2).all(|w| w[0].nodes[0] < w[1].nodes[0]));
                let mut covered: Vec<usize> = Vec::new();
                for c in &found {
                    check_cycle(c, &needs, &reach)?;
                    covered.extend(c.nodes.iter().chain(&c.also));
                }
                covered.sort_unstable();
                prop_assert_eq!(covered, cyclic);
            }
        }
    }
}
