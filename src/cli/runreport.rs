//! The final report of a run (`--report FILE`, `.json` or `.md`, and the summary printed at
//! the end): each step's expected and actual duration, attempts, status and error; the
//! achieved RTO against `rto` (the time to recovery: a run that did not recover says when it
//! stopped) and the achieved RPO against `rpo` with each measurement, with PASS/FAIL; and,
//! when the runbook declares `objectives { }`, each service's achieved time against its own
//! `rto` (`crate::journal::services`); and, once a run rolls back, the rollback as its own phase (start, duration, outcome, why) and
//! each step's rollback (undone, undo failed, not undone), in the order they happened. What
//! counts as achieved is [`crate::journal::results`]'s, for every format.

use super::achieved::{d, results_now, rollback_phase_line, rpo_lines, rto_line, secs, verdict};
use super::achieved::{ResultsReport, RollbackPhaseReport};
use crate::journal::results::{Forward, Results};
use crate::journal::{AuditEntry, RunState, RunStatus, StepState};
use crate::model::time as clock;
use crate::model::Runbook;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Serialize)]
pub struct Report {
    pub run_id: String,
    pub runbook: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The RTO and the RPO.
    #[serde(flatten)]
    pub results: ResultsReport,
    /// Every approval given, in the order of the steps.
    pub approvals: Vec<ApprovalReport>,
    pub steps: Vec<StepReport>,
    /// The rollback phase: its start, duration and outcome (absent when the run did not roll
    /// back).
    pub rollback: Option<RollbackPhaseReport>,
    /// Why the run rolled back (absent when it did not).
    pub rollback_reason: Option<String>,
    /// Each step that succeeded, once the run rolls back.
    pub rollbacks: Vec<UndoReport>,
    /// What people did (approvals, denials, decisions, re-opened gates) and each turn to
    /// rolling back, in journal order.
    pub audit: Vec<AuditEntry>,
    /// The journal's chain head (`sha256:…`) when the report was made; absent for a journal
    /// that is not chained. `drbook verify RUN --head` checks a journal against it.
    pub journal_head: Option<String>,
    /// Each service of `objectives { }` (absent when the runbook declares none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<super::achieved::ServiceReport>,
    /// A drill's result (`journal::drill::drill_result`); absent for a plain run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drill: Option<crate::journal::drill::DrillResult>,
    /// Set when `drbook watch` started the run: its trigger fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<crate::journal::TriggerInfo>,
    /// What the fields above were taken from, for the text renderers.
    #[serde(skip)]
    pub got: Results,
    #[serde(skip)]
    pub got_services: Vec<crate::journal::services::ServiceResult>,
    /// Whether the text renderers show the generic RTO and RPO lines (see [`measures`]).
    #[serde(skip)]
    pub shows_rto: bool,
    #[serde(skip)]
    pub shows_rpo: bool,
}

#[derive(Serialize)]
pub struct UndoReport {
    pub step: String,
    /// `undone`, `undo_failed`, `not_undone`, or while unfinished `undoing`.
    pub status: String,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    /// Why it was not undone.
    pub reason: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Serialize)]
pub struct ApprovalReport {
    pub step: String,
    pub role: String,
    pub by: String,
    pub at: String,
    /// `prompt`, `cli` or `flag`.
    pub how: String,
    /// How the approver was proved: `typed` or `signed: SHA256:...` (the key's fingerprint).
    pub proof: String,
    pub comment: Option<String>,
    /// From the gate's request to this approval.
    pub wait_seconds: Option<f64>,
}

#[derive(Serialize)]
pub struct StepReport {
    pub id: String,
    pub status: String,
    pub attempts: u32,
    pub expected_seconds: Option<f64>,
    pub actual_seconds: Option<f64>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Time spent waiting at the approval gate, apart from the step's own duration.
    pub approval_wait_seconds: Option<f64>,
    /// Why the step failed (its latest error: a denial, a check, an exit code), secrets
    /// masked.
    pub error: Option<String>,
    /// What it captured, secrets masked: also the captures of an attempt whose check failed.
    pub captures: BTreeMap<String, String>,
    /// Why it was skipped (`drill`, `drill: WHY`, ``when` is false``).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// A tabletop drill's word for the step in text and markdown (`discuss`, `ready`,
    /// `issue found`); JSON keeps `status`.
    #[serde(skip)]
    pub discussed: Option<&'static str>,
}

