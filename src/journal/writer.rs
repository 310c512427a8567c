//! The journal writer: one thread per run that makes records durable in groups, and
//! [`Journal`], the cloneable handle the executor's tasks append through.
//!
//! Input: events, from any thread or task. Output: [`Durable`] tickets that resolve once the
//! `fdatasync` covering their record has returned, and the replayed [`RunState`] kept up to
//! date for every clone.
//!
//! How an append goes: the event is masked (if a mask is set), encoded, then validated
//! against the state and applied to it under a short mutex, and its record is queued for the
//! writer in that same critical section, so the order of records on disk is the order in
//! which appends succeeded. The caller gets a ticket back without waiting for the disk. The
//! writer thread loops: wait for the queue to be non-empty, take everything queued, one
//! `write_all`, one `fdatasync`, publish "durable up to record N", wake every waiter. Records
//! queued while a sync is in flight go out together in the next one (group commit): N steps
//! appending at once pay about one sync, not N in series.
//!
//! Invariants:
//! - A ticket resolves `Ok` only after the sync covering its record returned `Ok`; an event
//!   is acknowledged (LANGUAGE.md §8) when [`Durable::wait`] returns, not when `append` does.
//! - An impossible event is refused by `append` and never queued. A refused event, or one
//!   `append_if` declined, leaves no trace.
//! - After a failed write or sync the journal is broken for good: the file is cut back to
//!   its last good record, every ticket not yet durable and every later append gets the
//!   error, and the run must be resumed (a fresh replay) to go on. Nothing panics.
//! - The run's lock is held from [`Journal::on_disk`] until the last clone is dropped; the
//!   last clone's drop (or [`Journal::close`]) writes out everything queued first.
//! - With a mask ([`Journal::with_masking`]) every event is masked before it is validated,
//!   kept or encoded: neither the file nor the state can hold what the mask removes.

use super::chain::{Anchor, Head};
use super::handle::{Parts, RunHandle};
use super::record::{frame, json};
use super::store::JOURNAL;
use super::{Event, Inbox, JournalError, MemoryJournal, RunState, Sink, StepLogs};
use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long a record nobody waits for may wait for company before the writer syncs it anyway.
const LINGER: Duration = Duration::from_millis(2);

/// What [`Journal::with_masking`] applies to every free-text field (see [`Event::masked`]).
pub type Mask = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A run's journal, shared by everything that appends to it. Clones share one state, one
/// queue and one writer thread.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

/// A promise that a record (and every one before it) reaches the disk.
#[must_use = "an appended event is acknowledged only once its ticket resolves"]
pub struct Durable {
    /// The number of the last record covered (1-based, as in [`RunState::records`]).
    seq: u64,
    shared: Arc<Shared>,
}

struct Inner {
    front: Mutex<Front>,
    shared: Arc<Shared>,
    mask: RwLock<Option<Mask>>,
    /// The run's directory; `None` in memory.
    dir: Option<PathBuf>,
    writer: Option<JoinHandle<()>>,
    /// Held, never read: the run's `flock` lives as long as this descriptor.
    _lock: Option<File>,
}

/// What appends validate against, under the short mutex.
struct Front {
    state: RunState,
    /// In memory: every event, in order.
    events: Option<Vec<Event>>,
    /// The chain head after the last record queued; `None` in memory or not chained.
    chain: Option<Head>,
}

/// What the writer thread shares with appenders and waiters.
struct Shared {
    status: Mutex<Status>,
    /// The writer waits here for records (or for the order to stop).
    work: Condvar,
    /// Blocking waiters wait here for `durable` to move (or for a failure).
    synced: Condvar,
    /// Async waiters, woken with the blocking ones.
    notify: Notify,
    syncs: AtomicU64,
    /// The journal file, for messages; `None` in memory.
    path: Option<PathBuf>,
    #[cfg(test)]
    hook: Mutex<Option<SyncHook>>,
}

struct Status {
    /// Encoded records not yet taken by the writer.
    pending: Vec<u8>,
    /// The last record queued.
    queued: u64,
    /// The chain head after the last record queued.
    head: Option<Head>,
    /// The last record whose sync returned.
    durable: u64,
    failed: Option<Failure>,
    stop: bool,
    /// Someone waits for what is pending: sync it now.
    urgent: bool,
    /// When the oldest record nobody waits for yet was queued.
    lazy_since: Option<Instant>,
}

