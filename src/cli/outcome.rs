//! What a command comes to: an [`Outcome`] (LANGUAGE.md §8's exit codes, turned into numbers
//! by `cli::main`), or a [`CliError`] that stopped it.
//!
//! A command returns `Result<Outcome, CliError>`. A run that failed, paused or rolled back is an
//! outcome, not an error: the command renders it. A `CliError` is what stopped the command
//! itself (bad input, a journal that refused, a request refused); it is printed once, by
//! `cli::main`, exactly as its `Display` writes it, and its [`CliError::outcome`] picks the
//! exit code.

use crate::journal::JournalError;
use std::fmt;

/// The exit codes of LANGUAGE.md §8, by meaning.
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

/// Why a command stopped.
#[derive(Debug)]
pub enum CliError {
    /// Bad input or usage, refused before anything ran: an `error: ...` line per problem (all of
    /// them, not the first), then what that means, when there is more to say (`nothing was
    /// run`). Exit 2.
    Invalid { errors: Vec<String>, then: Option<String> },
    /// The checker's report, rendered, ending in its `failed: FILE (counts)` line. Exit 2.
    Diagnostics(String),
    /// The state dir or a run's journal refused: no such run, locked, damaged... Exit 2.
    Journal(JournalError),
    /// The person said no when asked to confirm. Exit 2: nothing was changed.
    Declined,
    /// `approve` or `deny` judged against the run and refused; nothing was recorded. Exit 1.
    Refused(String),
    /// A command that had begun could not finish (the executor stopped on an error, the plan
    /// could not be written, a runner did not answer). Exit 1.
    Failed(String),
}

impl CliError {
    /// One problem with the input: `error: MESSAGE`.
    pub fn invalid(message: impl Into<String>) -> CliError {
        CliError::Invalid { errors: vec![message.into()], then: None }
    }

    /// Adds what the refusal means (`nothing was run`) below the `error:` lines.
    pub fn then(self, note: impl Into<String>) -> CliError {
        match self {
            CliError::Invalid { errors, .. } => {
                CliError::Invalid { errors, then: Some(note.into()) }
            }
            other => other,
        }
    }

    /// The outcome whose exit code this error ends the process with.
    pub fn outcome(&self) -> Outcome {
        match self {
            CliError::Invalid { .. }
            | CliError::Diagnostics(_)
            | CliError::Journal(_)
            | CliError::Declined => Outcome::Invalid,
            CliError::Refused(_) | CliError::Failed(_) => Outcome::Failed,
        }
    }
}

impl From<JournalError> for CliError {
    fn from(e: JournalError) -> CliError {
        CliError::Journal(e)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Invalid { errors, then } => {
                let mut lines = errors.iter().map(|e| format!("error: {e}")).collect::<Vec<_>>();
                lines.extend(then.clone());
                write!(f, "{}", lines.join("\n"))
            }
            CliError::Diagnostics(report) => write!(f, "{report}"),
            CliError::Journal(e) => write!(f, "error: {e}"),
            CliError::Declined => write!(f, "nothing was changed"),
            CliError::Refused(why) => write!(f, "refused: {why}\nnothing was recorded"),
            CliError::Failed(why) => write!(f, "error: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_printed_as_the_commands_said_it_before() {
        let cases = [
            (
                CliError::invalid("`--param x` must be NAME=VALUE"),
                "error: `--param x` must be NAME=VALUE",
            ),
            (
                CliError::Invalid { errors: vec!["a".into(), "b".into()], then: None }
                    .then("nothing was run"),
                "error: a\nerror: b\nnothing was run",
            ),
            (
                CliError::Journal(JournalError::NoSuchRun("r".into(), "/srv/st".into())),
                "error: no run `r` in the state dir `/srv/st`",
            ),
            (CliError::Declined, "nothing was changed"),
            (CliError::Refused("not waiting".into()), "refused: not waiting\nnothing was recorded"),
            (
                CliError::Failed("cannot write the plan: disk full".into()),
                "error: cannot write the plan: disk full",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn refusals_of_input_exit_2_and_refusals_of_work_exit_1() {
        assert_eq!(CliError::invalid("x").outcome(), Outcome::Invalid);
        assert_eq!(CliError::Diagnostics(String::new()).outcome(), Outcome::Invalid);
        assert_eq!(CliError::Declined.outcome(), Outcome::Invalid);
        assert_eq!(CliError::Refused(String::new()).outcome(), Outcome::Failed);
        assert_eq!(CliError::Failed(String::new()).outcome(), Outcome::Failed);
    }
}
