//! A drill's result ([`crate::journal::drill::drill_result`]) as people read it: the "Drill
//! result" block of the text and markdown reports, and the Slack-compatible summary the drill
//! notification posts (after the DR planning guide's `DR Drill Complete: SUCCESS / Type /
//! Duration / RTO ... PASS / RPO ... PASS / Issues found: N`). The JSON report carries the
//! result itself, under `drill`.

use super::achieved::d;
use crate::journal::drill::DrillResult;
use crate::model::time as clock;

/// `SUCCESS` or `FAILED` (a result not final yet: the run's status).
pub fn word(r: &DrillResult) -> String {
    if r.status.is_unfinished() {
        format!("not over ({})", r.status)
    } else if r.success {
        "SUCCESS".into()
    } else {
        "FAILED".into()
    }
}

/// `14m (target: 1h) PASS`, `not achieved (target: 1h) FAIL`, `not measured`.
fn against(achieved: Option<f64>, target: Option<f64>, met: Option<bool>) -> String {
    let target = target.map_or(String::new(), |t| format!(" (target: {})", d(Some(t))));
    let verdict = match met {
        Some(true) => " PASS",
        Some(false) => " FAIL",
        None => "",
    };
    match (achieved, met) {
        (Some(a), _) => format!("{}{target}{verdict}", d(Some(a))),
        (None, Some(false)) => format!("not achieved{target}{verdict}"),
        (None, _) => "not measured".into(),
    }
}

pub fn rto(r: &DrillResult) -> String {
    against(r.achieved_rto_seconds, r.rto_seconds, r.rto_met)
}

pub fn rpo(r: &DrillResult) -> String {
    against(r.achieved_rpo_seconds, r.rpo_seconds, r.rpo_met)
}

/// From the drill's start to its end (or `-` while it goes on).
fn duration(r: &DrillResult) -> String {
    let ms = r.finished_at.as_deref().and_then(clock::parse).zip(clock::parse(&r.started_at));
    let ms = ms.and_then(|(end, start)| u64::try_from(end - start).ok());
    d(ms.map(super::achieved::secs))
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Why a drill whose run succeeded still FAILED: what the result holds against it.
pub fn why_failed(r: &DrillResult) -> String {
    let mut why = Vec::new();
    if r.steps_tested.is_empty() {
        why.push("it tested no step (a component drill runs only `safe` steps)".to_string());
    }
    if !r.issues_found.is_empty() {
        why.push(format!("{} issue(s) found", r.issues_found.len()));
    }
    if r.rto_met == Some(false) {
        why.push("the RTO was missed".into());
    }
    if r.rpo_met == Some(false) {
        why.push("the RPO was missed".into());
    }
    if why.is_empty() {
        why.push(format!("the run {}", r.status));
    }
    why.join(", ")
}

/// The text report's block.
pub fn text(r: &DrillResult) -> String {
    let mut out = format!("drill result ({} drill): {}\n", r.drill_type, word(r));
    if !r.targets.is_empty() {
        out.push_str(&format!("  targets: {}\n", r.targets.join(", ")));
    }
    out.push_str(&format!("  RTO: {}\n  RPO: {}\n", rto(r), rpo(r)));
    out.push_str(&format!(
        "  steps tested: {} ({})\n",
        r.steps_tested.len(),
        list(&r.steps_tested)
    ));
    out.push_str(&format!("  issues found: {}\n", r.issues_found.len()));
    for i in &r.issues_found {
        out.push_str(&format!("    {:<26} {}\n", i.step, i.message));
    }
    out.push_str(&format!("  runbook updates needed: {}\n", r.runbook_updates_needed.len()));
    for u in &r.runbook_updates_needed {
        out.push_str(&format!("    {:<26} {}\n", u.step, u.message));
    }
    out
}

/// The markdown report's section.
pub fn markdown(r: &DrillResult) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "\n## Drill result\n\n**{}** — {} drill\n\n| | |\n|---|---|\n",
        word(r),
        r.drill_type
    );
    if !r.targets.is_empty() {
        out.push_str(&format!("| targets | {} |\n", cell(&r.targets.join(", "))));
    }
    out.push_str(&format!("| RTO | {} |\n| RPO | {} |\n", rto(r), rpo(r)));
    out.push_str(&format!(
        "| steps tested | {} ({}) |\n| issues found | {} |\n| runbook updates needed | {} |\n",
        r.steps_tested.len(),
        cell(&list(&r.steps_tested)),
        r.issues_found.len(),
        r.runbook_updates_needed.len()
    ));
    if !r.issues_found.is_empty() || !r.runbook_updates_needed.is_empty() {
        out.push_str("\n| step | issue or update needed |\n|---|---|\n");
        for i in &r.issues_found {
            out.push_str(&format!("| `{}` | issue: {} |\n", i.step, cell(&i.message)));
        }
        for u in &r.runbook_updates_needed {
            out.push_str(&format!("| `{}` | update: {} |\n", u.step, cell(&u.message)));
        }
    }
    out
}

