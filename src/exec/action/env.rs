//! What an action is given ([`ActionEnv`], with [`Hooks`] back into the journal) and what it
//! comes back with ([`Attempt`]).

use super::client::Client;
use super::process::{Spawned, Stream};
use crate::exec::secrets::Secrets;
use crate::exec::values::Values;
use crate::model::{Millis, Step};
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
    /// The world answered: the process exited with a code, or the server sent a response.
    /// A `verify` probe tells "not in place" (an answer) from "unknown" (none) by it.
    fn answered(&self) {}
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
    pub http: &'a Client,
    pub aws: Option<&'a Arc<super::aws::Aws>>,
    pub hooks: &'a dyn Hooks,
    /// A rollback action (never re-attached to a remote operation).
    pub undo: bool,
}

/// Performs one action.
pub trait Actions: Send + Sync {
    fn run<'a>(
        &'a self,
        env: &'a ActionEnv<'a>,
        action: &'a crate::model::Action,
    ) -> BoxFuture<'a, Attempt>;
}

/// Calls the begin hook: `None` when the action may go on, else how the attempt ends.
pub(super) async fn begin(env: &ActionEnv<'_>, process: Option<Spawned>) -> Option<Attempt> {
    match env.hooks.begin(process).await {
        Ok(true) => None,
        Ok(false) => Some(Attempt::Stopped),
        Err(e) => Some(Attempt::Failed(e)),
    }
}
