//! The pure replay of a watch journal: events in, [`WatchState`] out, every impossible
//! sequence refused with a [`JournalError::Impossible`] naming the record (1-based).
//!
//! The rules (issue 14):
//! - The first record is `watch_started`, and every `watch_started` carries the format
//!   version [`WATCH_VERSION`]; another version is [`JournalError::Version`].
//! - `degraded` opens an outage (its `at` becomes `detected_at`, the count is 1); it is
//!   impossible during an outage. `round_failed` continues one, its `consecutive` exactly one
//!   more than the count before. `recovered` ends it: the count is 0, `detected_at` cleared
//!   and a pending approval cancelled.
//! - `blocked` and `fired` happen during an outage and start the count again from 0 (a
//!   blocked outage is re-judged after another `failures` rounds); their `detected_at` is the
//!   outage's. `denied` and `approval_timed_out` blocks need a pending approval, which they
//!   cancel. Nothing is blocked or fired while disarmed.
//! - `awaiting_approval` opens a gate (not while one is pending, not while disarmed);
//!   `approved` needs one and obeys [`crate::journal::judge`]; a real `fired` while a gate is
//!   pending needs every role approved.
//! - A real `fired` (not `dry_run`) starts the cooldown (`last_fired_at`) and is followed at
//!   once by its `disarmed` (same run id); a dry-run one neither disarms nor starts the
//!   cooldown. A journal that ends right after a real `fired` (its `disarmed` torn away by a
//!   crash) is read as disarmed: the safe side ([`WatchState::unfinished_disarm`]).
//! - `acknowledged` needs the watcher disarmed and re-arms it. `run_ended` names the run the
//!   trigger started last.

use super::event::{Block, WatchEvent, WATCH_VERSION};
use crate::journal::{judge, ApprovalRecord, Gate, JournalError};
use serde::{Deserialize, Serialize};

/// What the watcher is doing about the runbook.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No outage (or none seen yet).
    #[default]
    Healthy,
    /// An outage is on: failed rounds are being counted.
    Degraded,
    /// The threshold was reached; firing waits for approval.
    AwaitingApproval,
    /// The trigger fired; nothing fires again until a person acknowledges.
    Disarmed,
}

impl Phase {
    pub const ALL: [Phase; 4] =
        [Phase::Healthy, Phase::Degraded, Phase::AwaitingApproval, Phase::Disarmed];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::Degraded => "degraded",
            Phase::AwaitingApproval => "awaiting_approval",
            Phase::Disarmed => "disarmed",
        }
    }
}

/// The watcher's memory, replayed from its journal.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WatchState {
    pub phase: Phase,
    /// Failed rounds in a row since the outage began or the last firing or block (0 when
    /// healthy).
    pub consecutive: u32,
    /// When the first failed round of the current outage began.
    pub detected_at: Option<String>,
    /// The last real (not dry-run) firing: the cooldown's start.
    pub last_fired_at: Option<String>,
    /// The run the trigger started last.
    pub last_run: Option<String>,
    /// The pending approval gate and the approvals it has.
    pub awaiting: Option<(Gate, Vec<ApprovalRecord>)>,
    pub last_block: Option<Block>,
    pub last_event_at: Option<String>,
    /// The run whose firing disarmed the watcher (while disarmed).
    pub disarmed_by: Option<String>,
    /// How the last run the trigger started ended (`run_ended`), when it has.
    pub last_run_status: Option<String>,
    /// The number of the last round journaled (a failed or recovering round).
    pub last_round: Option<u64>,
    /// Set while the last record is a real `fired` whose `disarmed` has not been journaled:
    /// the run id. The next writer completes it (see `WatchStore::lock`).
    pub unfinished_disarm: Option<String>,
    /// Records replayed.
    pub records: usize,
}

/// Replays a whole watch journal.
pub fn replay(events: &[WatchEvent]) -> Result<WatchState, JournalError> {
    let mut state = WatchState::default();
    for e in events {
        state.apply(e)?;
    }
    Ok(state)
}

