//! `drbook watch ack|approve|deny|status FILE`: the admin commands of a watched runbook.
//!
//! Input: [`WatchAdmin`] and who is acting. Output: what was recorded (stdout), or a
//! refusal: exit 2 when there is nothing to acknowledge or approve, or the person may not.
//!
//! `ack`, `approve` and `deny` are judged first against the watch journal as it stands
//! (`journal::watch::decide`), so a refusal is said at once and nothing is written. Then,
//! when no watcher holds the lock, this command takes it and journals the decision itself;
//! when one does, the request goes through the watcher's inbox and this command waits (at
//! most 15 s) for its answer. Either way the same rule judges it and the record is durable
//! before the answer is printed. `status` renders the state (`watch_status.rs`).

use super::outcome::{CliError, Outcome};
use super::term::eprint;
use super::watch_args::WatchAdmin;
use crate::journal::inbox::{Reply, Request};
use crate::journal::watch::{decide, requests, WatchStore};
use crate::journal::JournalError;
use crate::model::{time as clock, Runbook};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a running watcher has to answer before the request is withdrawn.
const WATCHER_ANSWERS_WITHIN: Duration = Duration::from_secs(15);

pub fn admin(cmd: WatchAdmin, user: &str, color: bool) -> Result<Outcome, CliError> {
    match cmd {
        WatchAdmin::Ack { file, comment, state_dir } => {
            let rb = watched(&file, color)?;
            submit(&rb, &file, &state_dir, requests::ack(user, comment))
        }
        WatchAdmin::Approve { file, role, comment, state_dir } => {
            let rb = watched(&file, color)?;
            submit(&rb, &file, &state_dir, requests::approve(user, role, comment))
        }
        WatchAdmin::Deny { file, reason, state_dir } => {
            let rb = watched(&file, color)?;
            submit(&rb, &file, &state_dir, requests::deny(user, reason))
        }
        WatchAdmin::Status { file, state_dir, format } => {
            let rb = watched(&file, color)?;
            super::watch_status::status(&rb, &file, &state_dir, format)
        }
    }
}

/// The runbook at `file`, checked. It need not have a `trigger` block any more: a watcher
/// disarmed before the block was removed can still be seen and acknowledged.
pub(super) fn watched(file: &Path, color: bool) -> Result<Runbook, CliError> {
    let opts = crate::check::Options {
        today: super::input::today(),
        params: Vec::new(),
        require_params: false,
        strict: false,
    };
    let (_, checked) = super::input::checked_runbook(file, None, &opts, color)?;
    let rb = checked.runbook.ok_or_else(|| {
        CliError::invalid(format!("`{}` is a module of templates, not a runbook", file.display()))
    })?;
    Ok(rb)
}

