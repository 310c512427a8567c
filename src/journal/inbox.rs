//! Approvals and denials from other shells (`drbook approve`, `drbook deny`).
//!
//! Only the holder of a run's lock writes its journal. A person in another shell therefore
//! drops a *request* into `runs/<id>/inbox/`; whoever holds the lock — the live runner, which
//! looks every 250 ms, or `drbook approve` itself when no runner is alive — judges it with
//! [`apply`], journals it durably, and leaves a *reply* next to it. The requester waits for
//! that reply, so a refusal reaches the person who asked.
//!
//! Layout: `inbox/<request id>.json` (the request), `inbox/<request id>.reply` (the answer).
//! Both are written whole to a temporary name, fsynced and renamed, so a reader never sees
//! half a file. A request is removed only after its reply exists. A request carries an id,
//! and the approval records it (`request`), so a request handled twice (a crash between the
//! journal record and the removal) is answered "already recorded" rather than refused.
//!
//! [`Inbox`] is a run's inbox as a value: the executor and the CLI are handed one (from
//! [`super::RunHandle::inbox`], [`super::Journal::inbox`] or [`super::Store::inbox`]) and never
//! build its path themselves. The free functions taking a run directory remain for callers not
//! yet switched over.
//!
//! Nothing here knows the executor: the wall clock comes from `crate::model::time`.

use super::store::INBOX;
use super::{judge, Decision, Event, How, RunStatus, Seen, Sink, StepRecord, StepState};
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// One run's inbox. Cheap to clone; holds only the run directory's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbox {
    run_dir: PathBuf,
}

/// Where a pending request lies, to answer or withdraw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRef {
    path: PathBuf,
    id: String,
}

impl RequestRef {
    /// The request's id (also in [`Request::id`]).
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Inbox {
    pub(super) fn new(run_dir: &Path) -> Inbox {
        Inbox { run_dir: run_dir.to_path_buf() }
    }

    /// Requests waiting, oldest first (see [`pending`]).
    pub fn pending(&self) -> Vec<(RequestRef, Request)> {
        pending(&self.run_dir)
            .into_iter()
            .map(|(path, req)| (RequestRef { path, id: req.id.clone() }, req))
            .collect()
    }

    /// Leaves the reply to a pending request, then removes the request (see [`answer`]).
    pub fn answer(&self, r: &RequestRef, reply: &Reply) -> io::Result<()> {
        answer(&self.run_dir, &r.path, &r.id, reply)
    }

    /// Drops a request into the inbox (see [`submit`]).
    pub fn submit(&self, req: &Request) -> io::Result<RequestRef> {
        let path = submit(&self.run_dir, req)?;
        Ok(RequestRef { path, id: req.id.clone() })
    }

    /// Takes the reply to request `id` if it is there, and removes it (see [`take_reply`]).
    pub fn take_reply(&self, id: &str) -> Option<Reply> {
        take_reply(&self.run_dir, id)
    }

    /// Withdraws a request nobody took: `true` if it was still there.
    pub fn withdraw(&self, r: &RequestRef) -> bool {
        withdraw(&r.path)
    }

    /// Shares the inbox with the state dir's group (`approvals os`): the inbox becomes
    /// group-writable, setgid and sticky (nobody removes another's file), and the run's
    /// directory and `runs/` group-traversable. Everything else stays owner-only.
    pub fn share(&self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let d = dir(&self.run_dir);
        super::fsx::dir(&d, 0o700)?;
        fs::set_permissions(&d, fs::Permissions::from_mode(0o3770))?;
        for up in [Some(self.run_dir.as_path()), self.run_dir.parent()].into_iter().flatten() {
            let mode = fs::metadata(up)?.permissions().mode() & 0o7777;
            fs::set_permissions(up, fs::Permissions::from_mode(mode | 0o010))?;
        }
        Ok(())
    }

    /// Whether the inbox is shared with a group (see [`Inbox::share`]).
    pub fn is_shared(&self) -> bool {
        shared(&dir(&self.run_dir))
    }
}

fn shared(inbox: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(inbox).is_ok_and(|m| m.permissions().mode() & 0o2020 == 0o2020)
}

/// What a person asks of a gated step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ask {
    Approve {
        role: Option<String>,
        comment: Option<String>,
    },
    Deny {
        reason: String,
    },
    /// Run a step whose runner died mid-flight again (asked at the resuming runner's prompt).
    Retry,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: String,
    pub step: String,
    pub by: String,
    pub ask: Ask,
    /// `--force`: answer `retry` or `done` against what the step's probe saw.
    #[serde(default)]
    pub force: bool,
    /// The OS account owning the request file, from `fstat` of the opened file (never from
    /// what the file says); `None` for requests not read from the inbox.
    #[serde(skip)]
    pub sender: Option<u32>,
    /// An SSH-signed approval (`drbook approve --sign`): who approves is the signer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<super::sign::Signature>,
    /// `--update TEXT`: a runbook update needed (a tabletop drill's answer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
}

