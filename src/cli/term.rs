//! The terminal: lines to standard error and output that never panic on a dead terminal (with
//! control characters escaped, `crate::diag::escape`),
//! whether a person can be asked here, and the [`Person`] who answers at this terminal.

use super::args::{LogFormat, RunFlags};
use super::prompt::{Screen, Terminal};
use crate::diag::escape::escape;
use crate::exec::Person;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

/// One line on standard error.
pub fn eprint(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{}", escape(msg));
}

/// A headline on standard output, shown with text progress only (not among JSON lines).
pub fn say(flags: &RunFlags, text: &str) {
    if flags.log_format == LogFormat::Text {
        let _ = writeln!(std::io::stdout(), "{}", escape(text));
    }
}

/// Whether a person can be asked at this terminal.
pub fn interactive(flags: &RunFlags) -> bool {
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    tty && !flags.non_interactive && std::env::var_os("CI").is_none()
}

/// The person at this terminal, when one can be asked; `screen` is hidden while they are.
pub fn person(flags: &RunFlags, screen: Option<Arc<dyn Screen>>) -> Option<Arc<dyn Person>> {
    interactive(flags).then(|| Arc::new(Terminal { screen }) as Arc<dyn Person>)
}
