//! One line of plain words for each watch event and round: what `drbook watch` prints for a
//! transition or a round and what `drbook watch status` lists.
//!
//! Input: a [`WatchEvent`] or a [`RoundLine`]. Output: a line without its time stamp (the
//! caller adds `<at> `); probe details are as journaled (masked, bounded), their line
//! breaks made spaces.

use super::event::{ProbeOutcome, RoundLine, WatchEvent};

/// `primary: <detail>; db: <detail>` for the probes that failed.
pub fn failed_probes(probes: &[ProbeOutcome]) -> String {
    // One line per round or transition: a detail's own line breaks become spaces.
    let flat = |s: &str| s.replace(['\n', '\r'], " ");
    let failed: Vec<String> = probes
        .iter()
        .filter(|p| !p.ok)
        .map(|p| format!("{}: {}", p.name, flat(&p.detail)))
        .collect();
    failed.join("; ")
}

/// `round 7: healthy` or `round 8: failing (1 of 2 probes failed; 1 of 3 consecutive) -
/// primary: status 503`. `failures` is the trigger's threshold.
pub fn round(r: &RoundLine, failures: u32) -> String {
    if r.healthy {
        return format!("round {}: healthy", r.round);
    }
    // Past the threshold (awaiting approval, disarmed, blocked), the count goes on.
    let count = match r.consecutive > failures {
        true => format!("{} consecutive, threshold {failures}", r.consecutive),
        false => format!("{} of {failures} consecutive", r.consecutive),
    };
    let mut s =
        format!("round {}: failing ({} of {} probes failed; {count})", r.round, r.failed, r.of);
    let probes = failed_probes(&r.probes);
    if !probes.is_empty() {
        s.push_str(" - ");
        s.push_str(&probes);
    }
    s
}

impl WatchEvent {
    /// The transition in words, e.g. `degraded (round 3: 2 of 2 probes failed)`.
    pub fn describe(&self) -> String {
        match self {
            WatchEvent::WatchStarted { user, pid, dry_run, .. } => format!(
                "watch started by {user} (pid {pid}){}",
                if *dry_run { ", dry run" } else { "" }
            ),
            WatchEvent::WatchStopped { reason, .. } => format!("watch stopped: {reason}"),
            WatchEvent::Degraded { round, failed, of, probes, .. } => {
                format!(
                    "degraded (round {round}: {failed} of {of} probes failed) - {}",
                    failed_probes(probes)
                )
            }
            WatchEvent::RoundFailed { round, consecutive, failed, of, .. } => format!(
                "round {round} failed ({failed} of {of} probes failed; {consecutive} consecutive)"
            ),
            WatchEvent::Recovered { round, after, .. } => {
                format!("recovered (round {round}, after {after} failed rounds)")
            }
            WatchEvent::Blocked { block, .. } => format!("blocked: {}", block.describe()),
            WatchEvent::AwaitingApproval { gate, .. } => {
                format!("awaiting approval ({})", gate.roles.join(", "))
            }
            WatchEvent::Approved { record, .. } => {
                format!("approved by {} as {}", record.by, record.role)
            }
            WatchEvent::Fired { run_id, dry_run: true, .. } if run_id.is_empty() => {
                "fired (dry run: no run started)".into()
            }
            WatchEvent::Fired { run_id, dry_run: true, .. } => {
                format!("fired (dry run: run {run_id} not started)")
            }
            WatchEvent::Fired { run_id, .. } => format!("fired: run {run_id}"),
            WatchEvent::Disarmed { run_id, .. } => {
                format!("disarmed by run {run_id}: nothing fires until acknowledged")
            }
            WatchEvent::RunEnded { run_id, status, .. } => format!("run {run_id} ended: {status}"),
            WatchEvent::Acknowledged { by, comment: Some(c), .. } => {
                format!("acknowledged by {by}: armed again ({c})")
            }
            WatchEvent::Acknowledged { by, .. } => format!("acknowledged by {by}: armed again"),
        }
    }
}
