//! Watch: the automated failover trigger's judgement (issue 14), beside `exec`. `drbook watch`
//! (in `cli`) drives it: one round of probes per interval, then [`decide`] says what the round
//! means against the watcher's journaled state; when the threshold is reached, the RPO gate
//! ([`rpo_gate`]) and, under `requires auto`, the practice rule ([`practice`]) are asked before
//! anything fires.
//!
//! Input: the checked runbook and its `trigger`, the watch journal's state
//! (`journal::watch`), the time. Output: round results ([`RoundLine`]s), the events to journal
//! and what to do next. Nothing here prints or writes state: the caller journals and shows.
//!
//! - `round` — every probe at once, each within its own timeout;
//! - `rpo` — the RPO gate: the gate step run on its own, its lag against the runbook's `rpo`;
//! - `practice` — the practice-run rule of `requires auto`, from the run summaries;
//! - `decide` — the pure rules: threshold, quorum, disarm, cooldown, approval, firing.

mod decide;
mod practice;
mod round;
mod rpo;

pub use crate::journal::watch::{Block, ProbeOutcome, RoundLine, WatchEvent, WatchState};
pub use decide::{
    approval_gate, cooldown_until, decide, fire_events, judge, ready_to_fire, round_failed,
    timed_out, Decision, Next, Round, Verdict, ANYONE,
};
pub use practice::practice;
pub use round::round;
pub use rpo::{lag_ms, rpo_gate};