impl StepReport {
    /// The status as the text and markdown reports show it: `skipped (drill)` for a step
    /// outside a drill.
    fn shown_status(&self) -> String {
        match (&self.skip_reason, self.discussed) {
            (_, Some(word)) => word.into(),
            (Some(r), _) if crate::journal::drill::skipped_by_drill(r) => "skipped (drill)".into(),
            _ => self.status.clone(),
        }
    }
}

/// Milliseconds from `from` to `to` (RFC 3339), when both parse and `to` is not earlier.
fn between(from: &str, to: &str) -> Option<u64> {
    u64::try_from(clock::parse(to)? - clock::parse(from)?).ok()
}

fn approvals(s: &RunState) -> Vec<ApprovalReport> {
    let mut out = Vec::new();
    for (id, r) in &s.steps {
        let requested = r.gate.as_ref().map(|g| g.requested_at.as_str());
        for a in &r.approvals {
            out.push(ApprovalReport {
                step: id.clone(),
                role: a.role.clone(),
                by: a.by.clone(),
                at: a.at.clone(),
                how: a.how.as_str().to_string(),
                proof: a.proof(),
                comment: a.comment.clone(),
                wait_seconds: requested.and_then(|q| between(q, &a.at)).map(secs),
            });
        }
    }
    out
}

/// How long a step waited at its gate: until its last approval, its denial or timeout, or
/// (still waiting) now.
fn gate_wait_ms(r: &crate::journal::StepRecord) -> Option<u64> {
    let g = r.gate.as_ref()?;
    let end = if r.gate_satisfied() {
        r.approvals.iter().map(|a| a.at.clone()).max()
    } else if r.state == crate::journal::StepState::Waiting {
        Some(clock::now())
    } else {
        r.finished_at.clone()
    };
    between(&g.requested_at, &end?)
}

pub fn build(s: &RunState, rb: &Runbook) -> Report {
    build_with(s, Some(rb))
}

/// The report, with each step's expected duration (and which steps are finally steps) from
/// the runbook `rb`; `None` when the runbook cannot be read any more (`drbook report` of an old
/// run): no expected durations then.
pub fn build_with(s: &RunState, rb: Option<&Runbook>) -> Report {
    let expected = |id: &str| {
        rb.and_then(|rb| rb.steps.iter().find(|st| st.id == id)).and_then(|st| st.duration)
    };
    let got = results_now(s);
    // A component or tabletop drill restored nothing: no service is judged.
    let got_services = super::achieved::services_of(s, rb.filter(|_| measures(s.drill.as_ref()).0));
    let word = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Report {
        run_id: s.run_id.clone(),
        runbook: s.runbook.clone(),
        status: word(serde_json::to_value(s.status).unwrap_or_default()),
        started_at: s.started_at.clone(),
        finished_at: s.finished_at.clone(),
        results: ResultsReport::new(&got),
        services: super::achieved::service_reports(&got_services),
        got_services,
        approvals: approvals(s),
        steps: s
            .steps
            .iter()
            .map(|(id, r)| StepReport {
                id: id.clone(),
                status: word(serde_json::to_value(r.state).unwrap_or_default()),
                attempts: r.attempts,
                expected_seconds: expected(id).map(secs),
                actual_seconds: r.duration_ms.map(secs),
                started_at: r.started_at.clone(),
                finished_at: r.finished_at.clone(),
                approval_wait_seconds: gate_wait_ms(r).map(secs),
                error: r
                    .error
                    .clone()
                    .filter(|_| !matches!(r.state, StepState::Succeeded | StepState::Skipped)),
                captures: r.captures.clone(),
                skip_reason: r.skipped_reason.clone().filter(|_| r.state == StepState::Skipped),
                discussed: tabletop_word(s, id, r),
            })
            .collect(),
        rollback: got.rollback.clone().map(|p| RollbackPhaseReport {
            started_at: p.started_at,
            finished_at: p.finished_at,
            duration_seconds: secs(p.duration_ms),
            outcome: p.outcome.as_str().to_string(),
            reason: p.reason,
            by: p.by,
        }),
        rollback_reason: s.rollback.as_ref().map(|r| r.reason.clone()),
        rollbacks: rollbacks(s, rb),
        audit: s.audit.clone(),
        journal_head: None,
        drill: crate::journal::drill::drill_result(s, clock::now_ms()),
        trigger: s.trigger.clone(),
        shows_rto: measures(s.drill.as_ref()).0,
        shows_rpo: measures(s.drill.as_ref()).1,
        got,
    }
}

