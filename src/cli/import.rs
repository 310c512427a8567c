//! `drbook import PLAN.yaml`: a DR plan document (the DR planning guide's template) read under
//! `drplan::read`'s limits, converted by `import` into a runbook that has been formatted and
//! checked, then printed on standard output or written atomically to `--output FILE`, with the
//! failback procedure as `NAME-failback.drbook` beside it. An existing output is replaced only
//! with `--force`. Warnings (what became a comment, what was made up) go to standard error.
//! Exit 0, or 2 when the document is refused (nothing is written).

use super::outcome::{CliError, Outcome};
use super::report;
use crate::drplan::read;
use std::path::{Path, PathBuf};

/// `drbook import`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The DR plan document (YAML).
    pub file: PathBuf,
    /// Write the runbook to FILE (temporary file + rename) instead of standard output; the
    /// failback procedure goes to FILE's stem + `-failback.drbook` beside it.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The runbook's name. Default: the document's file name without its extension.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Replace output files that already exist.
    #[arg(long)]
    pub force: bool,
}

pub fn import(args: &ImportArgs, color: bool) -> Result<Outcome, CliError> {
    let label = args.file.display().to_string();
    let reading = read::read_path(&args.file, &label);
    let doc = reading.result.map_err(|d| {
        let rendered = report::human(&reading.sources, std::slice::from_ref(&d), color);
        CliError::Diagnostics(format!("{rendered}failed: {label} (1 error, 0 warnings)"))
    })?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => stem(&args.file),
    };
    let imported = crate::import::convert(&doc, &name);
    let options = super::input::options(None, Vec::new(), false, false)?;
    let main_label =
        args.output.as_ref().map_or(format!("{name}.drbook"), |o| o.display().to_string());
    let failback_path = args.output.as_deref().map(failback_beside);
    let main = finish(&main_label, &imported.runbook, &options, color)?;
    let failback = match &imported.failback {
        Some(text) => {
            let l = failback_path
                .as_ref()
                .map_or(format!("{name}-failback.drbook"), |p| p.display().to_string());
            Some(finish(&l, text, &options, color)?)
        }
        None => None,
    };
    if !args.force {
        let mut exists = Vec::new();
        for p in args.output.iter().chain(failback_path.iter().filter(|_| failback.is_some())) {
            if p.symlink_metadata().is_ok() {
                exists.push(format!("`{}` exists; give --force to replace it", p.display()));
            }
        }
        if !exists.is_empty() {
            return Err(CliError::Invalid {
                errors: exists,
                then: Some("nothing was written".into()),
            });
        }
    }
    for w in &imported.warnings {
        eprint(&format!("warning: {w}"));
    }
    super::output::write_out(args.output.as_deref(), &main, "the runbook", 0o644)?;
    if let Some(out) = &args.output {
        eprint(&format!("wrote {}", out.display()));
    }
    match (failback, failback_path) {
        (Some(text), Some(path)) => {
            super::output::write_out(Some(&path), &text, "the failback runbook", 0o644)?;
            eprint(&format!("wrote {} (the failback procedure)", path.display()));
        }
        (Some(_), None) => eprint(&format!(
            "note: the failback procedure is a runbook of its own; give --output FILE to write it as {name}-failback.drbook beside FILE"
        )),
        _ => {}
    }
    Ok(Outcome::Succeeded)
}

/// The document's file name without its extension (`plan.yaml` → `plan`).
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "imported".into())
}

/// `dir/NAME.drbook` → `dir/NAME-failback.drbook`.
fn failback_beside(output: &Path) -> PathBuf {
    output.with_file_name(format!("{}-failback.drbook", stem(output)))
}

/// The generated text formatted and checked; a refusal is drbook's own bug, reported with
/// the generated text's diagnostics.
fn finish(
    label: &str,
    text: &str,
    options: &crate::check::Options,
    color: bool,
) -> Result<String, CliError> {
    crate::import::finish(label, text, options).map_err(|r| {
        let rendered = report::human(&r.sources, &r.diags, color);
        CliError::Diagnostics(format!(
            "{rendered}internal error: the runbook generated from the document does not check; please report this with the document"
        ))
    })
}

/// One line on standard error (terminal escapes in it shown escaped).
fn eprint(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{}", crate::diag::printable(line));
}
