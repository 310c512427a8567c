//! The scheduler: one loop for the forward phase and the undo phase. It launches what the
//! [`Board`] says is ready (at most `parallel` at once), reads the inbox every 250 ms, watches
//! for SIGINT/SIGTERM, and ends the run as the board's end says, journaling how.
//!
//! The journal is the only memory: the board starts from the replayed state, so a resumed run
//! continues exactly where the journal says, a rolling-back one included.

use super::action::{Actions, Real};
use super::board::{Board, Done, ForwardEnd, Phase, Undid, UndoEnd};
use super::ctx::{Ctx, Signals, Watches};
use super::interrupted::Settled;
use super::job::{ExecError, Finish, Job};
use super::note::{Note, Observer};
use super::port::Person;
use crate::journal::{Event, Journal, JournalError, Outcome, StepState};
use crate::model::time as clock;
use crate::model::FailurePolicy;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What a task came back with.
enum Back {
    Forward(Done),
    Undo(Undid),
}

/// Runs every step that can run now. The journal must hold the run's `RunStarted` (and, on
/// resume, `RunResumed` plus any decisions about interrupted steps).
pub async fn execute(
    job: Job,
    journal: Journal,
    observer: Arc<dyn Observer>,
    person: Option<Arc<dyn Person>>,
) -> Result<Finish, ExecError> {
    execute_with(job, journal, observer, person, Arc::new(Real)).await
}

/// [`execute`] with the given actions (stand-ins in tests).
pub async fn execute_with(
    job: Job,
    journal: Journal,
    observer: Arc<dyn Observer>,
    person: Option<Arc<dyn Person>>,
    actions: Arc<dyn Actions>,
) -> Result<Finish, ExecError> {
    let (stop_tx, stop) = watch::channel(false);
    let (phase_tx, phase) = watch::channel(Phase::Forward);
    let (tick_tx, tick) = watch::channel(0u64);
    let (stop_tx, tick_tx) = (Arc::new(stop_tx), Arc::new(tick_tx));
    let parallel = job.parallel.max(1);
    let ctx =
        Arc::new(Ctx::new(job, journal, observer, person, actions, Watches { stop, phase, tick }));
    // First, how the steps in flight when a runner died ended.
    let keep_failed = match before_going_on(&ctx, &stop_tx, &tick_tx).await? {
        Ok(k) => k,
        Err(finish) => return Ok(finish.map_text(|t| ctx.job.secrets.scrub(t))),
    };
    let rb = ctx.job.rb.clone();
    // The board holds the steps other than finally steps (they come first), until the run's
    // outcome is decided; then the finally steps' (`finally.rs`), from `offset` on.
    let n = rb.forward_len();
    let ids: Vec<String> = rb.steps[..n].iter().map(|s| s.id.clone()).collect();
    let policy: Vec<FailurePolicy> = rb.steps[..n].iter().map(|s| s.on_failure).collect();
    let forward_kept: Vec<usize> = keep_failed.iter().copied().filter(|&i| i < n).collect();
    let mut board =
        Board::new(&ctx.job.dag, ids, policy, parallel, &states(&ctx)[..n], &forward_kept);
    // A denied gate stays denied (until a person re-opens it): its step is not asked again.
    for (i, error) in denied(&ctx).into_iter().filter(|(i, _)| *i < n) {
        // A turn to rolling back is journaled just below, with the other failures under it.
        let _ = board.stays_failed(i, &error);
    }
    let mut offset = 0;
    // Once set, the run has ended so and its finally steps run.
    let mut ended: Option<Finish> = None;
    if let Some(info) = ctx.state(|s| s.finally.clone()) {
        // A runner died while the finally steps ran: the run had ended; they go on.
        ended = Some(super::finally::finish_of(&info));
        board = super::finally::board(&ctx, parallel, &keep_failed);
        offset = n;
    }
    // A run with a step failed under `rollback` that did not turn it yet (a crash came in
    // between, or a person marked it failed on resume) turns now.
    if ended.is_none() && ctx.state(|s| s.rollback.is_none()) {
        if let Some(why) = failed_under_rollback(&ctx, &forward_kept) {
            ctx.start_rollback(&why).await?;
        }
    }
    if let Some(info) = ctx.state(|s| s.rollback.clone()).filter(|_| ended.is_none()) {
        board.rolling_back(&info.reason);
    }
    let mut signals = Signals::new().map_err(ExecError::Refused)?;
    let mut inbox_timer = tokio::time::interval(Duration::from_millis(250));
    inbox_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks: JoinSet<(usize, Result<Back, JournalError>)> = JoinSet::new();
    let mut over_budget_said = false;
    loop {
        // Notes of records made durable meanwhile (ends of steps are not waited for).
        ctx.flush();
        phase_tx.send_if_modified(|p| std::mem::replace(p, board.phase()) != board.phase());
        for i in board.launch() {
            let (ctx, i) = (ctx.clone(), i + offset);
            if board.phase() == Phase::Undo {
                tasks.spawn(async move { (i, super::undo::run(&ctx, i).await.map(Back::Undo)) });
            } else {
                tasks.spawn(async move { (i, super::step::run(&ctx, i).await.map(Back::Forward)) });
            }
        }
        if board.idle() {
            let turn = ended.is_none()
                && board.phase() != Phase::Undo
                && board.interrupted().is_none()
                && ctx.state(|s| s.rollback.is_some());
            if turn {
                let pump = pump(&ctx, &stop_tx, &tick_tx)?;
                let doubt = super::doubt::settle(&ctx).await;
                pump.abort();
                if let Some(text) = doubt? {
                    return Ok(Finish::Paused(ctx.job.secrets.scrub(&text)));
                }
                board.start_undo(&undo_states(&ctx)[..n]);
                continue;
            }
            if ended.is_none() && super::finally::any(&ctx) {
                if let (Event::RunFinished { outcome, .. }, finish) = conclude(&ctx, &board) {
                    leave_none_running(&ctx).await?;
                    super::finally::begin(&ctx, outcome, &finish).await?;
                    ended = Some(finish);
                    board = super::finally::board(&ctx, parallel, &keep_failed);
                    offset = n;
                    continue;
                }
            }
            break;
        }
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                let (i, back) = joined.map_err(|e| ExecError::Refused(format!("a step task failed: {e}")))?;
                let i = i - offset;
                match back? {
                    Back::Forward(done) => {
                        if let Some(why) = board.forward_done(i, done) {
                            ctx.start_rollback(&why).await?;
                        }
                        if ended.is_none() {
                            clock_note(&ctx, &board, &mut over_budget_said);
                        }
                    }
                    Back::Undo(undid) => board.undo_done(i, undid),
                }
            }
            _ = inbox_timer.tick(), if ctx.has_inbox() => {
                if ctx.read_inbox().await {
                    tick_tx.send_modify(|t| *t += 1);
                    // Gates and manual steps left waiting (no terminal) go on as answers arrive.
                    for i in board.waiting() {
                        let rec = ctx.state(|s| s.step(&ctx.job.rb.steps[i + offset].id).cloned());
                        let Some(r) = rec else { continue };
                        if r.state == StepState::Failed {
                            let why = r.error.unwrap_or_else(|| "approval denied".into());
                            if let Some(why) = board.answered_failed(i, &why) {
                                ctx.start_rollback(&why).await?;
                            }
                        } else {
                            board.answered(i, r.state, r.gate_satisfied());
                        }
                    }
                }
            }
            signal = signals.recv() => {
                board.interrupt(signal);
                let _ = stop_tx.send(true);
            }
        }
    }
    leave_none_running(&ctx).await?;
    // How the run ended goes out to the person too: masked like every other output.
    let (event, finish) = match ended {
        None => conclude(&ctx, &board),
        Some(kept) => after_finally(&ctx, &board, offset, kept),
    };
    ctx.record(event).await?;
    Ok(finish.map_text(|t| ctx.job.secrets.scrub(t)))
}

