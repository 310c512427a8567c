//! drbook: disaster-recovery runbooks you can read, review, plan and execute.
//!
//! The pipeline is the architecture; each stage is one module with one entry point:
//!
//! ```text
//! text --syntax--> AST --load--> imports+templates resolved --check--> model::Runbook
//!      --graph--> Dag --plan--> Plan --render--> text | markdown | mermaid | json
//!                      \--exec--> events --> journal (durable, masked)
//!                                        \-> notes --> terminal / JSON lines / step logs
//! model::Trigger --watch--> rounds of probes --> decide --> watch journal (fire: a normal run)
//! ```
//!
//! A review compares two versions: (Runbook, Dag) x 2 --plan::diff--> Diff --render--> text |
//! markdown | json (`drbook diff`), each side rendered as its plan renders it.
//!
//! `exec` is one scheduler for the forward and the undo phase over a pure board, one loop that
//! waits for a person, and actions behind one entry (`exec::Actions`); every state change it
//! makes is one journal event, whose note the terminal shows once the event is durable.
//! `journal` owns the state dir: the append-only events, their pure replay, the store and its
//! layout, and the one writer thread per run that makes records durable in groups.
//!
//! `watch` is the automated failover trigger's judgement: its probes run through
//! `exec::Standalone` (one action without a run journal), a pure `decide` says what a round
//! means against the watch journal's replayed state; `cli/watch.rs` drives it.
//!
//! `lsp` is the editors' view of the same front end: each open document through syntax, load,
//! check and plan, answered over the Language Server Protocol (`drbook lsp`).
//!
//! `cli` sits at the edge: one file per command, one preparation path for `run`, `resume` and
//! `rollback`, errors printed once in `cli::main` with their exit code; it is the only module
//! that prints, prompts or picks colours.

pub mod advise;
pub mod check;
pub mod cli;
pub mod diag;
pub mod drplan;
pub mod exec;
pub mod graph;
pub mod import;
pub mod journal;
pub mod load;
pub mod lsp;
pub mod model;
pub mod par;
pub mod plan;
pub mod syntax;
#[cfg(test)]
mod testkit;
pub mod watch;
