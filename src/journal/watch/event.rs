//! The watcher's events: what `drbook watch` journals under `<state dir>/watch/<key>/journal`
//! (one framed record each, see `frame.rs`), and the round lines it keeps in `rounds.json`.
//!
//! Input: the watcher loop (`cli/watch.rs`) and the admin commands (`drbook watch
//! ack|approve|deny`). Output: serde data, `#[serde(tag = "event")]`, every event with its
//! time `at` (RFC 3339, UTC). The format is versioned by [`WatchEvent::WatchStarted`]'s `v`
//! ([`WATCH_VERSION`]); a journal of another version is refused, never guessed at.

use crate::journal::{ApprovalRecord, Gate};
use serde::{Deserialize, Serialize};

/// The version of the watch journal format this drbook writes and reads.
pub const WATCH_VERSION: u32 = 1;

/// What one probe said in one round. `detail` is masked (no secret values) and bounded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeOutcome {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    pub ms: u64,
}

/// Why a trigger that reached its threshold did not fire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// The last real failover was less than `cooldown` ago.
    Cooldown { last_fired_at: String, until: String },
    /// The RPO gate step measured a lag over the runbook's `rpo`.
    RpoGate { step: String, lag_ms: u64, rpo_ms: u64 },
    /// The RPO gate could not measure the lag: the trigger refuses (fail safe).
    RpoGateFailed { step: String, error: String },
    /// `requires auto` without a recent successful practice drill.
    Practice { why: String },
    /// A person denied the pending approval.
    Denied { by: String, reason: Option<String> },
    /// Nobody approved within the gate's timeout.
    ApprovalTimedOut,
}

impl Block {
    /// A short lowercase phrase for terminals and `status`.
    pub fn describe(&self) -> String {
        match self {
            Block::Cooldown { last_fired_at, until } => {
                format!("cooldown until {until} (last failover at {last_fired_at})")
            }
            Block::RpoGate { step, lag_ms, rpo_ms } => format!(
                "rpo gate: `{step}` measured a lag of {} over the rpo of {}",
                crate::model::fmt_duration(*lag_ms),
                crate::model::fmt_duration(*rpo_ms)
            ),
            Block::RpoGateFailed { step, error } => {
                format!("rpo gate: `{step}` could not measure the lag ({error})")
            }
            Block::Practice { why } => format!("practice rule: {why}"),
            Block::Denied { by, reason: Some(r) } => format!("denied by {by}: {r}"),
            Block::Denied { by, reason: None } => format!("denied by {by}"),
            Block::ApprovalTimedOut => "approval timed out".into(),
        }
    }
}

/// One record of the watch journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    /// A watcher took the lock and began watching. `v` is the journal format version.
    WatchStarted {
        v: u32,
        at: String,
        runbook: String,
        path: String,
        content_hash: String,
        pid: u32,
        user: String,
        dry_run: bool,
    },
    /// A watcher stopped cleanly (a signal, `--once`, an error it reported).
    WatchStopped { at: String, reason: String },
    /// The first failed round of an outage; `at` is when that round began (the outage's
    /// `detected_at`).
    Degraded { at: String, round: u64, failed: u32, of: u32, probes: Vec<ProbeOutcome> },
    /// A later failed round; `consecutive` counts failed rounds since the outage began or
    /// since the last firing or block.
    RoundFailed {
        at: String,
        round: u64,
        consecutive: u32,
        failed: u32,
        of: u32,
        probes: Vec<ProbeOutcome>,
    },
    /// A healthy round after failed ones; `after` failed rounds in a row came before it.
    Recovered { at: String, round: u64, after: u32 },
    /// The threshold was reached and the trigger refused to fire.
    Blocked { at: String, block: Block, detected_at: String },
    /// The threshold was reached and firing waits for people's approval at `gate`.
    AwaitingApproval { at: String, gate: Gate, detected_at: String },
    /// One role of the pending gate approved.
    Approved { at: String, record: ApprovalRecord },
    /// The trigger fired: run `run_id` (none is started when `dry_run`).
    Fired {
        at: String,
        run_id: String,
        detected_at: String,
        dry_run: bool,
        evidence: Vec<ProbeOutcome>,
    },
    /// After a real firing (in the same durable batch): nothing fires until acknowledged.
    Disarmed { at: String, run_id: String },
    /// The run the trigger started ended with `status`.
    RunEnded { at: String, run_id: String, status: String },
    /// A person re-armed the disarmed watcher.
    Acknowledged { at: String, by: String, comment: Option<String> },
}

impl WatchEvent {
    /// The record's `event` tag, as journaled.
    pub fn name(&self) -> &'static str {
        match self {
            WatchEvent::WatchStarted { .. } => "watch_started",
            WatchEvent::WatchStopped { .. } => "watch_stopped",
            WatchEvent::Degraded { .. } => "degraded",
            WatchEvent::RoundFailed { .. } => "round_failed",
            WatchEvent::Recovered { .. } => "recovered",
            WatchEvent::Blocked { .. } => "blocked",
            WatchEvent::AwaitingApproval { .. } => "awaiting_approval",
            WatchEvent::Approved { .. } => "approved",
            WatchEvent::Fired { .. } => "fired",
            WatchEvent::Disarmed { .. } => "disarmed",
            WatchEvent::RunEnded { .. } => "run_ended",
            WatchEvent::Acknowledged { .. } => "acknowledged",
        }
    }

    /// When it happened (RFC 3339, UTC).
    pub fn at(&self) -> &str {
        match self {
            WatchEvent::WatchStarted { at, .. }
            | WatchEvent::WatchStopped { at, .. }
            | WatchEvent::Degraded { at, .. }
            | WatchEvent::RoundFailed { at, .. }
            | WatchEvent::Recovered { at, .. }
            | WatchEvent::Blocked { at, .. }
            | WatchEvent::AwaitingApproval { at, .. }
            | WatchEvent::Approved { at, .. }
            | WatchEvent::Fired { at, .. }
            | WatchEvent::Disarmed { at, .. }
            | WatchEvent::RunEnded { at, .. }
            | WatchEvent::Acknowledged { at, .. } => at,
        }
    }
}

/// One round as `rounds.json` keeps it (the last [`ROUNDS_KEPT`], for display only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundLine {
    pub at: String,
    pub round: u64,
    pub healthy: bool,
    pub failed: u32,
    pub of: u32,
    pub consecutive: u32,
    pub probes: Vec<ProbeOutcome>,
}

/// How many rounds `rounds.json` keeps.
pub const ROUNDS_KEPT: usize = 20;
