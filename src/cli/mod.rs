//! The command line: the only module that prints, prompts or picks colours, and the one place
//! where outcomes become exit codes (LANGUAGE.md §8).

mod approve;
mod args;
mod commands;
mod decide;
mod live;
mod progress;
mod prompt;
mod report;
mod runreport;
mod runs;
mod undo;

pub use args::Cli;
use clap::Parser;

/// Exit codes of LANGUAGE.md §8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    Invalid,
    Paused,
    RolledBack,
    RollbackFailed,
    MissedRto,
    Interrupted,
}

impl Outcome {
    pub fn code(self) -> i32 {
        match self {
            Outcome::Succeeded => 0,
            Outcome::Failed => 1,
            Outcome::Invalid => 2,
            Outcome::Paused => 3,
            Outcome::RolledBack => 4,
            Outcome::RollbackFailed => 5,
            Outcome::MissedRto => 6,
            Outcome::Interrupted => 130,
        }
    }
}

/// Parses arguments, runs the command, returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { Outcome::Invalid.code() } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    commands::run(cli).code()
}
