//! Dependency DAG over runbook steps, identified by declaration index `0..n`.
//!
//! Input: per-step expected durations (milliseconds, 0 when unknown) and per-step lists of
//! the indices each step needs (must run before it). Duplicates in the lists are tolerated.
//! Output: a validated [`Dag`] offering deterministic topological order, waves, critical
//! path, remaining-critical-time projection and ancestry queries — or, when the graph has
//! self-dependencies or cycles, one [`Cycle`] per cyclic strongly connected component.
//!
//! Invariants of a constructed [`Dag`]:
//! - it is acyclic (no self-loops, no cycles);
//! - `needs(i)` / `dependents(i)` are sorted ascending and deduplicated, and mirror each
//!   other (`p ∈ needs(i)` ⇔ `i ∈ dependents(p)`);
//! - `topo` is a permutation of `0..n` where every node follows all its needs and, among
//!   ready nodes, the lowest index comes first; `pos` is its inverse.
//!
//! Every algorithm here is iterative (no recursion), so 200,000-node chains are safe.
//! petgraph is an implementation detail of cycle detection and never appears in the API.

mod csr;
mod cycles;
pub mod drill;

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use csr::Csr;

/// A dependency DAG over steps, identified by declaration index.
#[derive(Debug, Clone)]
pub struct Dag {
    durations: Vec<u64>,
    needs: Csr,
    dependents: Csr,
    topo: Vec<usize>,
    pos: Vec<usize>,
}

/// A dependency cycle: node indices in cycle order, starting at the earliest-declared
/// node of the cycle; the edge from the last back to the first closes it.
///
/// Cycle order is execution order: each next node needs the previous one, and the first
/// node needs the last. A self-dependency is a cycle with one node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cycle {
    /// The simple cycle, starting at the lowest index of its strongly connected component.
    pub nodes: Vec<usize>,
    /// Other members of the same strongly connected component not on `nodes`, sorted.
    pub also: Vec<usize>,
}

impl Dag {
    /// `durations[i]` = expected duration of node i in milliseconds (0 when unknown).
    /// `needs[i]` = indices node i depends on (must run before i). Duplicates tolerated.
    ///
    /// The node count is `needs.len()`; missing durations count as 0 and extra durations
    /// are ignored.
    ///
    /// # Errors
    /// Self-dependencies and cycles are returned as `Err` with one [`Cycle`] per strongly
    /// connected component (self-loop = a cycle with one node), sorted by first node.
    ///
    /// # Panics
    /// When a dependency index is `>= needs.len()`: indices are produced by the caller's
    /// name resolution, so an out-of-range index is a caller bug, not user data.
    pub fn new(mut durations: Vec<u64>, needs: Vec<Vec<usize>>) -> Result<Dag, Vec<Cycle>> {
        let n = needs.len();
        durations.resize(n, 0);
        let needs = match Csr::from_rows(needs) {
            Ok(csr) => csr,
            Err((i, p)) => {
                panic!("dependency index out of range: node {i} needs {p}, but there are {n} nodes")
            }
        };
        let dependents = needs.transpose();

        let topo = if (0..n).all(|i| needs.row(i).last().is_none_or(|&p| p < i)) {
            // Fast path: every need is declared earlier, so lowest-ready-first Kahn visits
            // 0, 1, 2, ... (node k is ready and minimal once 0..k are done).
            (0..n).collect()
        } else {
            match kahn(&needs, &dependents) {
                Some(topo) => topo,
                None => return Err(cycles::find_cycles(&needs, &dependents)),
            }
        };

        let mut pos = vec![0usize; n];
        for (k, &v) in topo.iter().enumerate() {
            pos[v] = k;
        }
        Ok(Dag { durations, needs, dependents, topo, pos })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.topo.len()
    }

    /// True when the DAG has no nodes.
    pub fn is_empty(&self) -> bool {
        self.topo.is_empty()
    }