/// A tabletop drill's word for a step: `discuss` while the team is asked, then what it said.
fn tabletop_word(s: &RunState, id: &str, r: &crate::journal::StepRecord) -> Option<&'static str> {
    if !s.is_tabletop() {
        return None;
    }
    match s.findings.iter().rev().find(|f| f.step == id) {
        Some(f) if f.issue.is_some() => Some("issue found"),
        Some(_) => Some("ready"),
        None => (r.state == StepState::Waiting).then_some("discuss"),
    }
}

/// Whether the generic RTO and RPO lines describe this run: not for a tabletop drill (it ran
/// nothing), and not the RTO of a component drill (it recovered nothing); the drill result
/// says what such a drill measured.
pub fn measures(drill: Option<&crate::journal::DrillInfo>) -> (bool, bool) {
    use crate::model::DrillKind;
    match drill.map(|d| d.kind) {
        Some(DrillKind::Tabletop) => (false, false),
        Some(DrillKind::Component) => (false, true),
        _ => (true, true),
    }
}

/// The rollbacks in the order they began (those that never began last): a step still
/// `succeeded` in a finished rollback was kept from its undo by a dependent's failure.
fn rollbacks(s: &RunState, rb: Option<&Runbook>) -> Vec<UndoReport> {
    if s.rollback.is_none() {
        return Vec::new();
    }
    let over = matches!(s.status, RunStatus::RolledBack | RunStatus::RollbackFailed);
    let finally =
        |id: &str| rb.is_some_and(|rb| rb.steps.iter().any(|st| st.finally && st.id == id));
    let mut out: Vec<UndoReport> = s
        .steps
        .iter()
        .filter(|(id, _)| !finally(id))
        .filter_map(|(id, r)| {
            let (status, reason) = match r.state {
                StepState::Undone => ("undone", None),
                StepState::UndoFailed => ("undo_failed", None),
                StepState::NotUndone => {
                    ("not_undone", r.undo.as_ref().and_then(|u| u.reason.clone()))
                }
                StepState::Undoing => ("undoing", None),
                StepState::Succeeded if over => {
                    ("not_undone", Some("a rollback it waits for failed".to_string()))
                }
                _ => return None,
            };
            let u = r.undo.clone().unwrap_or_default();
            Some(UndoReport {
                step: id.clone(),
                status: status.into(),
                duration_ms: u.duration_ms,
                error: u.error,
                reason,
                started_at: u.started_at,
                finished_at: u.finished_at,
            })
        })
        .collect();
    // RFC 3339 UTC stamps of one format sort as text; `None` (never began) sorts last.
    out.sort_by(|a, b| {
        let key = |u: &UndoReport| u.started_at.clone().or_else(|| u.finished_at.clone());
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
    out
}

/// One rollback's duration, error or reason, for text and markdown.
fn undo_detail(u: &UndoReport) -> String {
    match (&u.error, &u.reason) {
        (Some(e), _) => e.clone(),
        (None, Some(r)) => r.clone(),
        (None, None) => String::new(),
    }
}

/// `started by the trigger (drbook watch, pid N) at FIRED: outage detected at DETECTED,
/// allowed by BY; evidence: NAME: DETAIL; ...` (the failed probes).
pub fn trigger_line(t: &crate::journal::TriggerInfo) -> String {
    let failed: Vec<String> =
        t.evidence.iter().filter(|p| !p.ok).map(|p| format!("{}: {}", p.name, p.detail)).collect();
    let evidence = match failed.is_empty() {
        true => String::new(),
        false => format!("; evidence: {}", failed.join("; ")),
    };
    format!(
        "started by the trigger (drbook watch, pid {}) at {}: outage detected at {}, allowed by {}{evidence}",
        t.watcher_pid, t.fired_at, t.detected_at, t.by
    )
}

/// The summary printed at the end of `run` and `resume`.
pub fn text(r: &Report) -> String {
    let mut out = format!("\nrun {} of {}: {}\n", r.run_id, r.runbook, r.status);
    if let Some(t) = &r.trigger {
        out.push_str(&format!("{}\n", trigger_line(t)));
    }
    // `skipped (drill)` widens the status column.
    let w = r.steps.iter().map(|s| s.shown_status().len()).max().unwrap_or(0).max(12);
    out.push_str(&format!(
        "  {:<28} {:<w$} {:>8} {:>10} {:>10}\n",
        "step", "status", "attempts", "expected", "actual"
    ));
    for s in &r.steps {
        out.push_str(&format!(
            "  {:<28} {:<w$} {:>8} {:>10} {:>10}\n",
            s.id,
            s.shown_status(),
            s.attempts,
            d(s.expected_seconds),
            d(s.actual_seconds)
        ));
    }
    out.push_str(&errors_text(r));
    if !r.approvals.is_empty() {
        out.push_str("approvals:\n");
        for a in &r.approvals {
            let wait = a.wait_seconds.map_or(String::new(), |w| format!(", after {}", d(Some(w))));
            out.push_str(&format!(
                "  {:<28} {:<16} {} ({}, {}) at {}{wait}\n",
                a.step, a.role, a.by, a.how, a.proof, a.at
            ));
        }
    }
    if r.shows_rto {
        out.push_str(&rto_line(&r.got));
        out.push('\n');
    }
    for l in super::achieved::service_lines(&r.got_services) {
        out.push_str(&l);
        out.push('\n');
    }
    for l in rpo_lines(&r.got).into_iter().filter(|_| r.shows_rpo) {
        out.push_str(&l);
        out.push('\n');
    }
    if let Some(l) = rollback_phase_line(&r.got) {
        out.push_str(&l);
        out.push('\n');
    }
    if let Some(why) = &r.rollback_reason {
        out.push_str(&format!("rollback ({why}):\n"));
        out.push_str(&format!("  {:<28} {:<12} {:>10}\n", "step", "rollback", "took"));
        for u in &r.rollbacks {
            out.push_str(
                format!(
                    "  {:<28} {:<12} {:>10}  {}",
                    u.step,
                    u.status,
                    d(u.duration_ms.map(secs)),
                    undo_detail(u)
                )
                .trim_end(),
            );
            out.push('\n');
        }
    }
    if let Some(drill) = &r.drill {
        out.push_str(&super::drillreport::text(drill));
    }
    out.push_str(&super::audit::text(&r.audit));
    out.push_str(&journal_head_line(r));
    out
}

/// `lag_seconds = 1200, host = db-2`.
pub fn captured(c: &BTreeMap<String, String>) -> String {
    c.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
}

/// What a failed step captured, when it did.
fn captured_of(s: &StepReport) -> Option<String> {
    (s.status == "failed" && !s.captures.is_empty()).then(|| captured(&s.captures))
}

/// Each step's error, under the steps of the text report.
fn errors_text(r: &Report) -> String {
    let failed: Vec<&StepReport> = r.steps.iter().filter(|s| s.error.is_some()).collect();
    if failed.is_empty() {
        return String::new();
    }
    let mut out = String::from("errors:\n");
    for s in failed {
        out.push_str(&format!("  {:<28} {}\n", s.id, s.error.as_deref().unwrap_or_default()));
        if let Some(c) = captured_of(s) {
            out.push_str(&format!("  {:<28} captured: {c}\n", ""));
        }
    }
    out
}

/// Each step's error, as a markdown section.
fn errors_markdown(r: &Report) -> String {
    let failed: Vec<&StepReport> = r.steps.iter().filter(|s| s.error.is_some()).collect();
    if failed.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n## Errors\n\n| step | error |\n|---|---|\n");
    for s in failed {
        let mut e = s.error.clone().unwrap_or_default();
        if let Some(c) = captured_of(s) {
            e.push_str(&format!(" (captured: {c})"));
        }
        let e = e.replace('|', "\\|").replace('\n', " ");
        out.push_str(&format!("| `{}` | {e} |\n", s.id));
    }
    out
}

/// The markdown report (`--report FILE.md`, `drbook report --format markdown`).
/// `journal head: sha256:…` (newline included), or `journal: not chained`.
fn journal_head_line(r: &Report) -> String {
    match &r.journal_head {
        Some(h) => format!("journal head: {h}\n"),
        None => "journal: not chained\n".to_string(),
    }
}

pub fn markdown(r: &Report) -> String {
    let mut out =
        format!("# Run report: {}\n\nRun `{}` — **{}**\n\n", r.runbook, r.run_id, r.status);
    if let Some(t) = &r.trigger {
        out.push_str(&format!("{}\n\n", crate::diag::escape::escape(&trigger_line(t))));
    }
    let rto = match &r.got.forward {
        _ if !r.shows_rto => "not measured (see the drill result)".to_string(),
        Forward::Recovered { .. } => d(r.results.achieved_rto_seconds),
        Forward::Stopped { .. } => {
            format!("not achieved (stopped after {})", d(r.results.stopped_after_seconds))
        }
        Forward::Going { .. } => {
            format!("not achieved yet ({} so far)", d(r.results.elapsed_seconds))
        }
    };
    out.push_str(&format!(
        "| | achieved | objective | verdict |\n|---|---:|---:|---|\n| RTO | {rto} | {} | {} |\n| RPO | {} | {} | {} |\n\n",
        d(r.results.rto_seconds), if r.shows_rto { verdict(r.results.rto_met) } else { "-" }, d(r.results.achieved_rpo_seconds), d(r.results.rpo_seconds), verdict(r.results.rpo_met)
    ));
    out.push_str(&super::achieved::services_markdown(&r.got_services));
    if !r.results.rpo_measurements.is_empty() {
        out.push_str("RPO measurements (the largest counts: the run lost as much data as its worst measurement):\n\n| step | measured | counts |\n|---|---:|---|\n");
        for m in &r.results.rpo_measurements {
            let counts = if m.counts { "yes" } else { "" };
            out.push_str(&format!("| `{}` | {} | {counts} |\n", m.step, d(Some(m.seconds))));
        }
        out.push('\n');
    }
    out.push_str("| step | status | attempts | expected | actual | started | finished |\n|---|---|---:|---:|---:|---|---|\n");
    for s in &r.steps {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            s.id,
            s.shown_status(),
            s.attempts,
            d(s.expected_seconds),
            d(s.actual_seconds),
            s.started_at.as_deref().unwrap_or("-"),
            s.finished_at.as_deref().unwrap_or("-")
        ));
    }
    out.push_str(&errors_markdown(r));
    if !r.approvals.is_empty() {
        out.push_str("\n## Approvals\n\n| step | role | by | how | proof | at | waited | comment |\n|---|---|---|---|---|---|---:|---|\n");
        for a in &r.approvals {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
                a.step,
                a.role,
                a.by,
                a.how,
                a.proof,
                a.at,
                d(a.wait_seconds),
                a.comment.as_deref().unwrap_or("").replace('|', "\\|")
            ));
        }
    }
    if let Some(why) = &r.rollback_reason {
        out.push_str(&format!("\n## Rollback\n\n{why}\n\n"));
        if let Some(p) = &r.rollback {
            let to = p.finished_at.as_deref().map_or(String::new(), |f| format!(" to {f}"));
            out.push_str(&format!(
                "Rollback phase: **{}**, {}, from {}{to} (by {}).\n\n",
                p.outcome,
                d(Some(p.duration_seconds)),
                p.started_at,
                p.by
            ));
        }
        out.push_str("| step | rollback | took | error or reason |\n|---|---|---:|---|\n");
        for u in &r.rollbacks {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                u.step,
                u.status,
                d(u.duration_ms.map(secs)),
                undo_detail(u).replace('|', "\\|")
            ));
        }
    }
    if let Some(drill) = &r.drill {
        out.push_str(&super::drillreport::markdown(drill));
    }
    out.push_str(&super::audit::markdown(&r.audit));
    let head = journal_head_line(r);
    if !head.is_empty() {
        out.push('\n');
        out.push_str(&head);
    }
    out
}

/// Writes the report as JSON, or as markdown when the file ends in `.md`.
pub fn write(r: &Report, path: &Path) -> std::io::Result<()> {
    let md = path.extension().is_some_and(|e| e == "md" || e == "markdown");
    let body = if md {
        crate::diag::escape::escape(&markdown(r)).into_owned()
    } else {
        serde_json::to_string_pretty(r).map_err(std::io::Error::other)? + "\n"
    };
    write_private(path, body.as_bytes())
}

/// Writes `bytes` to `path` readable by its owner only (0600, like the journal: a report names
/// people, errors and captured values), never through a symlink planted at `path`.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::journal::fsx::write_private(path, bytes)
}
