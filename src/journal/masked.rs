//! [`Event::masked`]: every free-text field of an event scrubbed of secret values, before a
//! masking journal writer validates, keeps or writes it (see `event.rs`).

use super::event::*;
use std::collections::BTreeMap;

impl Event {
    /// The event with `mask` applied to every free-text field: errors, reasons,
    /// instructions, comments, capture values and param values. Identifiers are kept as
    /// they are, because replay and resume depend on them and none is free text: step ids,
    /// the run id, the runbook's name and paths, hashes, times, people's names and roles,
    /// request and remote-operation ids, signal names, and every number and enum.
    ///
    /// Every variant is taken apart field by field (no `..`), so a new field does not compile
    /// until it is sorted into one kind or the other.
    pub fn masked(&self, mask: impl Fn(&str) -> String) -> Event {
        let text = |t: &String| mask(t);
        let opt = |t: &Option<String>| t.as_deref().map(&mask);
        let values = |m: &BTreeMap<String, String>| {
            m.iter().map(|(k, v)| (k.clone(), mask(v))).collect::<BTreeMap<_, _>>()
        };
        match self {
            Event::RunStarted {
                v,
                run_id,
                runbook,
                file,
                path,
                content_hash,
                step_hashes,
                params,
                at,
                clock_start,
                rto_ms,
                rpo_ms,
                user,
                pid,
                drill,
                trigger,
            } => Event::RunStarted {
                v: *v,
                run_id: run_id.clone(),
                runbook: runbook.clone(),
                file: file.clone(),
                path: path.clone(),
                content_hash: content_hash.clone(),
                step_hashes: step_hashes.clone(),
                params: values(params),
                at: at.clone(),
                clock_start: clock_start.clone(),
                rto_ms: *rto_ms,
                rpo_ms: *rpo_ms,
                user: user.clone(),
                pid: *pid,
                drill: drill.clone(),
                trigger: trigger.as_ref().map(|t| TriggerInfo {
                    evidence: t
                        .evidence
                        .iter()
                        .map(|p| crate::journal::watch::ProbeOutcome {
                            detail: mask(&p.detail),
                            ..p.clone()
                        })
                        .collect(),
                    ..t.clone()
                }),
            },
            Event::RunResumed { at, pid, user } => {
                Event::RunResumed { at: at.clone(), pid: *pid, user: user.clone() }
            }
            Event::StepStarted { step, attempt, at } => {
                Event::StepStarted { step: step.clone(), attempt: *attempt, at: at.clone() }
            }
            Event::StepProcess { step, attempt, pid, pgid, pid_start } => Event::StepProcess {
                step: step.clone(),
                attempt: *attempt,
                pid: *pid,
                pgid: *pgid,
                pid_start: *pid_start,
            },
            Event::StepRemote { step, attempt, kind, id } => Event::StepRemote {
                step: step.clone(),
                attempt: *attempt,
                kind: kind.clone(),
                id: id.clone(),
            },
            Event::StepSucceeded { step, attempt, at, duration_ms, captures, rpo_ms } => {
                Event::StepSucceeded {
                    step: step.clone(),
                    attempt: *attempt,
                    at: at.clone(),
                    duration_ms: *duration_ms,
                    captures: values(captures),
                    rpo_ms: *rpo_ms,
                }
            }
            Event::StepFailed { step, attempt, at, error, will_retry, captures, unbegun } => {
                Event::StepFailed {
                    step: step.clone(),
                    attempt: *attempt,
                    at: at.clone(),
                    error: text(error),
                    will_retry: *will_retry,
                    captures: values(captures),
                    unbegun: *unbegun,
                }
            }
            Event::StepSkipped { step, at, reason } => {
                Event::StepSkipped { step: step.clone(), at: at.clone(), reason: text(reason) }
            }
            Event::StepWaiting { step, at, reason } => {
                Event::StepWaiting { step: step.clone(), at: at.clone(), reason: text(reason) }
            }
            Event::StepInterrupted { step, attempt, at } => {
                Event::StepInterrupted { step: step.clone(), attempt: *attempt, at: at.clone() }
            }
            Event::StepDecided { step, decision, by, at, reason, forced } => Event::StepDecided {
                step: step.clone(),
                decision: *decision,
                by: by.clone(),
                at: at.clone(),
                reason: opt(reason),
                forced: *forced,
            },
            Event::StepProbed { step, at, seen, output, decides } => Event::StepProbed {
                step: step.clone(),
                at: at.clone(),
                seen: *seen,
                output: text(output),
                decides: *decides,
            },
            Event::StepDiscussed {
                step,
                at,
                by,
                how,
                issue,
                update,
                comment,
                duration_ms,
                request,
            } => Event::StepDiscussed {
                step: step.clone(),
                at: at.clone(),
                by: by.clone(),
                how: *how,
                issue: opt(issue),
                update: opt(update),
                comment: opt(comment),
                duration_ms: *duration_ms,
                request: request.clone(),
            },
            Event::RollbackRetried { at, by } => {
                Event::RollbackRetried { at: at.clone(), by: by.clone() }
            }
            Event::ApprovalRequested {
                step,
                at,
                roles,
                members,
                timeout_ms,
                excluded,
                approvals,
                signers,
            } => Event::ApprovalRequested {
                step: step.clone(),
                at: at.clone(),
                roles: roles.clone(),
                members: members.clone(),
                timeout_ms: *timeout_ms,
                excluded: excluded.clone(),
                approvals: *approvals,
                signers: signers.clone(),
            },
            Event::Approved { step, role, by, at, how, comment, request, signed } => {
                Event::Approved {
                    step: step.clone(),
                    role: role.clone(),
                    by: by.clone(),
                    at: at.clone(),
                    how: *how,
                    comment: opt(comment),
                    request: request.clone(),
                    // Signed text: masking it would break the signature; it holds no secret
                    // (run id, step, role, hashes, a time and a name).
                    signed: signed.clone(),
                }
            }
            Event::ApprovalRefused { step, by, at, how, reason, request } => {
                Event::ApprovalRefused {
                    step: step.clone(),
                    by: by.clone(),
                    at: at.clone(),
                    how: *how,
                    reason: text(reason),
                    request: request.clone(),
                }
            }
            Event::ApprovalDenied { step, by, at, how, reason, request } => Event::ApprovalDenied {
                step: step.clone(),
                by: by.clone(),
                at: at.clone(),
                how: *how,
                reason: text(reason),
                request: request.clone(),
            },
            Event::GateReopened { step, by, at, reason } => Event::GateReopened {
                step: step.clone(),
                by: by.clone(),
                at: at.clone(),
                reason: opt(reason),
            },
            Event::DecisionAsked { step, at, undo } => {
                Event::DecisionAsked { step: step.clone(), at: at.clone(), undo: *undo }
            }
            Event::ApprovalTimedOut { step, at } => {
                Event::ApprovalTimedOut { step: step.clone(), at: at.clone() }
            }
            Event::RollbackStarted { at, reason, by } => {
                Event::RollbackStarted { at: at.clone(), reason: text(reason), by: by.clone() }
            }
            Event::UndoStarted { step, at } => {
                Event::UndoStarted { step: step.clone(), at: at.clone() }
            }
            Event::UndoProcess { step, pid, pgid, pid_start } => Event::UndoProcess {
                step: step.clone(),
                pid: *pid,
                pgid: *pgid,
                pid_start: *pid_start,
            },
            Event::UndoSucceeded { step, at, duration_ms } => Event::UndoSucceeded {
                step: step.clone(),
                at: at.clone(),
                duration_ms: *duration_ms,
            },
            Event::UndoFailed { step, at, error, will_retry } => Event::UndoFailed {
                step: step.clone(),
                at: at.clone(),
                error: text(error),
                will_retry: *will_retry,
            },
            Event::UndoWaiting { step, at, instructions } => Event::UndoWaiting {
                step: step.clone(),
                at: at.clone(),
                instructions: text(instructions),
            },
            Event::UndoSkipped { step, at, reason } => {
                Event::UndoSkipped { step: step.clone(), at: at.clone(), reason: text(reason) }
            }
            Event::UndoDecided { step, decision, by, at, reason } => Event::UndoDecided {
                step: step.clone(),
                decision: *decision,
                by: by.clone(),
                at: at.clone(),
                reason: opt(reason),
            },
            Event::RunPaused { at, reason } => {
                Event::RunPaused { at: at.clone(), reason: text(reason) }
            }
            Event::RunInterrupted { at, signal } => {
                Event::RunInterrupted { at: at.clone(), signal: signal.clone() }
            }
            Event::RunFinished { at, outcome } => {
                Event::RunFinished { at: at.clone(), outcome: *outcome }
            }
            Event::FinallyStarted { at, outcome, elapsed_ms, detail } => Event::FinallyStarted {
                at: at.clone(),
                outcome: *outcome,
                elapsed_ms: *elapsed_ms,
                detail: text(detail),
            },
        }
    }
}
