//! `drbook resume RUN`: continue an interrupted, paused or failed run. The run's lock is taken
//! first (one runner per run), so everything after judges the run as it stands: a run that is
//! over is said so; `--interrupted` decisions are judged; the runbook (the journal's file, or
//! `--file`) is loaded with the run's params and its steps compared with the journal's; AWS
//! and secrets are prepared; `run_resumed` is written, interrupted steps settled, and the run
//! driven. Succeeded steps never run again.

use super::decide::{parse_decisions, refuse_retries, will_roll_back};
use super::drive::settle_then_drive;
use super::outcome::{CliError, Outcome};
use super::prepare::ExistingRun;
use super::term::say;
use crate::journal::{Event, RunStatus, Store};
use crate::model::time as clock;

pub fn resume(asked: &ExistingRun<'_>) -> Result<Outcome, CliError> {
    let (run_id, flags) = (asked.run_id, asked.flags);
    let decisions = parse_decisions(asked.interrupted)?;
    let store = Store::open(&flags.state_dir)?;
    let mut handle = store.resume_run(run_id)?;
    let state = handle.state.clone();
    if state.status == RunStatus::Succeeded {
        say(flags, &format!("run {run_id} already succeeded; nothing to resume"));
        return Ok(Outcome::Succeeded);
    }
    if matches!(state.status, RunStatus::RolledBack | RunStatus::RollbackFailed) {
        say(flags, &format!("run {run_id} is over ({}); nothing to resume", state.status));
        return Ok(if state.status == RunStatus::RolledBack {
            Outcome::RolledBack
        } else {
            Outcome::RollbackFailed
        });
    }
    let req = asked.request(&state);
    let book = req.load()?;
    refuse_retries(&state, &decisions, will_roll_back(&state, &book.rb))?;
    book.compare_definitions(&state, asked.allow_edited)?;
    book.check_approve_flags(flags)?;
    let ready = req.connect(book)?;
    let user = ready.req.user.clone();
    handle.append(&Event::RunResumed { at: clock::now(), pid: std::process::id(), user })?;
    let clock_start = clock::parse(&state.clock_start).unwrap_or_else(clock::now_ms);
    let headline = format!("resuming run {run_id}: {}", ready.book.rb.name);
    let mut prepared = ready.take(store, run_id.to_string(), handle, clock_start);
    prepared.force = asked.force;
    settle_then_drive(prepared, &decisions, &headline)
}
