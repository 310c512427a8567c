//! The undo phase: once a run rolls back (`rollback_started` is in the journal and no forward
//! step runs), every step that succeeded has its `rollback` action run, in reverse dependency
//! order (LANGUAGE.md §5 `rollback`, §8).
//!
//! Input: the run's context and its journal, which already holds `rollback_started`. Output:
//! `undo_*` events, then `run_finished` (`rolled_back` or `rollback_failed`), `run_paused` or
//! `run_interrupted`, and the matching [`Finish`].
//!
//! Order comes from the graph, not from bookkeeping: a step's rollback may start once every
//! step that needs it is settled — undone, not undone (no rollback action), or never
//! succeeded. A dependent whose rollback failed, or that waits for a person, blocks it: the
//! step stays `succeeded` and is reported as remaining. At most `parallel` rollbacks run at
//! once; independent ones run side by side.
//!
//! Crash safety: `undo_started` is durable before a rollback action begins, so after a crash a
//! step is exactly one of: still `succeeded` (its rollback never began), `undoing` (it may
//! have acted), or ended. An `undoing` step is never run again by the runner — a rollback
//! action never runs twice — but waits for a person to say `done` or `fail` on `resume`.

use super::action::{shell_action, wait_action, Attempt};
use super::run::{append, capture_of, lock, read_inbox, Ctx, ExecError, Finish, Note, Signals};
use super::values::Values;
use crate::journal::inbox::{self, Ask, Request};
use crate::journal::{Event, How, JournalError, Outcome, StepState};
use crate::model::time as clock;
use crate::model::Action;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Where a step's rollback stands, for the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Undo {
    /// It succeeded; its rollback has not begun.
    Due,
    /// Its rollback runs in this session.
    Running,
    /// `undoing` and nobody runs it: a person must say how it ended.
    Undecided,
    Undone,
    NotUndone,
    Failed,
    /// It never succeeded (pending, failed, skipped, ...): nothing to undo, blocks nothing.
    Idle,
}

/// What an undo task came back with.
enum Undid {
    Undone,
    NotUndone,
    Failed,
    /// A manual rollback without a person, or a person walked away from the prompt.
    Waiting,
    /// A signal stopped it mid-flight.
    Stopped,
}

/// Runs the rollbacks that can run now and ends the run accordingly.
pub(super) async fn undo(
    ctx: &Arc<Ctx>,
    parallel: usize,
    signals: &mut Signals,
    stop: &watch::Sender<bool>,
    tick: &watch::Sender<u64>,
) -> Result<Finish, ExecError> {
    let steps = &ctx.job.rb.steps;
    let n = steps.len();
    let mut dependents = vec![Vec::new(); n];
    for (j, s) in steps.iter().enumerate() {
        for &d in &s.needs {
            dependents[d].push(j);
        }
    }
    let mut state: Vec<Undo> = {
        let j = lock(&ctx.journal);
        steps
            .iter()
            .map(|s| match j.state().step(&s.id).map(|r| r.state) {
                Some(StepState::Succeeded) => Undo::Due,
                Some(StepState::Undoing) => Undo::Undecided,
                Some(StepState::Undone) => Undo::Undone,
                Some(StepState::NotUndone) => Undo::NotUndone,
                Some(StepState::UndoFailed) => Undo::Failed,
                _ => Undo::Idle,
            })
            .collect()
    };
    let mut tasks: JoinSet<(usize, Result<Undid, JournalError>)> = JoinSet::new();
    let mut running = 0usize;
    let mut interrupted: Option<String> = None;
    // Answers to manual rollbacks may come from other shells (`drbook approve|deny`).
    let mut inbox_timer = tokio::time::interval(std::time::Duration::from_millis(250));
    inbox_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if interrupted.is_none() {
            // Later-declared steps first: with a small `parallel`, the order reads naturally.
            for i in (0..n).rev() {
                if running >= parallel {
                    break;
                }
                let settled =
                    |j: &usize| matches!(state[*j], Undo::Undone | Undo::NotUndone | Undo::Idle);
                if state[i] == Undo::Due && dependents[i].iter().all(settled) {
                    state[i] = Undo::Running;
                    running += 1;
                    let ctx = ctx.clone();
                    tasks.spawn(async move { (i, undo_task(&ctx, i).await) });
                }
            }
        }
        if running == 0 {
            break;
        }
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                running -= 1;
                let (i, result) = joined
                    .map_err(|e| ExecError::Refused(format!("a rollback task failed: {e}")))?;
                state[i] = match result? {
                    Undid::Undone => Undo::Undone,
                    Undid::NotUndone => Undo::NotUndone,
                    Undid::Failed => Undo::Failed,
                    Undid::Waiting | Undid::Stopped => Undo::Undecided,
                };
            }
            _ = inbox_timer.tick(), if ctx.job.run_dir.is_some() => {
                if read_inbox(ctx) {
                    tick.send_modify(|t| *t += 1);
                }
            }
            signal = signals.recv() => {
                interrupted.get_or_insert_with(|| signal.into());
                let _ = stop.send(true);
            }
        }
    }
    let now = clock::now();
    if let Some(signal) = interrupted {
        append(&ctx.journal, Event::RunInterrupted { at: now, signal: signal.clone() })?;
        return Ok(Finish::Interrupted(signal));
    }
    let named = |u: Undo| -> Vec<String> {
        (0..n).filter(|&i| state[i] == u).map(|i| format!("`{}`", steps[i].id)).collect()
    };
    // A rollback waiting for a person is not over, even where another one failed: pause, so
    // the person's answer is journaled before the run ends.
    let undecided = named(Undo::Undecided);
    if !undecided.is_empty() {
        let reason = format!(
            "the rollback of {} waits for a person to say whether it was done (`drbook approve|deny`, or `resume --interrupted STEP=done|fail`)",
            undecided.join(", ")
        );
        append(&ctx.journal, Event::RunPaused { at: now, reason: reason.clone() })?;
        return Ok(Finish::Paused(reason));
    }
    let failed: Vec<usize> = (0..n).filter(|&i| state[i] == Undo::Failed).collect();
    if !failed.is_empty() {
        let errors: Vec<String> = {
            let j = lock(&ctx.journal);
            failed
                .iter()
                .map(|&i| {
                    let id = &steps[i].id;
                    let error = j
                        .state()
                        .step(id)
                        .and_then(|r| r.undo.as_ref())
                        .and_then(|u| u.error.clone())
                        .unwrap_or_else(|| "failed".into());
                    format!("the rollback of `{id}` failed: {error}")
                })
                .collect()
        };
        let remains = named(Undo::Due);
        let mut text = errors.join("; ");
        if !remains.is_empty() {
            text.push_str(&format!(
                "; not undone because of it (still succeeded): {}",
                remains.join(", ")
            ));
        }
        append(&ctx.journal, Event::RunFinished { at: now, outcome: Outcome::RollbackFailed })?;
        return Ok(Finish::RollbackFailed(text));
    }
    let undone = named(Undo::Undone).len();
    let not_undone = named(Undo::NotUndone);
    let mut text = format!("{undone} step(s) undone");
    if !not_undone.is_empty() {
        text.push_str(&format!("; not undone (no rollback action): {}", not_undone.join(", ")));
    }
    append(&ctx.journal, Event::RunFinished { at: now, outcome: Outcome::RolledBack })?;
    Ok(Finish::RolledBack(text))
}