/// A write error, kept to be handed to every waiter (`io::Error` is not `Clone`).
#[derive(Clone, Debug)]
struct Failure {
    kind: io::ErrorKind,
    message: String,
}

/// Runs where `fdatasync` would (after the `write_all`), in tests: to delay it, hold it or fail it.
#[cfg(test)]
pub(super) type SyncHook = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

impl Journal {
    /// Takes over a run's handle: its state, its file and its lock (held for the journal's
    /// life). Starts the writer thread. A handle whose earlier write failed gives a journal
    /// that refuses every append.
    pub fn on_disk(handle: RunHandle) -> Journal {
        let Parts { state, dir, journal, len, lock, broken, chain } = handle.into_parts();
        let (head, anchor) = chain.map_or((None, None), |(h, a)| (Some(h), Some(a)));
        let path = dir.join(JOURNAL);
        let shared = Arc::new(Shared::new(state.records as u64, Some(path.clone())));
        if broken {
            shared.fail(Failure::of(&io::Error::other("an earlier write to this journal failed")));
        }
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("drbook-journal".into())
                .spawn(move || write_loop(&shared, journal, len, anchor))
        };
        let writer = match writer {
            Ok(t) => Some(t),
            Err(e) => {
                let e = io::Error::new(e.kind(), format!("cannot start the journal writer: {e}"));
                shared.fail(Failure::of(&e));
                None
            }
        };
        let front = Front { state, events: None, chain: head };
        Journal::new(front, shared, Some(dir), writer, Some(lock))
    }

    /// A journal in memory (dry runs, tests): the same validation, nothing written, every
    /// ticket durable at once. Keeps the events ([`Journal::events`]).
    pub fn in_memory(m: MemoryJournal) -> Journal {
        let shared = Arc::new(Shared::new(m.state.records as u64, None));
        let front = Front { state: m.state, events: Some(m.events), chain: None };
        Journal::new(front, shared, None, None, None)
    }

    fn new(
        front: Front,
        shared: Arc<Shared>,
        dir: Option<PathBuf>,
        writer: Option<JoinHandle<()>>,
        lock: Option<File>,
    ) -> Journal {
        let inner = Inner {
            front: Mutex::new(front),
            shared,
            mask: RwLock::new(None),
            dir,
            writer,
            _lock: lock,
        };
        Journal { inner: Arc::new(inner) }
    }

    /// Masks every event appended from now on, through this handle and all its clones,
    /// before it is validated, kept or written (see [`Event::masked`]). A second mask applies
    /// after the first.
    pub fn with_masking(self, mask: Mask) -> Journal {
        {
            let mut slot = self.inner.mask.write().unwrap_or_else(PoisonError::into_inner);
            let next: Mask = match slot.take() {
                None => mask,
                Some(first) => Arc::new(move |t: &str| mask(&first(t))),
            };
            *slot = Some(next);
        }
        self
    }

    /// Validates `e` against the run so far and applies it, then queues its record and
    /// returns without waiting for the disk. The ticket resolves once the record is durable.
    pub fn append(&self, e: &Event) -> Result<Durable, JournalError> {
        let (events, bytes) = self.prepare(std::slice::from_ref(e));
        let mut front = lock(&self.inner.front);
        self.push(&mut front, &events, bytes)
    }

    /// Appends `e` only if `keep` holds for the state it would follow, checked atomically
    /// with the append. `None`: `keep` said no and nothing was appended.
    pub fn append_if(
        &self,
        e: &Event,
        keep: impl FnOnce(&RunState) -> bool,
    ) -> Result<Option<Durable>, JournalError> {
        let (events, bytes) = self.prepare(std::slice::from_ref(e));
        let mut front = lock(&self.inner.front);
        if !keep(&front.state) {
            return Ok(None);
        }
        self.push(&mut front, &events, bytes).map(Some)
    }

    /// Appends several events, all validated before any is queued (all or nothing); one
    /// ticket covers them all.
    pub fn append_all(&self, events: &[Event]) -> Result<Durable, JournalError> {
        let (events, bytes) = self.prepare(events);
        let mut front = lock(&self.inner.front);
        self.push(&mut front, &events, bytes)
    }

    /// The chain head after the last record appended (durable or not); `None` in memory or
    /// when the journal is not chained.
    pub fn head(&self) -> Option<Head> {
        lock(&self.inner.front).chain
    }

    /// Reads the state under the lock. `f` must not append to this journal.
    pub fn state<R>(&self, f: impl FnOnce(&RunState) -> R) -> R {
        f(&lock(&self.inner.front).state)
    }

    /// Runs `f` with a [`Sink`] whose appends queue like [`Journal::append`] (code written
    /// against `&mut dyn Sink`, such as `inbox::apply`). The journal's lock is held while `f`
    /// runs, so `f` sees no other append and must not use this journal itself. Returns `f`'s
    /// result and a ticket covering everything appended so far: what `f` appended is
    /// acknowledged only when that ticket resolves.
    pub fn with_sink<R>(&self, f: impl FnOnce(&mut dyn Sink) -> R) -> (R, Durable) {
        let mask = self.mask();
        let mut sink = QueueSink { journal: self, front: lock(&self.inner.front), mask };
        let r = f(&mut sink);
        let seq = sink.front.state.records as u64;
        (r, self.ticket(seq))
    }

    /// A ticket covering everything appended so far.
    pub fn durable_now(&self) -> Durable {
        let seq = lock(&self.inner.front).state.records as u64;
        self.ticket(seq)
    }

    /// The number of the last record known durable.
    pub fn durable_seq(&self) -> u64 {
        lock(&self.inner.shared.status).durable
    }

    /// How many `fdatasync` calls the writer has made.
    pub fn syncs(&self) -> u64 {
        self.inner.shared.syncs.load(Ordering::Relaxed)
    }

    /// Waits until everything queued is durable and, if this is the last clone, stops the
    /// writer thread (other clones go on appending). Returns the first write error, if any.
    /// Blocks the calling thread: from async code, call it on a blocking thread.
    pub fn close(self) -> Result<(), JournalError> {
        let shared = self.inner.shared.clone();
        let flushed = self.durable_now().wait_blocking();
        drop(self);
        let failed = lock(&shared.status).failed.clone();
        match failed {
            Some(f) => Err(shared.error(&f)),
            None => flushed,
        }
    }

    /// In memory: every event so far, masked as appended. `None` on disk.
    pub fn events(&self) -> Option<Vec<Event>> {
        lock(&self.inner.front).events.clone()
    }

    /// The run's inbox; `None` in memory.
    pub fn inbox(&self) -> Option<Inbox> {
        self.inner.dir.as_deref().map(Inbox::new)
    }

    /// The run's step logs; `None` in memory.
    pub fn logs(&self) -> Option<StepLogs> {
        self.inner.dir.as_deref().map(StepLogs::new)
    }

    /// Makes the writer run `hook` after each `write_all`, in place of the wait for the disk
    /// (before the real `fdatasync`): to slow it, hold it or fail it.
    #[cfg(test)]
    pub(super) fn set_sync_hook(&self, hook: SyncHook) {
        *lock(&self.inner.shared.hook) = Some(hook);
    }

    fn mask(&self) -> Option<Mask> {
        self.inner.mask.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Masks and encodes outside the lock: the critical section only validates, chains and
    /// queues.
    fn prepare<'e>(&self, events: &'e [Event]) -> (Cow<'e, [Event]>, Vec<Vec<u8>>) {
        prepare(self.mask().as_ref(), events, self.inner.dir.is_some())
    }

    /// Validates, applies and queues `events` under the lock held by `front`.
    fn push(
        &self,
        front: &mut Front,
        events: &[Event],
        jsons: Vec<Vec<u8>>,
    ) -> Result<Durable, JournalError> {
        let shared = &self.inner.shared;
        if let Some(f) = lock(&shared.status).failed.clone() {
            return Err(shared.refusal(&f));
        }
        let in_journal = |e: JournalError| match &shared.path {
            Some(p) => e.in_journal(p),
            None => e,
        };
        match events {
            [] => {}
            [e] => front.state.apply(front.state.records + 1, e).map_err(in_journal)?,
            _ => {
                let mut next = front.state.clone();
                for e in events {
                    next.apply(next.records + 1, e).map_err(in_journal)?;
                }
                front.state = next;
            }
        }
        if let Some(kept) = front.events.as_mut() {
            kept.extend_from_slice(events);
        }
        let mut bytes = Vec::new();
        for j in &jsons {
            bytes.extend_from_slice(&frame(front.chain.as_mut(), j));
        }
        let seq = front.state.records as u64;
        shared.enqueue(&bytes, seq, front.chain);
        Ok(self.ticket(seq))
    }

    fn ticket(&self, seq: u64) -> Durable {
        Durable { seq, shared: self.inner.shared.clone() }
    }
}

