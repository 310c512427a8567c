//! `drbook history [RUNBOOK|FILE]`: every run and drill in the state dir, newest first, with
//! what each achieved against its RTO and RPO, the issues it found and whether the runbook
//! changed since; as text (with a per-runbook trend of the achieved RTO), JSON, Markdown or an
//! SVG chart (`history_svg.rs`).
//!
//! It only reads: the state dir is never created, no lock is taken, and summaries are never
//! rewritten (a stale one is ignored and its journal replayed, see `journal::summaries`).
//!
//! JSON schema (`"schema": "drbook.history/1"`; fields are only ever added):
//!
//! ```text
//! { "schema": "drbook.history/1",
//!   "runs": [ { "run_id", "runbook", "file", "path", "kind": "run"|"tabletop"|"component"|"partial"|"full",
//!               "targets": [STEP], "started_at", "started_by", "status", "finished_at"|null,
//!               "rto_budget_seconds"|null, "achieved_rto_seconds"|null, "stopped_after_seconds"|null,
//!               "rto_met"|null, "rpo_objective_seconds"|null, "achieved_rpo_seconds"|null,
//!               "rpo_met"|null, "issues_found", "issues": [{"step", "message"}], "success",
//!               "runbook_hash", "changed_since"|null } ],           newest first
//!   "trends": [ { "runbook", "rto_budget_seconds"|null,
//!                 "points": [ { "run_id", "kind", "started_at", "achieved_rto_seconds" } ] } ] }
//!                                                                    oldest first
//! ```
//!
//! `changed_since` is null when the runbook file is no longer at its path.

use super::args::HistoryFormat;
use super::outcome::{CliError, Outcome};
use super::term::eprint;
use super::trend::{dur, sparkline, Point, Trend};
use crate::journal::summary::{Issue, Summary};
use crate::journal::{RunStatus, Store};
use crate::model::time as clock;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// What `history` is asked.
pub struct HistoryRequest {
    pub state_dir: PathBuf,
    /// A runbook's name, or a runbook file (its runs are those started from that path).
    pub runbook: Option<String>,
    pub format: HistoryFormat,
    /// `--since DATE`: only runs started then or later (YYYY-MM-DD, or RFC 3339).
    pub since: Option<String>,
    pub output: Option<PathBuf>,
}

/// One run as `history` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub run_id: String,
    pub runbook: String,
    pub file: String,
    pub path: String,
    pub kind: String,
    pub targets: Vec<String>,
    pub started_at: String,
    pub started_by: String,
    pub status: String,
    pub finished_at: Option<String>,
    pub rto_budget_seconds: Option<f64>,
    pub achieved_rto_seconds: Option<f64>,
    pub stopped_after_seconds: Option<f64>,
    pub rto_met: Option<bool>,
    pub rpo_objective_seconds: Option<f64>,
    pub achieved_rpo_seconds: Option<f64>,
    pub rpo_met: Option<bool>,
    pub issues_found: usize,
    pub issues: Vec<Issue>,
    pub success: bool,
    pub runbook_hash: String,
    /// The runbook file at `path` has other content now; `None` when it is gone.
    pub changed_since: Option<bool>,
    #[serde(skip)]
    pub started_ms: i64,
}

pub fn history(req: &HistoryRequest) -> Result<Outcome, CliError> {
    let since = match &req.since {
        Some(s) => Some(since_ms(s)?),
        None => None,
    };
    let store = Store::at(&req.state_dir);
    let (found, bad) = store.summaries(clock::now_ms())?;
    for (id, e) in bad {
        eprint(&format!("warning: run `{id}`: {e}"));
    }
    let wanted = req.runbook.as_deref().map(Wanted::new);
    let mut hashes = Hashes::default();
    let mut rows: Vec<Row> = found
        .into_iter()
        .filter(|f| wanted.as_ref().is_none_or(|w| w.matches(&f.summary)))
        .map(|f| row(f.summary, f.live, &mut hashes))
        .filter(|r| since.is_none_or(|s| r.started_ms >= s))
        .collect();
    rows.sort_by(|a, b| b.started_ms.cmp(&a.started_ms).then_with(|| b.run_id.cmp(&a.run_id)));
    let trends = trends(&rows);
    let text = match req.format {
        HistoryFormat::Text => crate::diag::escape::escape(&text(&rows, &trends)).into_owned(),
        HistoryFormat::Json => {
            let v =
                serde_json::json!({"schema": "drbook.history/1", "runs": rows, "trends": trends});
            format!("{v}\n")
        }
        HistoryFormat::Markdown => crate::diag::escape::escape(&markdown(&rows)).into_owned(),
        HistoryFormat::Svg => super::history_svg::render(&trends),
    };
    // Issues found carry (masked) step errors: owner-only, like reports.
    super::output::write_out(req.output.as_deref(), &text, "the history", 0o600)?;
    Ok(Outcome::Succeeded)
}

