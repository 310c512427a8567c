//! `drbook rollback RUN_ID`: undo a run on demand. The run may have succeeded, failed, paused
//! or been interrupted; one that already rolled back, or is rolling back, is refused.
//!
//! Input: the run's journal and its runbook. Output: `rollback_started` and `run_resumed`
//! appended, then the undo phase driven like `resume` drives a run (same report, same exit
//! codes: 4 rolled back, 5 a rollback failed, 3 paused for a person).
//!
//! A run whose rollback failed (`rollback_failed`, exit 5) can be rolled back again: each
//! rollback that failed is tried again (`rollback_retried`), and the steps it held back
//! follow.
//!
//! Invariant: nothing is written before the person has confirmed (a `y` at the terminal, or
//! `--yes`); without a terminal and without `--yes` the run is left exactly as it was (exit 2).

use super::decide::{parse_decisions, refuse_retries};
use super::drive::settle_then_drive;
use super::outcome::{CliError, Outcome};
use super::prepare::{Book, ExistingRun};
use super::term::{eprint, interactive, say};
use crate::journal::{Event, RunState, RunStatus, StepState, Store};
use crate::model::time as clock;

/// What `rollback` is asked: the run, and `--yes` (do not ask for confirmation).
pub struct RollbackRequest<'a> {
    pub run: ExistingRun<'a>,
    pub yes: bool,
}

pub fn rollback(asked: &RollbackRequest<'_>) -> Result<Outcome, CliError> {
    let (run_id, flags) = (asked.run.run_id, asked.run.flags);
    let decisions = parse_decisions(asked.run.interrupted)?;
    let store = Store::open(&flags.state_dir)?;
    let (state, info) = store.read_run(run_id)?;
    may_roll_back(&state, info.live, info.runner_pid)?;
    refuse_retries(&state, &decisions, true)?;
    let req = asked.run.request(&state);
    let book = req.load()?;
    book.compare_definitions(&state, asked.run.allow_edited)?;
    let plan = plan(&state, &book);
    if asked.yes {
        say(flags, &plan);
    } else if interactive(flags) {
        if !confirm(run_id, &plan) {
            return Err(CliError::Declined);
        }
    } else {
        return Err(CliError::invalid(format!(
            "rolling back run `{run_id}` needs confirmation, and there is no terminal to ask at; pass --yes"
        ))
        .then("nothing was changed"));
    }
    let ready = req.connect(book)?;
    let mut handle = store.resume_run(run_id)?;
    // The lock is ours now: what was confirmed must still be what the run is.
    if handle.state.records != state.records {
        return Err(CliError::invalid(format!(
            "run `{run_id}` changed while you were deciding; look at `drbook status {run_id}` and ask again"
        )));
    }
    let (now, user) = (clock::now(), ready.req.user.clone());
    let first = if state.status == RunStatus::RollbackFailed {
        Event::RollbackRetried { at: now.clone(), by: user.clone() }
    } else {
        Event::RollbackStarted {
            at: now.clone(),
            reason: format!("requested by {user}"),
            by: user.clone(),
        }
    };
    let events = [first, Event::RunResumed { at: now, pid: std::process::id(), user }];
    handle.append_batch(&events)?;
    let clock_start = clock::parse(&state.clock_start).unwrap_or_else(clock::now_ms);
    let headline = format!("rolling back run {run_id}: {}", ready.book.rb.name);
    let prepared = ready.take(store, run_id.to_string(), handle, clock_start);
    settle_then_drive(prepared, &decisions, &headline)
}

/// Succeeded, failed, paused or interrupted runs may be rolled back, once, by one runner.
fn may_roll_back(s: &RunState, live: bool, pid: Option<u32>) -> Result<(), CliError> {
    let id = &s.run_id;
    if s.is_tabletop() {
        return Err(CliError::invalid(format!(
            "run `{id}` is a tabletop drill: it executed nothing, so there is nothing to roll back"
        ))
        .then("nothing was changed"));
    }
    let failed_undo = s.steps.iter().any(|(_, r)| r.state == StepState::UndoFailed);
    if s.status == RunStatus::RollbackFailed && failed_undo && !live {
        return Ok(());
    }
    if matches!(s.status, RunStatus::RolledBack | RunStatus::RollbackFailed) {
        return Err(CliError::invalid(format!(
            "run `{id}` is over ({}); there is nothing left to roll back",
            s.status
        )));
    }
    if live {
        let pid = pid.map_or(String::new(), |p| format!(" (pid {p})"));
        return Err(CliError::invalid(format!(
            "run `{id}` is being driven by a runner{pid}; stop it first (Ctrl-C), then roll back"
        )));
    }
    if s.rollback.is_some() {
        return Err(CliError::invalid(format!(
            "run `{id}` is already rolling back; `drbook resume {id}` continues it"
        )));
    }
    Ok(())
}

/// What will be undone, in the order it will be (a step after every step that needs it).
fn plan(s: &RunState, book: &Book) -> String {
    let steps = &book.rb.steps;
    if s.status == RunStatus::RollbackFailed {
        let mut out = format!(
            "run {} (rollback_failed): these rollbacks failed and will be tried again:\n",
            s.run_id
        );
        for (id, r) in s.steps.iter().filter(|(_, r)| r.state == StepState::UndoFailed) {
            let error = r.undo.as_ref().and_then(|u| u.error.clone()).unwrap_or_default();
            out.push_str(&format!("  {id:<28} failed: {error}\n"));
        }
        out.push_str("then every step left succeeded because of them is undone");
        return out;
    }
    let succeeded: Vec<bool> = steps
        .iter()
        .map(|st| s.step(&st.id).is_some_and(|r| r.state == StepState::Succeeded))
        .collect();
    let doubt: Vec<&str> = steps
        .iter()
        .filter(|st| st.rollback.is_some())
        .filter(|st| {
            s.step(&st.id).is_some_and(|r| {
                matches!(r.state, StepState::Failed | StepState::Interrupted)
                    && r.acted
                    && !r.undo_asked
            })
        })
        .map(|st| st.id.as_str())
        .collect();
    // The order the undo phase takes with one rollback at a time (`exec/board.rs`).
    let order = book.dag.undo_order(&succeeded);
    if order.is_empty() && doubt.is_empty() {
        return format!("run {}: no step succeeded, so there is nothing to undo", s.run_id);
    }
    let mut out = format!(
        "run {} ({}): these steps succeeded and will be undone, in this order:\n",
        s.run_id, s.status
    );
    for i in order {
        let what = steps[i]
            .rollback
            .as_ref()
            .map_or("nothing to undo (no rollback action)".to_string(), |r| {
                format!("rollback: {}", r.action.kind().replace('_', " "))
            });
        out.push_str(&format!("  {:<28} {what}\n", steps[i].id));
    }
    if !doubt.is_empty() {
        out.push_str(&format!(
            "failed after their action began, so they may have acted (probed, or you are asked whether each was done, and undone if so): {}\n",
            doubt.join(", ")
        ));
    }
    out.trim_end().to_string()
}

/// Shows the plan and asks; only `y` or `yes` goes on.
fn confirm(run_id: &str, plan: &str) -> bool {
    eprint(plan);
    let a = super::prompt::ask(&format!("Roll back run {run_id}? [y/N] ")).unwrap_or_default();
    matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
