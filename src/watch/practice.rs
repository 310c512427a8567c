//! The practice-run rule of `requires auto`: a trigger fires without a person only when a
//! successful `full` or `partial` drill of this runbook, of the file's current content (the
//! SHA-256 of its bytes, as `run_started.content_hash`), ended within the runbook's schedule
//! for that drill type (`drills { full every 90d }`). A type the runbook does not schedule
//! never counts.
//!
//! Input: the runbook, its current content hash, the run summaries of the state dir
//! (`Store::summaries`), the time. Output: the run id of the drill that allows firing, or why
//! none does (for [`super::Block::Practice`]). Pure.

use crate::journal::summary::Summary;
use crate::model::time as clock;
use crate::model::{fmt_duration, DrillKind, Runbook};

/// The drill that allows firing, or why there is none.
pub fn practice(
    rb: &Runbook,
    content_hash: &str,
    runs: &[Summary],
    now_ms: i64,
) -> Result<String, String> {
    let kinds = [DrillKind::Full, DrillKind::Partial];
    let scheduled: Vec<_> = rb.drills.iter().filter(|d| kinds.contains(&d.kind)).collect();
    if scheduled.is_empty() {
        return Err("`requires auto` needs a scheduled full or partial drill (`drills { full every 90d }`), and this runbook schedules none".into());
    }
    let mut other_content = None;
    let mut too_old = None;
    for s in runs.iter().rev() {
        let Some(cadence) = scheduled.iter().find(|d| d.kind.as_str() == s.kind) else {
            continue;
        };
        if s.runbook != rb.name || !s.success || !s.is_over() {
            continue;
        }
        let ended = s.finished_at.as_deref().unwrap_or(&s.started_at);
        let Some(ended_ms) = clock::parse(ended) else { continue };
        if s.content_hash != content_hash {
            other_content.get_or_insert_with(|| s.run_id.clone());
            continue;
        }
        if now_ms.saturating_sub(ended_ms) > cadence.every as i64 {
            too_old.get_or_insert_with(|| (s.run_id.clone(), ended.to_string()));
            continue;
        }
        return Ok(s.run_id.clone());
    }
    let schedule: Vec<String> =
        scheduled.iter().map(|d| format!("{} every {}", d.kind, fmt_duration(d.every))).collect();
    let mut why = format!(
        "no successful full or partial drill of this content within its schedule ({})",
        schedule.join(", ")
    );
    if let Some((id, ended)) = too_old {
        why.push_str(&format!("; the last one, `{id}`, ended {ended}"));
    } else if let Some(id) = other_content {
        why.push_str(&format!("; `{id}` drilled another version of the file"));
    }
    why.push_str(&format!("; run `drbook drill FILE --type {}`", scheduled[0].kind));
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RunStatus;
    use crate::model::DrillCadence;

    const DAY: i64 = 86_400_000;

    fn rb(drills: &[(DrillKind, i64)]) -> Runbook {
        let mut rb = crate::model::tests_support::runbook_with_durations(&[], &[]);
        rb.name = "db".into();
        rb.drills = drills
            .iter()
            .map(|&(kind, days)| DrillCadence { kind, every: (days * DAY) as u64 })
            .collect();
        rb
    }

    fn drill(id: &str, kind: &str, ended_days_ago: i64, success: bool, hash: &str) -> Summary {
        let now = clock::parse("2026-12-01T00:00:00Z").unwrap_or(0);
        let ended = clock::format(now - ended_days_ago * DAY);
        Summary {
            v: 1,
            run_id: id.into(),
            runbook: "db".into(),
            file: "db.drbook".into(),
            path: "/db.drbook".into(),
            content_hash: hash.into(),
            kind: kind.into(),
            targets: Vec::new(),
            started_at: ended.clone(),
            started_by: "alice".into(),
            status: if success { RunStatus::Succeeded } else { RunStatus::Failed },
            finished_at: Some(ended),
            rto_budget_seconds: None,
            achieved_rto_seconds: None,
            stopped_after_seconds: None,
            rto_met: None,
            rpo_objective_seconds: None,
            achieved_rpo_seconds: None,
            rpo_met: None,
            issues_found: 0,
            issues: Vec::new(),
            success,
            records: 1,
            journal_bytes: 1,
        }
    }

    fn now() -> i64 {
        clock::parse("2026-12-01T00:00:00Z").unwrap_or(0)
    }

    #[test]
    fn a_recent_successful_drill_of_this_content_allows_firing() {
        let rb = rb(&[(DrillKind::Full, 90)]);
        let runs = [drill("d1", "full", 10, true, "h")];
        assert_eq!(practice(&rb, "h", &runs, now()), Ok("d1".into()));
        let rb = rb_partial();
        assert_eq!(
            practice(&rb, "h", &[drill("p", "partial", 3, true, "h")], now()),
            Ok("p".into())
        );
    }

    fn rb_none() -> Runbook {
        rb(&[(DrillKind::Component, 7)])
    }

    fn rb_partial() -> Runbook {
        rb(&[(DrillKind::Full, 90), (DrillKind::Partial, 30)])
    }

    #[test]
    fn old_failed_other_content_and_unscheduled_drills_do_not_count() {
        let rb = rb(&[(DrillKind::Full, 90)]);
        let why = practice(&rb, "h", &[drill("d1", "full", 100, true, "h")], now())
            .err()
            .unwrap_or_default();
        assert!(why.contains("the last one, `d1`"), "{why}");
        assert!(why.contains("full every 90d"), "{why}");
        assert!(why.contains("drbook drill FILE --type full"), "{why}");
        let why = practice(&rb, "h", &[drill("d2", "full", 1, true, "old")], now())
            .err()
            .unwrap_or_default();
        assert!(why.contains("another version"), "{why}");
        assert!(practice(&rb, "h", &[drill("d3", "full", 1, false, "h")], now()).is_err());
        // Partial drills are not scheduled here; component drills never count.
        assert!(practice(&rb, "h", &[drill("d4", "partial", 1, true, "h")], now()).is_err());
        assert!(practice(&rb, "h", &[drill("d5", "component", 1, true, "h")], now()).is_err());
        let none = practice(&rb_none(), "h", &[], now()).err().unwrap_or_default();
        assert!(none.contains("schedules none"), "{none}");
    }
}
