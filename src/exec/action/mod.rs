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
//! `manual` (what a person is shown).

#[cfg(feature = "aws")]
pub(super) mod aws;
#[cfg(not(feature = "aws"))]
#[path = "aws_off.rs"]
pub(super) mod aws;
pub(super) mod http;
mod manual;
pub(super) mod process;
pub(super) mod remote;
mod shell;
mod ssm;
mod wait;

use super::secrets::Secrets;
use super::values::Values;
use crate::model::{Action, Millis, Step};
pub use process::{Spawned, Stream};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;

/// How one action (a step's or a rollback's) ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The action's output (stdout for `run`, the body for `http`).
    Ok(String),
    Failed(String),
    /// A signal stopped it, or it never began (the hook said no).
    Stopped,
    /// A manual action: a person must do this (the instructions, rendered) and say so.
    Person(String),
}

/// A boxed future, for the hooks' and fakes' async methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The executor's side of an attempt: what an action reports back.
pub trait Hooks: Send + Sync {
    /// The action is about to begin (for `run`: its process exists, blocked). Resolves to
    /// `Ok(true)` once the start is durable; `Ok(false)` when it must not begin (the run
    /// turned to rolling back meanwhile); `Err` when the journal failed.
    fn begin(&self, process: Option<Spawned>) -> BoxFuture<'_, Result<bool, String>>;
    /// A remote operation's id, journaled durably before this returns (the SSM client calls it
    /// as soon as the service answers, before it polls).
    fn remote_started(&self, kind: &str, id: &str) -> Result<(), String>;
    /// The id a crashed runner left for this attempt, to re-attach to (never started again).
    fn previous_remote(&self, kind: &str) -> Option<String>;
}

/// Everything an action needs from the run.
pub struct ActionEnv<'a> {
    pub step: &'a Step,
    pub vals: &'a Values<'a>,
    pub secrets: &'a Secrets,
    pub timeout: Option<Millis>,
    /// Directory of the runbook file: relative `workdir`s start here.
    pub base_dir: &'a Path,
    pub stop: watch::Receiver<bool>,
    pub out: &'a (dyn Fn(Stream, &str) + Send + Sync),
    pub http: &'a http::Client,
    pub aws: Option<&'a Arc<aws::Aws>>,
    pub hooks: &'a dyn Hooks,
    /// A rollback action (never re-attached to a remote operation).
    pub undo: bool,
}

/// Performs one action. The real actions, unless the job carries stand-ins (tests).
pub trait Actions: Send + Sync {
    fn run<'a>(&'a self, env: &'a ActionEnv<'a>, action: &'a Action) -> BoxFuture<'a, Attempt>;
}

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

/// Calls the begin hook: `None` when the action may go on, else how the attempt ends.
async fn begin(env: &ActionEnv<'_>, process: Option<Spawned>) -> Option<Attempt> {
    match env.hooks.begin(process).await {
        Ok(true) => None,
        Ok(false) => Some(Attempt::Stopped),
        Err(e) => Some(Attempt::Failed(e)),
    }
}

/// Test-only fault switch (`DRBOOK_TEST_KILL=POINT:STEP`): the runner kills itself with
/// SIGKILL at `point` of step `step`'s attempt, to prove what a crash there leaves behind.
/// Points: `after_spawn` (the step's process exists, nothing about it is journaled yet) and
/// `after_go` (its record is durable and the script was released).
pub(super) fn crash_point(point: &str, step: &str) {
    static WANTED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("DRBOOK_TEST_KILL").ok());
    if let Some(w) = wanted {
        if w.split_once(':') == Some((point, step)) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::SIGKILL);
        }
    }
}