/// How a run whose outcome was `kept` ends once its finally steps' board is idle: as decided,
/// whatever they did, unless a signal or a person stops them first.
fn after_finally(ctx: &Ctx, board: &Board, offset: usize, kept: Finish) -> (Event, Finish) {
    let at = clock::now();
    match board.forward_end() {
        ForwardEnd::Interrupted(signal) => {
            (Event::RunInterrupted { at, signal: signal.clone() }, Finish::Interrupted(signal))
        }
        ForwardEnd::Paused { waiting, .. } => {
            let what: Vec<String> = waiting.iter().map(|&i| waiting_for(ctx, i + offset)).collect();
            let reason = format!("finally steps wait for a person: {}", what.join("; "));
            (Event::RunPaused { at, reason: reason.clone() }, Finish::Paused(reason))
        }
        ForwardEnd::Failed(_) | ForwardEnd::Succeeded => {
            let outcome = ctx
                .state(|s| s.finally.as_ref().map(|f| f.outcome))
                .expect("invariant: finally steps ran after finally_started");
            (Event::RunFinished { at, outcome }, kept)
        }
    }
}

/// Each step's state as journaled, in declaration order.
fn states(ctx: &Ctx) -> Vec<Option<StepState>> {
    ctx.state(|s| ctx.job.rb.steps.iter().map(|st| s.step(&st.id).map(|r| r.state)).collect())
}

