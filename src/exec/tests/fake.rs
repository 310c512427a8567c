//! Stand-ins for the executor's ports, and runbooks from source text.
//!
//! - [`Fake`]: scripted [`Actions`]. Each call takes the next outcome of its step (`id`, or
//!   `undo:id` for the step's rollback); with no outcome left it succeeds. Like the real
//!   actions it calls `env.hooks.begin(None)` first and acts only once that is durable. It
//!   records the order it acted in, what each `run` script rendered to, and the most actions
//!   in flight at once.
//! - [`holding`]: a [`MemoryJournal`] behind a [`Journal`] whose events the test gets back after the executor consumed
//!   the journal.
//! - [`Desk`]: a person at a terminal who answers prompts as scripted.
//! - [`Notes`]: an observer that collects every note.
//! - [`book`] / [`go`]: a checked runbook from text, and one session of the executor over it.

use super::super::{execute_with, ActionEnv, Actions, Attempt, BoxFuture, Finish, Job, Note};
use super::super::{ApprovalAnswer, ApprovalAsk, Observer, Person, Secrets, Stream};
use crate::graph::Dag;
use crate::journal::{
    replay, Event, Journal, JournalError, MemoryJournal, Outcome, RunState, Sink,
};
use crate::journal::{Decision, StepState, VERSION};
use crate::model::time as clock;
use crate::model::{Action, Date, ParamValue, Runbook};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One scripted outcome of an action.
#[derive(Clone, Debug)]
pub(super) enum Out {
    /// Succeeds with this output.
    Ok(&'static str),
    Fail(&'static str),
    /// Ends as a stopped action does (the run's stop signal).
    Stop,
    /// Succeeds after this many milliseconds.
    Late(u64),
}

#[derive(Default)]
pub(super) struct Fake {
    script: Mutex<HashMap<String, VecDeque<Out>>>,
    /// Milliseconds to wait before calling the begin hook, by key.
    slow_start: HashMap<String, u64>,
    calls: Mutex<Vec<String>>,
    rendered: Mutex<Vec<(String, String)>>,
    in_flight: AtomicUsize,
    most: AtomicUsize,
    hold_ms: u64,
}

impl Fake {
    pub(super) fn new() -> Fake {
        Fake::default()
    }

    /// The outcomes of `key`'s next calls (`id`, or `undo:id`).
    pub(super) fn on(self, key: &str, outs: &[Out]) -> Fake {
        lock(&self.script).entry(key.to_string()).or_default().extend(outs.iter().cloned());
        self
    }

    /// `key`'s action prepares this long before it asks to begin.
    pub(super) fn slow_start(mut self, key: &str, ms: u64) -> Fake {
        self.slow_start.insert(key.to_string(), ms);
        self
    }

    /// Each action takes this long: long enough for others to start meanwhile.
    pub(super) fn hold(mut self, ms: u64) -> Fake {
        self.hold_ms = ms;
        self
    }

    /// Who acted, in order: `id` or `undo:id`.
    pub(super) fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    /// How often `key` acted.
    pub(super) fn count(&self, key: &str) -> usize {
        lock(&self.calls).iter().filter(|c| *c == key).count()
    }

    /// What each `run` script rendered to, by key.
    pub(super) fn rendered(&self) -> Vec<(String, String)> {
        lock(&self.rendered).clone()
    }

    /// The most actions in flight at once.
    pub(super) fn most_at_once(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }

    async fn act(&self, env: &ActionEnv<'_>, action: &Action) -> Attempt {
        let key = if env.undo { format!("undo:{}", env.step.id) } else { env.step.id.clone() };
        if let Some(&ms) = self.slow_start.get(&key) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        match env.hooks.begin(None).await {
            Ok(true) => {}
            Ok(false) => return Attempt::Stopped,
            Err(e) => return Attempt::Failed(e),
        }
        lock(&self.calls).push(key.clone());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        if let Action::Run { script } = action {
            let text = env.vals.render(script, true).unwrap_or_else(|e| format!("<{e}>"));
            (env.out)(Stream::Stdout, &text);
            lock(&self.rendered).push((key.clone(), text));
        }
        let out = lock(&self.script).get_mut(&key).and_then(VecDeque::pop_front);
        let out = out.unwrap_or(Out::Ok(""));
        let hold = match out {
            Out::Late(ms) => ms,
            _ => self.hold_ms,
        };
        if hold > 0 {
            tokio::time::sleep(Duration::from_millis(hold)).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        match out {
            Out::Ok(output) => Attempt::Ok(output.to_string()),
            Out::Late(_) => Attempt::Ok(String::new()),
            Out::Fail(error) => {
                // An answer from the world: a probe that fails says "not in place".
                env.hooks.answered();
                Attempt::Failed(error.to_string())
            }
            Out::Stop => Attempt::Stopped,
        }
    }
}

impl Actions for Fake {
    fn run<'a>(&'a self, env: &'a ActionEnv<'a>, action: &'a Action) -> BoxFuture<'a, Attempt> {
        Box::pin(self.act(env, action))
    }
}

/// A journal in memory holding `events` (validated, as a resuming runner replays them); the
/// test keeps a clone to read what the executor appended.
pub(super) fn holding(events: &[Event]) -> Result<Journal, JournalError> {
    let (first, rest) = events.split_first().expect("a journal starts with `run_started`");
    let mut journal = MemoryJournal::new(first.clone())?;
    for e in rest {
        journal.append(e)?;
    }
    Ok(Journal::in_memory(journal))
}

/// What the person at the stand-in terminal answers, prompt by prompt.
#[derive(Clone, Debug)]
pub(super) enum Say {
    /// A manual step (or rollback) was done.
    Done,
    /// A manual step (or rollback) failed, for this reason.
    Failed(&'static str),
    /// This person approves the gate.
    Approve(&'static str),
    /// This person denies the gate, for this reason.
    Deny(&'static str, &'static str),
    /// How a step that was in flight when its runner died ended.
    Decide(Decision),
}

/// A person at a terminal ([`Person`]) who answers each prompt as scripted, by what the prompt
/// names (`STEP`, or `STEP (rollback)` for a manual rollback), and walks away (end of input)
/// once the script runs out.
#[derive(Default)]
pub(super) struct Desk {
    answers: Mutex<HashMap<String, VecDeque<Say>>>,
    /// Each prompt shown: what it named, and the refusal it carried (approvals).
    asked: Mutex<Vec<(String, Option<String>)>>,
    /// What each tabletop prompt showed.
    pub(super) shown: Mutex<Vec<crate::exec::DiscussAsk>>,
}

impl Desk {
    pub(super) fn new() -> Desk {
        Desk::default()
    }

    pub(super) fn on(self, label: &str, says: &[Say]) -> Desk {
        lock(&self.answers).entry(label.to_string()).or_default().extend(says.iter().cloned());
        self
    }

    pub(super) fn asked(&self) -> Vec<(String, Option<String>)> {
        lock(&self.asked).clone()
    }

    fn next(&self, label: &str, refusal: Option<String>) -> Option<Say> {
        lock(&self.asked).push((label.to_string(), refusal));
        lock(&self.answers).get_mut(label).and_then(VecDeque::pop_front)
    }
}

impl Person for Desk {
    fn manual(&self, step: &str, _: &str, _: &AtomicBool) -> Option<Result<(), String>> {
        match self.next(step, None)? {
            Say::Done => Some(Ok(())),
            Say::Failed(why) => Some(Err(why.to_string())),
            other => panic!("`{step}` is a manual prompt, not one for {other:?}"),
        }
    }

    fn approve(&self, ask: &ApprovalAsk, _: &AtomicBool) -> Option<ApprovalAnswer> {
        let by = |b: &str| b.to_string();
        match self.next(&ask.step, ask.refusal.clone())? {
            Say::Approve(b) => {
                Some(ApprovalAnswer::Approve { by: by(b), role: None, comment: None })
            }
            Say::Deny(b, why) => Some(ApprovalAnswer::Deny { by: by(b), reason: why.to_string() }),
            other => panic!("`{}` is an approval prompt, not one for {other:?}", ask.step),
        }
    }

    fn discuss(
        &self,
        ask: &crate::exec::DiscussAsk,
        _: &AtomicBool,
    ) -> Option<crate::exec::DiscussAnswer> {
        lock(&self.shown).push(ask.clone());
        let (by, issue) = match self.next(&ask.step, ask.refusal.clone())? {
            Say::Approve(b) => (b, None),
            Say::Deny(b, why) => (b, Some(why.to_string())),
            other => panic!("`{}` is a tabletop prompt, not one for {other:?}", ask.step),
        };
        let update = issue.as_ref().map(|_| "fix the runbook".to_string());
        Some(crate::exec::DiscussAnswer { by: by.to_string(), issue, update, comment: None })
    }

    fn decide(&self, step: &str, undo: bool, _: bool, _: &AtomicBool) -> Option<Decision> {
        let label = if undo { format!("{step} (rollback)") } else { step.to_string() };
        self.decide_labelled(&label, None)
    }

    fn decide_about(&self, ask: &crate::exec::DecideAsk, _: &AtomicBool) -> Option<Decision> {
        let label = if ask.undo { format!("{} (rollback)", ask.step) } else { ask.step.clone() };
        self.decide_labelled(&label, ask.refusal.clone())
    }
}

impl Desk {
    fn decide_labelled(&self, label: &str, refusal: Option<String>) -> Option<Decision> {
        match self.next(label, refusal)? {
            Say::Decide(d) => Some(d),
            other => panic!("`{label}` is a decision prompt, not one for {other:?}"),
        }
    }
}

#[derive(Default)]
pub(super) struct Notes(Mutex<Vec<Note>>);

impl Observer for Notes {
    fn note(&self, n: Note) {
        lock(&self.0).push(n);
    }
}

/// A checked runbook, its graph and its param values.
pub(super) struct Book {
    pub(super) rb: Arc<Runbook>,
    pub(super) dag: Arc<Dag>,
    pub(super) values: Arc<HashMap<String, ParamValue>>,
}

impl Book {
    pub(super) fn index(&self, id: &str) -> usize {
        self.rb.steps.iter().position(|s| s.id == id).expect("a step of the test runbook")
    }
}

/// Checks `src` as `drbook run` would (every required param must have a value).
pub(super) fn book(src: &str) -> Book {
    let mut loaded = crate::load::load_text("test.drbook", None, src.into());
    let opts = crate::check::Options {
        today: Date { year: 2026, month: 1, day: 1 },
        params: Vec::new(),
        require_params: true,
        strict: false,
    };
    let checked = crate::check::check(&mut loaded, &opts);
    let errors: Vec<&str> =
        checked.diags.iter().filter(|d| d.is_error()).map(|d| d.message.as_str()).collect();
    let (Some(rb), Some(dag)) = (checked.runbook, checked.dag) else {
        panic!("the test runbook does not check: {errors:?}");
    };
    Book { rb: Arc::new(rb), dag: Arc::new(dag), values: Arc::new(checked.values) }
}

pub(super) const USER: &str = "tester";

/// The first record of a run of `book`.
pub(super) fn run_started(book: &Book) -> Event {
    let now = clock::now();
    Event::RunStarted {
        v: VERSION,
        run_id: "test-run".into(),
        runbook: book.rb.name.clone(),
        file: "test.drbook".into(),
        path: "/test.drbook".into(),
        content_hash: "0".repeat(64),
        step_hashes: book.rb.steps.iter().map(|s| (s.id.clone(), "same".into())).collect(),
        params: BTreeMap::new(),
        at: now.clone(),
        clock_start: now,
        rto_ms: book.rb.rto,
        rpo_ms: book.rb.rpo,
        user: USER.into(),
        pid: std::process::id(),
        drill: None,
        trigger: None,
    }
}

/// The job for one session over `book`: in memory (no inbox), no person, nobody approves.
pub(super) fn job(book: &Book) -> Job {
    Job {
        rb: book.rb.clone(),
        dag: book.dag.clone(),
        values: book.values.clone(),
        secrets: Arc::new(Secrets::from_pairs(Vec::new())),
        run_id: "test-run".into(),
        base_dir: std::path::PathBuf::new(),
        shell: "/bin/sh".into(),
        parallel: book.rb.parallel as usize,
        clock_start_ms: clock::now_ms(),
        user: USER.into(),
        keep_failed: Vec::new(),
        decision_reason: None,
        decisions: BTreeMap::new(),
        force: false,
        approve: Vec::new(),
        wait: false,
        aws: None,
        invocation: Default::default(),
    }
}

/// What one session did.
pub(super) struct Session {
    pub(super) finish: Finish,
    /// The whole journal: what it held before, then what this session appended.
    pub(super) events: Vec<Event>,
    /// Where this session's events start in `events`.
    pub(super) from: usize,
    pub(super) notes: Vec<Note>,
    pub(super) fake: Arc<Fake>,
}

impl Session {
    /// The events this session appended.
    pub(super) fn new_events(&self) -> &[Event] {
        &self.events[self.from..]
    }

    /// The run as the whole journal tells it; replaying it must succeed.
    pub(super) fn state(&self) -> RunState {
        replay(&self.events).expect("the journal the executor wrote replays")
    }

    /// The steps of this session's events named `name`, in order.
    pub(super) fn steps_of(&self, name: &str) -> Vec<String> {
        self.new_events()
            .iter()
            .filter(|e| e.name() == name)
            .filter_map(|e| e.step().map(str::to_string))
            .collect()
    }

    /// The journal's last record.
    pub(super) fn last(&self) -> &Event {
        self.events.last().expect("a journal is never empty")
    }

    /// The journal ends with `run_finished` and this outcome.
    pub(super) fn finished(&self, outcome: Outcome) {
        match self.last() {
            Event::RunFinished { outcome: o, .. } => assert_eq!(*o, outcome),
            other => panic!("the run should end with `run_finished`, not {other:?}"),
        }
    }

    /// Where `step` stands as the whole journal tells it.
    pub(super) fn state_of(&self, step: &str) -> StepState {
        self.state().step(step).expect("a step of the run").state
    }

    /// Where the event `name` about `step` (any step: `None`) is among this session's events.
    pub(super) fn at(&self, name: &str, step: Option<&str>) -> usize {
        self.new_events()
            .iter()
            .position(|e| e.name() == name && (step.is_none() || e.step() == step))
            .unwrap_or_else(|| panic!("no `{name}` for {step:?}"))
    }

    /// The names of this session's events about `step`, in order.
    pub(super) fn events_of(&self, step: &str) -> Vec<&'static str> {
        self.new_events().iter().filter(|e| e.step() == Some(step)).map(Event::name).collect()
    }
}

/// Runs one session of the executor over a journal holding `prior` (a fresh run when it holds
/// only `run_started`), with `job` and the stand-in `fake`.
pub(super) async fn go(job: Job, prior: &[Event], fake: Fake) -> Session {
    go_with(job, prior, fake, None).await
}

/// [`go`] with a person at the terminal.
pub(super) async fn go_with(
    job: Job,
    prior: &[Event],
    fake: Fake,
    person: Option<Arc<dyn Person>>,
) -> Session {
    let journal = holding(prior).expect("the prior journal replays");
    let kept = journal.clone();
    let notes = Arc::new(Notes::default());
    let fake = Arc::new(fake);
    let actions: Arc<dyn Actions> = fake.clone();
    let finish = execute_with(job, journal, notes.clone(), person, actions)
        .await
        .expect("the executor runs to an end");
    let events = kept.events().expect("an in-memory journal keeps its events");
    let notes = lock(&notes.0).clone();
    Session { finish, events, from: prior.len(), notes, fake }
}

/// A fresh run of `book`.
pub(super) async fn fresh(book: &Book, fake: Fake) -> Session {
    go(job(book), &[run_started(book)], fake).await
}
