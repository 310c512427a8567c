//! The shared run context ([`Ctx`]): the job, the journal, the observer, the person, the run's
//! phase and stop signal, and the one path by which a state change is recorded.
//!
//! [`Ctx::record`] journals an event and sends the note derived from it ([`Note::of`]);
//! nothing else writes the journal during a run, so what the terminal shows and what the
//! journal holds cannot drift apart. Notes of state changes are shown only once their record
//! is durable, and in journal order: each is queued with its record's number (under the
//! journal's lock, so the queue is in journal order) and let out by [`Ctx::flush`] once the
//! writer has made that record durable. Answers from people (the prompt, other shells through
//! the inbox, `--approve`) go through [`Ctx::answer`], which judges them against the journal
//! (`inbox::apply`) and records them the same way.
//!
//! The journal masks every event with the run's secrets before it is validated or written, and
//! the observer masks every note: no record or line can hold a secret's value.

use super::action::{ActionEnv, Actions, Client, Hooks, Stream};
use super::board::Phase;
use super::job::Job;
use super::note::{Note, Observer};
use super::port::Person;
use super::values::Values;
use crate::journal::inbox::{self, Request};
use crate::journal::{
    Durable, Event, How, Inbox, Journal, JournalError, RunState, Sink, StepState,
};
use crate::model::time as clock;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Shared by the scheduler and every step and undo task.
pub(super) struct Ctx {
    pub(super) job: Job,
    journal: Journal,
    /// The run's inbox (`drbook approve|deny` from other shells); `None` in memory.
    inbox: Option<Inbox>,
    /// Masks secrets in every note (see `note`).
    observer: Arc<dyn Observer>,
    /// Notes of records not yet known durable, by record number (then arrival).
    pending: Mutex<BTreeMap<(u64, u32), Note>>,
    pub(super) person: Option<Arc<dyn Person>>,
    pub(super) actions: Arc<dyn Actions>,
    /// A signal: running actions are terminated.
    pub(super) stop: watch::Receiver<bool>,
    /// Where the run is (forward, winding down, rolling back, undoing).
    pub(super) phase: watch::Receiver<Phase>,
    /// Bumped whenever the inbox brought answers: waits for a person look at the journal again.
    pub(super) tick: watch::Receiver<u64>,
    /// The run's HTTP client (`http` and `notify` actions), built on first use.
    pub(super) http: Client,
    /// Step indices by id.
    index: HashMap<String, usize>,
    /// Capture values as captured, before masking, for later steps of this session; the
    /// journal keeps only masked values.
    raw: Mutex<HashMap<(usize, String), String>>,
    /// How the run ended, set when its `finally` steps begin (`${run.status}` ...).
    pub(super) ended: std::sync::OnceLock<super::values::RunEnd>,
    /// Why a drill does not run each step (`scope.rs`), decided on first use.
    pub(super) drill_skips: std::sync::OnceLock<Vec<Option<String>>>,
}

/// The watches a [`Ctx`] reads; the scheduler holds the senders.
pub(super) struct Watches {
    pub(super) stop: watch::Receiver<bool>,
    pub(super) phase: watch::Receiver<Phase>,
    pub(super) tick: watch::Receiver<u64>,
}

impl Ctx {
    pub(super) fn new(
        job: Job,
        journal: Journal,
        observer: Arc<dyn Observer>,
        person: Option<Arc<dyn Person>>,
        actions: Arc<dyn Actions>,
        w: Watches,
    ) -> Ctx {
        let observer = Arc::new(super::note::Masked::new(observer, job.secrets.clone()));
        let secrets = job.secrets.clone();
        let journal = if secrets.is_empty() {
            journal
        } else {
            journal.with_masking(Arc::new(move |t: &str| secrets.scrub(t)))
        };
        let index = job.rb.steps.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        if let (true, Some(inbox)) =
            (job.rb.approvals == crate::model::ApprovalMode::Os, journal.inbox())
        {
            // Without it, people of the group cannot reach the inbox: they are told so by
            // the permission error their `drbook approve` gets.
            let _ = inbox.share();
        }
        Ctx {
            inbox: journal.inbox(),
            journal,
            index,
            job,
            observer,
            pending: Mutex::new(BTreeMap::new()),
            person,
            actions,
            stop: w.stop,
            phase: w.phase,
            tick: w.tick,
            http: Client::default(),
            raw: Mutex::new(HashMap::new()),
            ended: std::sync::OnceLock::new(),
            drill_skips: std::sync::OnceLock::new(),
        }
    }

    /// A step's expected duration, by id.
    fn expected(&self, id: &str) -> Option<crate::model::Millis> {
        self.index.get(id).and_then(|&i| self.job.rb.steps[i].duration)
    }