/// Each step's state for the undo phase: a rollback that failed and is tried again
/// (`undo_again`) stands as one due, like a step that succeeded.
fn undo_states(ctx: &Ctx) -> Vec<Option<StepState>> {
    ctx.state(|s| {
        let of = |id: &str| {
            s.step(id).map(|r| match r.state {
                StepState::UndoFailed if r.undo_again => StepState::Succeeded,
                other => other,
            })
        };
        ctx.job.rb.steps.iter().map(|st| of(&st.id)).collect()
    })
}

/// Settles the decisions about steps that were in flight when a runner died (`interrupted.rs`),
/// reading the inbox and watching for signals meanwhile. `Ok(steps decided fail)`, or the
/// finish when the run cannot go on now.
async fn before_going_on(
    ctx: &Arc<Ctx>,
    stop: &Arc<watch::Sender<bool>>,
    tick: &Arc<watch::Sender<u64>>,
) -> Result<Result<Vec<usize>, Finish>, ExecError> {
    let pump = pump(ctx, stop, tick)?;
    let settled = super::interrupted::settle(ctx).await;
    pump.abort();
    let mut keep = ctx.job.keep_failed.clone();
    match settled? {
        Settled::Paused(text) => return Ok(Err(Finish::Paused(text))),
        Settled::GoOn(k) => keep.extend(k),
    }
    if *stop.borrow() {
        let signal = "SIGINT".to_string();
        ctx.record(Event::RunInterrupted { at: clock::now(), signal: signal.clone() }).await?;
        return Ok(Err(Finish::Interrupted(signal)));
    }
    Ok(Ok(keep))
}

/// Steps whose gate was denied and not re-opened, with their error.
fn denied(ctx: &Ctx) -> Vec<(usize, String)> {
    ctx.state(|st| {
        let steps = ctx.job.rb.steps.iter().enumerate();
        steps
            .filter_map(|(i, s)| {
                let r = st.step(&s.id).filter(|r| r.stays_denied())?;
                Some((i, r.error.clone().unwrap_or_else(|| "approval denied".into())))
            })
            .collect()
    })
}

/// While the loop waits for something else (a person deciding before the run goes on): reads
/// the inbox, ticking waits for a person, and turns a signal into the stop.
fn pump(
    ctx: &Arc<Ctx>,
    stop: &Arc<watch::Sender<bool>>,
    tick: &Arc<watch::Sender<u64>>,
) -> Result<tokio::task::JoinHandle<()>, ExecError> {
    let (ctx, stop, tick) = (ctx.clone(), stop.clone(), tick.clone());
    let mut signals = Signals::new().map_err(ExecError::Refused)?;
    Ok(tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = every.tick(), if ctx.has_inbox() => {
                    if ctx.read_inbox().await {
                        tick.send_modify(|t| *t += 1);
                    }
                }
                _ = signals.recv() => {
                    let _ = stop.send(true);
                }
            }
        }
    }))
}

/// A step that failed under `rollback` whose failure did not turn the run.
fn failed_under_rollback(ctx: &Ctx, keep_failed: &[usize]) -> Option<String> {
    ctx.state(|st| {
        ctx.job.rb.steps.iter().enumerate().find_map(|(i, s)| {
            let rec = st.step(&s.id);
            let failed =
                rec.is_some_and(|r| r.state == StepState::Failed) || keep_failed.contains(&i);
            (failed && s.on_failure == FailurePolicy::Rollback).then(|| {
                let error = rec.and_then(|r| r.error.clone()).unwrap_or_else(|| "failed".into());
                format!("step `{}` failed: {error}", s.id)
            })
        })
    })
}

/// The RTO clock after a step ended: elapsed, projected finish, and whether it is over budget
/// (said once).
fn clock_note(ctx: &Ctx, board: &Board, over_budget_said: &mut bool) {
    // A tabletop drill runs nothing and a component drill recovers nothing: no RTO clock.
    if ctx.state(|s| s.drill.as_ref().is_some_and(|d| !d.kind.recovers())) {
        return;
    }
    let elapsed = u64::try_from(clock::now_ms() - ctx.job.clock_start_ms).unwrap_or(0);
    let projected = elapsed + board.remaining_ms();
    let rto = ctx.job.rb.rto;
    let over = rto.is_some_and(|r| projected > r);
    if !over || !*over_budget_said {
        let clock = Note::Clock { elapsed_ms: elapsed, projected_ms: projected, rto_ms: rto, over };
        ctx.say_after_records(clock);
    }
    *over_budget_said |= over;
}

