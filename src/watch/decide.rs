//! The trigger's rules, pure: what a round means against the watcher's journaled state, and
//! what firing needs once the threshold is reached.
//!
//! Input: the [`WatchState`] replayed from the watch journal, the [`Trigger`], the round's
//! probe outcomes, the time. Output: the round line, the events to journal, and what to do
//! next ([`Next`]). The order when a round reaches the threshold (`failures` failed rounds in
//! a row, a round failing when at least `quorum` probes fail):
//!
//! 1. disarmed (a real firing not yet acknowledged) → nothing fires; the line says so;
//! 2. awaiting approval → nothing new (approvals come from the inbox; see [`ready_to_fire`],
//!    [`timed_out`]);
//! 3. the cooldown since the last real firing is on → `blocked` (cooldown);
//! 4. otherwise [`Next::Judge`]: the caller runs the RPO gate and, under `requires auto`, the
//!    practice rule, and [`judge`] turns their answers into a block, a gate or a firing.
//!
//! A healthy round after failed ones journals `recovered` (cancelling a pending approval).

use super::{Block, ProbeOutcome, RoundLine, WatchEvent, WatchState};
use crate::journal::watch::Phase;
use crate::journal::Gate;
use crate::model::time as clock;
use crate::model::trigger::Requires;
use crate::model::{Approval, Runbook, Trigger};

/// One round's result, as the caller measured it.
#[derive(Clone, Debug)]
pub struct Round {
    pub number: u64,
    /// When the round began (RFC 3339, UTC): an outage's `detected_at` is its first failed
    /// round's.
    pub at: String,
    pub probes: Vec<ProbeOutcome>,
}

/// What the caller does after journaling a round's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    Nothing,
    /// The threshold is reached and nothing holds the trigger back yet: run the RPO gate and
    /// the practice rule, then [`judge`].
    Judge,
}

/// What a round means.
#[derive(Clone, Debug)]
pub struct Decision {
    pub line: RoundLine,
    /// To journal, in order, in one durable write.
    pub events: Vec<WatchEvent>,
    pub next: Next,
    /// Why a failing round that reached the threshold does nothing (shown on its line).
    pub note: Option<String>,
}

/// What [`judge`] concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Blocked(Block),
    /// Open this approval gate.
    Ask(Gate),
    /// Fire now.
    Fire,
}

/// Whether the round failed: at least `quorum` of its probes failed (a trigger without
/// probes never fails).
pub fn round_failed(t: &Trigger, probes: &[ProbeOutcome]) -> (bool, u32) {
    let failed = probes.iter().filter(|p| !p.ok).count() as u32;
    let quorum = t.quorum.clamp(1, (probes.len() as u32).max(1));
    (!probes.is_empty() && failed >= quorum, failed)
}

/// What round `r` means given the state before it.
pub fn decide(s: &WatchState, t: &Trigger, r: &Round, now: &str) -> Decision {
    let (failed_round, failed) = round_failed(t, &r.probes);
    let of = r.probes.len() as u32;
    let line = |healthy: bool, consecutive: u32| RoundLine {
        at: r.at.clone(),
        round: r.number,
        healthy,
        failed,
        of,
        consecutive,
        probes: r.probes.clone(),
    };
    if !failed_round {
        let events = match s.in_outage() {
            true => vec![WatchEvent::Recovered {
                at: r.at.clone(),
                round: r.number,
                after: s.consecutive,
            }],
            false => Vec::new(),
        };
        return Decision { line: line(true, 0), events, next: Next::Nothing, note: None };
    }
    let probes = r.probes.clone();
    let (consecutive, event) = match s.in_outage() {
        false => {
            (1, WatchEvent::Degraded { at: r.at.clone(), round: r.number, failed, of, probes })
        }
        true => {
            let c = s.consecutive + 1;
            let e = WatchEvent::RoundFailed {
                at: r.at.clone(),
                round: r.number,
                consecutive: c,
                failed,
                of,
                probes,
            };
            (c, e)
        }
    };
    let mut d = Decision {
        line: line(false, consecutive),
        events: vec![event],
        next: Next::Nothing,
        note: None,
    };
    if consecutive < t.failures.max(1) {
        return d;
    }
    let detected_at = s.detected_at.clone().unwrap_or_else(|| r.at.clone());
    match s.phase {
        Phase::Disarmed => {
            let by = s.disarmed_by.as_deref().unwrap_or("?");
            d.note = Some(format!(
                "disarmed since run {by}: not firing until a person acknowledges (drbook watch ack)"
            ));
        }
        Phase::AwaitingApproval => d.note = Some("awaiting approval".into()),
        Phase::Healthy | Phase::Degraded => match s.cooldown_block(t.cooldown, now) {
            Some(block) => {
                d.events.push(WatchEvent::Blocked { at: now.to_string(), block, detected_at })
            }
            None => d.next = Next::Judge,
        },
    }
    d
}

