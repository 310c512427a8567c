//! `drbook lsp`: the language server for editors, on standard input and output (see
//! `crate::lsp`). Exit 0 after the client's `shutdown` and `exit`, 1 when the connection
//! breaks.

use super::outcome::{CliError, Outcome};

pub fn lsp() -> Result<Outcome, CliError> {
    crate::lsp::serve().map_err(|e| CliError::Failed(format!("lsp: {e}")))?;
    Ok(Outcome::Succeeded)
}
