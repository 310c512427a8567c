//! drbook: disaster-recovery runbooks you can read, review, plan and execute.
//!
//! The pipeline is the architecture; each stage is one module with one entry point:
//!
//! ```text
//! text --syntax--> AST --load--> imports+templates resolved --check--> model::Runbook
//!      --graph--> Dag --plan--> Plan --render--> text | markdown | mermaid | json
//! ```
//!
//! `cli` sits at the edge: it is the only module that prints, prompts or picks colours.

pub mod check;
pub mod cli;
pub mod diag;
pub mod exec;
pub mod graph;
pub mod journal;
pub mod load;
pub mod model;
pub mod plan;
pub mod syntax;
