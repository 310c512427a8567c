//! Acknowledgements, approvals and denials of a watched runbook from other shells: the
//! contract between `drbook watch ack|approve|deny` and the running watcher.
//!
//! The journal has one writer at a time, the lock holder. A person's command builds a
//! [`Request`] ([`ack`], [`approve`], [`deny`]); when no watcher holds the lock it takes the
//! lock and calls [`WatchStore::handle`] itself; when one does, it drops the request into
//! `watch/<key>/inbox/` (the file protocol of `journal::inbox`: request, reply) and waits up
//! to 15 s for the reply. **The watcher calls [`WatchStore::take_requests`] often** (at every
//! round and, while it sleeps between rounds, at least every second), which judges every
//! pending request with [`decide`], journals what it decides (durably, before answering),
//! answers each request and returns what it did, so the watcher can print and post it and
//! act on it (fire once every role approved, stop waiting when denied, re-arm on ack).
//!
//! The rules ([`decide`], pure): `ack` needs the watcher disarmed and journals
//! `acknowledged`. `approve` and `deny` need a pending approval; an approval is judged by
//! [`crate::journal::judge`] against the pending gate (roles, members, one person per role;
//! a trigger has no initiator, so nobody is excluded) and journaled as one `approved`; a
//! denial must come from someone who may hold a role of the gate and is journaled as
//! `blocked` (`denied`). Under `approvals os` the person is the OS account that owns the
//! request file, not the typed name; `approvals signed` is refused (trigger approvals need
//! `approvals typed` or `os`). An approval handled twice (a crash between journal and reply)
//! is answered "already recorded".

use super::event::{Block, WatchEvent};
use super::replay::WatchState;
use super::store::{WatchLock, WatchStore};
use crate::journal::inbox::{Ask, Reply, Request};
use crate::journal::{judge, ApprovalRecord, How, JournalError};
use crate::model::ApprovalMode;

/// The `step` of a request that acknowledges (re-arms) the watcher.
pub const ACK: &str = "watch:ack";
/// The `step` of a request that approves or denies the pending failover.
pub const TRIGGER: &str = "watch:trigger";

/// A request to re-arm the disarmed watcher.
pub fn ack(by: &str, comment: Option<String>) -> Request {
    Request::new(ACK, by, Ask::Approve { role: None, comment })
}

/// A request to approve the pending failover (`role`: the one named, if any).
pub fn approve(by: &str, role: Option<String>, comment: Option<String>) -> Request {
    Request::new(TRIGGER, by, Ask::Approve { role, comment })
}

/// A request to deny the pending failover (an empty reason is none).
pub fn deny(by: &str, reason: Option<String>) -> Request {
    Request::new(TRIGGER, by, Ask::Deny { reason: reason.unwrap_or_default() })
}

/// What was done with one request.
#[derive(Clone, Debug)]
pub struct Handled {
    pub request: Request,
    /// What was recorded, or why nothing was (the reply the requester got).
    pub outcome: Result<String, String>,
    /// What was journaled for it (empty when refused or already recorded).
    pub events: Vec<WatchEvent>,
}

/// Judges `req` against `state` at `at`: the events to journal and what to say, or why
/// nothing may be journaled. Pure.
pub fn decide(
    state: &WatchState,
    req: &Request,
    at: &str,
) -> Result<(Vec<WatchEvent>, String), String> {
    match (req.step.as_str(), &req.ask) {
        (ACK, Ask::Approve { comment, .. }) => {
            crate::journal::identity::check_name(&req.by)?;
            if state.phase != super::Phase::Disarmed {
                return Err(format!(
                    "the watcher is not disarmed (it is {}): there is nothing to acknowledge",
                    state.phase.as_str().replace('_', " ")
                ));
            }
            let run = state.disarmed_by.as_deref().unwrap_or("?");
            let e = WatchEvent::Acknowledged {
                at: at.to_string(),
                by: req.by.clone(),
                comment: comment.clone(),
            };
            Ok((
                vec![e],
                format!(
                    "{} acknowledged the failover by run `{run}`: the watcher is armed again",
                    req.by
                ),
            ))
        }
        (TRIGGER, ask @ (Ask::Approve { .. } | Ask::Deny { .. })) => {
            let Some((gate, approvals)) = &state.awaiting else {
                return Err("nothing awaits approval: the watcher is not waiting for a failover to be approved".into());
            };
            let req = match gate.approvals {
                ApprovalMode::Signed => {
                    return Err("trigger approvals need `approvals typed` or `approvals os`; this runbook says `approvals signed`, which `drbook watch approve` cannot prove".into())
                }
                ApprovalMode::Os => req.clone().proved_by_os()?,
                ApprovalMode::Typed => req.clone(),
            };
            crate::journal::identity::check_name(&req.by)?;
            if let Some(a) = approvals.iter().find(|a| a.request.as_deref() == Some(&req.id)) {
                return Ok((
                    Vec::new(),
                    format!("already recorded: {} approved as {}", a.by, a.role),
                ));
            }
            let detected_at = state.detected_at.clone().unwrap_or_default();
            match ask {
                Ask::Approve { role, comment } => {
                    let role = judge(gate, approvals, &req.by, role.as_deref())?;
                    let record = ApprovalRecord {
                        role: role.clone(),
                        by: req.by.clone(),
                        at: at.to_string(),
                        how: How::Cli,
                        comment: comment.clone(),
                        request: Some(req.id.clone()),
                        signed: None,
                        os: gate.approvals == ApprovalMode::Os,
                    };
                    let mut given = approvals.clone();
                    given.push(record.clone());
                    let missing = gate.missing(&given);
                    let said = if missing.is_empty() {
                        format!("{} approved the failover as {role}: every role has approved, the watcher fires", req.by)
                    } else {
                        format!(
                            "{} approved the failover as {role}; still missing: {}",
                            req.by,
                            missing.join(", ")
                        )
                    };
                    Ok((vec![WatchEvent::Approved { at: at.to_string(), record }], said))
                }
                Ask::Deny { reason } => {
                    if !gate.roles.iter().any(|r| gate.may_hold(&req.by, r)) {
                        return Err(format!(
                            "{} may not deny the failover: only a person who may approve it can (roles: {})",
                            req.by,
                            gate.roles.join(", ")
                        ));
                    }
                    let reason = Some(reason.trim().to_string()).filter(|r| !r.is_empty());
                    let block = Block::Denied { by: req.by.clone(), reason };
                    let e = WatchEvent::Blocked { at: at.to_string(), block, detected_at };
                    Ok((vec![e], format!("{} denied the failover: the trigger is blocked", req.by)))
                }
                Ask::Retry => Err("a retry is not a request a watcher answers".into()),
            }
        }
        _ => Err(format!("`{}` is not a request a watcher answers", req.step)),
    }
}

