//! Work cut in two halves on two threads: the front end's per-statement and per-step phases
//! (parsing the runbook body, checking its steps, planning them), where every item is handled
//! on its own and the results are joined in source order.
//!
//! Each phase keeps a threshold (its `parallel_from`): below it, or on a one-core machine,
//! everything runs on the calling thread, so small files never pay for a thread.
//!
//! The halves run on a pool of two threads that lives as long as the process, the first half
//! always on the pool's thread 0 and the second on thread 1. A thread's allocator reuses what
//! was freed on that thread, so the syntax tree of the second half, built on thread 1 and freed
//! there while its steps are checked, makes room for the model of the same steps: the memory
//! fresh from the kernel (the costly kind) is what one half needs, not what two phases need.

use std::sync::{Mutex, OnceLock};

/// The count from which a phase splits its items, given the phase's own threshold: never on a
/// machine with one core.
pub fn parallel_from(threshold: usize) -> usize {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        threshold
    } else {
        usize::MAX
    }
}

/// The two threads the halves run on; `None` when they cannot be started (then everything runs
/// on the calling thread).
fn pool() -> Option<&'static rayon_core::ThreadPool> {
    static POOL: OnceLock<Option<rayon_core::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(2)
            .thread_name(|i| format!("drbook-half-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Runs `work` over `items`, the first taken at index 0. With at least `from` items (and two
/// or more), the first half runs with `here` and the second with a state made by `fork`, each
/// on its own thread; the second half's result comes back with its state, for the caller to
/// join after the first. A panic in either half is a bug: it is raised again here.
pub fn halves<T: Send, S: Send, R: Send>(
    mut items: Vec<T>,
    from: usize,
    here: &mut S,
    fork: impl FnOnce(&S) -> S,
    work: impl Fn(&mut S, Vec<T>, usize) -> R + Sync,
) -> (R, Option<(S, R)>) {
    // The length first: a small file never starts the pool's threads.
    let pool = if items.len() >= from.max(2) { pool() } else { None };
    let Some(pool) = pool else {
        return (work(here, items, 0), None);
    };
    let half = items.len() / 2;
    let second = items.split_off(half);
    let there = fork(here);
    // What each thread takes, and what it leaves; a slot is taken once, by the thread of its
    // index.
    let inputs = (Mutex::new(Some((here, items))), Mutex::new(Some((there, second))));
    let outputs = (Mutex::new(None), Mutex::new(None));
    pool.broadcast(|ctx| match ctx.index() {
        0 => {
            if let Some((s, part)) = take(&inputs.0) {
                put(&outputs.0, work(s, part, 0));
            }
        }
        _ => {
            if let Some((mut s, part)) = take(&inputs.1) {
                let r = work(&mut s, part, half);
                put(&outputs.1, (s, r));
            }
        }
    });
    let first: R = take(&outputs.0).expect("the pool's thread 0 ran the first half");
    let second: (S, R) = take(&outputs.1).expect("the pool's thread 1 ran the second half");
    (first, Some(second))
}

/// The capacity to give the results of the half that starts at `from` (of `part` items, of
/// `total` in all): the first half's vector has room for every result, so the second half's
/// are appended to it without moving the first's.
pub fn room(from: usize, part: usize, total: usize) -> usize {
    if from == 0 {
        total
    } else {
        part
    }
}

fn take<V>(m: &Mutex<Option<V>>) -> Option<V> {
    m.lock().ok().and_then(|mut slot| slot.take())
}

fn put<V>(m: &Mutex<Option<V>>, v: V) {
    if let Ok(mut slot) = m.lock() {
        *slot = Some(v);
    }
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

    #[test]
    fn each_half_runs_on_the_same_thread_every_time() {
        let names = || {
            let mut here = ();
            let work = |_: &mut (), _: Vec<u8>, _| std::thread::current().name().map(String::from);
            let (a, b) = halves(vec![0u8; 4], 2, &mut here, |_| (), work);
            (a, b.and_then(|(_, b)| b))
        };
        let first = names();
        assert_eq!(first, (Some("drbook-half-0".into()), Some("drbook-half-1".into())));
        for _ in 0..20 {
            assert_eq!(names(), first);
        }
    }

    #[test]
    fn a_panic_in_a_half_is_raised_again() {
        let caught = std::panic::catch_unwind(|| {
            let work = |_: &mut (), part: Vec<u8>, from: usize| {
                assert!(from == 0, "a bug in the second half");
                part.len()
            };
            halves(vec![0u8; 4], 2, &mut (), |_| (), work)
        });
        assert!(caught.is_err());
    }
}