/// What the drill notification posts.
pub fn summary(r: &DrillResult, runbook: &str) -> String {
    let mut out = format!("DR Drill Complete: {}\nRunbook: {runbook}\n", word(r));
    out.push_str(&format!("Type: {}\n", r.drill_type));
    if !r.targets.is_empty() {
        out.push_str(&format!("Targets: {}\n", r.targets.join(", ")));
    }
    out.push_str(&format!("Duration: {}\n\n", duration(r)));
    out.push_str(&format!("RTO: {}\nRPO: {}\n\n", rto(r), rpo(r)));
    out.push_str(&format!(
        "Steps tested: {} ({})\nIssues found: {}\n",
        r.steps_tested.len(),
        list(&r.steps_tested),
        r.issues_found.len()
    ));
    if !r.runbook_updates_needed.is_empty() {
        out.push_str(&format!("Runbook updates needed: {}\n", r.runbook_updates_needed.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::drill::DrillIssue;
    use crate::journal::RunStatus;
    use crate::model::DrillKind;

    fn result() -> DrillResult {
        DrillResult {
            drill_type: DrillKind::Partial,
            targets: vec!["promote".into()],
            status: RunStatus::Succeeded,
            started_at: "2026-11-23T22:00:00.000Z".into(),
            finished_at: Some("2026-11-23T22:14:00.000Z".into()),
            rto_seconds: Some(3600.0),
            achieved_rto_seconds: Some(840.0),
            rto_met: Some(true),
            rpo_seconds: Some(300.0),
            achieved_rpo_seconds: None,
            rpo_met: None,
            steps_tested: vec!["fence".into(), "promote".into()],
            issues_found: Vec::new(),
            runbook_updates_needed: Vec::new(),
            success: true,
            runbook_hash: "ab".repeat(32),
        }
    }

    #[test]
    fn the_summary_reads_like_the_guide() {
        let s = summary(&result(), "db");
        assert!(s.starts_with("DR Drill Complete: SUCCESS\n"), "{s}");
        assert!(s.contains("Type: partial\nTargets: promote\nDuration: 14m\n"), "{s}");
        assert!(s.contains("RTO: 14m (target: 1h) PASS\nRPO: not measured\n"), "{s}");
        assert!(s.contains("Steps tested: 2 (fence, promote)\nIssues found: 0\n"), "{s}");
    }

    #[test]
    fn a_failed_drill_says_why() {
        let mut r = result();
        r.success = false;
        r.rto_met = Some(false);
        r.achieved_rto_seconds = None;
        r.issues_found.push(DrillIssue { step: "promote".into(), message: "exit 1".into() });
        assert_eq!(word(&r), "FAILED");
        assert_eq!(rto(&r), "not achieved (target: 1h) FAIL");
        assert_eq!(why_failed(&r), "1 issue(s) found, the RTO was missed");
        assert!(text(&r).contains("    promote                    exit 1\n"), "{}", text(&r));
    }
}
