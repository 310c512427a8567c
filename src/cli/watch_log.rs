//! What `drbook watch` prints and posts: one line per round and one per transition, as text or
//! as JSON lines (`--log-format json`: `{"type":"round",...}` and `{"type":"event",...}`), and
//! the JSON body each transition is posted to the trigger's `notify` with.
//!
//! Input: round lines, watch events, the commands a person runs next. Output: lines on stdout
//! (warnings on stderr), and [`notify_body`]. Details were masked when measured; lines go out
//! with control characters escaped. Imports no other command file.

use super::watch_args::LogFormat;
use crate::diag::escape::escape;
use crate::journal::watch::{RoundLine, WatchEvent};
use crate::model::fmt_duration;
use std::io::Write;

/// Where the watcher's lines go, and how.
pub struct Log {
    pub format: LogFormat,
    /// The trigger's `failures`, shown on failing round lines.
    pub failures: u32,
    /// `drbook watch approve FILE` and the like, as a person pastes them (`--as NAME` added).
    pub approve: String,
    pub deny: String,
    pub ack: String,
}

impl Log {
    /// One round: `<at> round <n>: healthy`, or failing with the failed probes' details.
    pub fn round(&self, line: &RoundLine, note: Option<&str>) {
        match self.format {
            LogFormat::Json => {
                let mut v = serde_json::to_value(line).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("type".into(), "round".into());
                    if let Some(n) = note {
                        o.insert("note".into(), n.into());
                    }
                }
                out(&v.to_string());
            }
            LogFormat::Text => out(&round_text(line, self.failures, note)),
        }
    }

    /// One transition (a failed round's own record is shown by its round line in text).
    pub fn event(&self, e: &WatchEvent) {
        match self.format {
            LogFormat::Json => {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("type".into(), "event".into());
                }
                out(&v.to_string());
            }
            LogFormat::Text => {
                if let Some(text) = self.describe(e) {
                    out(&format!("{} {text}", e.at()));
                }
            }
        }
    }

    /// A message that is not a journaled transition (an answered request, a run's outcome).
    pub fn info(&self, at: &str, text: &str) {
        match self.format {
            LogFormat::Json => {
                let v = serde_json::json!({ "type": "info", "at": at, "message": text });
                out(&v.to_string());
            }
            LogFormat::Text => out(&format!("{at} {text}")),
        }
    }

    /// A warning (a post that failed): on stderr, never stopping the watcher.
    pub fn warn(&self, at: &str, text: &str) {
        let _ = writeln!(std::io::stderr(), "{at} warning: {}", escape(text));
    }

    /// The text of a transition; `None` for a later failed round (its round line says it).
    pub fn describe(&self, e: &WatchEvent) -> Option<String> {
        Some(match e {
            WatchEvent::WatchStarted { runbook, dry_run, pid, .. } => {
                let dry = if *dry_run { " (dry run: nothing fires)" } else { "" };
                format!("watching {runbook} (pid {pid}){dry}")
            }
            WatchEvent::WatchStopped { reason, .. } => format!("stopped: {reason}"),
            WatchEvent::Degraded { failed, of, .. } => {
                format!(
                    "degraded: {failed} of {of} probes failed (1 of {} consecutive)",
                    self.failures
                )
            }
            WatchEvent::RoundFailed { .. } => return None,
            WatchEvent::Recovered { after, .. } => {
                format!("recovered after {after} failed round(s)")
            }
            WatchEvent::Blocked { block, detected_at, .. } => {
                format!("blocked: {} (outage detected at {detected_at})", block.describe())
            }
            WatchEvent::AwaitingApproval { gate, .. } => {
                let timeout = gate
                    .timeout_ms
                    .map_or(String::new(), |t| format!(" within {}", fmt_duration(t)));
                format!(
                    "awaiting approval ({}){timeout}: {} (or {})",
                    gate.roles.join(", "),
                    self.approve,
                    self.deny
                )
            }
            WatchEvent::Approved { record, .. } => {
                format!("approved by {} as {}", record.by, record.role)
            }
            WatchEvent::Fired { run_id, dry_run: true, .. } if run_id.is_empty() => {
                "fired (dry run): no run was started".to_string()
            }
            WatchEvent::Fired { run_id, dry_run: true, .. } => {
                format!("fired (dry run): run {run_id} was not started")
            }
            WatchEvent::Fired { run_id, detected_at, .. } => {
                format!("fired: run {run_id} (its clock starts at {detected_at})")
            }
            WatchEvent::Disarmed { run_id, .. } => {
                format!("disarmed by run {run_id}: nothing fires until {}", self.ack)
            }
            WatchEvent::RunEnded { run_id, status, .. } => {
                format!("run {run_id} ended: {status}; still disarmed")
            }
            WatchEvent::Acknowledged { by, .. } => format!("acknowledged by {by}: armed again"),
        })
    }
}

/// `<at> round <n>: healthy`, or `<at> round <n>: failing (<k> of <n> probes failed; <c> of
/// <failures> consecutive) - NAME: DETAIL; ...`, with `note` after it.
pub fn round_text(line: &RoundLine, failures: u32, note: Option<&str>) -> String {
    let mut text =
        format!("{} {}", line.at, crate::journal::watch::describe::round(line, failures));
    if let Some(n) = note {
        text.push_str(&format!(" [{n}]"));
    }
    text
}

/// The JSON body a transition is posted with: `runbook`, `event`, `at`, `detail`, and `text`
/// (a one-line summary, so Slack-compatible hooks show it).
pub fn notify_body(runbook: &str, e: &WatchEvent, detail: &str) -> serde_json::Value {
    serde_json::json!({
        "runbook": runbook,
        "event": e.name(),
        "at": e.at(),
        "detail": detail,
        "text": format!("drbook watch {runbook}: {detail}"),
    })
}

fn out(line: &str) {
    let _ = writeln!(std::io::stdout(), "{}", escape(line));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::watch::ProbeOutcome;

    #[test]
    fn round_lines_name_the_failed_probes_and_the_count() {
        let p = |name: &str, ok: bool, detail: &str| ProbeOutcome {
            name: name.into(),
            ok,
            detail: detail.into(),
            ms: 3,
        };
        let line = RoundLine {
            at: "2026-12-02T10:00:00Z".into(),
            round: 4,
            healthy: false,
            failed: 2,
            of: 3,
            consecutive: 2,
            probes: vec![
                p("primary", false, "HTTP 503"),
                p("db", false, "refused"),
                p("x", true, "ok"),
            ],
        };
        assert_eq!(
            round_text(&line, 3, None),
            "2026-12-02T10:00:00Z round 4: failing (2 of 3 probes failed; 2 of 3 consecutive) - primary: HTTP 503; db: refused"
        );
        let ok = RoundLine { healthy: true, failed: 0, consecutive: 0, ..line };
        assert_eq!(round_text(&ok, 3, Some("n")), "2026-12-02T10:00:00Z round 4: healthy [n]");
    }
}
