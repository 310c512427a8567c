//! The end of a drill (issue 12), once its runner stops (`drive`): the drill notification
//! when the drill is over (not while it is paused or interrupted: a resumed drill posts when
//! it ends), and what the drill's result means for the exit code.
//!
//! Exit codes follow `run`'s table; a drill whose run succeeded but whose result is FAILED
//! (an issue found — a step failed under `continue` —, the RTO or the RPO missed) exits 1,
//! so a scheduler notices. A flag that already turned the success into another code
//! (`--strict-rto`, `--strict-rpo`: 6) keeps it. A notification that cannot be posted is a
//! warning: it never changes the outcome.

use super::args::RunFlags;
use super::drillreport;
use super::outcome::Outcome;
use super::prepare::Book;
use super::term::{eprint, say};
use crate::exec::{Announce, Secrets};
use crate::journal::drill::drill_result;
use crate::journal::RunState;
use crate::model::time as clock;

/// What a drill's end is given from its prepared run.
pub struct Ending<'a> {
    pub book: &'a Book,
    pub secrets: &'a Secrets,
    pub rt: &'static tokio::runtime::Runtime,
    pub flags: &'a RunFlags,
    pub run_id: &'a str,
    /// `--notify URL`.
    pub notify: Option<&'a str>,
}

/// What the drill's end comes to, from the outcome of its run.
pub fn after(p: &Ending<'_>, state: &RunState, outcome: Outcome) -> Outcome {
    let Some(result) = drill_result(state, clock::now_ms()) else { return outcome };
    if state.status.is_unfinished() {
        return outcome;
    }
    let announce = Announce {
        rb: &p.book.rb,
        values: &p.book.values,
        secrets: p.secrets,
        run_id: p.run_id,
        given: p.notify,
    };
    if announce.wanted() {
        let text = drillreport::summary(&result, &state.runbook);
        match p.rt.block_on(announce.post(&text)) {
            Ok(_) => say(p.flags, "drill result posted to the drill notification URL"),
            Err(e) => eprint(&format!("warning: the drill notification was not posted: {e}")),
        }
    }
    if outcome == Outcome::Succeeded && !result.success {
        eprint(&format!(
            "the {} drill FAILED: {} (exit 1)",
            result.drill_type,
            drillreport::why_failed(&result)
        ));
        return Outcome::Failed;
    }
    outcome
}