    /// Direct dependencies of `i`, sorted ascending, deduplicated (empty if out of range).
    pub fn needs(&self, i: usize) -> &[usize] {
        self.needs.row(i)
    }

    /// Direct dependents of `i`, sorted ascending, deduplicated (empty if out of range).
    pub fn dependents(&self, i: usize) -> &[usize] {
        self.dependents.row(i)
    }

    /// Expected duration of `i` in milliseconds (0 if unknown or out of range).
    pub fn duration(&self, i: usize) -> u64 {
        self.durations.get(i).copied().unwrap_or(0)
    }

    /// A topological order; among ready nodes the lowest index comes first (deterministic).
    pub fn topo_order(&self) -> Vec<usize> {
        self.topo.clone()
    }

    /// Each node's tail: its duration plus the longest chain of durations after it. While
    /// the finished nodes are closed under needs (a node finishes only after its needs), the
    /// remaining critical time is the largest tail of an unfinished node.
    pub fn tails(&self) -> Vec<u64> {
        let mut tail = vec![0u64; self.len()];
        for &v in self.topo.iter().rev() {
            let after = self.dependents(v).iter().map(|&d| tail[d]).max().unwrap_or(0);
            tail[v] = after.saturating_add(self.durations[v]);
        }
        tail
    }

    /// The order a rollback undoes the nodes marked in `included` (the steps that succeeded),
    /// one at a time: a node after every included node that depends on it; among those that
    /// may go next, the highest index first. Dependents that are not included block nothing.
    pub fn undo_order(&self, included: &[bool]) -> Vec<usize> {
        let n = self.len();
        let inc = |i: usize| included.get(i).copied().unwrap_or(false);
        let mut blocking: Vec<usize> =
            (0..n).map(|i| self.dependents(i).iter().filter(|&&d| inc(d)).count()).collect();
        let mut ready: std::collections::BinaryHeap<usize> =
            (0..n).filter(|&i| inc(i) && blocking[i] == 0).collect();
        let mut order = Vec::new();
        while let Some(i) = ready.pop() {
            order.push(i);
            for &d in self.needs(i) {
                if inc(d) {
                    blocking[d] -= 1;
                    if blocking[d] == 0 {
                        ready.push(d);
                    }
                }
            }
        }
        order
    }

    /// Waves: wave k holds nodes whose longest chain of predecessors has k edges
    /// (roots are wave 0). Each wave sorted ascending.
    pub fn waves(&self) -> Vec<Vec<usize>> {
        let n = self.len();
        let mut level = vec![0usize; n];
        let mut depth = 0usize;
        for &v in &self.topo {
            let lv = self.needs.row(v).iter().map(|&p| level[p] + 1).max().unwrap_or(0);
            level[v] = lv;
            depth = depth.max(lv + 1);
        }
        let mut waves = vec![Vec::new(); depth];
        // Pushing in index order keeps every wave sorted.
        for (v, &lv) in level.iter().enumerate() {
            waves[lv].push(v);
        }
        waves
    }

    /// Critical path: the chain with the largest sum of durations (ms).
    ///
    /// `finish[i] = durations[i] + max over needs of finish[p]`; the chosen predecessor is
    /// the one with the max finish, lowest index among equals. The chosen end node is the
    /// node with the max finish, lowest index among equals. The path follows chosen
    /// predecessors back from it, reversed. Sums saturate at `u64::MAX`.
    ///
    /// Returns `(total_ms, path from root to end)`. Empty DAG → `(0, vec![])`.
    pub fn critical_path(&self) -> (u64, Vec<usize>) {
        let all: Vec<usize> = (0..self.len()).collect();
        self.critical_path_to(&all)
    }

