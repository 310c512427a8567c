//! `drbook check FILE...`: every file's diagnostics, then its verdict line (`ok:` or
//! `failed:`), on standard error; `--format json` gathers them into one document on standard
//! output, `--format github` into workflow commands and `--format sarif` into a SARIF log (see
//! `annotate`). A file that cannot be read is reported like a file with an error (in the
//! machine formats, as a `drbook::load::unreadable` diagnostic), and the others are still
//! checked. Exit 0 when every file is free of errors, else 2.

use super::annotate;
use super::args::CheckFormat;
use super::input;
use super::outcome::{CliError, Outcome};
use super::report;
use super::term::eprint;
use crate::check::{self, Options};
use std::io::Write;
use std::path::PathBuf;

/// What `drbook check` is asked.
pub struct CheckRequest {
    pub files: Vec<PathBuf>,
    pub options: Options,
    pub format: CheckFormat,
    pub color: bool,
    /// `--root`: the project imports must stay inside.
    pub root: Option<PathBuf>,
}

pub fn check(req: &CheckRequest) -> Result<Outcome, CliError> {
    let mut all = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    let mut unreadable = false;
    for f in &req.files {
        let mut loaded = match input::read(f, req.root.as_deref()) {
            Ok(l) => l,
            Err(e) => {
                match req.format {
                    CheckFormat::Human => eprint(&format!("error: {e}")),
                    _ => all.push(report::unreadable(&f.display().to_string(), e)),
                }
                unreadable = true;
                errors += 1;
                continue;
            }
        };
        let checked = check::check(&mut loaded, &req.options);
        errors += checked.errors();
        warnings += checked.warnings();
        match req.format {
            CheckFormat::Json | CheckFormat::Github | CheckFormat::Sarif => {
                all.extend(checked.diags.iter().map(|d| report::to_json(&loaded.sources, d)))
            }
            CheckFormat::Human => {
                let _ = write!(
                    std::io::stderr(),
                    "{}",
                    report::human(&loaded.sources, &checked.diags, req.color)
                );
                let verdict = if checked.errors() > 0 { "failed" } else { "ok" };
                eprint(&format!(
                    "{verdict}: {} ({})",
                    f.display(),
                    report::counts(checked.errors(), checked.warnings())
                ));
            }
        }
        // Freed by the process's exit instead (see `plan`).
        std::mem::forget((checked, loaded));
    }
    let mut out = std::io::stdout().lock();
    match req.format {
        CheckFormat::Human => {}
        CheckFormat::Json => {
            let doc =
                serde_json::json!({ "diagnostics": all, "errors": errors, "warnings": warnings });
            let _ = serde_json::to_writer_pretty(&mut out, &doc);
            let _ = writeln!(out);
        }
        CheckFormat::Github => {
            let _ = write!(out, "{}", annotate::github(&all));
        }
        CheckFormat::Sarif => {
            let _ = serde_json::to_writer_pretty(&mut out, &annotate::sarif(&all));
            let _ = writeln!(out);
        }
    }
    Ok(if errors > 0 || unreadable { Outcome::Invalid } else { Outcome::Succeeded })
}
