//! `drbook watch FILE`: the watcher. The runbook is loaded and checked like `run` (its
//! secrets resolved), the watcher's lock taken (a second watcher is refused), `watch_started`
//! journaled; then one round of the trigger's probes per `every` (the next round starts
//! `every` after the previous one started; rounds never overlap), each judged by
//! [`crate::watch::decide`] against the journaled state and its events journaled durably
//! before they are shown or posted. Between rounds the inbox (`drbook watch approve|deny|ack`
//! from other shells) is read every second. Firing is `watch_fire.rs`.
//!
//! Input: [`WatchOptions`]. Output: round and transition lines (`watch_log.rs`), the watch
//! journal and `rounds.json`; `--once` exits 0 after a healthy round and 1 after a failed one.
//! SIGTERM or SIGINT stops it between rounds (exit 0, `watch_stopped` journaled).

use super::prepare::{Ready, RunRequest};
use super::watch_args::WatchOptions;
use super::watch_fire;
use super::watch_log::{notify_body, Log};
use super::{CliError, Outcome};
use crate::exec::Standalone;
use crate::journal::watch::{
    RoundLine, WatchEvent, WatchLock, WatchStore, ROUNDS_KEPT, WATCH_VERSION,
};
use crate::journal::JournalError;
use crate::model::time as clock;
use crate::model::{fmt_duration, Trigger};
use crate::watch::{self as w, Next, Round, Verdict};
use std::time::{Duration, Instant};

/// How often the inbox is read while waiting for the next round.
const INBOX_EVERY: Duration = Duration::from_secs(1);

