//! How `status` (and the reports) show a tabletop drill: a step up for discussion reads
//! `discuss`, and the team's findings so far are listed — each step discussed, by whom, how
//! long it took to discuss (never compared with its `duration`), ready or the issue found,
//! and the runbook update needed.

use crate::journal::{RunState, StepRecord, StepState};
use crate::model::fmt_duration;

/// The word for a tabletop step waiting for the team (`discuss`); `None` otherwise.
pub fn step_word(s: &RunState, r: &StepRecord) -> Option<&'static str> {
    (s.is_tabletop() && r.state == StepState::Waiting).then_some("discuss")
}

/// The `findings:` section (empty when the run is no tabletop drill or nothing was said).
pub fn findings_text(s: &RunState) -> String {
    if s.findings.is_empty() {
        return String::new();
    }
    let mut out = String::from("findings:\n");
    for f in &s.findings {
        let said = f.issue.as_ref().map_or("ready".to_string(), |i| format!("issue found: {i}"));
        out.push_str(&format!(
            "  {:<28} {said} (by {}, discussed {})\n",
            f.step,
            f.by,
            fmt_duration(f.duration_ms / 1000 * 1000)
        ));
        if let Some(u) = &f.update {
            out.push_str(&format!("  {:<28} runbook update needed: {u}\n", ""));
        }
    }
    out
}

/// Adds a tabletop's `findings` to `status --format json`.
pub fn add_json(v: &mut serde_json::Value, s: &RunState) {
    let Some(obj) = v.as_object_mut() else { return };
    if s.is_tabletop() {
        obj.insert("findings".into(), serde_json::json!(s.findings));
    }
}
