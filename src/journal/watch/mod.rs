//! The watcher's durable memory (issue 14): its append-only journal of [`WatchEvent`]s, the
//! pure [`replay`] that turns it into a [`WatchState`], and the [`WatchStore`] that keeps it
//! under `<state dir>/watch/<key>/` (layout in the module docs of `journal`).
//!
//! Input: events from `drbook watch` and its admin commands. Output: [`WatchState`] (phase,
//! count, cooldown start, disarm, pending approval), typed [`JournalError`]s.
//!
//! Crash safety: a batch of events is one write followed by `fdatasync` before
//! [`WatchStore::append`] returns, so what the watcher was told is durable survives a kill
//! -9; a torn last record is dropped by readers and cut away by the next lock holder. The
//! cooldown start and the disarm are in the journal, so a restarted watcher never fires twice.

pub mod describe;
mod event;
mod frame;
mod replay;
pub mod requests;
mod store;

pub use event::{Block, ProbeOutcome, RoundLine, WatchEvent, ROUNDS_KEPT, WATCH_VERSION};
pub use replay::{replay, Phase, WatchState};
pub use requests::{decide, trigger_gate, Handled};
pub use store::{key, WatchLock, WatchStore};

#[cfg(test)]
mod tests;
