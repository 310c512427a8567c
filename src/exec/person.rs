//! Waiting for a person: the one loop behind approval gates, manual steps, manual rollbacks
//! and decisions about steps that were in flight when a runner died (`interrupted.rs`).
//!
//! A [`Question`] says what settles it (read from the journal), what the terminal prompt asks,
//! and when it times out. [`ask`] then does what every wait for a person does: shows the prompt
//! when there is a terminal, takes answers from other shells (`drbook approve|deny`, through the
//! inbox the scheduler reads, which ticks [`Ctx::tick`]), withdraws the prompt when the
//! question was answered elsewhere or changed, keeps waiting without a terminal under `--wait`,
//! and otherwise leaves the step waiting so the run pauses (exit 3).
//!
//! The terminal side is the `Person` port (`port.rs`), implemented by the CLI.

use super::ctx::Ctx;
use super::port::Person;
use crate::journal::inbox::Request;
use crate::journal::{How, JournalError};
use crate::model::time as clock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A prompt's work, run on a blocking thread: the request a person's answer makes, or `None`
/// when the prompt was withdrawn or input ended.
pub(super) type Prompt = Box<dyn FnOnce() -> Option<Request> + Send>;

/// Something a person must answer.
pub(super) trait Question {
    type Done;
    /// Looks at the journal: `Some` once the question is settled.
    fn settled(&mut self, ctx: &Ctx) -> Result<Option<Self::Done>, JournalError>;
    /// The terminal prompt for `person`; it must return soon after `cancel` is set.
    fn prompt(&mut self, ctx: &Ctx, person: Arc<dyn Person>, cancel: Arc<AtomicBool>) -> Prompt;
    /// Changes when an open prompt no longer shows the question as it stands: it is withdrawn
    /// and opened again.
    fn version(&self, _ctx: &Ctx) -> usize {
        0
    }
    /// When the question times out (ms since the epoch), if ever.
    fn deadline(&self, _ctx: &Ctx) -> Option<i64> {
        None
    }
    /// The deadline passed: the record that says so, and what the question then comes to.
    fn timeout(&self, _ctx: &Ctx) -> Option<(crate::journal::Event, Self::Done)> {
        None
    }
    /// Whether the question is still open in `s` (judged under the journal's lock before a
    /// timeout is recorded: an answer may have come in meanwhile).
    fn still_open(&self, _ctx: &Ctx, _s: &crate::journal::RunState) -> bool {
        true
    }
    /// An answer given at the prompt was refused: the next prompt says why.
    fn refused(&mut self, _reason: String) {}
    /// Whether the run winding down (a failure elsewhere) stops the wait. Rollbacks are
    /// answered while the run winds down, so they are not stopped by it.
    fn ends_when_winding_down(&self) -> bool {
        true
    }
}

/// How a wait for a person ended.
pub(super) enum Waited<T> {
    Done(T),
    /// Nobody can answer now (no terminal, no `--wait`, a signal, or the run winds down): the
    /// step stays waiting and the run pauses.
    Waiting,
}

struct Open {
    task: tokio::task::JoinHandle<Option<Request>>,
    cancel: Arc<AtomicBool>,
    version: usize,
}

fn close(open: &mut Option<Open>) {
    if let Some(p) = open.take() {
        p.cancel.store(true, Ordering::SeqCst);
    }
}

