//! `drbook readiness [FILES|DIRS]`: for each runbook (a directory: every `*.drbook` in it that
//! is a runbook, not a module), whether its practice is current: the last drill of each type
//! and its result, overdue drills, a stale review, a runbook changed since its last successful
//! drill, the estimated RTO against the budget, the last achieved RTO and RPO (the judgement is
//! `journal::readiness`'s). Text, JSON or the Prometheus text format (`prometheus.rs`), on
//! standard output or atomically into `--output FILE` (for node_exporter's textfile collector).
//!
//! Runs are matched to a runbook by its name. Read-only, like `history`. Exit 0 when every
//! runbook is current, 1 when anything is overdue, failed, changed or stale, 2 on bad input.
//!
//! JSON schema (`"schema": "drbook.readiness/1"`; fields are only ever added):
//!
//! ```text
//! { "schema": "drbook.readiness/1", "today": "YYYY-MM-DD", "current": bool,
//!   "runbooks": [ { "runbook", "file", "content_hash", "rto_budget_seconds"|null,
//!     "estimated_rto_seconds", "estimate_over_budget", "rpo_objective_seconds"|null,
//!     "last_achieved_rto_seconds"|null, "last_achieved_rpo_seconds"|null,
//!     "reviewed"|null, "review_due"|null, "review_stale",
//!     "drills": [ { "type", "declared", "every_seconds"|null,
//!                   "last"|null, "last_success"|null,   each { "run_id", "started_at",
//!                        "finished_at", "status", "success", "issues_found", "runbook_hash" }
//!                   "due_at"|null, "overdue", "failed", "changed_since_drill" } ],
//!     "problems": [TEXT], "current": bool } ] }
//! ```

use super::args::ReadinessFormat;
use super::history::sha256;
use super::outcome::{CliError, Outcome};
use super::output::write_out;
use super::report;
use super::term::eprint;
use crate::check::{self, Options};
use crate::journal::readiness::{readiness as judge, Facts, Readiness};
use crate::journal::summary::Summary;
use crate::journal::Store;
use crate::model::time as clock;
use crate::model::Date;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `readiness` is asked.
pub struct ReadinessRequest {
    pub paths: Vec<PathBuf>,
    pub state_dir: PathBuf,
    /// `--today DATE`: judge as at that date's midnight (UTC); default now.
    pub today: Option<String>,
    pub format: ReadinessFormat,
    pub output: Option<PathBuf>,
    pub color: bool,
}

pub fn readiness(req: &ReadinessRequest) -> Result<Outcome, CliError> {
    let now_ms = match &req.today {
        Some(t) => super::input::parse_date(t).map(|d| d.days() * 86_400_000).ok_or_else(|| {
            CliError::invalid(format!("`--today {t}` is not a date; write YYYY-MM-DD"))
        })?,
        None => clock::now_ms(),
    };
    let today = Date::from_days(now_ms.div_euclid(86_400_000));
    let mut files = Vec::new();
    for p in &req.paths {
        files.extend(runbook_files(p)?);
    }
    let mut facts = Vec::new();
    for (file, explicit) in &files {
        if let Some(f) = load(file, *explicit, today, req.color)? {
            facts.push(f);
        }
    }
    if facts.is_empty() {
        return Err(CliError::invalid("no runbook found (nothing to judge)"));
    }
    for (i, f) in facts.iter().enumerate() {
        if let Some(other) = facts[..i].iter().find(|o| o.name == f.name) {
            return Err(CliError::invalid(format!(
                "`{}` and `{}` are both runbook `{}`: runs are matched to runbooks by name",
                other.file, f.file, f.name
            )));
        }
    }
    let store = Store::at(&req.state_dir);
    let (found, bad) = store.summaries(clock::now_ms())?;
    for (id, e) in bad {
        eprint(&format!("warning: run `{id}`: {e}"));
    }
    let all: Vec<Summary> = found.into_iter().map(|f| f.summary).collect();
    let judged: Vec<Readiness> = facts
        .iter()
        .map(|f| {
            let mine: Vec<&Summary> = all.iter().filter(|s| s.runbook == f.name).collect();
            judge(f, &mine, now_ms)
        })
        .collect();
    let current = judged.iter().all(|r| r.current);
    let text = match req.format {
        ReadinessFormat::Text => crate::diag::escape::escape(&text(&judged, today)).into_owned(),
        ReadinessFormat::Json => {
            let v = serde_json::json!({"schema": "drbook.readiness/1", "today": today.to_string(),
                "current": current, "runbooks": judged});
            format!("{v}\n")
        }
        ReadinessFormat::Prometheus => {
            super::prometheus::render(&judged, &watched(&req.state_dir, &judged))
        }
    };
    // Readable by others: node_exporter's textfile collector usually runs as its own user, and
    // readiness holds no secrets (names, times and verdicts).
    write_out(req.output.as_deref(), &text, "the readiness report", 0o644)?;
    Ok(if current { Outcome::Succeeded } else { Outcome::Failed })
}