    /// Reads the run as journaled so far.
    pub(super) fn state<R>(&self, f: impl FnOnce(&RunState) -> R) -> R {
        self.journal.state(f)
    }

    /// Whether the run no longer launches forward work.
    pub(super) fn winding_down(&self) -> bool {
        self.phase.borrow().winding_down()
    }

    fn notes(&self) -> MutexGuard<'_, BTreeMap<(u64, u32), Note>> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `events` (in order) unless `keep` says no, queueing their notes, all under the
    /// journal's lock. `None`: `keep` said no and nothing was appended.
    fn append(
        &self,
        events: &[Event],
        keep: impl FnOnce(&RunState) -> bool,
        adjust: impl FnOnce(Note) -> Note,
    ) -> Result<Option<Durable>, JournalError> {
        let (r, ticket) = self.journal.with_sink(|sink| {
            if !keep(sink.state()) {
                return Ok(false);
            }
            for e in events {
                sink.append(e)?;
            }
            let seq = sink.state().records as u64;
            let mut notes = self.notes();
            let mut adjust = Some(adjust);
            for e in events {
                if let Some(n) = Note::of(e, &|id| self.expected(id), sink.state()) {
                    let n = match adjust.take() {
                        Some(f) => f(n),
                        None => n,
                    };
                    let k = notes.range((seq, 0)..(seq + 1, 0)).count() as u32;
                    notes.insert((seq, k), n);
                }
            }
            Ok(true)
        });
        Ok(r?.then_some(ticket))
    }

    /// Shows the notes of every record now durable, in journal order.
    pub(super) fn flush(&self) {
        let durable = self.journal.durable_seq();
        let mut notes = self.notes();
        while let Some(entry) = notes.first_entry() {
            if entry.key().0 > durable {
                break;
            }
            self.observer.note(entry.remove());
        }
    }

    /// Waits until `ticket` is durable, then shows what became durable.
    async fn settle(&self, ticket: Durable) -> Result<(), JournalError> {
        let r = ticket.wait().await;
        self.flush();
        r
    }

    /// Journals `e` durably, then shows its note.
    pub(super) async fn record(&self, e: Event) -> Result<(), JournalError> {
        self.record_as(e, |n| n).await
    }

    /// Like [`Ctx::record`], with `adjust` applied to the derived note (a failure's retry
    /// delay is the scheduler's, not the journal's).
    pub(super) async fn record_as(
        &self,
        e: Event,
        adjust: impl FnOnce(Note) -> Note,
    ) -> Result<(), JournalError> {
        let t = self.append(std::slice::from_ref(&e), |_| true, adjust)?;
        match t {
            Some(t) => self.settle(t).await,
            None => Ok(()),
        }
    }

    /// Journals `e` without waiting for the disk: for the end of a step, whose dependents'
    /// starts come later in the journal and are waited for before they act, so they cover it.
    /// Its note is shown once it is durable ([`Ctx::flush`]).
    pub(super) fn record_soon(&self, e: Event) -> Result<(), JournalError> {
        self.append(std::slice::from_ref(&e), |_| true, |n| n).map(drop)
    }

    /// Journals `e` durably from a thread that cannot wait asynchronously (the SSM client's
    /// callback).
    pub(super) fn record_blocking(&self, e: Event) -> Result<(), JournalError> {
        if let Some(t) = self.append(std::slice::from_ref(&e), |_| true, |n| n)? {
            let r = t.wait_blocking();
            self.flush();
            r?;
        }
        Ok(())
    }