/// Undoes step `i`, which succeeded: `undo_started` (durable) first, then its rollback action.
async fn undo_task(ctx: &Ctx, i: usize) -> Result<Undid, JournalError> {
    let step = &ctx.job.rb.steps[i];
    let id = step.id.clone();
    let Some(rollback) = &step.rollback else {
        let reason = "no rollback action".to_string();
        let e = Event::UndoSkipped { step: id.clone(), at: clock::now(), reason: reason.clone() };
        append(&ctx.journal, e)?;
        ctx.observer.note(Note::UndoSkipped { step: id, reason });
        return Ok(Undid::NotUndone);
    };
    let cap = |idx: usize, name: &str| capture_of(ctx, idx, name);
    let vals = Values {
        params: &ctx.job.values,
        secrets: &ctx.job.secrets,
        capture: &cap,
        run_id: &ctx.job.run_id,
        runbook: &ctx.job.rb.name,
        own: None,
    };
    let scrub = |s: &str| ctx.job.secrets.scrub(s);
    let began = Instant::now();
    append(&ctx.journal, Event::UndoStarted { step: id.clone(), at: clock::now() })?;
    ctx.observer.note(Note::UndoStarted { step: id.clone() });
    let result = match &rollback.action {
        Action::Run { script } => {
            let step_id = id.clone();
            let process = move |p: super::shell::Spawned| Event::UndoProcess {
                step: step_id.clone(),
                pid: p.pid,
                pgid: p.pgid,
                pid_start: p.pid_start,
            };
            shell_action(ctx, i, script, rollback.timeout, &vals, process).await?
        }
        Action::Wait { millis } => wait_action(ctx, *millis).await,
        Action::Manual { instructions } => match vals.render(instructions, false) {
            Ok(text) => return manual_undo(ctx, &id, &scrub(&text), began).await,
            Err(e) => Attempt::Failed(e),
        },
        a @ (Action::SsmCommand { .. } | Action::SsmAutomation { .. } | Action::SsmPut { .. }) => {
            super::remote_action::ssm_action(ctx, i, a, 0, rollback.timeout, &vals, true).await
        }
        // `http` and `notify`; the rest is refused before the run starts (`drbook run` checks
        // every rollback action's kind).
        other => match super::http::action(ctx, &id, other, rollback.timeout, &vals).await {
            Some(done) => done,
            None => Attempt::Failed(format!(
                "`{}` rollback actions are not supported yet",
                other.kind().replace('_', " ")
            )),
        },
    };
    let took = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(match result {
        Attempt::Ok(_) => succeeded(ctx, &id, took)?,
        Attempt::Failed(error) => failed(ctx, &id, &scrub(&error))?,
        Attempt::Stopped => {
            ctx.observer.note(Note::UndoInterrupted { step: id });
            Undid::Stopped
        }
    })
}

