//! What a command comes to: an [`Outcome`] (LANGUAGE.md §8's exit codes, turned into numbers
//! here, by [`exit_code`], and nowhere else), or a [`CliError`] that stopped it.
//!
//! A run that succeeded can still come to a failure or a miss under the flags that ask for it
//! ([`judge_success`]): a step that failed under `continue` with `--fail-on-continue` (exit 1)
//! ranks before a missed `rto` (`--strict-rto`) or `rpo` (`--strict-rpo`) (exit 6).
//!
//! A command returns `Result<Outcome, CliError>`. A run that failed, paused or rolled back is an
//! outcome, not an error: the command renders it. A `CliError` is what stopped the command
//! itself (bad input, a journal that refused, a request refused); it is printed once, by
//! `cli::main`, exactly as its `Display` writes it, and its [`CliError::outcome`] picks the
//! exit code.

use crate::journal::results::Results;
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
    MissedRpo,
    Interrupted,
}

/// LANGUAGE.md §8's table of exit codes (README's, with `--strict-rpo` and
/// `--fail-on-continue`).
pub fn exit_code(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Succeeded => 0,
        Outcome::Failed => 1,
        Outcome::Invalid => 2,
        Outcome::Paused => 3,
        Outcome::RolledBack => 4,
        Outcome::RollbackFailed => 5,
        Outcome::MissedRto | Outcome::MissedRpo => 6,
        Outcome::Interrupted => 130,
    }
}

/// Which flags turn a successful run into a failure or a miss.
#[derive(Clone, Copy, Debug, Default)]
pub struct Strict {
    /// `--strict-rto`.
    pub rto: bool,
    /// `--strict-rpo`.
    pub rpo: bool,
    /// `--fail-on-continue`.
    pub continue_failures: bool,
}

/// What a run that succeeded comes to under `strict`, and why when it is not
/// [`Outcome::Succeeded`]. `continue_failed` names the steps that failed under `continue`.
pub fn judge_success(
    strict: Strict,
    continue_failed: &[&str],
    got: &Results,
) -> (Outcome, Option<String>) {
    if strict.continue_failures && !continue_failed.is_empty() {
        let steps = continue_failed.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>();
        let why = format!(
            "the run succeeded but {} failed under `continue` (--fail-on-continue)",
            steps.join(", ")
        );
        return (Outcome::Failed, Some(why));
    }
    if strict.rto && got.rto_met == Some(false) {
        return (
            Outcome::MissedRto,
            Some("the run succeeded but missed its RTO (--strict-rto)".into()),
        );
    }
    if strict.rpo && got.rpo.met == Some(false) {
        return (
            Outcome::MissedRpo,
            Some("the run succeeded but missed its RPO (--strict-rpo)".into()),
        );
    }
    (Outcome::Succeeded, None)
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
    /// Like `Refused`, but the refusal itself was journaled (`approval_refused`): an approval
    /// whose signature did not count. Exit 1.
    RefusedJournaled(String),
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
            CliError::Refused(_) | CliError::RefusedJournaled(_) | CliError::Failed(_) => {
                Outcome::Failed
            }
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
            CliError::RefusedJournaled(why) => {
                write!(f, "refused: {why}\njournaled as refused; the approval does not count")
            }
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
    fn a_success_fails_on_continue_before_it_misses_an_objective() {
        use crate::journal::results::{Forward, Rpo};
        let got = |rto_met, rpo_met| Results {
            forward: Forward::Recovered { ms: 10, at: String::new() },
            rto_ms: Some(1),
            rto_met,
            rollback: None,
            rpo: Rpo { budget_ms: Some(1), measurements: Vec::new(), counted: None, met: rpo_met },
        };
        let all = Strict { rto: true, rpo: true, continue_failures: true };
        let code =
            |strict, failed: &[&str], g: &Results| exit_code(judge_success(strict, failed, g).0);
        assert_eq!(code(all, &["n"], &got(Some(false), Some(false))), 1);
        assert_eq!(code(all, &[], &got(Some(false), Some(false))), 6);
        assert_eq!(code(all, &[], &got(Some(true), Some(false))), 6);
        assert_eq!(code(all, &[], &got(Some(true), Some(true))), 0);
        assert_eq!(code(all, &[], &got(None, None)), 0, "no objective, nothing to miss");
        assert_eq!(code(Strict::default(), &["n"], &got(Some(false), Some(false))), 0);
        let (_, why) = judge_success(all, &["a", "b"], &got(None, None));
        assert_eq!(
            why.as_deref(),
            Some("the run succeeded but `a`, `b` failed under `continue` (--fail-on-continue)")
        );
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
