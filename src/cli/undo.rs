//! `drbook rollback RUN_ID`: undo a run on demand. The run may have succeeded, failed, paused
//! or been interrupted; one that already rolled back, or is rolling back, is refused.
//!
//! Input: the run's journal and its runbook. Output: `rollback_started` and `run_resumed`
//! appended, then the undo phase driven like `resume` drives a run (same report, same exit
//! codes: 4 rolled back, 5 a rollback failed, 3 paused for a person).
//!
//! Invariant: nothing is written before the person has confirmed (a `y` at the terminal, or
//! `--yes`); without a terminal and without `--yes` the run is left exactly as it was (exit 2).

use super::args::RunFlags;
use super::decide::{refuse_retries, settle_steps};
use super::runs::{
    compare_definitions, connect_aws, drive, eprint, load, parse_decisions, say, secrets_for,
    store, Loaded,
};
use super::Outcome;
use crate::journal::{Event, RunState, RunStatus, StepState};
use crate::model::time as clock;
use std::path::{Path, PathBuf};

/// What the person asked for besides the run flags.
pub struct Asked<'a> {
    pub yes: bool,
    pub file: Option<&'a Path>,
    pub interrupted: &'a [String],
    pub allow_edited: bool,
}

pub fn rollback(
    run_id: &str,
    flags: &RunFlags,
    asked: &Asked<'_>,
    user: String,
    color: bool,
) -> Outcome {
    let decisions = match parse_decisions(asked.interrupted) {
        Ok(d) => d,
        Err(e) => {
            eprint(&format!("error: {e}"));
            return Outcome::Invalid;
        }
    };
    let Some(store) = store(&flags.state_dir) else { return Outcome::Invalid };
    let (state, info) = match store.read_run(run_id) {
        Ok(x) => x,
        Err(e) => {
            eprint(&format!("error: {e}"));
            return Outcome::Invalid;
        }
    };
    if let Err(why) = may_roll_back(&state, info.live, info.runner_pid) {
        eprint(&format!("error: {why}"));
        return Outcome::Invalid;
    }
    if let Err(why) = refuse_retries(&state, &decisions, true) {
        eprint(&format!("error: {why}"));
        return Outcome::Invalid;
    }
    let path = asked.file.map_or_else(|| PathBuf::from(&state.path), Path::to_path_buf);
    let params: Vec<(String, String)> =
        state.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let Some(mut l) = load(&path, params, color) else { return Outcome::Invalid };
    if let Err(why) = compare_definitions(&state, &l, asked.allow_edited) {
        eprint(&format!("error: {why}"));
        return Outcome::Invalid;
    }
    let plan = plan(&state, &l);
    if asked.yes {
        say(flags, &plan);
    } else if super::runs::interactive(flags) {
        if !confirm(run_id, &plan) {
            eprint("nothing was changed");
            return Outcome::Invalid;
        }
    } else {
        eprint(&format!(
            "error: rolling back run `{run_id}` needs confirmation, and there is no terminal to ask at; pass --yes\nnothing was changed"
        ));
        return Outcome::Invalid;
    }
    if !connect_aws(&mut l, flags) {
        return Outcome::Invalid;
    }
    let Some(secrets) = secrets_for(&l) else { return Outcome::Invalid };
    let mut handle = match store.resume_run(run_id) {
        Ok(h) => h,
        Err(e) => {
            eprint(&format!("error: {e}"));
            return Outcome::Invalid;
        }
    };
    // The lock is ours now: what was confirmed must still be what the run is.
    if handle.state.records != state.records {
        eprint(&format!(
            "error: run `{run_id}` changed while you were deciding; look at `drbook status {run_id}` and ask again"
        ));
        return Outcome::Invalid;
    }
    let now = clock::now();
    let events = [
        Event::RollbackStarted {
            at: now.clone(),
            reason: format!("requested by {user}"),
            by: user.clone(),
        },
        Event::RunResumed { at: now, pid: std::process::id(), user: user.clone() },
    ];
    if let Err(e) = handle.append_batch(&events) {
        eprint(&format!("error: {e}"));
        return Outcome::Invalid;
    }
    let keep_failed = match settle_steps(&mut handle, &l, &decisions, flags, &user, run_id) {
        Ok(k) => k,
        Err(outcome) => return outcome,
    };
    let clock_start = clock::parse(&state.clock_start).unwrap_or_else(clock::now_ms);
    say(flags, &format!("rolling back run {run_id}: {}", l.rb.name));
    drive(&store, run_id, &l, Box::new(handle), secrets, flags, clock_start, user, keep_failed)
}

/// Succeeded, failed, paused or interrupted runs may be rolled back, once, by one runner.
fn may_roll_back(s: &RunState, live: bool, pid: Option<u32>) -> Result<(), String> {
    let id = &s.run_id;
    if matches!(s.status, RunStatus::RolledBack | RunStatus::RollbackFailed) {
        return Err(format!(
            "run `{id}` is over ({}); there is nothing left to roll back",
            s.status
        ));
    }
    if live {
        let pid = pid.map_or(String::new(), |p| format!(" (pid {p})"));
        return Err(format!(
            "run `{id}` is being driven by a runner{pid}; stop it first (Ctrl-C), then roll back"
        ));
    }
    if s.rollback.is_some() {
        return Err(format!(
            "run `{id}` is already rolling back; `drbook resume {id}` continues it"
        ));
    }
    Ok(())
}

/// What will be undone, in the order it will be (a step after every step that needs it).
fn plan(s: &RunState, l: &Loaded) -> String {
    let steps = &l.rb.steps;
    let succeeded: Vec<bool> = steps
        .iter()
        .map(|st| s.step(&st.id).is_some_and(|r| r.state == StepState::Succeeded))
        .collect();
    let mut done = vec![false; steps.len()];
    let mut order = Vec::new();
    loop {
        let next = (0..steps.len()).rev().find(|&i| {
            succeeded[i]
                && !done[i]
                && steps
                    .iter()
                    .enumerate()
                    .all(|(j, d)| !d.needs.contains(&i) || !succeeded[j] || done[j])
        });
        let Some(i) = next else { break };
        done[i] = true;
        order.push(i);
    }
    if order.is_empty() {
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
    out.trim_end().to_string()
}

/// Shows the plan and asks; only `y` or `yes` goes on.
fn confirm(run_id: &str, plan: &str) -> bool {
    eprint(plan);
    let a = super::prompt::ask(&format!("Roll back run {run_id}? [y/N] ")).unwrap_or_default();
    matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