/// `--since`: a date (its midnight, UTC) or an RFC 3339 timestamp.
fn since_ms(s: &str) -> Result<i64, CliError> {
    if let Some(d) = super::input::parse_date(s) {
        return Ok(d.days() * 86_400_000);
    }
    clock::parse(s).ok_or_else(|| {
        CliError::invalid(format!(
            "`--since {s}` is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp"
        ))
    })
}

/// Which runs the person asked for: a runbook file's (by path), or a runbook's (by name).
enum Wanted {
    Path(String),
    Name(String),
}

impl Wanted {
    fn new(arg: &str) -> Wanted {
        match std::fs::canonicalize(arg) {
            Ok(p) if p.is_file() => Wanted::Path(p.display().to_string()),
            _ => Wanted::Name(arg.to_string()),
        }
    }

    fn matches(&self, s: &Summary) -> bool {
        match self {
            Wanted::Path(p) => &s.path == p,
            Wanted::Name(n) => &s.runbook == n,
        }
    }
}

/// The content hash of each runbook file now, read once per path.
#[derive(Default)]
pub struct Hashes(BTreeMap<String, Option<String>>);

impl Hashes {
    /// SHA-256 of the file at `path` now; `None` when it cannot be read or is no regular file
    /// (a FIFO planted there must not hang a read-only listing).
    pub fn of(&mut self, path: &str) -> Option<String> {
        self.0
            .entry(path.to_string())
            .or_insert_with(|| {
                let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
                regular.then(|| std::fs::read(path).ok().map(|b| sha256(&b))).flatten()
            })
            .clone()
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn row(s: Summary, live: bool, hashes: &mut Hashes) -> Row {
    let status = match s.status {
        RunStatus::Running if !live => "interrupted",
        other => other.as_str(),
    };
    let changed_since = hashes.of(&s.path).map(|h| h != s.content_hash);
    Row {
        started_ms: clock::parse(&s.started_at).unwrap_or(0),
        status: status.to_string(),
        changed_since,
        run_id: s.run_id,
        runbook: s.runbook,
        file: s.file,
        path: s.path,
        kind: s.kind,
        targets: s.targets,
        started_at: s.started_at,
        started_by: s.started_by,
        finished_at: s.finished_at,
        rto_budget_seconds: s.rto_budget_seconds,
        achieved_rto_seconds: s.achieved_rto_seconds,
        stopped_after_seconds: s.stopped_after_seconds,
        rto_met: s.rto_met,
        rpo_objective_seconds: s.rpo_objective_seconds,
        achieved_rpo_seconds: s.achieved_rpo_seconds,
        rpo_met: s.rpo_met,
        issues_found: s.issues_found,
        issues: s.issues,
        success: s.success,
        runbook_hash: s.content_hash,
    }
}

/// Each runbook's achieved RTOs, oldest first (runbooks by name); the budget is the latest run's.
pub fn trends(rows: &[Row]) -> Vec<Trend> {
    let mut by: BTreeMap<&str, Trend> = BTreeMap::new();
    for r in rows.iter().rev() {
        let t = by.entry(&r.runbook).or_insert_with(|| Trend {
            runbook: r.runbook.clone(),
            rto_budget_seconds: None,
            points: Vec::new(),
        });
        t.rto_budget_seconds = r.rto_budget_seconds;
        if let Some(a) = r.achieved_rto_seconds {
            t.points.push(Point {
                run_id: r.run_id.clone(),
                kind: r.kind.clone(),
                started_at: r.started_at.clone(),
                achieved_rto_seconds: a,
                started_ms: r.started_ms,
            });
        }
    }
    by.into_values().collect()
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => " PASS",
        Some(false) => " FAIL",
        None => "",
    }
}

/// `3s / 1h PASS`, `stopped 2s / 1h FAIL`, `-`.
fn rto_cell(r: &Row) -> String {
    let got = match (r.achieved_rto_seconds, r.stopped_after_seconds) {
        (Some(a), _) => dur(Some(a)),
        (None, Some(s)) => format!("stopped {}", dur(Some(s))),
        _ => "-".into(),
    };
    match r.rto_budget_seconds {
        Some(b) => format!("{got} / {}{}", dur(Some(b)), verdict(r.rto_met)),
        None => got,
    }
}

fn rpo_cell(r: &Row) -> String {
    let got = dur(r.achieved_rpo_seconds);
    match r.rpo_objective_seconds {
        Some(b) => format!("{got} / {}{}", dur(Some(b)), verdict(r.rpo_met)),
        None => got,
    }
}

/// The run's status; a drill that has ended adds its verdict (`succeeded, FAILED`: the run
/// went through, but the drill found an issue, missed an objective or tested nothing).
fn status_cell(r: &Row) -> String {
    let over = !matches!(r.status.as_str(), "running" | "paused" | "interrupted");
    match (r.kind.as_str(), over) {
        ("run", _) | (_, false) => r.status.clone(),
        (_, true) => format!("{}, {}", r.status, if r.success { "SUCCESS" } else { "FAILED" }),
    }
}

fn changed_cell(r: &Row) -> &'static str {
    match r.changed_since {
        Some(true) => "yes",
        Some(false) => "no",
        None => "file gone",
    }
}