fn prepare<'e>(
    mask: Option<&Mask>,
    events: &'e [Event],
    encoded: bool,
) -> (Cow<'e, [Event]>, Vec<Vec<u8>>) {
    let events: Cow<'e, [Event]> = match mask {
        Some(m) => Cow::Owned(events.iter().map(|e| e.masked(|t| m(t))).collect()),
        None => Cow::Borrowed(events),
    };
    let jsons = if encoded { events.iter().map(json).collect() } else { Vec::new() };
    (events, jsons)
}

/// The [`Sink`] of [`Journal::with_sink`]: appends under the lock it holds.
struct QueueSink<'a> {
    journal: &'a Journal,
    front: MutexGuard<'a, Front>,
    mask: Option<Mask>,
}

impl Sink for QueueSink<'_> {
    fn append(&mut self, e: &Event) -> Result<(), JournalError> {
        let on_disk = self.journal.inner.dir.is_some();
        let (events, jsons) = prepare(self.mask.as_ref(), std::slice::from_ref(e), on_disk);
        self.journal.push(&mut self.front, &events, jsons).map(drop)
    }

    fn state(&self) -> &RunState {
        &self.front.state
    }
}

impl Drop for Inner {
    /// The last clone: the writer writes out what is queued, then stops.
    fn drop(&mut self) {
        lock(&self.shared.status).stop = true;
        self.shared.work.notify_all();
        if let Some(t) = self.writer.take() {
            // A writer that panicked has already failed the journal (see `PanicGuard`).
            let _ = t.join();
        }
    }
}

