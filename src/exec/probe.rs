//! A step's `verify` probe (LANGUAGE.md §5, docs/language.md "Probes: verify"): a read-only
//! action asked whether the step's effect is in place, when the journal cannot say (the step
//! was in flight when its runner died, or failed as the run rolls back).
//!
//! Input: the step, the values of the moment. Output: what it saw ([`Seen`]) and what it
//! printed or answered, masked and bounded. A `run` probe that exits 0 (an `http` probe that
//! gets its expected answer) says *in place*; any other exit (another answer) says *not in
//! place*; one that cannot run, times out or gets no answer says *unknown*. It runs like the
//! step's own action (its `env`, `workdir`, interpolation and shell quoting), within the
//! step's `timeout` or [`PROBE_TIMEOUT`], and nothing about it is journaled until it ended:
//! a probe cut short by a crash is simply asked again.

use super::action::{Attempt, BoxFuture, Hooks, Spawned, Stream};
use super::ctx::Ctx;
use crate::journal::Seen;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// How long a probe may take when its step has no `timeout`.
pub(super) const PROBE_TIMEOUT: u64 = 60_000;
/// Lines of output kept, and characters of each.
const KEEP_LINES: usize = 8;
const LINE_CHARS: usize = 200;

/// What a probe came to.
#[derive(Clone, Debug)]
pub(super) struct Probed {
    pub seen: Seen,
    /// Its last lines of output and, when it did not say "in place", why (masked, bounded).
    pub output: String,
}

/// Runs step `i`'s probe; `None` when the step has none.
pub(super) async fn probe(ctx: &Ctx, i: usize) -> Option<Probed> {
    let step = &ctx.job.rb.steps[i];
    let action = step.verify.as_ref()?;
    let cap = |idx: usize, name: &str| ctx.capture_of(idx, name);
    let vals = ctx.values(&cap);
    let hooks = Probing { answered: AtomicBool::new(false) };
    let lines: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let out = |_: Stream, line: &str| {
        let mut l = lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        l.push(line.chars().take(LINE_CHARS).collect());
        if l.len() > KEEP_LINES {
            l.remove(0);
        }
    };
    let timeout = Some(step.timeout.unwrap_or(PROBE_TIMEOUT));
    let result = ctx.act_to(i, action, timeout, &vals, &hooks, false, &out).await;
    let mut shown = lines.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let seen = match &result {
        Attempt::Ok(_) => Seen::InPlace,
        Attempt::Failed(_) if hooks.answered.load(Ordering::SeqCst) => Seen::NotInPlace,
        _ => Seen::Unknown,
    };
    match result {
        Attempt::Ok(_) => {}
        Attempt::Failed(why) => shown.push(why),
        Attempt::Stopped => shown.push("stopped before it could tell".into()),
        Attempt::Person(_) => shown.push("a manual action cannot probe".into()),
    }
    let output = ctx.job.secrets.scrub(&shown.join("; "));
    Some(Probed { seen, output })
}

/// A probe's hooks: nothing is journaled; whether the world answered is remembered.
struct Probing {
    answered: AtomicBool,
}

impl Hooks for Probing {
    fn begin(&self, _process: Option<Spawned>) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async { Ok(true) })
    }

    fn remote_started(&self, _kind: &str, _id: &str) -> Result<(), String> {
        Ok(())
    }

    fn previous_remote(&self, _kind: &str) -> Option<String> {
        None
    }

    fn answered(&self) {
        self.answered.store(true, Ordering::SeqCst);
    }
}