/// No step is left `running` when a runner stops (or the run's outcome is decided): one the
/// journal still calls running was in flight when an earlier runner died, and this session
/// did not run it again (the run failed or turned first). It is journaled interrupted, for
/// the next resume to settle.
async fn leave_none_running(ctx: &Ctx) -> Result<(), JournalError> {
    for (step, attempt) in left_running(ctx) {
        ctx.record(Event::StepInterrupted { step, attempt, at: clock::now() }).await?;
    }
    Ok(())
}

/// How the run ends as the board stands: the record to journal and what to say.
fn conclude(ctx: &Ctx, board: &Board) -> (Event, Finish) {
    let now = clock::now();
    let steps = &ctx.job.rb.steps;
    let named = |is: &[usize]| -> Vec<String> {
        is.iter().map(|&i| format!("`{}`", steps[i].id)).collect()
    };
    if board.phase() == Phase::Undo {
        return match board.undo_end() {
            UndoEnd::Interrupted(signal) => (
                Event::RunInterrupted { at: now, signal: signal.clone() },
                Finish::Interrupted(signal),
            ),
            UndoEnd::Paused(undecided) => {
                let reason = format!(
                    "the rollback of {} waits for a person to say whether it was done (`drbook approve|deny`, or `resume --interrupted STEP=done|fail`)",
                    named(&undecided).join(", ")
                );
                (Event::RunPaused { at: now, reason: reason.clone() }, Finish::Paused(reason))
            }
            UndoEnd::Failed { failed, remains } => {
                let errors: Vec<String> = failed
                    .iter()
                    .map(|&i| {
                        let id = &steps[i].id;
                        let error = ctx
                            .state(|s| {
                                s.step(id)
                                    .and_then(|r| r.undo.as_ref())
                                    .and_then(|u| u.error.clone())
                            })
                            .unwrap_or_else(|| "failed".into());
                        format!("the rollback of `{id}` failed: {error}")
                    })
                    .collect();
                let mut text = errors.join("; ");
                if !remains.is_empty() {
                    text.push_str(&format!(
                        "; not undone because of it (still succeeded): {}",
                        named(&remains).join(", ")
                    ));
                }
                (
                    Event::RunFinished { at: now, outcome: Outcome::RollbackFailed },
                    Finish::RollbackFailed(text),
                )
            }
            UndoEnd::RolledBack { undone, not_undone } => {
                let mut text = format!("{undone} step(s) undone");
                if !not_undone.is_empty() {
                    text.push_str(&format!(
                        "; not undone (no rollback action): {}",
                        named(&not_undone).join(", ")
                    ));
                }
                (
                    Event::RunFinished { at: now, outcome: Outcome::RolledBack },
                    Finish::RolledBack(text),
                )
            }
        };
    }
    match board.forward_end() {
        ForwardEnd::Interrupted(signal) => {
            (Event::RunInterrupted { at: now, signal: signal.clone() }, Finish::Interrupted(signal))
        }
        ForwardEnd::Failed(why) => {
            (Event::RunFinished { at: now, outcome: Outcome::Failed }, Finish::Failed(why))
        }
        ForwardEnd::Paused { waiting, .. } => {
            let reason = if waiting.is_empty() {
                "steps are blocked".to_string()
            } else {
                let what: Vec<String> = waiting.iter().map(|&i| waiting_for(ctx, i)).collect();
                format!("waiting for a person: {}", what.join("; "))
            };
            (Event::RunPaused { at: now, reason: reason.clone() }, Finish::Paused(reason))
        }
        ForwardEnd::Succeeded => {
            (Event::RunFinished { at: now, outcome: Outcome::Succeeded }, Finish::Succeeded)
        }
    }
}

/// Steps the journal calls `running` (with their attempt) once nothing runs in this session.
fn left_running(ctx: &Ctx) -> Vec<(String, u32)> {
    ctx.state(|s| {
        s.steps
            .iter()
            .filter(|(_, r)| r.state == StepState::Running)
            .map(|(id, r)| (id.clone(), r.attempts))
            .collect()
    })
}

/// What a waiting step waits for, for the pause message.
fn waiting_for(ctx: &Ctx, i: usize) -> String {
    let id = &ctx.job.rb.steps[i].id;
    let rec = ctx.state(|s| s.step(id).cloned().unwrap_or_default());
    if rec.gate.is_some() && !rec.gate_satisfied() {
        let approved: Vec<String> =
            rec.approvals.iter().map(|a| format!("{} by {}", a.role, a.by)).collect();
        let so_far = if approved.is_empty() {
            String::new()
        } else {
            format!(" (approved so far: {})", approved.join(", "))
        };
        format!("{id} needs approval by {}{so_far}", rec.missing_roles().join(", "))
    } else if ctx.state(|s| s.is_tabletop()) {
        format!("{id} (to discuss)")
    } else {
        format!("{id} (manual step)")
    }
}
