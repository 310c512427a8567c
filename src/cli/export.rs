//! `drbook export FILE --format dr-plan`: the runbook checked exactly as `plan` checks it, its
//! plan built, then rendered as the DR planning guide's `disaster-recovery-plan.yaml` document
//! (`plan::drplan`) on standard output or atomically into `--output FILE`.

use super::args::ExportFormat;
use super::input;
use super::outcome::{CliError, Outcome};
use super::report;
use crate::check::Options;
use crate::plan;
use std::path::PathBuf;

/// What `drbook export` is asked.
pub struct ExportRequest {
    pub file: PathBuf,
    pub options: Options,
    pub format: ExportFormat,
    pub color: bool,
    /// `--root`: the project imports must stay inside.
    pub root: Option<PathBuf>,
    /// `--output FILE`: written atomically instead of standard output.
    pub output: Option<PathBuf>,
}

pub fn export(req: &ExportRequest) -> Result<Outcome, CliError> {
    let (loaded, checked) =
        input::checked_runbook(&req.file, req.root.as_deref(), &req.options, req.color)?;
    let (Some(rb), Some(dag)) = (&checked.runbook, &checked.dag) else {
        return Ok(Outcome::Invalid);
    };
    let bytes = std::fs::read(&req.file)
        .map_err(|e| CliError::invalid(format!("cannot read `{}`: {e}", req.file.display())))?;
    let hash = super::history::sha256(&bytes);
    let warnings = checked.diags.iter().map(|d| report::plan_warning(&loaded.sources, d)).collect();
    let plan = plan::build(rb, dag, &checked.values, warnings);
    let text = match req.format {
        ExportFormat::DrPlan => plan::drplan::to_yaml(&plan::drplan::build(rb, &plan, &hash))
            .map_err(CliError::Failed)?,
    };
    super::output::write_out(req.output.as_deref(), &text, "the DR plan", 0o644)?;
    if let Some(out) = &req.output {
        super::term::eprint(&format!("wrote {}", out.display()));
    }
    Ok(Outcome::Succeeded)
}
