//! `drbook plan FILE`: the runbook checked, then its plan (steps, waves, critical path, RTO
//! verdict) rendered as text, JSON, Markdown or Mermaid on standard output.

use super::args::PlanFormat;
use super::input;
use super::outcome::{CliError, Outcome};
use super::report;
use crate::check::Options;
use crate::diag::escape::Escaped;
use crate::plan;
use std::io::Write;
use std::path::PathBuf;

/// What `drbook plan` is asked.
pub struct PlanRequest {
    pub file: PathBuf,
    pub options: Options,
    pub format: PlanFormat,
    pub color: bool,
    /// `--root`: the project imports must stay inside.
    pub root: Option<PathBuf>,
    /// `--max-chars`: the markdown plan's size budget.
    pub max_chars: usize,
    /// `--diff-base REV`: the markdown plan shows the diff against the runbook at REV.
    pub diff_base: Option<String>,
}

pub fn plan(req: &PlanRequest) -> Result<Outcome, CliError> {
    let (loaded, checked) =
        input::checked_runbook(&req.file, req.root.as_deref(), &req.options, req.color)?;
    let (Some(rb), Some(dag)) = (&checked.runbook, &checked.dag) else {
        return Ok(Outcome::Invalid);
    };
    // The diff against the base revision, read before anything is written.
    let diff = match (&req.diff_base, req.format) {
        (Some(rev), PlanFormat::Markdown) => {
            Some(super::diff::markdown_at(rev, &req.file, &req.options)?)
        }
        (Some(_), _) => {
            return Err(CliError::invalid("`--diff-base` is for `--format markdown`"));
        }
        (None, _) => None,
    };
    let warnings = checked.diags.iter().map(|d| report::plan_warning(&loaded.sources, d)).collect();
    let plan = plan::build(rb, dag, &checked.values, warnings);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let res = match req.format {
        PlanFormat::Text => plan::text::render(&plan, &mut out),
        PlanFormat::Json => plan::json::render(&plan, &mut out),
        // People read these too: control characters as visible escapes, like the text plan.
        PlanFormat::Markdown => {
            let opts = plan::markdown::Options {
                max_chars: req.max_chars,
                source: req.file.display().to_string(),
                diff,
            };
            plan::markdown::render_with(&plan, &opts, &mut Escaped::new(&mut out))
        }
        PlanFormat::Mermaid => plan::mermaid::render(&plan, &mut Escaped::new(&mut out)),
    };
    // The process ends right after this: handing a large runbook's many small allocations back
    // one by one would cost more than the whole plan did.
    std::mem::forget((plan, checked, loaded));
    match res.and_then(|()| out.flush()) {
        Ok(()) => Ok(Outcome::Succeeded),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Succeeded),
        Err(e) => Err(CliError::Failed(format!("cannot write the plan: {e}"))),
    }
}
