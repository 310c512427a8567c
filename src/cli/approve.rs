//! `drbook approve RUN STEP` and `drbook deny RUN STEP`, from any shell.
//!
//! The request is judged first against the journal as it stands, so an obvious refusal (not a
//! member, already approved, step not waiting, run finished) is said at once and nothing is
//! written. Then: when a runner drives the run, the request goes through its inbox and this
//! command waits for the runner's answer; when none does (the run is paused, interrupted or
//! failed), this command takes the run's lock and journals the approval itself. Either way the
//! same rule judges it and the record is durable before "approved" is printed.

use super::outcome::{CliError, Outcome};
use super::signing::{self, Prepared, Signing};
use super::term::eprint;
use crate::journal::inbox::{self, Ask, Reply, Request};
use crate::journal::{How, JournalError, MemoryJournal, RequestRef, Store};
use crate::model::time as clock;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a live runner has to answer before the request is withdrawn.
const RUNNER_ANSWERS_WITHIN: Duration = Duration::from_secs(15);

/// What `approve` or `deny` is asked.
pub struct ApproveRequest {
    pub state_dir: PathBuf,
    pub run_id: String,
    pub step: String,
    /// `Ask::Approve` (with `--role`, `--comment`) or `Ask::Deny` (with `--reason`).
    pub ask: Ask,
    /// Who is acting (`--as`).
    pub user: String,
    /// `--force`: `done` stands against what the step's probe saw.
    pub force: bool,
    /// `--sign`, `--print-message`, `--signature`: a signed approval.
    pub signing: Signing,
}

/// The judgement, said: what was recorded on standard output, or the refusal.
fn finish(said: Result<String, String>) -> Result<Outcome, CliError> {
    let m = said.map_err(|why| match why.strip_suffix(inbox::REFUSAL_JOURNALED) {
        Some(why) => CliError::RefusedJournaled(why.to_string()),
        None => CliError::Refused(why),
    })?;
    let _ = writeln!(std::io::stdout(), "{m}");
    Ok(Outcome::Succeeded)
}

fn from_reply(r: Reply) -> Result<String, String> {
    if r.ok {
        Ok(r.message)
    } else {
        Err(r.message)
    }
}

/// Approves (`Ask::Approve`) or denies (`Ask::Deny`) a step of a run.
pub fn approve(asked: ApproveRequest) -> Result<Outcome, CliError> {
    let ApproveRequest { state_dir, run_id, step, ask, user, force, signing } = asked;
    let (run_id, step) = (run_id.as_str(), step.as_str());
    let store = Store::at(&state_dir);
    let (state, _) = store.read_run(run_id)?;
    if state.step(step).is_none() {
        let ids: Vec<&str> = state.steps.iter().map(|(id, _)| id.as_str()).collect();
        let hint = crate::diag::did_you_mean(step, ids.iter().copied())
            .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
        return Err(CliError::invalid(format!("run `{run_id}` has no step `{step}`{hint}")));
    }
    let (user, ask, signed) = match ask {
        Ask::Approve { role, comment } => {
            match signing::prepare(&signing, &state, step, &user, role)? {
                Prepared::Print(message) => {
                    let _ = write!(std::io::stdout(), "{message}");
                    return Ok(Outcome::Succeeded);
                }
                Prepared::Submit { by, role, signed } => {
                    (by, Ask::Approve { role, comment }, signed)
                }
            }
        }
        other => (user, other, None),
    };
    let req = Request::new(step, &user, ask).forced(force).with_signature(signed);
    // Judge it against a copy of the journal: nothing is written here.
    let mut copy = MemoryJournal { state, events: Vec::new() };
    if let Err(why) = inbox::apply(&mut copy, &req, How::Cli, &clock::now()) {
        // A refusal the journal keeps (a signature that does not count) is recorded for real.
        if copy.events.is_empty() {
            return finish(Err(why));
        }
    }
    let inbox = store.inbox(run_id)?;
    let mut submitted: Option<(RequestRef, Instant)> = None;
    loop {
        match store.resume_run(run_id) {
            // No runner: journal it ourselves, under the run's lock.
            Ok(mut handle) => {
                if let Some(reply) = inbox.take_reply(&req.id) {
                    return finish(from_reply(reply));
                }
                if let Some((r, _)) = &submitted {
                    inbox.withdraw(r);
                }
                return finish(inbox::apply(&mut handle, &req, How::Cli, &clock::now()));
            }
            Err(JournalError::Locked { pid, .. }) => {
                let (r, since) = match &submitted {
                    Some(s) => s.clone(),
                    None => match inbox.submit(&req) {
                        Ok(p) => {
                            let who = pid.map_or(String::new(), |p| format!(" (pid {p})"));
                            eprint(&format!("handing it to the runner{who}..."));
                            let s = (p, Instant::now());
                            submitted = Some(s.clone());
                            s
                        }
                        Err(e) => {
                            return Err(CliError::invalid(format!(
                                "cannot write to the run's inbox: {e}"
                            )))
                        }
                    },
                };
                if let Some(reply) = inbox.take_reply(&req.id) {
                    return finish(from_reply(reply));
                }
                if since.elapsed() > RUNNER_ANSWERS_WITHIN && inbox.withdraw(&r) {
                    return Err(CliError::Failed(format!(
                        "the runner did not take the request within {}s; nothing was recorded",
                        RUNNER_ANSWERS_WITHIN.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
