//! Compressed sparse row (CSR) adjacency lists for the step graph.
//!
//! Input: one list of neighbour indices per node (any order, duplicates allowed).
//! Output: a compact [`Csr`] whose rows are sorted ascending and deduplicated.
//!
//! Invariants:
//! - `offsets.len() == n + 1`, `offsets[0] == 0`, `offsets` is non-decreasing and
//!   `offsets[n] == targets.len()`.
//! - every row `targets[offsets[i]..offsets[i + 1]]` is strictly increasing and every
//!   target is `< n`.

/// Sorted, deduplicated adjacency rows stored contiguously.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Csr {
    offsets: Vec<usize>,
    targets: Vec<usize>,
}

impl Csr {
    /// Builds a CSR from per-node rows, sorting and deduplicating each row.
    ///
    /// # Errors
    /// `Err((i, t))` for the first row `i` (and its largest target `t`) holding a target
    /// `>= rows.len()`.
    pub(crate) fn from_rows(rows: Vec<Vec<usize>>) -> Result<Self, (usize, usize)> {
        let n = rows.len();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut targets = Vec::with_capacity(n.saturating_mul(2));
        offsets.push(0);
        for (i, mut row) in rows.into_iter().enumerate() {
            if row.len() > 1 {
                row.sort_unstable();
                row.dedup();
            }
            if let Some(&t) = row.last().filter(|&&t| t >= n) {
                return Err((i, t));
            }
            targets.extend_from_slice(&row);
            offsets.push(targets.len());
        }
        Ok(Csr { offsets, targets })
    }

    /// Number of nodes (rows).
    pub(crate) fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Total number of (deduplicated) edges.
    pub(crate) fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// The row of node `i`; empty when `i` is out of range.
    pub(crate) fn row(&self, i: usize) -> &[usize] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&start), Some(&end)) => self.targets.get(start..end).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The transposed graph: row `j` of the result lists every `i` whose row contains `j`.
    ///
    /// Built by counting sort, so every output row is already sorted ascending (rows are
    /// filled in increasing `i`) and duplicate-free (input rows are duplicate-free).
    pub(crate) fn transpose(&self) -> Self {
        let n = self.node_count();
        let mut counts = vec![0usize; n + 1];
        for &t in &self.targets {
            counts[t + 1] += 1;
        }
        for k in 1..=n {
            counts[k] += counts[k - 1];
        }
        let offsets = counts.clone();
        let mut cursor = counts;
        let mut targets = vec![0usize; self.targets.len()];
        for i in 0..n {
            for &t in self.row(i) {
                targets[cursor[t]] = i;
                cursor[t] += 1;
            }
        }
        Csr { offsets, targets }
    }
}

#[cfg(test)]
mod csr_tests {
    use super::Csr;

    #[test]
    fn rows_sorted_deduplicated_and_transposed() {
        let csr = Csr::from_rows(vec![vec![], vec![0, 0], vec![1, 0, 1]]).expect("in range");
        assert_eq!(csr.node_count(), 3);
        assert_eq!(csr.edge_count(), 3);
        assert_eq!(csr.row(2), &[0, 1]);
        assert_eq!(csr.row(7), &[] as &[usize]);
        let t = csr.transpose();
        assert_eq!(t.row(0), &[1, 2]);
        assert_eq!(t.row(1), &[2]);
        assert_eq!(t.row(2), &[] as &[usize]);
    }

    #[test]
    fn out_of_range_reported() {
        assert_eq!(Csr::from_rows(vec![vec![], vec![0, 5, 2]]), Err((1, 5)));
    }

    #[test]
    fn empty() {
        let csr = Csr::from_rows(Vec::new()).expect("in range");
        assert_eq!(csr.node_count(), 0);
        assert_eq!(csr.transpose().node_count(), 0);
    }
}
