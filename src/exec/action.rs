//! Running one action for a step or for its rollback: `run` (a shell script in its own
//! process group, with the step's `env` and `workdir`) and `wait`. Output is streamed to the
//! observer scrubbed of secrets; the spawned process is journaled (lazily) so `resume` can
//! find it after a crash; a signal (the stop watch) terminates it.

use super::run::{lock, Ctx, Note};
use super::shell::{self, Ended, Script, Spawned};
use super::values::Values;
use crate::journal::{Event, JournalError};
use crate::model::{Millis, Text};
use std::time::Duration;

/// How one action (a step's or a rollback's) ended.
pub(super) enum Attempt {
    /// The action's output (stdout for `run`).
    Ok(String),
    Failed(String),
    Stopped,
}

/// `wait`: sleeps, unless a signal stops the run first.
pub(super) async fn wait_action(ctx: &Ctx, millis: Millis) -> Attempt {
    let mut stop = ctx.stop.clone();
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(millis)) => Attempt::Ok(String::new()),
        _ = stop.wait_for(|s| *s) => Attempt::Stopped,
    }
}

/// `run`: `script` rendered (values shell-quoted) and run with step `i`'s `env` and `workdir`,
/// its output streamed (scrubbed) to the observer. `process` makes the journal record of the
/// spawned process, flushed with the next durable record.
pub(super) async fn shell_action(
    ctx: &Ctx,
    i: usize,
    script: &Text,
    timeout: Option<Millis>,
    vals: &Values<'_>,
    process: impl Fn(Spawned) -> Event,
) -> Result<Attempt, JournalError> {
    let step = &ctx.job.rb.steps[i];
    let script = match vals.render(script, true) {
        Ok(s) => s,
        Err(e) => return Ok(Attempt::Failed(e)),
    };
    let mut env = Vec::new();
    for (k, v) in &step.env {
        match vals.render(v, false) {
            Ok(v) => env.push((k.clone(), v)),
            Err(e) => return Ok(Attempt::Failed(e)),
        }
    }
    let workdir = match &step.workdir {
        Some(w) => match vals.render(w, false) {
            Ok(w) => Some(ctx.job.base_dir.join(w)),
            Err(e) => return Ok(Attempt::Failed(e)),
        },
        None => None,
    };
    let id = step.id.clone();
    let journal = ctx.journal.clone();
    let observer = ctx.observer.clone();
    let secrets = ctx.job.secrets.clone();
    let mut spawn_err = None;
    let run = shell::run(
        Script { script, env, workdir, timeout: timeout.map(Duration::from_millis) },
        |p| {
            // Flushed with the action's end record; only `resume`'s leftover search needs
            // it, and a crash before then loses nothing else.
            if let Err(err) = lock(&journal).append_lazy(&process(p)) {
                spawn_err = Some(err);
            }
        },
        |stream, line| {
            observer.note(Note::Output { step: id.clone(), stream, line: secrets.scrub(line) })
        },
        ctx.stop.clone(),
    )
    .await;
    if let Some(e) = spawn_err {
        return Err(e);
    }
    Ok(match run {
        Err(e) => Attempt::Failed(format!("cannot start `sh`: {e}")),
        Ok(f) => match f.ended {
            Ended::Exited(0) => Attempt::Ok(f.stdout),
            Ended::Exited(code) => Attempt::Failed(format!("exit code {code}")),
            Ended::Signalled(sig) => Attempt::Failed(format!("killed by signal {sig}")),
            Ended::TimedOut => Attempt::Failed(format!(
                "timed out after {}",
                crate::model::fmt_duration(timeout.unwrap_or(0))
            )),
            Ended::Stopped => Attempt::Stopped,
        },
    })
}