    /// The longest chain ending in any of `ends` (a service's steps, say): the end with the
    /// greatest earliest finish (lowest index among equals) and the chain of chosen
    /// predecessors leading to it, as [`Dag::critical_path`] chooses them. Ends out of range
    /// are ignored; no end → `(0, vec![])`.
    pub fn critical_path_to(&self, ends: &[usize]) -> (u64, Vec<usize>) {
        let n = self.len();
        let mut finish = vec![0u64; n];
        let mut pred: Vec<Option<usize>> = vec![None; n];
        for &v in &self.topo {
            let mut best: Option<(u64, usize)> = None;
            for &p in self.needs.row(v) {
                // Rows are ascending, so strict `>` keeps the lowest index among equals.
                if best.is_none_or(|(f, _)| finish[p] > f) {
                    best = Some((finish[p], p));
                }
            }
            finish[v] = best.map_or(0, |(f, _)| f).saturating_add(self.durations[v]);
            pred[v] = best.map(|(_, p)| p);
        }
        let mut end: Option<usize> = None;
        for &e in ends.iter().filter(|&&e| e < n) {
            if end.is_none_or(|b| finish[e] > finish[b] || (finish[e] == finish[b] && e < b)) {
                end = Some(e);
            }
        }
        let Some(end) = end else { return (0, Vec::new()) };
        let mut path = vec![end];
        let mut cur = end;
        while let Some(p) = pred[cur] {
            path.push(p);
            cur = p;
        }
        path.reverse();
        (finish[end], path)
    }

    /// Longest remaining chain of durations counting only nodes in `unfinished`
    /// (nodes not in the set count 0 and are still traversed). Used to project a run's
    /// finish. Indices beyond `unfinished.len()` count as finished.
    pub fn remaining_critical_ms(&self, unfinished: &[bool]) -> u64 {
        let n = self.len();
        let mut finish = vec![0u64; n];
        let mut best_total = 0u64;
        for &v in &self.topo {
            let base = self.needs.row(v).iter().map(|&p| finish[p]).max().unwrap_or(0);
            let own =
                if unfinished.get(v).copied().unwrap_or(false) { self.durations[v] } else { 0 };
            finish[v] = base.saturating_add(own);
            best_total = best_total.max(finish[v]);
        }
        best_total
    }

    /// True when `a` is a (transitive) ancestor of `b` (a must finish before b).
    /// False when `a == b` or either index is out of range.
    pub fn is_ancestor(&self, a: usize, b: usize) -> bool {
        let (Some(&pa), Some(&pb)) = (self.pos.get(a), self.pos.get(b)) else {
            return false;
        };
        if pa >= pb {
            return false;
        }
        // Walk needs backwards from b, pruning nodes placed before a in topo order:
        // they cannot have a as an ancestor.
        let mut seen = vec![false; self.len()];
        let mut stack = vec![b];
        while let Some(v) = stack.pop() {
            for &p in self.needs.row(v) {
                if p == a {
                    return true;
                }
                if !seen[p] && self.pos[p] > pa {
                    seen[p] = true;
                    stack.push(p);
                }
            }
        }
        false
    }

    /// All transitive ancestors of `i` (not `i` itself), as a `Vec<bool>` of len n.
    /// All false when `i` is out of range.
    pub fn ancestors(&self, i: usize) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![i];
        while let Some(v) = stack.pop() {
            for &p in self.needs.row(v) {
                if !seen[p] {
                    seen[p] = true;
                    stack.push(p);
                }
            }
        }
        seen
    }
}

/// Kahn's algorithm with a min-heap (lowest ready index first). `None` when some node is
/// never ready, i.e. the graph has a cycle or self-loop.
fn kahn(needs: &Csr, dependents: &Csr) -> Option<Vec<usize>> {
    let n = needs.node_count();
    let mut indegree: Vec<usize> = (0..n).map(|i| needs.row(i).len()).collect();
    let mut ready: BinaryHeap<Reverse<usize>> =
        indegree.iter().enumerate().filter(|&(_, &d)| d == 0).map(|(i, _)| Reverse(i)).collect();
    let mut topo = Vec::with_capacity(n);
    while let Some(Reverse(v)) = ready.pop() {
        topo.push(v);
        for &d in dependents.row(v) {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    (topo.len() == n).then_some(topo)
}