/// Waits until `q` is settled, or until nobody can answer it now.
pub(super) async fn ask<Q: Question>(
    ctx: &Ctx,
    q: &mut Q,
) -> Result<Waited<Q::Done>, JournalError> {
    let (mut tick, mut stop, mut phase) = (ctx.tick.clone(), ctx.stop.clone(), ctx.phase.clone());
    let winding = q.ends_when_winding_down();
    let mut open: Option<Open> = None;
    let mut person_gone = false;
    loop {
        if let Some(done) = q.settled(ctx)? {
            close(&mut open);
            return Ok(Waited::Done(done));
        }
        let now = clock::now_ms();
        let deadline = q.deadline(ctx);
        if deadline.is_some_and(|d| now >= d) {
            close(&mut open);
            if let Some((e, done)) = q.timeout(ctx) {
                if ctx.record_if(e, |s| q.still_open(ctx, s)).await? {
                    return Ok(Waited::Done(done));
                }
            }
            continue;
        }
        if *ctx.stop.borrow() || (winding && ctx.winding_down()) {
            close(&mut open);
            return Ok(Waited::Waiting);
        }
        let person = ctx.person.clone().filter(|_| !person_gone);
        if person.is_none() && !ctx.job.wait {
            return Ok(Waited::Waiting);
        }
        let version = q.version(ctx);
        if open.as_ref().is_some_and(|p| p.version != version) {
            close(&mut open);
        }
        if let (Some(person), None) = (person, &open) {
            let cancel = Arc::new(AtomicBool::new(false));
            let work = q.prompt(ctx, person, cancel.clone());
            let task = tokio::task::spawn_blocking(work);
            open = Some(Open { task, cancel, version });
        }
        let wait = deadline.map_or(1000, |d| (d - now).clamp(1, 1000) as u64);
        let answered = tokio::select! {
            _ = tick.changed() => None,
            () = tokio::time::sleep(Duration::from_millis(wait)) => None,
            _ = stop.wait_for(|s| *s) => None,
            _ = phase.wait_for(|p| p.winding_down()), if winding => None,
            answer = async {
                match open.as_mut() {
                    Some(p) => (&mut p.task).await,
                    None => std::future::pending().await,
                }
            } => Some(answer.ok().flatten()),
        };
        if let Some(answer) = answered {
            open = None;
            match answer {
                Some(req) => {
                    if let Err(why) = ctx.answer(req, How::Prompt).await {
                        q.refused(why);
                    }
                }
                // End of input: nobody is at the terminal any more.
                None => person_gone = true,
            }
        }
    }
}

/// A manual step, or a manual rollback (`undo`): a person does it and says done or failed.
pub(super) struct Manual {
    /// What the prompt calls it (`STEP`, or `STEP (rollback)`).
    pub(super) label: String,
    pub(super) step: String,
    pub(super) instructions: String,
    pub(super) undo: bool,
}

impl Question for Manual {
    /// `Ok(())` done, `Err(why)` failed.
    type Done = Result<(), String>;

    fn settled(&mut self, ctx: &Ctx) -> Result<Option<Self::Done>, JournalError> {
        use crate::journal::StepState;
        Ok(ctx.state(|s| {
            let rec = s.step(&self.step)?;
            let undo_error = || rec.undo.as_ref().and_then(|u| u.error.clone());
            match (self.undo, rec.state) {
                (false, StepState::Succeeded) | (true, StepState::Undone) => Some(Ok(())),
                (false, StepState::Failed) => {
                    Some(Err(rec.error.clone().unwrap_or_else(|| "marked failed".into())))
                }
                (true, StepState::UndoFailed) => {
                    Some(Err(undo_error().unwrap_or_else(|| "marked failed".into())))
                }
                _ => None,
            }
        }))
    }

    fn prompt(&mut self, ctx: &Ctx, person: Arc<dyn Person>, cancel: Arc<AtomicBool>) -> Prompt {
        let (label, text) = (self.label.clone(), self.instructions.clone());
        let (step, user) = (self.step.clone(), ctx.job.user.clone());
        Box::new(move || {
            use crate::journal::inbox::Ask;
            let ask = match person.manual(&label, &text, &cancel)? {
                Ok(()) => Ask::Approve { role: None, comment: None },
                Err(reason) => Ask::Deny { reason },
            };
            Some(Request::new(&step, &user, ask))
        })
    }

    fn ends_when_winding_down(&self) -> bool {
        !self.undo
    }
}