impl WatchStore {
    /// Judges `req` now, under `lock`, and journals what it decides (durably) before
    /// returning. `scrub` masks secret values in its free text (comment, reason).
    pub fn handle(
        &self,
        lock: &WatchLock,
        req: &Request,
        at: &str,
        scrub: &dyn Fn(&str) -> String,
    ) -> Result<Handled, JournalError> {
        let req = req.clone().scrubbed(scrub);
        let (_, state) = self.read()?;
        let (outcome, events) = match decide(&state, &req, at) {
            Ok((events, said)) => {
                self.append(lock, &events)?;
                (Ok(said), events)
            }
            Err(why) => (Err(why), Vec::new()),
        };
        Ok(Handled { request: req, outcome, events })
    }

    /// **The watcher's call** (the contract with `cli/watch.rs`): judges every pending
    /// request of the inbox in order, journals each decision durably, answers it, and says
    /// what was done. Call it at every round and at least every second while waiting.
    /// `scrub` masks the runbook's secret values in comments and reasons. A request that
    /// cannot be answered (the reply cannot be written) stays in the inbox and is judged
    /// again next time.
    pub fn take_requests(
        &self,
        lock: &WatchLock,
        at: &str,
        scrub: &dyn Fn(&str) -> String,
    ) -> Result<Vec<Handled>, JournalError> {
        let inbox = self.inbox();
        let mut done = Vec::new();
        for (r, req) in inbox.pending() {
            let h = self.handle(lock, &req, at, scrub)?;
            let reply = match &h.outcome {
                Ok(m) => Reply { ok: true, message: m.clone() },
                Err(m) => Reply { ok: false, message: m.clone() },
            };
            // Unanswered (the reply could not be written), it is judged again next time.
            let _ = inbox.answer(&r, &reply);
            done.push(h);
        }
        Ok(done)
    }
}

/// The role of a bare `requires approval` (no roles listed): one approval by anyone (or,
/// when the runbook declares `roles`, by a member of any of them).
pub const ANY_APPROVER: &str = "approver";

/// The gate a trigger's `requires approval { ... }` opens at `at`, for `awaiting_approval`:
/// its roles with their members from the runbook's `roles` (as step gates have them), its
/// timeout, the runbook's `approvals` mode, and nobody excluded (a trigger has no initiator).
/// A bare `requires approval` is one role, [`ANY_APPROVER`], which anyone may hold, or any
/// member of a declared role.
pub fn trigger_gate(
    rb: &crate::model::Runbook,
    approval: &crate::model::Approval,
    at: &str,
) -> crate::journal::Gate {
    let bare = approval.roles.is_empty();
    let roles = if bare { vec![ANY_APPROVER.to_string()] } else { approval.roles.clone() };
    let members = rb.roles.as_ref().map(|declared| {
        if bare {
            let everyone: Vec<String> =
                declared.iter().flat_map(|r| r.members.iter().cloned()).collect();
            [(ANY_APPROVER.to_string(), everyone)].into_iter().collect()
        } else {
            declared
                .iter()
                .filter(|r| approval.roles.contains(&r.name))
                .map(|r| (r.name.clone(), r.members.clone()))
                .collect()
        }
    });
    crate::journal::Gate {
        roles,
        members,
        timeout_ms: approval.timeout,
        requested_at: at.to_string(),
        excluded: None,
        approvals: rb.approvals,
        signers: None,
    }
}
