//! Cycle reporting for dependency graphs that are not DAGs.
//!
//! Input: the `needs` adjacency (row `i` = nodes `i` depends on) and its transpose
//! `dependents` (row `p` = nodes that depend on `p`), both as sorted [`Csr`] rows.
//! Output: one [`Cycle`] per cyclic strongly connected component (an SCC with more than
//! one node, or a single node that needs itself), sorted by first node.
//!
//! Invariants of every reported cycle:
//! - `nodes` is a simple cycle in execution order: `nodes[k + 1]` needs `nodes[k]`, and
//!   `nodes[0]` needs the last node (a self-loop is `nodes == [v]`).
//! - `nodes[0]` is the earliest-declared (lowest index) member of its SCC.
//! - `also` holds the remaining SCC members, sorted ascending; `nodes` ∪ `also` is the SCC.
//!
//! petgraph is used here only for SCC detection (`kosaraju_scc`, which is iterative); the
//! cycle extraction itself is an explicit-stack DFS, so deep graphs cannot overflow.

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::csr::Csr;
use super::Cycle;

/// Finds every cyclic SCC and returns one simple cycle per SCC, sorted by first node.
pub(crate) fn find_cycles(needs: &Csr, dependents: &Csr) -> Vec<Cycle> {
    let n = needs.node_count();
    let mut graph: DiGraph<(), (), usize> = DiGraph::with_capacity(n, needs.edge_count());
    for _ in 0..n {
        graph.add_node(());
    }
    for i in 0..n {
        for &p in needs.row(i) {
            // Execution order: p runs before i.
            graph.add_edge(NodeIndex::new(p), NodeIndex::new(i), ());
        }
    }

    let mut in_scc = vec![false; n];
    let mut visited = vec![false; n];
    let mut cycles = Vec::new();
    for component in kosaraju_scc(&graph) {
        let mut members: Vec<usize> = component.iter().map(|ix| ix.index()).collect();
        members.sort_unstable();
        match members.as_slice() {
            [] => {}
            [v] => {
                if needs.row(*v).binary_search(v).is_ok() {
                    cycles.push(Cycle { nodes: vec![*v], also: Vec::new() });
                }
            }
            _ => {
                for &m in &members {
                    in_scc[m] = true;
                }
                cycles.push(simple_cycle(&members, dependents, &in_scc, &mut visited));
                for &m in &members {
                    in_scc[m] = false;
                }
            }
        }
    }
    cycles.sort_by_key(|c| c.nodes.first().copied());
    cycles
}

/// DFS (explicit stack) from the lowest member of a multi-node SCC along dependents,
/// trying lower-index successors first, until an edge closes back to the start.
///
/// `members` is sorted and non-empty; `in_scc[m]` is true exactly for members.
/// `visited` is shared across SCCs: SCCs are disjoint, so no clearing is needed.
fn simple_cycle(
    members: &[usize],
    dependents: &Csr,
    in_scc: &[bool],
    visited: &mut [bool],
) -> Cycle {
    let Some(&start) = members.first() else {
        return Cycle { nodes: Vec::new(), also: Vec::new() };
    };
    visited[start] = true;
    // Stack of (node, index of the next successor to try).
    let mut path: Vec<(usize, usize)> = vec![(start, 0)];
    let mut found: Option<Vec<usize>> = None;
    while let Some(top) = path.last_mut() {
        let (v, k) = *top;
        let Some(&w) = dependents.row(v).get(k) else {
            path.pop();
            continue;
        };
        top.1 += 1;
        if !in_scc[w] {
            continue;
        }
        if w == start {
            found = Some(path.iter().map(|&(x, _)| x).collect());
            break;
        }
        if !visited[w] {
            visited[w] = true;
            path.push((w, 0));
        }
    }
    // Every member of an SCC reaches `start`, so the DFS always closes a cycle; the
    // fallback only guards against a broken SCC result and still reports every member.
    debug_assert!(found.is_some(), "invariant: an SCC always contains a cycle");
    let nodes = found.unwrap_or_else(|| members.to_vec());
    let mut on_cycle: Vec<usize> = nodes.clone();
    on_cycle.sort_unstable();
    let also = members.iter().copied().filter(|m| on_cycle.binary_search(m).is_err()).collect();
    Cycle { nodes, also }
}
