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
    /// `--update TEXT`: a tabletop drill's answer says a runbook update is needed.
    pub update: Option<String>,
}

/// The judgement, said: what was recorded on standard output, or the refusal.
fn finish(said: Result<String, String>) -> Result<Outcome, CliError> {
    let m = said.map_err(|why| match why.strip_suffix(inbox::REFUSAL_JOURNALED) {
        Some(why) => CliError::RefusedJournaled(why.to_string()),
        None => CliError::Refused(why),
    })?;
    let _ = writeln!(std::io::stdout(), "{}", crate::diag::escape::escape(&m));
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
    let ApproveRequest { state_dir, run_id, step, ask, user, force, signing, update } = asked;
    let (run_id, step) = (run_id.as_str(), step.as_str());
    let store = Store::at(&state_dir);
    let (state, _) = match store.read_run(run_id) {
        Ok(read) => read,
        // Another account's run with a shared inbox (`approvals os`): its journal is not
        // ours to read, but the inbox takes our request and the runner says who we are.
        Err(e @ JournalError::Untrusted { .. }) => {
            let inbox = store.inbox(run_id)?;
            if !inbox.is_shared() {
                return Err(e.into());
            }
            let req = Request::new(step, &user, ask).forced(force).with_update(update);
            return hand_over(&inbox, &req);
        }
        Err(e) => return Err(e.into()),
    };
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
    let req =
        Request::new(step, &user, ask).forced(force).with_signature(signed).with_update(update);
    let book = (std::path::PathBuf::from(&state.path), state.params.clone());
    let tabletop = state.is_tabletop();
    // Judge it against a copy of the journal: nothing is written here.
    let mut copy = MemoryJournal { state, events: Vec::new() };
    if let Err(why) = inbox::apply(&mut copy, &req, How::Cli, &clock::now()) {
        // A refusal the journal keeps (a signature that does not count) is recorded for real.
        if copy.events.is_empty() {
            return finish(Err(why));
        }
    }
    // A tabletop drill's runner holds no secret to mask with: its answers are masked here.
    let req = if tabletop { masked(req, &book.0, &book.1, true)? } else { req };
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
                let req = masked(req, &book.0, &book.1, tabletop)?;
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

/// Leaves `req` in another account's shared inbox and waits for its runner's answer. The
/// runner records it as by the OS account that owns the request file, not by `--as`.
fn hand_over(inbox: &crate::journal::Inbox, req: &Request) -> Result<Outcome, CliError> {
    let r = inbox
        .submit(req)
        .map_err(|e| CliError::invalid(format!("cannot write to the run's shared inbox: {e}")))?;
    eprint("handing it to the run's runner (shared inbox)...");
    let since = Instant::now();
    loop {
        if let Some(reply) = inbox.take_reply(&req.id) {
            return finish(from_reply(reply));
        }
        if since.elapsed() > RUNNER_ANSWERS_WITHIN && inbox.withdraw(&r) {
            return Err(CliError::Failed(format!(
                "no runner took the request within {}s (is the run paused? its owner resumes \
                 it); nothing was recorded",
                RUNNER_ANSWERS_WITHIN.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `req` with the run's secrets masked in its comment or reason, for journaling it without a
/// runner (which would mask it itself): the runbook the run started from is read again and its
/// secrets resolved here. When they cannot be, free text is refused rather than stored unmasked
/// — except in a `tabletop` drill, which never resolves a secret (its runner masks nothing
/// either): its answers are masked when the secrets resolve here, and kept as typed otherwise.
fn masked(
    req: Request,
    path: &std::path::Path,
    params: &std::collections::BTreeMap<String, String>,
    tabletop: bool,
) -> Result<Request, CliError> {
    let text = match &req.ask {
        Ask::Approve { comment: Some(c), .. } => c.as_str(),
        Ask::Deny { reason } => reason.as_str(),
        _ => "",
    };
    if text.is_empty() && req.update.is_none() {
        return Ok(req);
    }
    if tabletop {
        return Ok(match run_secrets(path, params) {
            Ok(secrets) => req.scrubbed(|t| secrets.scrub(t)),
            Err(_) => req,
        });
    }
    let secrets = run_secrets(path, params).map_err(|why| {
        CliError::invalid(format!(
            "cannot mask secrets in the {}: {why}",
            if matches!(req.ask, Ask::Deny { .. }) { "reason" } else { "comment" }
        ))
        .then("nothing was recorded: give it while the runner is live, or from a shell where the runbook's secrets resolve")
    })?;
    Ok(req.scrubbed(|t| secrets.scrub(t)))
}

/// The secrets of the runbook at `path`, resolved from this process's environment and files.
fn run_secrets(
    path: &std::path::Path,
    params: &std::collections::BTreeMap<String, String>,
) -> Result<crate::exec::Secrets, String> {
    let mut loaded = super::input::read(path, None)?;
    let opts = crate::check::Options {
        today: super::input::today(),
        params: params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        require_params: false,
        strict: false,
    };
    let checked = crate::check::check(&mut loaded, &opts);
    let Some(rb) = checked.runbook else {
        return Err(format!("`{}` does not check", path.display()));
    };
    let base = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let env = |v: &str| std::env::var(v).ok();
    let no_ssm = |name: &str| Err(format!("SSM parameter `{name}` is not read by `approve`"));
    crate::exec::Secrets::resolve(&rb.secrets, env, no_ssm, &base)
        .map_err(|errs| errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
}