fn kind_cell(r: &Row) -> String {
    if r.targets.is_empty() {
        r.kind.clone()
    } else {
        format!("{} ({})", r.kind, r.targets.join(","))
    }
}

/// How many of the latest points a text trend shows.
const TREND_POINTS: usize = 40;

fn text(rows: &[Row], trends: &[Trend]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no runs\n");
        return out;
    }
    let cols: Vec<[String; 10]> = rows
        .iter()
        .map(|r| {
            [
                r.started_at.clone(),
                r.runbook.clone(),
                kind_cell(r),
                r.run_id.clone(),
                r.started_by.clone(),
                status_cell(r),
                rto_cell(r),
                rpo_cell(r),
                r.issues_found.to_string(),
                changed_cell(r).to_string(),
            ]
        })
        .collect();
    let head =
        ["STARTED", "RUNBOOK", "KIND", "RUN", "BY", "STATUS", "RTO", "RPO", "ISSUES", "CHANGED"];
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for c in &cols {
        for (w, cell) in width.iter_mut().zip(c) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: &[&str]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&width).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut out, &head);
    for c in &cols {
        line(&mut out, &c.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out.push_str("\nachieved RTO, oldest to newest:\n");
    let name_w = trends.iter().map(|t| t.runbook.chars().count()).max().unwrap_or(0);
    for t in trends {
        let budget =
            t.rto_budget_seconds.map_or("no budget".into(), |b| format!("budget {}", dur(Some(b))));
        if t.points.is_empty() {
            let _ = writeln!(out, "  {:<name_w$}  (no run recovered)  {budget}", t.runbook);
            continue;
        }
        let shown = &t.points[t.points.len().saturating_sub(TREND_POINTS)..];
        let values: Vec<f64> = shown.iter().map(|p| p.achieved_rto_seconds).collect();
        let over = t
            .rto_budget_seconds
            .map(|b| t.points.iter().filter(|p| p.achieved_rto_seconds > b).count())
            .unwrap_or(0);
        let last = dur(values.last().copied());
        let max = dur(values.iter().copied().reduce(f64::max));
        let _ = writeln!(
            out,
            "  {:<name_w$}  {}  last {last}, max {max}, {budget}, {} recovered, {over} over budget",
            t.runbook,
            sparkline(&values),
            t.points.len()
        );
    }
    out
}

/// A Markdown table cell: pipes escaped, one line.
fn md(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| Started | Runbook | Kind | Run | By | Status | RTO (achieved / budget) | RPO (achieved / objective) | Issues | Changed since |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | {} | {} | {} | {} | {} | {} |",
            md(&r.started_at),
            md(&r.runbook),
            md(&kind_cell(r)),
            md(&r.run_id),
            md(&r.started_by),
            status_cell(r),
            rto_cell(r),
            rpo_cell(r),
            r.issues_found,
            changed_cell(r)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(md("a|b\nc"), "a\\|b c");
    }
}