impl Durable {
    /// Resolves once the `fdatasync` covering this record has returned (`Ok`), or with the
    /// write error that broke the journal first.
    pub async fn wait(self) -> Result<(), JournalError> {
        self.shared.hurry(self.seq);
        loop {
            let notified = self.shared.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the look, so a wake-up between the look and the await is
            // not lost.
            notified.as_mut().enable();
            let done = self.shared.resolved(&lock(&self.shared.status), self.seq);
            if let Some(done) = done {
                return done;
            }
            notified.await;
        }
    }

    /// [`Durable::wait`] for threads.
    pub fn wait_blocking(self) -> Result<(), JournalError> {
        self.shared.hurry(self.seq);
        let mut status = lock(&self.shared.status);
        loop {
            if let Some(done) = self.shared.resolved(&status, self.seq) {
                return done;
            }
            status = self.shared.synced.wait(status).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The number of the last record this ticket covers.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl fmt::Debug for Durable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Durable").field("record", &self.seq).finish()
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.inner.shared.path)
            .field("records", &self.state(|s| s.records))
            .finish()
    }
}

impl Shared {
    fn new(records: u64, path: Option<PathBuf>) -> Shared {
        Shared {
            status: Mutex::new(Status {
                pending: Vec::new(),
                queued: records,
                head: None,
                durable: records,
                failed: None,
                stop: false,
                urgent: false,
                lazy_since: None,
            }),
            work: Condvar::new(),
            synced: Condvar::new(),
            notify: Notify::new(),
            syncs: AtomicU64::new(0),
            path,
            #[cfg(test)]
            hook: Mutex::new(None),
        }
    }

    /// Queues record(s) up to `seq`; in memory they are durable at once. Dropped when the
    /// journal broke since the caller looked: the ticket then resolves to the error.
    fn enqueue(&self, bytes: &[u8], seq: u64, head: Option<Head>) {
        let mut status = lock(&self.status);
        if status.failed.is_some() {
            return;
        }
        status.queued = seq;
        status.head = head;
        if self.path.is_none() {
            status.durable = seq;
            return;
        }
        status.pending.extend_from_slice(bytes);
        let first = status.lazy_since.is_none();
        status.lazy_since.get_or_insert_with(Instant::now);
        drop(status);
        if first {
            self.work.notify_one();
        }
    }