/// The answer to a request: what was recorded, or why nothing was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub message: String,
}

impl Request {
    /// The request with `scrub` applied to its free text (comment, reason): a person may
    /// paste a secret into a comment; the runner, which knows the secrets, masks them.
    pub fn scrubbed(mut self, scrub: impl Fn(&str) -> String) -> Request {
        self.ask = match self.ask {
            Ask::Approve { role, comment } => {
                Ask::Approve { role, comment: comment.map(|c| scrub(&c)) }
            }
            Ask::Deny { reason } => Ask::Deny { reason: scrub(&reason) },
            Ask::Retry => Ask::Retry,
        };
        self.update = self.update.map(|u| scrub(&u));
        self
    }

    /// Under `approvals os`: the request as by the OS account that owns its file, whatever
    /// name it carries. A request not read from a file (the runner's own prompt, `--approve`)
    /// is by the runner's account.
    pub fn proved_by_os(mut self) -> Result<Request, String> {
        let uid = self.sender.unwrap_or_else(|| nix::unistd::geteuid().as_raw());
        self.by = super::identity::login(uid)
            .ok_or_else(|| format!("the request's owner (uid {uid}) has no login name"))?;
        Ok(self)
    }

    /// A request with a fresh id.
    pub fn new(step: &str, by: &str, ask: Ask) -> Request {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let id = format!("{:010}-{:020}", std::process::id(), nanos % 10u128.pow(20));
        Request {
            id,
            step: step.to_string(),
            by: by.to_string(),
            ask,
            force: false,
            sender: None,
            signed: None,
            update: None,
        }
    }

    /// The request, saying a runbook update is needed (`--update`, tabletop drills).
    pub fn with_update(mut self, update: Option<String>) -> Request {
        self.update = update;
        self
    }

    /// The request, carrying a signed approval.
    pub fn with_signature(mut self, signed: Option<super::sign::Signature>) -> Request {
        self.signed = signed;
        self
    }

    /// The request, forced (`--force`).
    pub fn forced(mut self, force: bool) -> Request {
        self.force = force;
        self
    }
}

/// A request id names one file inside the inbox and nothing else: 10 digits (the submitter's
/// pid), `-`, 20 digits (the time in nanoseconds), as [`Request::new`] makes them. No `/`, no
/// `.`, no other length: a forged id can never point a reply outside the inbox.
pub fn valid_request_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 31
        && b.iter().enumerate().all(|(i, c)| if i == 10 { *c == b'-' } else { c.is_ascii_digit() })
}

fn bad_id(id: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("`{id}` is not a valid request id"))
}

fn dir(run_dir: &Path) -> PathBuf {
    run_dir.join(INBOX)
}

/// Writes `bytes` to `path` atomically and durably (a random temporary file beside it,
/// fsync, rename, fsync dir), never through a link. In a shared inbox the file is
/// group-readable, so the requester can read its reply.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let shared = path.parent().is_some_and(shared);
    super::fsx::write_atomic(path, bytes, if shared { 0o640 } else { 0o600 })
}

/// Drops a request into the run's inbox; returns its path.
pub fn submit(run_dir: &Path, req: &Request) -> io::Result<PathBuf> {
    let d = dir(run_dir);
    if !valid_request_id(&req.id) {
        return Err(bad_id(&req.id));
    }
    super::fsx::dir(&d, 0o700)?;
    let path = d.join(format!("{}.json", req.id));
    let bytes = serde_json::to_vec(req).map_err(io::Error::other)?;
    write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Requests waiting in the inbox, oldest first. A file that is not a request is removed, and
/// so is one whose id is not valid or not its file's name (a forged one).
pub fn pending(run_dir: &Path) -> Vec<(PathBuf, Request)> {
    // A link planted in place of the inbox is never read, nor anything removed through it.
    let d = dir(run_dir);
    if super::fsx::refuse_link(&d).is_err() {
        return Vec::new();
    }
    let Ok(entries) = fs::read_dir(d) else { return Vec::new() };
    let mut out: Vec<(PathBuf, Request)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let named = |r: &Request| {
                valid_request_id(&r.id)
                    && p.file_stem().is_some_and(|s| s.to_str() == Some(r.id.as_str()))
            };
            match read_request(&p).filter(named) {
                Some(r) => Some((p, r)),
                None => {
                    let _ = fs::remove_file(&p);
                    None
                }
            }
        })
        .collect();
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    out
}

