//! Work cut in two halves on two threads: the front end's per-statement and per-step phases
//! (parsing the runbook body, checking its steps, planning them), where every item is handled
//! on its own and the results are joined in source order.
//!
//! Each phase keeps a threshold (its `parallel_from`): below it, or on a one-core machine,
//! everything runs on the calling thread, so small files never pay for a thread.

/// The count from which a phase splits its items, given the phase's own threshold: never on a
/// machine with one core.
pub fn parallel_from(threshold: usize) -> usize {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        threshold
    } else {
        usize::MAX
    }
}

/// Runs `work` over `items`, the first taken at index 0. With at least `from` items (and two
/// or more), the first half runs here with `here` and the second on another thread with a
/// state made by `fork`; the second half's result comes back with its state, for the caller to
/// join after the first. A panic on the other thread is a bug: it is raised again here, as if
/// it had happened on this one.
pub fn halves<T: Send, S: Send, R: Send>(
    mut items: Vec<T>,
    from: usize,
    here: &mut S,
    fork: impl FnOnce(&S) -> S,
    work: impl Fn(&mut S, Vec<T>, usize) -> R + Sync,
) -> (R, Option<(S, R)>) {
    if items.len() < from.max(2) {
        return (work(here, items, 0), None);
    }
    let half = items.len() / 2;
    let second = items.split_off(half);
    let mut there = fork(here);
    let work = &work;
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            let r = work(&mut there, second, half);
            (there, r)
        });
        let first = work(here, items, 0);
        match handle.join() {
            Ok(rest) => (first, Some(rest)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::halves;

    #[test]
    fn both_halves_see_their_own_items_and_offsets() {
        let items: Vec<usize> = (0..1001).collect();
        let mut here = Vec::new();
        let work = |seen: &mut Vec<usize>, part: Vec<usize>, from: usize| {
            assert!(part.iter().enumerate().all(|(k, &v)| v == from + k));
            seen.push(from);
            part.len()
        };
        let (first, rest) = halves(items.clone(), 10, &mut here, |_| Vec::new(), work);
        let (there, second) = rest.expect("split");
        assert_eq!((first, second, here, there), (500, 501, vec![0], vec![500]));

        let mut here = Vec::new();
        let (all, rest) = halves(items, 2000, &mut here, |_| Vec::new(), work);
        assert!(rest.is_none());
        assert_eq!((all, here), (1001, vec![0]));
    }
}