    /// A waiter needs record `seq`: the writer syncs what is pending without lingering.
    fn hurry(&self, seq: u64) {
        let mut status = lock(&self.status);
        if status.durable >= seq || status.failed.is_some() || status.urgent {
            return;
        }
        status.urgent = true;
        drop(status);
        self.work.notify_one();
    }

    /// Whether a ticket for record `seq` has its answer.
    fn resolved(&self, status: &Status, seq: u64) -> Option<Result<(), JournalError>> {
        if status.durable >= seq {
            Some(Ok(()))
        } else {
            status.failed.as_ref().map(|f| Err(self.error(f)))
        }
    }

    fn publish(&self, durable: u64) {
        {
            let mut status = lock(&self.status);
            status.durable = status.durable.max(durable);
        }
        self.wake();
    }

    /// Breaks the journal (the first failure is the one kept) and wakes every waiter.
    fn fail(&self, failure: Failure) {
        {
            let mut status = lock(&self.status);
            status.failed.get_or_insert(failure);
            status.pending.clear();
        }
        self.wake();
    }

    fn wake(&self) {
        self.synced.notify_all();
        self.notify.notify_waiters();
    }

    fn path(&self) -> PathBuf {
        self.path.clone().unwrap_or_default()
    }

    /// The error a waiter gets.
    fn error(&self, f: &Failure) -> JournalError {
        JournalError::io(self.path(), io::Error::new(f.kind, f.message.clone()))
    }

    /// The error an append gets once the journal is broken.
    fn refusal(&self, f: &Failure) -> JournalError {
        let e = io::Error::new(
            f.kind,
            format!(
                "an earlier write to this journal failed ({}); resume the run to go on",
                f.message
            ),
        );
        JournalError::io(self.path(), e)
    }

    #[cfg(test)]
    fn run_hook(&self) -> io::Result<()> {
        let hook = lock(&self.hook).clone();
        hook.map_or(Ok(()), |h| h())
    }
}

impl Failure {
    fn of(e: &io::Error) -> Failure {
        Failure { kind: e.kind(), message: e.to_string() }
    }
}

/// The writer thread: group commit until told to stop with nothing left to write. After each
/// sync the anchor moves to the head it covers (never before: it may lag, never lead); it is
/// closed when the loop ends.
fn write_loop(shared: &Shared, mut file: File, mut len: u64, mut anchor: Option<Anchor>) {
    let _guard = PanicGuard(shared);
    let mut batch = Vec::new();
    loop {
        let (upto, head) = {
            let mut status = lock(&shared.status);
            loop {
                if status.pending.is_empty() && status.stop {
                    return;
                }
                if status.pending.is_empty() {
                    status = shared.work.wait(status).unwrap_or_else(PoisonError::into_inner);
                    continue;
                }
                // Records nobody waits for yet linger a moment, so the next one someone does
                // wait for (a dependent's start after a step's end) shares their sync.
                let since = status.lazy_since.unwrap_or_else(Instant::now);
                let due = since + LINGER;
                let now = Instant::now();
                if status.urgent || status.stop || now >= due {
                    break;
                }
                status = shared
                    .work
                    .wait_timeout(status, due - now)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            std::mem::swap(&mut status.pending, &mut batch);
            status.urgent = false;
            status.lazy_since = None;
            (status.queued, status.head)
        };
        match write_batch(shared, &mut file, &batch) {
            Ok(()) => {
                len += batch.len() as u64;
                if let (Some(a), Some(h)) = (anchor.as_mut(), head) {
                    a.set(h);
                }
                shared.publish(upto);
            }
            Err(e) => {
                // Cutting back a partial batch keeps the journal free of mid-file damage; the
                // state is ahead of the disk now, so only a fresh replay can be trusted.
                let _ = file.set_len(len);
                shared.fail(Failure::of(&e));
            }
        }
        batch.clear();
    }
}

fn write_batch(shared: &Shared, file: &mut File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    #[cfg(test)]
    shared.run_hook()?;
    shared.syncs.fetch_add(1, Ordering::Relaxed);
    file.sync_data()
}

/// Fails the journal if the writer thread unwinds, so no waiter waits forever.
struct PanicGuard<'a>(&'a Shared);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail(Failure::of(&io::Error::other("the journal writer stopped unexpectedly")));
        }
    }
}

/// A poisoned lock means a thread panicked while holding it; the state it guards is only
/// ever changed by operations that leave it whole, so it is still good to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
