//! In-process tests of the scheduler: fast, no processes spawned, no files written.
//!
//! - `board` — table tests of the pure scheduler state ([`super::board::Board`]): readiness,
//!   the `parallel` limit, launch order, phases, undo order, people, interrupts;
//! - `board_props` — property tests: random DAGs and outcomes driven through the board against
//!   an independent model of readiness and undo order.

mod board;
mod board_props;
