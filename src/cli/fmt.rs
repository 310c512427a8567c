//! `drbook fmt FILE...`: each file rewritten in the canonical layout (comments kept), through
//! a temporary file and a rename. Each file gets its line on standard error (`formatted:`,
//! `would reformat:`, or why it was left alone) and the others are still formatted. Exit 0,
//! 1 when `--check` finds a file to reformat, 2 when a file is unreadable or not valid.

use super::outcome::{CliError, Outcome};
use super::report;
use super::term::eprint;
use crate::diag::Sources;
use crate::syntax;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `drbook fmt` is asked.
pub struct FmtRequest {
    pub files: Vec<PathBuf>,
    /// `--check`: write nothing, say what would change.
    pub check_only: bool,
    pub color: bool,
}

pub fn fmt(req: &FmtRequest) -> Result<Outcome, CliError> {
    let mut outcome = Outcome::Succeeded;
    for f in &req.files {
        let loaded_text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprint(&format!("error: cannot read `{}`: {e}", f.display()));
                outcome = Outcome::Invalid;
                continue;
            }
        };
        let mut sources = Sources::new();
        let id = sources.add(f.display().to_string(), None, loaded_text.as_str().into());
        let (parsed, diags) = syntax::parse(&loaded_text, id);
        let parsed = match parsed {
            Some(p) if diags.is_empty() => p,
            _ => {
                let _ = write!(std::io::stderr(), "{}", report::human(&sources, &diags, req.color));
                eprint(&format!("failed: {} is not valid; not formatted", f.display()));
                outcome = Outcome::Invalid;
                continue;
            }
        };
        let formatted = syntax::fmt::format(&loaded_text, &parsed);
        if formatted == loaded_text {
            continue;
        }
        if req.check_only {
            eprint(&format!("would reformat: {}", f.display()));
            if outcome == Outcome::Succeeded {
                outcome = Outcome::Failed;
            }
        } else if let Err(e) = write_atomically(f, &formatted) {
            eprint(&format!("error: cannot write `{}`: {e}", f.display()));
            outcome = Outcome::Invalid;
        } else {
            eprint(&format!("formatted: {}", f.display()));
        }
    }
    Ok(outcome)
}

/// Writes through a temporary file and a rename, so a crash never leaves half a runbook. The
/// temporary file has a random name beside the runbook and is created new (`O_EXCL`, never
/// through a link), so nobody can plant a link where it goes.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
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
