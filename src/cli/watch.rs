//! `drbook watch FILE`: the watcher loop. Not built in this branch: the command refuses
//! clearly instead of pretending to watch.
//!
//! Input: [`WatchOptions`]. Output: an error saying the watcher is missing.

use super::watch_args::WatchOptions;
use super::{CliError, Outcome};

pub fn watch(opts: WatchOptions) -> Result<Outcome, CliError> {
    Err(CliError::invalid(format!(
        "drbook watch: the watcher is not built in this branch (cannot watch `{}`)",
        opts.file.display()
    )))
}