/// A request file, read as untrusted input: opened without following a symlink, its sender
/// the owner of the opened file (`fstat`).
fn read_request(path: &Path) -> Option<Request> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut f =
        super::fsx::open(OpenOptions::new().read(true).custom_flags(nix::libc::O_NONBLOCK), path)
            .ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() > 64 * 1024 {
        return None;
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).ok()?;
    let mut req: Request = serde_json::from_slice(&bytes).ok()?;
    req.sender = Some(meta.uid());
    Some(req)
}

/// Leaves the reply to request `id`, then removes the request.
pub fn answer(run_dir: &Path, req_path: &Path, id: &str, reply: &Reply) -> io::Result<()> {
    if !valid_request_id(id) {
        return Err(bad_id(id));
    }
    let bytes = serde_json::to_vec(reply).map_err(io::Error::other)?;
    write_atomic(&dir(run_dir).join(format!("{id}.reply")), &bytes)?;
    match fs::remove_file(req_path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Takes the reply to request `id` if it is there (and removes it).
pub fn take_reply(run_dir: &Path, id: &str) -> Option<Reply> {
    if !valid_request_id(id) {
        return None;
    }
    let path = dir(run_dir).join(format!("{id}.reply"));
    let reply = serde_json::from_slice(&super::fsx::read(&path).ok()?).ok()?;
    let _ = fs::remove_file(&path);
    Some(reply)
}

/// Withdraws a request nobody took: `true` if it was still there.
pub fn withdraw(req_path: &Path) -> bool {
    fs::remove_file(req_path).is_ok()
}

/// Answers a person-answered wait: a manual step (`rollback` false) or a manual rollback
/// (`rollback` true). `approve` says it was done, `deny` that it failed, with the reason.
fn manual(
    sink: &mut dyn Sink,
    req: &Request,
    at: &str,
    rollback: bool,
    forced: bool,
) -> Result<String, String> {
    let what = if rollback {
        format!("the rollback of `{}`", req.step)
    } else {
        format!("`{}`", req.step)
    };
    let (decision, reason, word) = match &req.ask {
        Ask::Approve { comment, .. } => (Decision::Done, comment.clone(), "done"),
        Ask::Deny { reason } if reason.trim().is_empty() => {
            return Err(format!("marking {what} failed needs a reason (--reason TEXT)"));
        }
        Ask::Deny { reason } => (Decision::Fail, Some(reason.clone()), "failed"),
        Ask::Retry => return Err(format!("{what} waits for a person to do it; it is not retried")),
    };
    let (step, by, at) = (req.step.clone(), req.by.clone(), at.to_string());
    let e = if rollback {
        Event::UndoDecided { step, decision, by, at, reason }
    } else {
        Event::StepDecided { step, decision, by, at, reason, forced }
    };
    sink.append(&e).map_err(|e| format!("could not record it: {e}"))?;
    let forced = if forced { " (forced against its probe)" } else { "" };
    Ok(format!("{} marked {what} {word}{forced}", req.by))
}

/// Answers a resuming runner's question about a step (`rollback` false) or a rollback that
/// was in flight when its runner died: `approve` says it finished (done), `deny` that it did
/// not (failed, with the reason), `retry` (the prompt only) runs the step again — never a
/// rollback, nor a step of a run that rolls back.
fn decided(sink: &mut dyn Sink, req: &Request, at: &str, rollback: bool) -> Result<String, String> {
    let decision = match req.ask {
        Ask::Approve { .. } => Decision::Done,
        Ask::Deny { .. } => Decision::Fail,
        Ask::Retry => Decision::Retry,
    };
    let against = if rollback {
        None
    } else {
        sink.state().step(&req.step).and_then(|r| against_probe(&req.step, r, decision))
    };
    if let Some(why) = &against {
        if !req.force {
            let how = match decision {
                Decision::Retry => format!(
                    "drbook resume {} --interrupted {}=retry --force",
                    sink.state().run_id,
                    req.step
                ),
                _ => format!("drbook approve {} {} --force", sink.state().run_id, req.step),
            };
            return Err(format!("{why}; to answer so anyway: {how}"));
        }
    }
    let forced = against.is_some();
    if req.ask != Ask::Retry {
        return manual(sink, req, at, rollback, forced);
    }
    if rollback {
        return Err(format!(
            "the rollback of `{}` never runs twice: check what it did, then say done or failed",
            req.step
        ));
    }
    if sink.state().rollback.is_some() {
        return Err(format!("the run is rolling back, so `{}` does not run again", req.step));
    }
    let (step, by, at) = (req.step.clone(), req.by.clone(), at.to_string());
    let e = Event::StepDecided { step, decision: Decision::Retry, by, at, reason: None, forced };
    sink.append(&e).map_err(|e| format!("could not record it: {e}"))?;
    let forced = if forced { " (forced against its probe)" } else { "" };
    Ok(format!("{} decided to retry `{}`{forced}", req.by, req.step))
}

/// Why `decision` about `step` goes against what its latest probe saw: `retry` when its effect
/// is in place (it would be done twice), `done` when it is not (what did not happen would
/// count). `None` when it does not (or there is no probe, or it could not tell).
pub fn against_probe(step: &str, rec: &StepRecord, decision: Decision) -> Option<String> {
    let p = rec.probe.as_ref().filter(|p| !p.decided)?;
    let output = if p.output.is_empty() { String::new() } else { format!(" ({})", p.output) };
    match (decision, p.seen) {
        (Decision::Retry, Seen::InPlace) => Some(format!(
            "refused: the probe of `{step}` says its effect is in place{output}, so `retry` would do it a second time"
        )),
        (Decision::Done, Seen::NotInPlace) => Some(format!(
            "refused: the probe of `{step}` says its effect is not in place{output}, so `done` would count what did not happen"
        )),
        _ => None,
    }
}

/// Judges a request against the run as its journal stands and, if it is allowed, records it
/// durably through `sink`. `Ok` says what was recorded; `Err` why nothing was.
pub fn apply(sink: &mut dyn Sink, req: &Request, how: How, at: &str) -> Result<String, String> {
    super::identity::check_name(&req.by)?;
    let st = sink.state();
    let step = &req.step;
    if !matches!(
        st.status,
        RunStatus::Running | RunStatus::Paused | RunStatus::Interrupted | RunStatus::Failed
    ) {
        return Err(format!("run `{}` is finished ({})", st.run_id, st.status));
    }
    let Some(rec) = st.step(step) else {
        return Err(format!("run `{}` has no step `{step}`", st.run_id));
    };
    // A tabletop drill's steps are discussed, not approved or done.
    if st.is_tabletop() {
        return super::tabletop::answer(sink, req, how, at);
    }
    if req.update.is_some() {
        return Err(format!(
            "`--update` answers a tabletop drill's step; run `{}` is not a tabletop drill",
            st.run_id
        ));
    }
    if let Some(id) = Some(&req.id).filter(|_| how == How::Cli) {
        if let Some(a) = rec.approvals.iter().find(|a| a.request.as_deref() == Some(id)) {
            return Ok(format!("already recorded: {} approved `{step}` as {}", a.by, a.role));
        }
    }
    if rec.deciding {
        let undoing = rec.state == StepState::Undoing;
        return decided(sink, req, at, undoing);
    }
    if rec.state == StepState::Undoing && rec.undo.as_ref().is_some_and(|u| u.waiting) {
        return manual(sink, req, at, true, false);
    }
    if st.rollback.is_some() {
        return Err(format!("run `{}` is rolling back: its gates are closed", st.run_id));
    }
    let gate = match (&rec.gate, rec.state) {
        (Some(g), StepState::Waiting) if !rec.gate_satisfied() => g.clone(),
        // Waiting for a person to do its manual action: answered done or failed.
        (_, StepState::Waiting) if rec.manual_waiting => {
            return manual(sink, req, at, false, false)
        }
        (Some(_), StepState::Waiting) => {
            return Err(format!(
                "step `{step}` is already fully approved; it starts when the run goes on"
            ))
        }
        _ => {
            return Err(format!(
                "step `{step}` is not waiting for an approval (it is {})",
                rec.state
            ))
        }
    };
    if let Some(t) = gate.timeout_ms {
        let deadline = crate::model::time::parse(&gate.requested_at).map(|s| s + t as i64);
        if deadline.is_some_and(|d| crate::model::time::parse(at).is_some_and(|now| now >= d)) {
            return Err(format!(
                "the approval of `{step}` timed out ({} after it was requested at {}); the step fails when the run goes on",
                crate::model::fmt_duration(t),
                gate.requested_at
            ));
        }
    }
    // `approvals os`: whoever asked is the OS account behind the request (its file's owner,
    // or this process's account), whatever name it carries: also when `drbook approve`
    // journals it itself under the run's lock.
    let proved;
    let req = if gate.approvals == crate::model::ApprovalMode::Os {
        proved = req.clone().proved_by_os()?;
        &proved
    } else {
        req
    };
    let request = (how == How::Cli).then(|| req.id.clone());
    let (event, said) = match &req.ask {
        Ask::Retry => {
            return Err(format!("step `{step}` waits for an approval: it is approved or denied"))
        }
        Ask::Approve { role, comment } => {
            let (by, signed) = match prove(st, &gate, req, role.as_deref()) {
                Ok(p) => p,
                Err(why) => return refuse(sink, req, how, at, request, why),
            };
            let role = match &signed {
                Some((claim, _)) => claim.role.clone(),
                None => role.clone().unwrap_or_default(),
            };
            let role = (!role.is_empty()).then_some(role.as_str());
            let role = judge(&gate, &rec.approvals, &by, role)?;
            let signed = signed.map(|(_, s)| s);
            let req = &Request { by, ..req.clone() };
            let mut left: Vec<&str> = gate.missing(&rec.approvals);
            left.retain(|r| *r != role);
            let said = if left.is_empty() {
                format!("{} approved `{step}` as {role}; every approval is in", req.by)
            } else {
                format!(
                    "{} approved `{step}` as {role}; still missing: {}",
                    req.by,
                    left.join(", ")
                )
            };
            let event = Event::Approved {
                step: step.clone(),
                role,
                by: req.by.clone(),
                at: at.to_string(),
                how,
                comment: comment.clone(),
                request,
                signed,
            };
            (event, said)
        }
        Ask::Deny { reason } => {
            if reason.trim().is_empty() {
                return Err("a denial needs a reason (--reason TEXT)".into());
            }
            if !gate.roles.iter().any(|r| gate.may_hold(&req.by, r)) {
                return Err(format!(
                    "{} may not deny `{step}`: only a person who may approve it can (roles: {})",
                    req.by,
                    gate.roles.join(", ")
                ));
            }
            let event = Event::ApprovalDenied {
                step: step.clone(),
                by: req.by.clone(),
                at: at.to_string(),
                how,
                reason: reason.clone(),
                request,
            };
            (event, format!("{} denied `{step}`: the step fails", req.by))
        }
    };
    sink.append(&event).map_err(|e| format!("could not record it: {e}"))?;
    Ok(said)
}

/// Ends the message of a refusal that was journaled (`approval_refused`).
pub const REFUSAL_JOURNALED: &str = " (journaled as refused: it does not count)";

/// Journals an approval whose proof failed as `approval_refused`, and says why.
fn refuse(
    sink: &mut dyn Sink,
    req: &Request,
    how: How,
    at: &str,
    request: Option<String>,
    why: String,
) -> Result<String, String> {
    let e = Event::ApprovalRefused {
        step: req.step.clone(),
        by: req.by.clone(),
        at: at.to_string(),
        how,
        reason: why.clone(),
        request,
    };
    sink.append(&e).map_err(|e| format!("{why}; and it could not be journaled: {e}"))?;
    Err(format!("{why}{REFUSAL_JOURNALED}"))
}

/// Who approves, and the signature that proves it: the signer (the principal the runbook's
/// signers file gives the key) for a signed request, the typed name otherwise; a gate that
/// needs signatures refuses an unsigned approval. `role` is the one the request named.
fn prove(
    st: &super::RunState,
    gate: &super::Gate,
    req: &Request,
    role: Option<&str>,
) -> Result<(String, Option<(super::sign::Claim, super::gate::SignedBy)>), String> {
    let Some(sig) = &req.signed else {
        if gate.approvals == crate::model::ApprovalMode::Signed {
            return Err(format!(
                "the runbook requires signed approvals (`approvals signed`): sign it with `drbook approve {} {} --sign KEY`",
                st.run_id, req.step
            ));
        }
        return Ok((req.by.clone(), None));
    };
    let want =
        super::sign::Expect { run: &st.run_id, step: &req.step, runbook: &st.content_hash, gate };
    let (claim, proof) = super::sign::verify(&want, sig)?;
    if let Some(r) = role.filter(|r| *r != claim.role) {
        return Err(format!("the signature approves role {}, not {r}", claim.role));
    }
    Ok((claim.principal.clone(), Some((claim, proof))))
}