    /// Journals `events` durably (one write) unless the run has turned to rolling back,
    /// checked under the journal's lock, so no forward work starts after `rollback_started`.
    /// `Ok(false)`: nothing was written.
    pub(super) async fn record_forward(&self, events: &[Event]) -> Result<bool, JournalError> {
        // Finally steps start after any rollback.
        match self.append(events, |s| s.rollback.is_none() || s.finally.is_some(), |n| n)? {
            Some(t) => self.settle(t).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// Journals `events` durably, in one write.
    pub(super) async fn record_all(&self, events: &[Event]) -> Result<(), JournalError> {
        match self.append(events, |_| true, |n| n)? {
            Some(t) => self.settle(t).await,
            None => Ok(()),
        }
    }

    /// Records that the run turns to rolling back, once; `Ok(false)` when it already had.
    pub(super) async fn start_rollback(&self, reason: &str) -> Result<bool, JournalError> {
        let e = Event::RollbackStarted {
            at: clock::now(),
            reason: reason.to_string(),
            by: self.job.user.clone(),
        };
        match self.append(std::slice::from_ref(&e), |s| s.rollback.is_none(), |n| n)? {
            Some(t) => self.settle(t).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// Records `e` unless `still(state)` no longer holds (judged under the journal's lock: an
    /// answer may have come in meanwhile). `Ok(false)`: not recorded.
    pub(super) async fn record_if(
        &self,
        e: Event,
        still: impl FnOnce(&RunState) -> bool,
    ) -> Result<bool, JournalError> {
        match self.append(std::slice::from_ref(&e), still, |n| n)? {
            Some(t) => self.settle(t).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// Shows a note that is not a state change but follows the ones recorded so far (the RTO
    /// clock after a step's end): it waits behind their notes until they are durable.
    pub(super) fn say_after_records(&self, n: Note) {
        {
            let seq = self.journal.state(|s| s.records as u64);
            let mut notes = self.notes();
            let k = notes.range((seq, 0)..(seq + 1, 0)).count() as u32;
            notes.insert((seq, k), n);
        }
        self.flush();
    }

    /// Shows a note that is not a state change (output, clock, a gate's view, ...).
    pub(super) fn say(&self, n: Note) {
        self.observer.note(n);
    }

    /// A person's answer: judged against the journal, recorded durably when allowed, and
    /// told. `Ok` says what was recorded; `Err` why nothing was.
    pub(super) async fn answer(&self, req: Request, how: How) -> Result<String, String> {
        // `approvals os`: whoever owns the request file (the runner's own account for its
        // prompt and `--approve`), whatever name was typed.
        let req = match self.job.rb.approvals == crate::model::ApprovalMode::Os {
            true => req.proved_by_os()?,
            false => req,
        };
        let at = clock::now();
        let (said, ticket) = self.journal.with_sink(|sink| {
            let mut noting = Noting { inner: sink, appended: Vec::new() };
            let said = inbox::apply(&mut noting, &req, how, &at);
            let Noting { inner: sink, appended } = noting;
            let seq = sink.state().records as u64;
            let mut notes = self.notes();
            for (k, e) in appended.iter().enumerate() {
                if let Some(n) = Note::of(e, &|id| self.expected(id), sink.state()) {
                    notes.insert((seq, k as u32), n);
                }
            }
            said
        });
        if let Err(e) = self.settle(ticket).await {
            return Err(format!("could not record it: {e}"));
        }
        self.observer.note(match &said {
            Ok(message) => {
                Note::ApprovalRecorded { step: req.step.clone(), message: message.clone() }
            }
            Err(reason) => Note::ApprovalRefused {
                step: req.step.clone(),
                by: req.by.clone(),
                reason: reason.clone(),
            },
        });
        said
    }

    /// Judges and records what `drbook approve` / `deny` left in the inbox, answering each
    /// request; `true` if anything was there.
    pub(super) async fn read_inbox(&self) -> bool {
        let Some(inbox) = &self.inbox else { return false };
        let requests = inbox.pending();
        for (r, req) in &requests {
            let said = self.answer(req.clone(), How::Cli).await;
            let reply = match &said {
                Ok(m) => inbox::Reply { ok: true, message: m.clone() },
                Err(m) => inbox::Reply { ok: false, message: m.clone() },
            };
            let _ = inbox.answer(r, &reply);
        }
        !requests.is_empty()
    }

    /// Whether answers can come from other shells (an on-disk run).
    pub(super) fn has_inbox(&self) -> bool {
        self.inbox.is_some()
    }

    /// Keeps a step's captures as captured, for the rest of this session.
    pub(super) fn keep_raw(&self, i: usize, captures: &std::collections::BTreeMap<String, String>) {
        let mut raw = self.raw.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (k, v) in captures {
            raw.insert((i, k.clone()), v.clone());
        }
    }

    /// The value of `steps.ID.NAME`: as captured in this session, else from the journal.
    pub(super) fn capture_of(&self, i: usize, name: &str) -> Result<String, String> {
        let id = &self.job.rb.steps[i].id;
        {
            let raw = self.raw.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(v) = raw.get(&(i, name.to_string())) {
                return Ok(v.clone());
            }
        }
        self.journal.state(|s| {
        let rec = s.step(id).ok_or_else(|| format!("step `{id}` is not in this run"))?;
        match rec.state {
            // A step being undone (or undone) succeeded once: rollbacks use its captures.
            StepState::Succeeded
            | StepState::Undoing
            | StepState::Undone
            | StepState::UndoFailed
            | StepState::NotUndone => match rec.captures.get(name) {
                Some(v) if v.contains("<secret:") => Err(format!(
                    "`${{steps.{id}.{name}}}` held a secret, which the journal does not keep; re-run step `{id}` in this session to use it"
                )),
                Some(v) => Ok(v.clone()),
                None => Err(format!("step `{id}` succeeded without capturing `{name}`")),
            },
            StepState::Skipped => {
                Err(format!("step `{id}` was skipped, so `${{steps.{id}.{name}}}` has no value"))
            }
            // Once the run has ended only finally steps run: they may report what a failed
            // step's last attempt captured (the value its check refused, say).
            StepState::Failed if self.ended.get().is_some() => match rec.captures.get(name) {
                Some(v) if v.contains("<secret:") => Err(format!(
                    "`${{steps.{id}.{name}}}` held a secret, which the journal does not keep"
                )),
                Some(v) => Ok(v.clone()),
                None => Err(format!("step `{id}` failed before it captured `{name}`")),
            },
            StepState::Failed => {
                Err(format!("step `{id}` failed, so `${{steps.{id}.{name}}}` has no value"))
            }
            _ => Err(format!(
                "step `{id}` has not finished, so `${{steps.{id}.{name}}}` has no value"
            )),
        }
        })
    }

    /// The values a step's texts are rendered with; `cap` is `|i, name| ctx.capture_of(i, name)`.
    pub(super) fn values<'a>(
        &'a self,
        cap: &'a (dyn Fn(usize, &str) -> Result<String, String> + Sync),
    ) -> Values<'a> {
        Values {
            params: &self.job.values,
            secrets: &self.job.secrets,
            capture: cap,
            run_id: &self.job.run_id,
            runbook: &self.job.rb.name,
            own: None,
            ended: self.ended.get(),
            steps: &self.job.rb.steps,
        }
    }

    /// Runs one action of step `i` (its own, or its rollback's with `undo`).
    pub(super) async fn act(
        &self,
        i: usize,
        action: &crate::model::Action,
        timeout: Option<crate::model::Millis>,
        vals: &Values<'_>,
        hooks: &dyn Hooks,
        undo: bool,
    ) -> super::action::Attempt {
        let step = &self.job.rb.steps[i];
        let out = |stream: Stream, line: &str| {
            self.observer.note(Note::Output {
                step: step.id.clone(),
                stream,
                line: line.to_string(),
            })
        };
        self.act_to(i, action, timeout, vals, hooks, undo, &out).await
    }

    /// [`Ctx::act`] with its output lines going to `out` (a probe keeps its own).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn act_to(
        &self,
        i: usize,
        action: &crate::model::Action,
        timeout: Option<crate::model::Millis>,
        vals: &Values<'_>,
        hooks: &dyn Hooks,
        undo: bool,
        out: &(dyn Fn(Stream, &str) + Send + Sync),
    ) -> super::action::Attempt {
        let step = &self.job.rb.steps[i];
        let env = ActionEnv {
            step,
            vals,
            secrets: &self.job.secrets,
            timeout,
            base_dir: &self.job.base_dir,
            shell: &self.job.shell,
            stop: self.stop.clone(),
            out,
            http: &self.http,
            aws: self.job.aws.as_ref(),
            hooks,
            undo,
        };
        self.actions.run(&env, action).await
    }
}

/// A sink that passes appends on and remembers them, so their notes can be shown.
struct Noting<'a> {
    inner: &'a mut dyn Sink,
    appended: Vec<Event>,
}

impl Sink for Noting<'_> {
    fn append(&mut self, e: &Event) -> Result<(), JournalError> {
        self.inner.append(e)?;
        self.appended.push(e.clone());
        Ok(())
    }

    fn state(&self) -> &RunState {
        self.inner.state()
    }
}

/// SIGINT and SIGTERM, watched for the whole run.
pub(super) struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    /// The terminal went away (an SSH session dropped). Caught so the runner is not killed:
    /// the run goes on without a person (prompts see the end of input), and `drbook status`
    /// from a new session follows it.
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    pub(super) fn new() -> Result<Signals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let int =
            signal(SignalKind::interrupt()).map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
        let term = signal(SignalKind::terminate())
            .map_err(|e| format!("cannot watch for SIGTERM: {e}"))?;
        let hup =
            signal(SignalKind::hangup()).map_err(|e| format!("cannot watch for SIGHUP: {e}"))?;
        Ok(Signals { int, term, hup })
    }

    /// The name of the next signal that stops the run (SIGHUP does not).
    pub(super) async fn recv(&mut self) -> &'static str {
        loop {
            tokio::select! {
                _ = self.int.recv() => return "SIGINT",
                _ = self.term.recv() => return "SIGTERM",
                _ = self.hup.recv() => {}
            }
        }
    }
}