fn submit(rb: &Runbook, file: &Path, state_dir: &Path, req: Request) -> Result<Outcome, CliError> {
    let store = WatchStore::at(state_dir, &rb.name);
    if !store.exists() {
        return Err(super::watch_status::never_watched(rb, state_dir, what(&req)));
    }
    let state = match store.read() {
        Ok((_, state)) => state,
        // Another account's watcher with a shared inbox (`approvals os`): its journal is not
        // ours to read, but the inbox takes our request and the watcher says who we are.
        Err(e @ JournalError::Untrusted { .. }) => {
            let inbox = store.inbox();
            if !inbox.is_shared() {
                return Err(e.into());
            }
            return hand_over(&inbox, &req);
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(why) = decide(&state, &req, &clock::now()) {
        return Err(CliError::invalid(why).then("nothing was recorded"));
    }
    let inbox = store.inbox();
    let mut submitted: Option<(crate::journal::RequestRef, Instant)> = None;
    loop {
        match store.lock() {
            // No watcher: journal it ourselves, under the lock.
            Ok(lock) => {
                if let Some(reply) = inbox.take_reply(&req.id) {
                    return finish(from_reply(reply));
                }
                if let Some((r, _)) = &submitted {
                    inbox.withdraw(r);
                }
                let secrets = masking(rb, file, &req)?;
                let scrub = |t: &str| secrets.as_ref().map_or(t.to_string(), |s| s.scrub(t));
                let h = store.handle(&lock, &req, &clock::now(), &scrub)?;
                return finish(h.outcome);
            }
            Err(JournalError::WatchLocked { pid, .. }) => {
                if let Some((r, since)) = &submitted {
                    if let Some(reply) = inbox.take_reply(&req.id) {
                        return finish(from_reply(reply));
                    }
                    if since.elapsed() > WATCHER_ANSWERS_WITHIN && inbox.withdraw(r) {
                        return Err(not_taken());
                    }
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                let r = inbox.submit(&req).map_err(|e| {
                    CliError::invalid(format!("cannot write to the watcher's inbox: {e}"))
                })?;
                let who = pid.map_or(String::new(), |p| format!(" (pid {p})"));
                eprint(&format!("handing it to the running watcher{who}..."));
                submitted = Some((r, Instant::now()));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Leaves `req` in another account's shared inbox and waits for its watcher's answer; the
/// watcher records it as by the OS account that owns the request file.
fn hand_over(inbox: &crate::journal::Inbox, req: &Request) -> Result<Outcome, CliError> {
    let r = inbox.submit(req).map_err(|e| {
        CliError::invalid(format!("cannot write to the watcher's shared inbox: {e}"))
    })?;
    eprint("handing it to the watcher (shared inbox)...");
    let since = Instant::now();
    loop {
        if let Some(reply) = inbox.take_reply(&req.id) {
            return finish(from_reply(reply));
        }
        if since.elapsed() > WATCHER_ANSWERS_WITHIN && inbox.withdraw(&r) {
            return Err(not_taken());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn not_taken() -> CliError {
    CliError::Failed(format!(
        "the watcher did not take the request within {}s; nothing was recorded",
        WATCHER_ANSWERS_WITHIN.as_secs()
    ))
}

fn what(req: &Request) -> &'static str {
    match (req.step.as_str(), &req.ask) {
        (requests::ACK, _) => "acknowledge",
        (_, crate::journal::inbox::Ask::Deny { .. }) => "deny",
        _ => "approve",
    }
}

/// The runbook's secrets, to mask them in a comment or reason journaled without a watcher
/// (which would mask it itself); `None` when there is no free text. Secrets that do not
/// resolve here refuse free text rather than store it unmasked.
fn masking(
    rb: &Runbook,
    file: &Path,
    req: &Request,
) -> Result<Option<crate::exec::Secrets>, CliError> {
    use crate::journal::inbox::Ask;
    let text = match &req.ask {
        Ask::Approve { comment: Some(c), .. } => c.as_str(),
        Ask::Deny { reason } => reason.as_str(),
        _ => "",
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let env = |v: &str| std::env::var(v).ok();
    let no_ssm = |name: &str| Err(format!("SSM parameter `{name}` is not read by `watch`"));
    crate::exec::Secrets::resolve(&rb.secrets, env, no_ssm, &base).map(Some).map_err(|errs| {
        let why: Vec<String> = errs.iter().map(ToString::to_string).collect();
        CliError::invalid(format!("cannot mask secrets in the text given: {}", why.join("; ")))
            .then("nothing was recorded: give it while the watcher runs, or from a shell where the runbook's secrets resolve")
    })
}

fn from_reply(r: Reply) -> Result<String, String> {
    if r.ok {
        Ok(r.message)
    } else {
        Err(r.message)
    }
}

/// The judgement, said: what was recorded on standard output, or the refusal (exit 2).
fn finish(said: Result<String, String>) -> Result<Outcome, CliError> {
    let m = said.map_err(|why| CliError::invalid(why).then("nothing was recorded"))?;
    let _ = writeln!(std::io::stdout(), "{}", crate::diag::escape::escape(&m));
    Ok(Outcome::Succeeded)
}