pub fn watch(opts: WatchOptions) -> Result<Outcome, CliError> {
    let flags = watch_fire::run_flags(&opts);
    let req = RunRequest {
        file: opts.file.clone(),
        params: opts.params.clone(),
        flags: &flags,
        user: opts.user.clone(),
        color: opts.color,
    };
    let book = req.load()?;
    let Some(trigger) = book.rb.trigger.clone() else {
        return Err(CliError::invalid(format!(
            "`{}` has no `trigger` block: there is nothing to watch for (see docs/language.md, \"trigger\")",
            opts.file.display()
        )));
    };
    let content_hash = watch_fire::sha256(&book.bytes);
    let abs = book.abs.display().to_string();
    let ready = req.connect(book)?;
    let aws = watch_fire::probes_aws(&ready, &trigger)?;
    let store = WatchStore::open(&opts.state_dir, &ready.book.rb.name)?;
    let lock = match store.lock() {
        Ok(l) => l,
        Err(e @ JournalError::WatchLocked { .. }) => return Err(CliError::invalid(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let base_dir = ready.book.base_dir();
    let sa = Standalone::new(
        &ready.book.rb,
        &ready.book.values,
        &ready.secrets,
        &base_dir,
        &ready.shell,
        aws.as_ref(),
    );
    let again = super::again::invocation(&opts.state_dir);
    let file = crate::model::shell_word(&opts.file.display().to_string());
    let log = Log {
        format: opts.log_format,
        failures: trigger.failures,
        approve: again.command(&format!("watch approve {file} --as NAME")),
        deny: again.command(&format!("watch deny {file} --as NAME --reason TEXT")),
        ack: again.command(&format!("watch ack {file} --as NAME")),
    };
    let mut watcher = Watcher {
        opts: &opts,
        ready: &ready,
        trigger: &trigger,
        store,
        lock,
        log,
        sa,
        rounds: Vec::new(),
    };
    watcher.rounds = watcher.store.rounds();
    let started = WatchEvent::WatchStarted {
        v: WATCH_VERSION,
        at: clock::now(),
        runbook: ready.book.rb.name.clone(),
        path: abs,
        content_hash,
        pid: std::process::id(),
        user: opts.user.clone(),
        dry_run: opts.dry_run,
    };
    watcher.journal(vec![started])?;
    watcher.left_over()?;
    watcher.watch()
}

/// Everything a watcher holds while it watches.
struct Watcher<'a> {
    opts: &'a WatchOptions,
    ready: &'a Ready<'a>,
    trigger: &'a Trigger,
    store: WatchStore,
    lock: WatchLock,
    log: Log,
    sa: Standalone<'a>,
    rounds: Vec<RoundLine>,
}

impl Watcher<'_> {
    fn watch(&mut self) -> Result<Outcome, CliError> {
        let rt = self.ready.rt;
        let mut signals = {
            let _in = rt.enter();
            Signals::new().map_err(CliError::invalid)?
        };
        // Healthy rounds are not journaled: `rounds.json` may know a later one.
        let journaled = self.store.read()?.1.last_round.unwrap_or(0);
        let mut number = journaled.max(self.rounds.last().map_or(0, |r| r.round));
        loop {
            let began = Instant::now();
            self.inbox()?;
            self.approval_timeout()?;
            number += 1;
            let healthy = self.round(number)?;
            self.inbox()?;
            if w::ready_to_fire(&self.store.read()?.1) {
                self.judged(None)?;
            }
            if self.opts.once {
                self.stop("--once: one round")?;
                return Ok(if healthy { Outcome::Succeeded } else { Outcome::Failed });
            }
            let next = began + Duration::from_millis(self.trigger.every.max(1));
            if let Some(signal) = self.wait_until(next, &mut signals)? {
                self.stop(&format!("{signal} received"))?;
                return Ok(Outcome::Succeeded);
            }
        }
    }

    /// Waits for the next round, reading the inbox every second; `Some(signal)` when one
    /// asked the watcher to stop.
    fn wait_until(
        &mut self,
        next: Instant,
        signals: &mut Signals,
    ) -> Result<Option<&'static str>, CliError> {
        loop {
            let now = Instant::now();
            if now >= next {
                // A signal that came during the round stops the watcher before the next one.
                return Ok(self.ready.rt.block_on(signals.poll_now()));
            }
            let nap = (next - now).min(INBOX_EVERY);
            let got = self.ready.rt.block_on(async {
                tokio::select! {
                    s = signals.recv() => Some(s),
                    _ = tokio::time::sleep(nap) => None,
                }
            });
            if got.is_some() {
                return Ok(got);
            }
            self.inbox()?;
            if w::ready_to_fire(&self.store.read()?.1) {
                self.judged(None)?;
            }
        }
    }

    /// Says what became of the run this watcher fired when an earlier watcher died while it
    /// ran (no `run_ended`): a person resumes it, or starts it when it never began.
    fn left_over(&mut self) -> Result<(), CliError> {
        let (_, state) = self.store.read()?;
        let (Some(id), None) = (&state.last_run, &state.last_run_status) else {
            return Ok(());
        };
        let again = super::again::invocation(&self.opts.state_dir);
        let text = match crate::journal::Store::at(&self.opts.state_dir).read_run(id) {
            Ok((run, _)) => format!(
                "run {id}, fired by an earlier watcher, did not end under it (it is {}): `{}` continues it",
                match run.status {
                    // Its runner was the earlier watcher, which is gone.
                    crate::journal::RunStatus::Running => "interrupted".to_string(),
                    other => other.to_string(),
                },
                again.command(&format!("resume {id}"))
            ),
            // Killed between `fired` and the run's first record: the run never started.
            Err(e) => format!(
                "run {id}, fired by an earlier watcher, cannot be read ({e}): it may never have started; `{}` starts it by hand, the RTO clock at the outage's detection ({})",
                again.command(&format!(
                    "run {} --since {}",
                    crate::model::shell_word(&self.opts.file.display().to_string()),
                    state.detected_at.as_deref().unwrap_or("?")
                )),
                state.detected_at.as_deref().unwrap_or("?")
            ),
        };
        self.log.info(&clock::now(), &text);
        Ok(())
    }

    /// One round: probes, decision, journal, lines; `true` when it was healthy.
    fn round(&mut self, number: u64) -> Result<bool, CliError> {
        let at = clock::now();
        let probes = self.ready.rt.block_on(w::round(&self.sa, self.trigger));
        let now = clock::now();
        let (_, state) = self.store.read()?;
        let d =
            w::decide(&state, self.trigger, &Round { number, at, probes: probes.clone() }, &now);
        self.store.append(&self.lock, &d.events)?;
        self.rounds.push(d.line.clone());
        let extra = self.rounds.len().saturating_sub(ROUNDS_KEPT);
        self.rounds.drain(..extra);
        if let Err(e) = self.store.write_rounds(&self.lock, &self.rounds) {
            self.log.warn(&now, &format!("could not write rounds.json: {e}"));
        }
        self.log.round(&d.line, d.note.as_deref());
        self.shown(&d.events);
        if d.next == Next::Judge {
            self.judged(Some(probes))?;
        }
        Ok(d.line.healthy)
    }

    /// The threshold was reached (`evidence`: that round's probes), or a pending approval is
    /// complete (`None`): the RPO gate, then the practice rule or the gate, then firing.
    fn judged(
        &mut self,
        evidence: Option<Vec<crate::journal::watch::ProbeOutcome>>,
    ) -> Result<(), CliError> {
        let rb = &self.ready.book.rb;
        let rpo = match &self.trigger.rpo_gate {
            Some(g) => Some(self.ready.rt.block_on(w::rpo_gate(&self.sa, rb, g))),
            None => None,
        };
        let now = clock::now();
        if let (Some(Ok(lag)), Some(g), Some(rpo)) = (&rpo, &self.trigger.rpo_gate, rb.rpo) {
            let step = rb.steps.get(g.step).map_or("?", |s| s.id.as_str());
            let (lag, rpo) = (fmt_duration(*lag), fmt_duration(rpo));
            self.log.info(
                &now,
                &format!("rpo gate: step {step} measured a lag of {lag}, within rpo {rpo}"),
            );
        }
        let (_, state) = self.store.read()?;
        let approved = evidence.is_none();
        let verdict = match (approved, rpo) {
            (true, Some(Err(block))) => Verdict::Blocked(block),
            (true, _) => Verdict::Fire,
            (false, rpo) => w::judge(rb, self.trigger, rpo, || self.practice(), &now),
        };
        let detected_at = state.detected_at.clone().unwrap_or_else(|| now.clone());
        let evidence = evidence.unwrap_or_else(|| {
            self.rounds
                .iter()
                .rev()
                .find(|r| !r.healthy)
                .map(|r| r.probes.clone())
                .unwrap_or_default()
        });
        match verdict {
            Verdict::Blocked(block) => {
                self.journal(vec![WatchEvent::Blocked { at: now, block, detected_at }])
            }
            Verdict::Ask(gate) => {
                self.journal(vec![WatchEvent::AwaitingApproval { at: now, gate, detected_at }])
            }
            Verdict::Fire => self.fire(&state, evidence),
        }
    }

    /// Fires: `fired` (+ `disarmed`) durably, then the run, then `run_ended`.
    fn fire(
        &mut self,
        state: &crate::journal::watch::WatchState,
        evidence: Vec<crate::journal::watch::ProbeOutcome>,
    ) -> Result<(), CliError> {
        let f = match watch_fire::prepare(self.opts, &self.sa, self.trigger, state, evidence) {
            Ok(f) => f,
            // The same would happen at every firing: the watcher stops, nothing fired.
            Err(reason) => {
                self.stop(&reason)?;
                return Err(CliError::invalid(reason).then("nothing fired; the watcher stopped"));
            }
        };
        self.journal(f.events.clone())?;
        if self.opts.dry_run {
            return Ok(());
        }
        let run_id = f.run_id.clone();
        let status = match watch_fire::start(self.opts, &self.ready.secrets, f) {
            Ok(status) => status,
            Err(why) => {
                self.log.warn(&clock::now(), &format!("run {run_id} could not start: {why}"));
                format!("not started: {}", why.lines().next().unwrap_or_default())
            }
        };
        self.journal(vec![WatchEvent::RunEnded { at: clock::now(), run_id, status }])
    }

    /// The practice rule, from the state dir's run summaries.
    fn practice(&self) -> Result<String, String> {
        let runs = crate::journal::Store::open(&self.opts.state_dir)
            .and_then(|s| s.summaries(clock::now_ms()))
            .map_err(|e| format!("cannot read the drills of the state dir: {e}"))?;
        let summaries: Vec<_> = runs.0.into_iter().map(|f| f.summary).collect();
        let hash = watch_fire::sha256(&self.ready.book.bytes);
        w::practice(&self.ready.book.rb, &hash, &summaries, clock::now_ms())
    }

    /// Answers what other shells asked (approve, deny, ack), showing what was recorded.
    fn inbox(&mut self) -> Result<(), CliError> {
        let secrets = &self.ready.secrets;
        let handled = self.store.take_requests(&self.lock, &clock::now(), &|t| secrets.scrub(t))?;
        for h in handled {
            match &h.outcome {
                Ok(_) => self.shown(&h.events),
                Err(why) => self
                    .log
                    .info(&clock::now(), &format!("refused a request of {}: {why}", h.request.by)),
            }
        }
        Ok(())
    }

    /// A pending approval past its timeout is blocked.
    fn approval_timeout(&mut self) -> Result<(), CliError> {
        let (_, state) = self.store.read()?;
        match w::timed_out(&state, &clock::now()) {
            Some(e) => self.journal(vec![e]),
            None => Ok(()),
        }
    }

    /// Journals `events` durably in one write, then shows and posts them.
    fn journal(&mut self, events: Vec<WatchEvent>) -> Result<(), CliError> {
        self.store.append(&self.lock, &events)?;
        self.shown(&events);
        Ok(())
    }

    /// Shows journaled events and posts each transition to the trigger's `notify`.
    fn shown(&self, events: &[WatchEvent]) {
        for e in events {
            self.log.event(e);
            let (Some(url), Some(detail)) = (&self.trigger.notify, self.log.describe(e)) else {
                continue;
            };
            let body = notify_body(&self.ready.book.rb.name, e, &detail);
            if let Err(why) = self.ready.rt.block_on(self.sa.post(url, &body)) {
                self.log.warn(
                    e.at(),
                    &format!("could not post `{}` to the trigger's notify: {why}", e.name()),
                );
            }
        }
    }

    fn stop(&mut self, reason: &str) -> Result<(), CliError> {
        self.journal(vec![WatchEvent::WatchStopped { at: clock::now(), reason: reason.into() }])
    }
}

/// SIGINT and SIGTERM, caught for the watcher's whole life (also while a fired run goes on:
/// the run stops, then the watcher).
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let int =
            signal(SignalKind::interrupt()).map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
        let term = signal(SignalKind::terminate())
            .map_err(|e| format!("cannot watch for SIGTERM: {e}"))?;
        Ok(Signals { int, term })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }

    /// A signal already received, without waiting.
    async fn poll_now(&mut self) -> Option<&'static str> {
        tokio::select! {
            biased;
            s = self.recv() => Some(s),
            _ = std::future::ready(()) => None,
        }
    }
}
