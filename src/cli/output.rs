//! Writing a command's document: atomically into `--output FILE` (a temporary file, then a
//! rename; never through a link) or to standard output, where a closed pipe is not an error.

use super::outcome::CliError;
use std::path::Path;

/// Writes `text` to `output` (atomically, a new file with `mode`, never through a link) or
/// to standard output.
pub fn write_out(output: Option<&Path>, text: &str, what: &str, mode: u32) -> Result<(), CliError> {
    match output {
        Some(path) => crate::journal::fsx::write_atomic(path, text.as_bytes(), mode).map_err(|e| {
            CliError::Failed(format!("cannot write {what} to `{}`: {e}", path.display()))
        }),
        None => {
            use std::io::Write;
            match std::io::stdout().lock().write_all(text.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(CliError::Failed(format!("cannot write {what}: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}