/// After [`Next::Judge`]: the RPO gate's answer (`None` without a gate) and, for `requires
/// auto`, the practice rule (asked only when needed).
pub fn judge(
    rb: &Runbook,
    t: &Trigger,
    rpo: Option<Result<u64, Block>>,
    practice: impl FnOnce() -> Result<String, String>,
    now: &str,
) -> Verdict {
    if let Some(Err(block)) = rpo {
        return Verdict::Blocked(block);
    }
    match &t.requires {
        Requires::Approval(a) => Verdict::Ask(approval_gate(rb, a, now)),
        Requires::Auto => match practice() {
            Ok(_) => Verdict::Fire,
            Err(why) => Verdict::Blocked(Block::Practice { why }),
        },
    }
}

/// The role of a bare `requires approval` (no roles listed).
pub use crate::journal::watch::requests::ANY_APPROVER as ANYONE;

/// The gate firing waits at, from the trigger's approval and the runbook's people rules (the
/// watch journal's own rule, which `drbook watch approve` judges by).
pub fn approval_gate(rb: &Runbook, a: &Approval, now: &str) -> Gate {
    crate::journal::watch::requests::trigger_gate(rb, a, now)
}

/// A pending approval whose timeout has passed at `now`: the block to journal.
pub fn timed_out(s: &WatchState, now: &str) -> Option<WatchEvent> {
    let (gate, _) = s.awaiting.as_ref()?;
    let limit = gate.timeout_ms?;
    let asked = clock::parse(&gate.requested_at)?;
    let n = clock::parse(now)?;
    (n >= asked.saturating_add(limit as i64)).then(|| WatchEvent::Blocked {
        at: now.to_string(),
        block: Block::ApprovalTimedOut,
        detected_at: s.detected_at.clone().unwrap_or_default(),
    })
}

/// Whether a pending approval has every role approved (fire, after the RPO gate).
pub fn ready_to_fire(s: &WatchState) -> bool {
    s.phase == Phase::AwaitingApproval
        && s.awaiting.as_ref().is_some_and(|(g, a)| g.missing(a).is_empty())
}

/// The events of a firing, journaled in one durable write before any run starts: `fired`,
/// and for a real firing `disarmed`.
pub fn fire_events(
    s: &WatchState,
    run_id: &str,
    dry_run: bool,
    evidence: Vec<ProbeOutcome>,
    now: &str,
) -> Vec<WatchEvent> {
    let detected_at = s.detected_at.clone().unwrap_or_else(|| now.to_string());
    let mut events = vec![WatchEvent::Fired {
        at: now.to_string(),
        run_id: run_id.to_string(),
        detected_at,
        dry_run,
        evidence,
    }];
    if !dry_run {
        events.push(WatchEvent::Disarmed { at: now.to_string(), run_id: run_id.to_string() });
    }
    events
}

/// The end of the cooldown, when one is on at `now`.
pub fn cooldown_until(s: &WatchState, t: &Trigger, now: &str) -> Option<String> {
    match s.cooldown_block(t.cooldown, now) {
        Some(Block::Cooldown { until, .. }) => Some(until),
        _ => None,
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