fn succeeded(ctx: &Ctx, id: &str, took: u64) -> Result<Undid, JournalError> {
    let e = Event::UndoSucceeded { step: id.to_string(), at: clock::now(), duration_ms: took };
    append(&ctx.journal, e)?;
    ctx.observer.note(Note::UndoSucceeded { step: id.to_string(), took_ms: took });
    Ok(Undid::Undone)
}

fn failed(ctx: &Ctx, id: &str, error: &str) -> Result<Undid, JournalError> {
    let e = Event::UndoFailed { step: id.to_string(), at: clock::now(), error: error.to_string() };
    append(&ctx.journal, e)?;
    ctx.observer.note(Note::UndoFailed { step: id.to_string(), error: error.to_string() });
    Ok(Undid::Failed)
}

/// A manual rollback: a person at the terminal does it and says so; without one the step
/// stays `undoing` and the run pauses.
async fn manual_undo(
    ctx: &Ctx,
    id: &str,
    instructions: &str,
    began: Instant,
) -> Result<Undid, JournalError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let e = Event::UndoWaiting {
        step: id.to_string(),
        at: clock::now(),
        instructions: instructions.to_string(),
    };
    append(&ctx.journal, e)?;
    ctx.observer
        .note(Note::UndoWaiting { step: id.to_string(), instructions: instructions.to_string() });
    let (mut tick, mut stop) = (ctx.tick.clone(), ctx.stop.clone());
    type Asked = tokio::task::JoinHandle<Option<Result<(), String>>>;
    let mut prompt: Option<(Asked, Arc<AtomicBool>)> = None;
    let close = |p: &mut Option<(Asked, Arc<AtomicBool>)>| {
        if let Some((_, cancel)) = p.take() {
            cancel.store(true, Ordering::SeqCst);
        }
    };
    let mut person_gone = false;
    loop {
        // Answered from another shell (or a prompt answer just journaled)?
        let state = lock(&ctx.journal).state().step(id).map(|r| r.state);
        match state {
            Some(StepState::Undone) => {
                close(&mut prompt);
                let took = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
                ctx.observer.note(Note::UndoSucceeded { step: id.to_string(), took_ms: took });
                return Ok(Undid::Undone);
            }
            Some(StepState::UndoFailed) => {
                close(&mut prompt);
                let error = lock(&ctx.journal)
                    .state()
                    .step(id)
                    .and_then(|r| r.undo.as_ref().and_then(|u| u.error.clone()))
                    .unwrap_or_else(|| "marked failed".into());
                ctx.observer.note(Note::UndoFailed { step: id.to_string(), error });
                return Ok(Undid::Failed);
            }
            _ => {}
        }
        if *ctx.stop.borrow() {
            close(&mut prompt);
            return Ok(Undid::Waiting);
        }
        let person = ctx.person.clone().filter(|_| !person_gone);
        if person.is_none() && !ctx.job.wait {
            return Ok(Undid::Waiting);
        }
        if let (Some(person), None) = (person, &prompt) {
            let (label, text) = (format!("{id} (rollback)"), instructions.to_string());
            let cancel = Arc::new(AtomicBool::new(false));
            let c = cancel.clone();
            let task = tokio::task::spawn_blocking(move || person.manual(&label, &text, &c));
            prompt = Some((task, cancel));
        }
        tokio::select! {
            _ = tick.changed() => {}
            () = tokio::time::sleep(std::time::Duration::from_millis(1000)) => {}
            _ = stop.wait_for(|s| *s) => {}
            answer = async { match prompt.as_mut() { Some(p) => (&mut p.0).await, None => std::future::pending().await } } => {
                prompt = None;
                let ask = match answer.ok().flatten() {
                    Some(Ok(())) => Ask::Approve { role: None, comment: None },
                    Some(Err(r)) => Ask::Deny { reason: ctx.job.secrets.scrub(&r) },
                    None => {
                        person_gone = true;
                        continue;
                    }
                };
                let req = Request::new(id, &ctx.job.user, ask);
                let said = inbox::apply(&mut **lock(&ctx.journal), &req, How::Prompt, &clock::now());
                if let Err(reason) = said {
                    ctx.observer.note(Note::ApprovalRefused { step: id.to_string(), by: ctx.job.user.clone(), reason });
                }
            }
        }
    }
}
