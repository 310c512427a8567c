//! Actions: what one attempt of a step (or of its rollback) does, behind one entry,
//! [`run_action`]. Adding an action touches this folder only.
//!
//! Input: the action, the step it belongs to, and an [`ActionEnv`]: the values of the moment,
//! the step's timeout, the run's stop signal, where output lines go, the run's HTTP and AWS
//! clients, and [`Hooks`] back into the journal. Output: an [`Attempt`].
//!
//! Invariants:
//! - **Nothing begins before [`Hooks::begin`] says so.** Every action calls it exactly once,
//!   right before it starts acting; the hook makes the start of the attempt durable. A `run`
//!   action calls it with its spawned, still blocked, process, so the record that lets
//!   `resume` find and stop that process is durable before the script runs (see `process`).
//! - A remote operation's id is handed to [`Hooks::remote_started`] the moment it is known.
//! - Output lines go to [`ActionEnv::out`]; the observer behind it masks secrets.
//! - Files here import nothing from the scheduler: the executor builds an `ActionEnv` and calls
//!   in, never the other way round.
//!
//! Files: `shell` (`run`), `wait`, `http` (`http` and `notify`), `ssm` (the executor's side of
//! `ssm command|automation|put`), `aws`/`aws_off` (the SSM client, cargo feature `aws`),
//! `remote` (request shapes shared by both), `process` (spawning and stopping step processes),
//! `manual` (what a person is shown), `env` (what an action is given), `fault` (test-only
//! crash points).

#[cfg(feature = "aws")]
pub(super) mod aws;
#[cfg(not(feature = "aws"))]
#[path = "aws_off.rs"]
pub(super) mod aws;
mod client;
mod env;
mod fault;
pub(super) mod http;
mod manual;
pub(super) mod process;
// Its judging of command results serves only the real SSM client.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub(super) mod remote;
mod shell;
mod ssm;
mod wait;

use crate::model::Action;
pub use client::Client;
pub use env::{ActionEnv, Actions, Attempt, BoxFuture, Hooks};
pub use process::{Spawned, Stream};

/// The actions of LANGUAGE.md §5, for real.
pub struct Real;

impl Actions for Real {
    fn run<'a>(&'a self, env: &'a ActionEnv<'a>, action: &'a Action) -> BoxFuture<'a, Attempt> {
        Box::pin(run_action(env, action))
    }
}

/// Runs `action` with `env`.
pub async fn run_action(env: &ActionEnv<'_>, action: &Action) -> Attempt {
    match action {
        Action::Run { script } => shell::run(env, script).await,
        Action::Wait { millis } => wait::run(env, *millis).await,
        Action::Manual { instructions } => manual::run(env, instructions),
        Action::Http { .. } | Action::Notify { .. } => http::run(env, action).await,
        Action::SsmCommand { .. } | Action::SsmAutomation { .. } | Action::SsmPut { .. } => {
            ssm::run(env, action).await
        }
    }
}
