//! `drbook fmt FILE...`: each file rewritten in the canonical layout (comments kept), through
//! a temporary file and a rename. Each file gets its line on standard error (`formatted:`,
//! `would reformat:`, or why it was left alone) and the others are still formatted. Exit 0,
//! 1 when `--check` or `--diff` finds a file to reformat, 2 when a file is unreadable or not
//! valid.
//!
//! `-` stands for standard input: its formatted text goes to standard output, whole, and only
//! once it is known to be valid (invalid input gets diagnostics and no output at all).
//! `--diff` writes nothing either and prints a unified diff (from `similar`) per file.

use super::outcome::{CliError, Outcome};
use super::report;
use super::term::eprint;
use crate::diag::Sources;
use crate::syntax;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What `drbook fmt` is asked.
pub struct FmtRequest {
    pub files: Vec<PathBuf>,
    /// `--check`: write nothing, say what would change.
    pub check_only: bool,
    /// `--diff`: write nothing, print a unified diff of what would change.
    pub diff: bool,
    pub color: bool,
}

/// The name standard input is shown under.
const STDIN: &str = "<stdin>";

fn read(f: &Path) -> std::io::Result<String> {
    if f == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().lock().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(f)
    }
}

pub fn fmt(req: &FmtRequest) -> Result<Outcome, CliError> {
    let mut outcome = Outcome::Succeeded;
    for f in &req.files {
        let stdin = f == Path::new("-");
        let name = if stdin { STDIN.to_string() } else { f.display().to_string() };
        let loaded_text = match read(f) {
            Ok(t) => t,
            Err(e) => {
                eprint(&format!("error: cannot read `{name}`: {e}"));
                outcome = Outcome::Invalid;
                continue;
            }
        };
        let mut sources = Sources::new();
        let id = sources.add(name.clone(), None, loaded_text.as_str().into());
        let (parsed, diags) = syntax::parse(&loaded_text, id);
        let parsed = match parsed {
            Some(p) if diags.is_empty() => p,
            _ => {
                let _ = write!(std::io::stderr(), "{}", report::human(&sources, &diags, req.color));
                eprint(&format!("failed: {name} is not valid; not formatted"));
                outcome = Outcome::Invalid;
                continue;
            }
        };
        let formatted = syntax::fmt::format(&loaded_text, &parsed);
        if stdin && !req.check_only && !req.diff {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(formatted.as_bytes());
            let _ = out.flush();
            continue;
        }
        if formatted == loaded_text {
            continue;
        }
        if req.diff {
            let diff = similar::TextDiff::from_lines(&loaded_text, &formatted);
            let text = diff.unified_diff().header(&name, &name).to_string();
            let _ = write!(std::io::stdout().lock(), "{text}");
        } else if req.check_only {
            eprint(&format!("would reformat: {name}"));
        }
        if req.diff || req.check_only {
            if outcome == Outcome::Succeeded {
                outcome = Outcome::Failed;
            }
        } else if let Err(e) = write_atomically(f, &formatted) {
            eprint(&format!("error: cannot write `{name}`: {e}"));
            outcome = Outcome::Invalid;
        } else {
            eprint(&format!("formatted: {name}"));
        }
    }
    Ok(outcome)
}

/// Writes through a temporary file and a rename, so a crash never leaves half a runbook. The
/// temporary file has a random name beside the runbook and is created new (`O_EXCL`, never
/// through a link), so nobody can plant a link where it goes.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let (tmp, mut f) = crate::journal::fsx::temp_beside(path, 0o600)?;
    let done = (|| {
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}