impl WatchState {
    /// Whether an outage is on (some failed round not followed by a recovery).
    pub fn in_outage(&self) -> bool {
        self.detected_at.is_some()
    }

    /// The end of the cooldown that started at the last real firing, when `cooldown_ms`
    /// is the trigger's cooldown; `None` before any firing or when the time does not parse.
    pub fn cooldown_until(&self, cooldown_ms: u64) -> Option<String> {
        let fired = crate::model::time::parse(self.last_fired_at.as_deref()?)?;
        Some(crate::model::time::format(fired + i64::try_from(cooldown_ms).ok()?))
    }

    /// The cooldown's block at `now` (RFC 3339), if it is still on.
    pub fn cooldown_block(&self, cooldown_ms: u64, now: &str) -> Option<Block> {
        let until = self.cooldown_until(cooldown_ms)?;
        let (u, n) = (crate::model::time::parse(&until)?, crate::model::time::parse(now)?);
        (n < u).then(|| Block::Cooldown {
            last_fired_at: self.last_fired_at.clone().unwrap_or_default(),
            until,
        })
    }

    /// Applies the next record, or says why it cannot follow the ones before it.
    pub fn apply(&mut self, e: &WatchEvent) -> Result<(), JournalError> {
        let record = self.records + 1;
        let bad = |reason: String| Err(JournalError::Impossible { record, step: None, reason });
        if self.records == 0 && !matches!(e, WatchEvent::WatchStarted { .. }) {
            return bad(format!("`{}` before the journal's `watch_started`", e.name()));
        }
        if let Some(run) = &self.unfinished_disarm {
            match e {
                WatchEvent::Disarmed { run_id, .. } if run_id == run => {}
                _ => {
                    return bad(format!(
                        "`{}` right after the real firing of run `{run}`, which must be \
                         followed by its `disarmed`",
                        e.name()
                    ))
                }
            }
        }
        match e {
            WatchEvent::WatchStarted { v, .. } => {
                if *v != WATCH_VERSION {
                    return Err(JournalError::Version { found: *v });
                }
            }
            WatchEvent::WatchStopped { .. } => {}
            WatchEvent::Degraded { at, round, .. } => {
                if let Some(d) = &self.detected_at {
                    return bad(format!("`degraded` during the outage detected at {d}"));
                }
                self.detected_at = Some(at.clone());
                self.consecutive = 1;
                self.last_round = Some(*round);
                if self.phase != Phase::Disarmed {
                    self.phase = Phase::Degraded;
                }
            }
            WatchEvent::RoundFailed { round, consecutive, .. } => {
                if !self.in_outage() {
                    return bad("`round_failed` without an outage (`degraded` first)".into());
                }
                if *consecutive != self.consecutive + 1 {
                    return bad(format!(
                        "`round_failed` says {consecutive} consecutive failed rounds after {}",
                        self.consecutive
                    ));
                }
                self.consecutive = *consecutive;
                self.last_round = Some(*round);
            }
            WatchEvent::Recovered { round, .. } => {
                if !self.in_outage() {
                    return bad("`recovered` without an outage".into());
                }
                self.detected_at = None;
                self.consecutive = 0;
                self.awaiting = None;
                self.last_round = Some(*round);
                if self.phase != Phase::Disarmed {
                    self.phase = Phase::Healthy;
                }
            }
            WatchEvent::Blocked { block, detected_at, .. } => {
                self.judgeable("blocked", detected_at).or_else(bad)?;
                let by_person = matches!(block, Block::Denied { .. } | Block::ApprovalTimedOut);
                if by_person && self.awaiting.is_none() {
                    return bad("a denial or approval timeout without a pending approval".into());
                }
                if let Block::Denied { by, .. } = block {
                    if let Err(why) = crate::journal::identity::check_name(by) {
                        return bad(format!("denied by `{by}`: {why}"));
                    }
                }
                self.consecutive = 0;
                self.awaiting = None;
                self.phase = Phase::Degraded;
                self.last_block = Some(block.clone());
            }
            WatchEvent::AwaitingApproval { gate, detected_at, .. } => {
                self.judgeable("awaiting_approval", detected_at).or_else(bad)?;
                if self.awaiting.is_some() {
                    return bad("`awaiting_approval` while an approval is already pending".into());
                }
                if gate.roles.is_empty() {
                    return bad("`awaiting_approval` with a gate that needs no role".into());
                }
                self.awaiting = Some((gate.clone(), Vec::new()));
                self.phase = Phase::AwaitingApproval;
            }
            WatchEvent::Approved { record: a, .. } => {
                let Some((gate, approvals)) = &mut self.awaiting else {
                    return bad("`approved` without a pending approval".into());
                };
                match judge(gate, approvals, &a.by, Some(&a.role)) {
                    Ok(_) => approvals.push(a.clone()),
                    Err(why) => return bad(format!("`approved` by {}: {why}", a.by)),
                }
            }
            WatchEvent::Fired { at, run_id, detected_at, dry_run, .. } => {
                self.judgeable("fired", detected_at).or_else(bad)?;
                if let (false, Some((gate, approvals))) = (*dry_run, &self.awaiting) {
                    let missing = gate.missing(approvals);
                    if !missing.is_empty() {
                        return bad(format!(
                            "`fired` while the approval still misses: {}",
                            missing.join(", ")
                        ));
                    }
                }
                self.consecutive = 0;
                self.awaiting = None;
                self.phase = Phase::Degraded;
                if !*dry_run {
                    if run_id.is_empty() {
                        return bad("a real `fired` without a run id".into());
                    }
                    self.last_fired_at = Some(at.clone());
                    self.last_run = Some(run_id.clone());
                    self.last_run_status = None;
                    self.unfinished_disarm = Some(run_id.clone());
                    self.disarmed_by = Some(run_id.clone());
                    self.phase = Phase::Disarmed;
                }
            }
            WatchEvent::Disarmed { run_id, .. } => {
                if self.unfinished_disarm.as_deref() != Some(run_id) {
                    return bad(format!(
                        "`disarmed` by run `{run_id}` without its real `fired` right before"
                    ));
                }
                self.unfinished_disarm = None;
            }
            WatchEvent::RunEnded { run_id, status, .. } => {
                if self.last_run.as_deref() != Some(run_id) {
                    return bad(format!(
                        "`run_ended` of run `{run_id}`, which the trigger never started"
                    ));
                }
                self.last_run_status = Some(status.clone());
            }
            WatchEvent::Acknowledged { by, .. } => {
                if self.phase != Phase::Disarmed {
                    return bad(format!(
                        "`acknowledged` by {by} while the watcher is not disarmed ({})",
                        self.phase.as_str()
                    ));
                }
                if let Err(why) = crate::journal::identity::check_name(by) {
                    return bad(format!("`acknowledged` by `{by}`: {why}"));
                }
                self.disarmed_by = None;
                self.phase = if self.in_outage() { Phase::Degraded } else { Phase::Healthy };
            }
        }
        self.records = record;
        self.last_event_at = Some(e.at().to_string());
        Ok(())
    }

    /// Whether the trigger may be judged now (block, open a gate, fire): during an outage,
    /// not disarmed, with the outage's own `detected_at`.
    fn judgeable(&self, what: &str, detected_at: &str) -> Result<(), String> {
        if self.phase == Phase::Disarmed {
            return Err(format!("`{what}` while the watcher is disarmed"));
        }
        match &self.detected_at {
            None => Err(format!("`{what}` without an outage")),
            Some(d) if d != detected_at => Err(format!(
                "`{what}` names the outage detected at {detected_at}, but the current one was \
                 detected at {d}"
            )),
            Some(_) => Ok(()),
        }
    }
}
