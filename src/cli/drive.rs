//! Drives a prepared run: the executor with the terminal's sinks (a live view on a terminal,
//! plain or JSON lines otherwise, each step's output teed to the run's `logs/`), then the
//! final report and what the finish means for the person (and the exit code).
//!
//! `resume` and `rollback` come through [`settle_then_drive`]: what a person must decide is
//! settled first, and a missing decision pauses the run without starting the executor.

use super::args::LogFormat;
use super::decide::settle_steps;
use super::live::Live;
use super::outcome::{judge_success, CliError, Outcome, Strict};
use super::prepare::Prepared;
use super::progress::{self, Lines, Tee};
use super::prompt::Screen;
use super::runreport;
use super::term::{eprint, person, say};
use crate::exec::{execute, Finish, Observer};
use crate::journal::{Decision, Journal, StepState};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

/// Settles the person's decisions on the run, then (unless that paused it) says `headline`
/// and drives it.
pub fn settle_then_drive(
    mut p: Prepared<'_>,
    decisions: &BTreeMap<String, Decision>,
    headline: &str,
) -> Result<Outcome, CliError> {
    p.decisions = settle_steps(&p, decisions);
    say(p.flags, headline);
    drive(p)
}

/// Runs the executor to its finish and renders it.
pub fn drive(p: Prepared<'_>) -> Result<Outcome, CliError> {
    let job = p.job();
    let again = job.invocation.clone();
    let flags = p.flags;
    let logs = p.handle.logs();
    logs.check()?;
    // A key that cannot sign is found before any step runs, not after the run.
    let signer = match &flags.sign {
        Some(path) => Some(crate::journal::sign::read_key(path).map_err(CliError::invalid)?),
        None => None,
    };
    let tty = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
    let live = (tty && flags.log_format == LogFormat::Text).then(|| {
        let done = p
            .handle
            .state
            .steps
            .iter()
            .filter(|(_, r)| matches!(r.state, StepState::Succeeded | StepState::Skipped))
            .count();
        let rb = &p.book.rb;
        Arc::new(Live::new(rb.steps.len(), rb.rto, p.clock_start, done))
    });
    if flags.log_format == LogFormat::Json {
        progress::init_json(&p.run_id);
    }
    let observer: Arc<dyn Observer> = match &live {
        Some(v) => v.clone(),
        None => Arc::new(Lines::new(flags.log_format == LogFormat::Json)),
    };
    let observer = Arc::new(Tee::new(observer, logs));
    let screen = live.clone().map(|v| v as Arc<dyn Screen>);
    // The runner's memory grows in small steps while it waits on processes: transparent huge
    // pages would make each growth zero 2 MiB (measured: several % of a 1,000-step run).
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let journal = Journal::on_disk(p.handle);
    let finish = p.rt.block_on(execute(job, journal, observer, person(flags, screen)));
    // A prompt abandoned by Ctrl-C still blocks on stdin in a helper thread: do not wait for it.
    if let Some(v) = live {
        v.finish();
    }
    let finish = finish.map_err(|e| CliError::Failed(e.to_string()))?;
    let id = &p.run_id;
    let (state, info) = p.store.read_run(id).map_err(|e| CliError::Failed(e.to_string()))?;
    // The run in short, for `history` and `readiness`: written whenever the runner stops.
    if let Err(e) = p.store.write_summary(id, crate::model::time::now_ms()) {
        eprint(&format!("warning: cannot write the run's summary: {e}"));
    }
    let mut report = runreport::build(&state, &p.book.rb);
    report.journal_head = info.chain.head().map(|h| h.display());
    if let (Some(key), Some(head)) = (&signer, info.chain.head()) {
        super::verify::sign_head(&p.store, id, key, head);
    }
    if flags.log_format == LogFormat::Text {
        let _ =
            write!(std::io::stdout(), "{}", crate::diag::escape::escape(&runreport::text(&report)));
    }
    if let Some(path) = &flags.report {
        if let Err(e) = runreport::write(&report, path) {
            // The run is over either way: its outcome, not this, decides the exit code.
            eprint(&format!("error: cannot write the report to `{}`: {e}", path.display()));
        }
    }
    let outcome = match finish {
        Finish::Succeeded => {
            let strict = Strict {
                rto: flags.strict_rto,
                rpo: flags.strict_rpo,
                continue_failures: flags.fail_on_continue,
            };
            let failed: Vec<&str> = state
                .steps
                .iter()
                .filter(|(_, r)| r.state == StepState::Failed)
                .map(|(id, _)| id.as_str())
                .collect();
            let (outcome, why) = judge_success(strict, &failed, &report.got);
            if let Some(why) = why {
                eprint(&why);
            }
            outcome
        }
        Finish::Failed(why) => {
            eprint(&format!(
                "failed: {why}\nfix the cause, then `{}` retries the failed steps",
                again.command(&format!("resume {id}"))
            ));
            let denied: Vec<&str> = state
                .steps
                .iter()
                .filter(|(_, r)| r.stays_denied())
                .map(|(s, _)| s.as_str())
                .collect();
            if let Some(first) = denied.first() {
                eprint(&format!(
                    "(a denied gate stays denied: {}; `{}` asks it again)",
                    denied.join(", "),
                    again.command(&format!("resume {id} --reopen {first}"))
                ));
            }
            Outcome::Failed
        }
        Finish::Paused(why) => {
            eprint(&format!(
                "paused: {why}\n`{}` continues once a person has acted",
                again.command(&format!("resume {id}"))
            ));
            Outcome::Paused
        }
        Finish::Interrupted(sig) => {
            let resume = again.command(&format!("resume {id}"));
            eprint(&format!("interrupted by {sig}; `{resume}` continues the run"));
            Outcome::Interrupted
        }
        Finish::RolledBack(what) => {
            let why = state.rollback.as_ref().map_or(String::new(), |r| format!(" ({})", r.reason));
            eprint(&format!("rolled back{why}: {what}"));
            Outcome::RolledBack
        }
        Finish::RollbackFailed(what) => {
            eprint(&format!(
                "rollback failed: {what}\nthe run is over; what remains must be undone by hand (`{}` shows each step)",
                again.command(&format!("status {id}"))
            ));
            Outcome::RollbackFailed
        }
    };
    let ending = super::drill_end::Ending {
        book: &p.book,
        secrets: &p.secrets,
        rt: p.rt,
        flags,
        run_id: id,
        notify: p.notify.as_deref(),
    };
    let outcome = super::drill_end::after(&ending, &state, outcome);
    if flags.log_format == LogFormat::Json {
        progress::run_finished(id, state.status.as_str(), outcome);
    }
    Ok(outcome)
}
