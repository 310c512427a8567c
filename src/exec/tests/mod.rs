//! In-process tests of the scheduler: fast, no processes spawned, no files written.
//!
//! - `board` — table tests of the pure scheduler state ([`super::board::Board`]): readiness,
//!   the `parallel` limit, launch order, phases, undo order, people, interrupts;
//! - `board_props` — property tests: random DAGs and outcomes driven through the board against
//!   an independent model of readiness and undo order;
//! - `fake` — stand-ins for the executor's ports (scripted actions, a person at a terminal, a
//!   journal whose events the test keeps, a collecting observer) and checked runbooks from
//!   source text;
//! - `run` — [`super::execute_with`] end to end with stand-in actions: success, the
//!   `parallel` limit, retries, `abort` and `continue`, steps that wait for a person, values;
//! - `rollback` — the same for runs that roll back: undo order, failed and interrupted
//!   rollbacks, what stops once the run turns;
//! - `people` — the same with a person answering at the terminal;
//! - `resume` — a finished run's journal cut after every record and resumed;
//! - `tabletop` — a tabletop drill: every step discussed at the prompt, nothing acted;
//! - `values` — comparisons that demand numbers, and what a failed check says.

mod board;
mod board_props;
mod fake;
mod people;
mod probes;
mod resume;
mod rollback;
mod run;
mod tabletop;
mod values;
