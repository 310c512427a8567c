//! One step's rollback (LANGUAGE.md §5 `rollback`, §8): once a run rolls back, the scheduler
//! hands each step that succeeded here, in reverse dependency order (see `board.rs`). A
//! rollback block's `retry N [every D] [backoff exponential]` makes up to N more attempts of
//! a failed rollback action, each journaled (`undo_failed` with `will_retry`, then a new
//! `undo_started`); after the last, the step is `undo_failed`, and `drbook rollback` tries it
//! again later (`rollback_retried`).
//!
//! Crash safety: `undo_started` is durable before a rollback action begins (for `run`, with its
//! blocked process, in one write), so after a crash a step is exactly one of: still `succeeded`
//! (its rollback never began), `undoing` (it may have acted), or ended. An `undoing` step is
//! never run again by the runner — a rollback action never runs twice — but waits for a person
//! to say `done` or `fail` (`drbook approve|deny`, or `resume --interrupted STEP=done|fail`).

use super::action::{Attempt, BoxFuture, Hooks, Spawned};
use super::board::Undid;
use super::ctx::Ctx;
use super::person::{self, Waited};
use crate::journal::{Event, JournalError};
use crate::model::time as clock;
use crate::model::Action;
use std::sync::Mutex;
use std::time::Instant;

/// Undoes step `i`, which succeeded.
pub(super) async fn run(ctx: &Ctx, i: usize) -> Result<Undid, JournalError> {
    let step = &ctx.job.rb.steps[i];
    let id = step.id.clone();
    if let Some(reason) = super::scope::undo_skip_reason(ctx) {
        // A component drill changes nothing, so it undoes nothing either (`scope.rs`).
        ctx.record(Event::UndoSkipped { step: id, at: clock::now(), reason }).await?;
        return Ok(Undid::NotUndone);
    }
    let Some(rollback) = &step.rollback else {
        let reason = "no rollback action".to_string();
        ctx.record(Event::UndoSkipped { step: id, at: clock::now(), reason }).await?;
        return Ok(Undid::NotUndone);
    };
    let cap = |idx: usize, name: &str| ctx.capture_of(idx, name);
    let vals = ctx.values(&cap);
    if let Action::Manual { instructions } = &rollback.action {
        ctx.record(Event::UndoStarted { step: id.clone(), at: clock::now() }).await?;
        return match vals.render(instructions, false) {
            Ok(text) => manual(ctx, &id, &text).await,
            Err(e) => failed(ctx, &id, &e).await,
        };
    }
    let retry = rollback.retry.clone();
    let mut tried = 0u32;
    loop {
        tried += 1;
        let began = Instant::now();
        let hooks = Undoing { ctx, step: &id, began: Mutex::new(None) };
        let result = ctx.act(i, &rollback.action, rollback.timeout, &vals, &hooks, true).await;
        let begun = hooks.began.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        match begun {
            Some(Err(e)) => return Err(e),
            Some(Ok(())) => {}
            // Failed before it could begin (a text that cannot be rendered).
            None => ctx.record(Event::UndoStarted { step: id.clone(), at: clock::now() }).await?,
        }
        let took = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
        let error = match result {
            Attempt::Ok(_) => {
                // Not waited for: the undo of what it needs waits for its own, later, start.
                ctx.record_soon(Event::UndoSucceeded {
                    step: id,
                    at: clock::now(),
                    duration_ms: took,
                })?;
                return Ok(Undid::Undone);
            }
            Attempt::Failed(error) => error,
            Attempt::Person(_) => "a manual action cannot run here".to_string(),
            Attempt::Stopped => {
                ctx.say(super::note::Note::UndoInterrupted { step: id });
                return Ok(Undid::Stopped);
            }
        };
        // `retry` in the rollback block: another attempt after the wait, unless stopped.
        let stopped = *ctx.stop.borrow();
        let again = retry.as_ref().filter(|r| tried <= r.attempts && !stopped);
        let Some(r) = again else { return failed(ctx, &id, &error).await };
        let e = Event::UndoFailed { step: id.clone(), at: clock::now(), error, will_retry: true };
        ctx.record(e).await?;
        let mut stop = ctx.stop.clone();
        let wait = super::step::backoff(r, tried);
        let called_off = tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(wait)) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if called_off {
            // Stopped while waiting: it stays `undo_failed`, due again on resume.
            return Ok(Undid::Failed);
        }
    }
}

async fn failed(ctx: &Ctx, id: &str, error: &str) -> Result<Undid, JournalError> {
    let error = error.to_string();
    let e = Event::UndoFailed { step: id.to_string(), at: clock::now(), error, will_retry: false };
    ctx.record(e).await?;
    Ok(Undid::Failed)
}

/// A manual rollback: a person does it and says so; without one the step stays `undoing` and
/// the run pauses.
async fn manual(ctx: &Ctx, id: &str, instructions: &str) -> Result<Undid, JournalError> {
    let e = Event::UndoWaiting {
        step: id.to_string(),
        at: clock::now(),
        instructions: instructions.to_string(),
    };
    ctx.record(e).await?;
    let mut q = person::Manual {
        label: format!("{id} (rollback)"),
        step: id.to_string(),
        instructions: instructions.to_string(),
        undo: true,
    };
    Ok(match person::ask(ctx, &mut q).await? {
        Waited::Done(Ok(())) => Undid::Undone,
        Waited::Done(Err(_)) => Undid::Failed,
        Waited::Waiting => Undid::Waiting,
    })
}

/// The journal side of a rollback action: its start and its process.
struct Undoing<'a> {
    ctx: &'a Ctx,
    step: &'a str,
    began: Mutex<Option<Result<(), JournalError>>>,
}

impl Hooks for Undoing<'_> {
    fn begin(&self, process: Option<Spawned>) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async move {
            let step = self.step.to_string();
            let mut events = vec![Event::UndoStarted { step: step.clone(), at: clock::now() }];
            if let Some(p) = process {
                events.push(Event::UndoProcess {
                    step,
                    pid: p.pid,
                    pgid: p.pgid,
                    pid_start: p.pid_start,
                });
            }
            let r = self.ctx.record_all(&events).await;
            let said = r.as_ref().map(|()| true).map_err(ToString::to_string);
            *self.began.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
            said
        })
    }

    fn remote_started(&self, _kind: &str, _id: &str) -> Result<(), String> {
        // A rollback is never re-attached: its remote ids are not journaled.
        Ok(())
    }

    fn previous_remote(&self, _kind: &str) -> Option<String> {
        None
    }
}
