//! `drbook report RUN [--format text|json|markdown] [--output FILE]`: the report of any run,
//! finished or not, at any later time. It only reads: no lock is taken (a runner may drive the
//! run meanwhile), nothing is written to the state dir, and the run's runbook is read only for
//! each step's expected duration (without it, or with `--file` pointing elsewhere, the report
//! says `-` there). The same report as `--report FILE` writes at the end of a run.

use super::args::ReportFormat;
use super::input;
use super::outcome::{CliError, Outcome};
use super::runreport::{self, Report};
use crate::check::{self, Options};
use crate::diag::escape::escape;
use crate::journal::{RunState, Store};
use crate::model::Runbook;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `report` is asked.
pub struct ReportRequest {
    pub state_dir: PathBuf,
    pub run_id: String,
    /// `None`: from `output`'s extension, else text.
    pub format: Option<ReportFormat>,
    pub output: Option<PathBuf>,
    /// The runbook, when it moved since the run started.
    pub file: Option<PathBuf>,
}

pub fn report(asked: &ReportRequest) -> Result<Outcome, CliError> {
    let store = Store::at(&asked.state_dir);
    let (state, info) = store.read_run(&asked.run_id)?;
    let mut r = report_of(&state, asked.file.as_deref());
    if !info.live {
        // What the journal calls running, with its runner gone, was interrupted (as `status`).
        for word in std::iter::once(&mut r.status).chain(r.steps.iter_mut().map(|s| &mut s.status))
        {
            if word == "running" {
                *word = "interrupted".into();
            }
        }
    }
    let format = asked.format.unwrap_or_else(|| {
        match asked.output.as_deref().and_then(Path::extension).and_then(|e| e.to_str()) {
            Some("md" | "markdown") => ReportFormat::Markdown,
            Some("json") => ReportFormat::Json,
            _ => ReportFormat::Text,
        }
    });
    let body = match format {
        // People read these: control characters from the journal as visible escapes.
        ReportFormat::Text => escape(runreport::text(&r).trim_start()).into_owned(),
        ReportFormat::Markdown => escape(&runreport::markdown(&r)).into_owned(),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&r)
                .map_err(|e| CliError::Failed(format!("cannot render the report: {e}")))?
                + "\n"
        }
    };
    match &asked.output {
        Some(path) => runreport::write_private(path, body.as_bytes()).map_err(|e| {
            CliError::Failed(format!("cannot write the report to `{}`: {e}", path.display()))
        })?,
        None => {
            let _ = std::io::stdout().lock().write_all(body.as_bytes());
        }
    }
    Ok(Outcome::Succeeded)
}

/// The report of `state`, with expected durations from its runbook when it can be read.
pub fn report_of(state: &RunState, file: Option<&Path>) -> Report {
    match runbook_of(state, file) {
        Some(rb) => runreport::build(state, &rb),
        None => runreport::build_with(state, None),
    }
}

/// The run's runbook (its journaled path, or `file`), checked with the run's params, quietly:
/// `None` when it cannot be read or no longer checks. Whether a step is still as the run
/// started it is for the caller to ask (`crate::model::hash`).
pub fn runbook_of(state: &RunState, file: Option<&Path>) -> Option<Runbook> {
    let path = file.map_or_else(|| PathBuf::from(&state.path), Path::to_path_buf);
    let mut loaded = input::read(&path, None).ok()?;
    let opts = Options {
        today: input::today(),
        params: state.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        require_params: true,
        strict: false,
    };
    let checked = check::check(&mut loaded, &opts);
    if checked.errors() > 0 {
        return None;
    }
    checked.runbook
}