/// The watcher's state of each judged runbook that has watch state; one that cannot be read
/// is warned about and left out.
fn watched(state_dir: &Path, judged: &[Readiness]) -> Vec<super::prometheus::Watched> {
    let mut out = Vec::new();
    for r in judged {
        let store = crate::journal::watch::WatchStore::at(state_dir, &r.runbook);
        if !store.exists() {
            continue;
        }
        match store.read() {
            Ok((_, s)) => out.push(super::prometheus::Watched {
                runbook: r.runbook.clone(),
                phase: s.phase,
                consecutive: s.consecutive,
            }),
            Err(e) => eprint(&format!("warning: the watch state of `{}`: {e}", r.runbook)),
        }
    }
    out
}

/// The runbook files `path` names: itself (explicit), or a directory's `*.drbook` files, sorted.
fn runbook_files(path: &Path) -> Result<Vec<(PathBuf, bool)>, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::invalid(format!("cannot read `{}`: {e}", path.display())))?;
    if !meta.is_dir() {
        return Ok(vec![(path.to_path_buf(), true)]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| CliError::invalid(format!("cannot read `{}`: {e}", path.display())))?;
    let mut files: Vec<(PathBuf, bool)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "drbook") && p.is_file())
        .map(|p| (p, false))
        .collect();
    files.sort();
    Ok(files)
}

/// The facts of the runbook in `file`; `None` for a module found in a directory. A file that
/// does not check is bad input (its diagnostics are the error).
fn load(file: &Path, explicit: bool, today: Date, color: bool) -> Result<Option<Facts>, CliError> {
    let bytes = std::fs::read(file)
        .map_err(|e| CliError::invalid(format!("cannot read `{}`: {e}", file.display())))?;
    let mut loaded = super::input::read(file, None).map_err(CliError::invalid)?;
    let opts = Options { today, params: Vec::new(), require_params: false, strict: false };
    let checked = check::check(&mut loaded, &opts);
    if checked.errors() > 0 {
        return Err(CliError::Diagnostics(format!(
            "{}failed: {} ({})",
            report::human(&loaded.sources, &checked.diags, color),
            file.display(),
            report::counts(checked.errors(), checked.warnings())
        )));
    }
    let (Some(rb), Some(dag)) = (checked.runbook, checked.dag) else {
        if explicit {
            return Err(CliError::invalid(format!(
                "`{}` is a module of templates, not a runbook; readiness takes runbooks",
                file.display()
            )));
        }
        return Ok(None);
    };
    Ok(Some(Facts {
        name: rb.name.clone(),
        file: file.display().to_string(),
        content_hash: sha256(&bytes),
        drills: rb.drills.clone(),
        reviewed: rb.reviewed,
        review_every: rb.review_every,
        rto_ms: rb.rto,
        rpo_ms: rb.rpo,
        estimated_rto_ms: dag.critical_path().0,
    }))
}

fn text(judged: &[Readiness], today: Date) -> String {
    use super::trend::dur;
    let mut out = String::new();
    for r in judged {
        let verdict = if r.current { "current" } else { "NOT CURRENT" };
        let _ = writeln!(out, "{} ({}): {verdict} as of {today}", r.runbook, r.file);
        let over = if r.estimate_over_budget { " OVER budget" } else { "" };
        let budget = r.rto_budget_seconds.map_or("no budget".into(), |b| dur(Some(b)));
        let _ = writeln!(
            out,
            "  RTO: estimated {} (budget {budget}){over}; last achieved {}",
            dur(Some(r.estimated_rto_seconds)),
            dur(r.last_achieved_rto_seconds)
        );
        let objective = r.rpo_objective_seconds.map_or("no objective".into(), |b| dur(Some(b)));
        let _ = writeln!(
            out,
            "  RPO: objective {objective}; last achieved {}",
            dur(r.last_achieved_rpo_seconds)
        );
        match (&r.reviewed, &r.review_due) {
            (Some(on), Some(due)) => {
                let stale = if r.review_stale { " (STALE)" } else { "" };
                let _ = writeln!(out, "  review: reviewed {on}, due {due}{stale}");
            }
            (Some(on), None) => {
                let _ = writeln!(out, "  review: reviewed {on}");
            }
            _ => {}
        }
        if r.drills.is_empty() {
            let _ = writeln!(out, "  drills: none declared, none run");
        }
        for d in &r.drills {
            let every = d
                .every_seconds
                .map_or("not declared".into(), |e| format!("every {}", dur(Some(e))));
            let last = match &d.last {
                Some(l) => {
                    let result = if l.success { "success" } else { "FAILED" };
                    format!("last {} `{}` {result}", l.started_at, l.run_id)
                }
                None => "never drilled".into(),
            };
            let mut flags = Vec::new();
            if d.overdue {
                flags.push("OVERDUE".to_string());
            } else if let Some(due) = &d.due_at {
                flags.push(format!("next due {due}"));
            }
            if d.changed_since_drill {
                flags.push("CHANGED since drill".into());
            }
            let flags =
                if flags.is_empty() { String::new() } else { format!("; {}", flags.join(", ")) };
            let _ = writeln!(out, "  {:<9}  {every}: {last}{flags}", d.kind.as_str());
        }
        for p in &r.problems {
            let _ = writeln!(out, "  ! {p}");
        }
    }
    out
}
