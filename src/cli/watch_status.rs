//! `drbook watch status FILE`: the watcher's state of a runbook, read-only.
//!
//! Input: the checked runbook (for its trigger's threshold and cooldown), the state dir.
//! Output: a short readable block (text) or one JSON object: the replayed `WatchState`, the
//! cooldown, the lock holder, the last rounds and transitions.

use super::outcome::{CliError, Outcome};
use super::watch_args::WatchStatusFormat;
use crate::diag::escape::escape;
use crate::journal::watch::{describe, Phase, WatchEvent, WatchState, WatchStore};
use crate::model::{time as clock, Runbook};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// Transitions shown (the most recent).
const TRANSITIONS: usize = 10;

pub fn status(
    rb: &Runbook,
    file: &Path,
    state_dir: &Path,
    format: WatchStatusFormat,
) -> Result<Outcome, CliError> {
    let store = WatchStore::at(state_dir, &rb.name);
    if rb.trigger.is_none() && !store.exists() {
        return Err(never_watched(rb, state_dir, "show"));
    }
    // Without the block (removed since), the defaults stand in and the status says so.
    let (failures, cooldown_ms) = rb.trigger.as_ref().map_or(
        (crate::model::trigger::DEFAULT_FAILURES, crate::model::trigger::DEFAULT_COOLDOWN),
        |t| (t.failures, t.cooldown),
    );
    let (events, state) = if store.exists() { store.read()? } else { Default::default() };
    let holder = if store.exists() { store.holder()? } else { None };
    let rounds = store.rounds();
    let now = clock::now();
    let cooldown = state.cooldown_block(cooldown_ms, &now);
    let transitions: Vec<&WatchEvent> = events
        .iter()
        .filter(|e| !matches!(e, WatchEvent::RoundFailed { .. }))
        .rev()
        .take(TRANSITIONS)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let out = match format {
        WatchStatusFormat::Json => {
            let until = match &cooldown {
                Some(crate::journal::watch::Block::Cooldown { until, .. }) => Some(until.clone()),
                _ => None,
            };
            let v = serde_json::json!({
                "runbook": rb.name,
                "watched": store.exists(),
                "state": state,
                "failures": failures,
                "has_trigger": rb.trigger.is_some(),
                "cooldown_until": until,
                "watcher": {
                    "running": holder.is_some(),
                    "pid": holder.flatten(),
                },
                "rounds": rounds,
                "transitions": transitions,
            });
            format!("{}\n", serde_json::to_string_pretty(&v).expect("invariant: plain data"))
        }
        WatchStatusFormat::Text => {
            let mut s = String::new();
            let _ = writeln!(s, "watch `{}` (state dir {})", rb.name, state_dir.display());
            let watcher = match holder {
                Some(Some(pid)) => format!("running (pid {pid})"),
                Some(None) => "running".into(),
                None => "not running".into(),
            };
            let _ = writeln!(s, "  watcher:   {watcher}");
            if rb.trigger.is_none() {
                let _ = writeln!(
                    s,
                    "  note:      the runbook has no `trigger` block now; the default threshold and cooldown are shown"
                );
            }
            let _ = writeln!(s, "  phase:     {}", phase(&state, failures, store.exists()));
            let cool = match &cooldown {
                Some(b) => b.describe(),
                None => "none".into(),
            };
            let _ = writeln!(s, "  cooldown:  {cool}");
            if state.phase == Phase::Disarmed {
                let run = state.disarmed_by.as_deref().unwrap_or("?");
                let ended = state
                    .last_run_status
                    .as_deref()
                    .map_or("running or unknown".into(), |st| format!("ended {st}"));
                let _ = writeln!(
                    s,
                    "  disarmed:  by run {run} ({ended}); re-arm with `drbook watch ack {} --as NAME`",
                    file.display()
                );
            }
            if let Some((gate, given)) = &state.awaiting {
                let missing = gate.missing(given);
                let by: Vec<String> =
                    given.iter().map(|a| format!("{} ({})", a.by, a.role)).collect();
                let _ = writeln!(
                    s,
                    "  approval:  pending since {}; missing: {}{}; approve with `drbook watch approve {} --as NAME`",
                    gate.requested_at,
                    missing.join(", "),
                    if by.is_empty() { String::new() } else { format!("; approved by {}", by.join(", ")) },
                    file.display()
                );
            }
            if let Some(b) = &state.last_block {
                let _ = writeln!(s, "  last block: {}", b.describe());
            }
            if !rounds.is_empty() {
                let _ = writeln!(s, "rounds:");
                for r in &rounds {
                    let _ = writeln!(s, "  {} {}", r.at, describe::round(r, failures));
                }
            }
            if !transitions.is_empty() {
                let _ = writeln!(s, "transitions:");
                for e in &transitions {
                    let _ = writeln!(s, "  {} {}", e.at(), e.describe());
                }
            }
            escape(&s).into_owned()
        }
    };
    let _ = write!(std::io::stdout(), "{out}");
    Ok(Outcome::Succeeded)
}

fn phase(state: &WatchState, failures: u32, watched: bool) -> String {
    if !watched {
        return "healthy (never watched in this state dir)".into();
    }
    let outage =
        state.detected_at.as_deref().map_or(String::new(), |d| format!(", outage detected at {d}"));
    match state.phase {
        Phase::Healthy => "healthy".into(),
        Phase::Degraded => {
            format!(
                "degraded ({} of {failures} consecutive failed rounds{outage})",
                state.consecutive
            )
        }
        Phase::AwaitingApproval => format!("awaiting approval{outage}"),
        Phase::Disarmed => format!("disarmed{outage}"),
    }
}

/// The refusal for a runbook without watch state in `state_dir`.
pub(super) fn never_watched(rb: &Runbook, state_dir: &Path, what: &str) -> CliError {
    if rb.trigger.is_none() {
        return CliError::invalid(format!(
            "runbook `{}` has no `trigger` block and no watch state in `{}`: nothing watches it",
            rb.name,
            state_dir.display()
        ));
    }
    CliError::invalid(format!(
        "runbook `{}` has never been watched in the state dir `{}`: there is nothing to {what}",
        rb.name,
        state_dir.display()
    ))
}
