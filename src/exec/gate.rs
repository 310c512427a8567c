//! Approval gates at run time: a gated step asks for its approvals (journaled), takes them
//! from the runner's terminal, from `--approve`, or from `drbook approve` in another shell
//! (the scheduler's inbox poller journals those and ticks [`Ctx::tick`]), and opens once every
//! role has one. A denial or the gate's `timeout` fails the step.
//!
//! While a step waits here other branches keep running: the wait is a task of its own, and
//! the step's own duration starts only when its action does. Without a terminal (and without
//! `--wait`) the step is left `waiting` and the run pauses once nothing else can run.

use super::run::{lock, ApprovalAnswer, ApprovalAsk, Ctx, Note};
use super::values::Values;
use crate::journal::inbox::{self, Ask, Request};
use crate::journal::{Event, How, JournalError, StepRecord, StepState};
use crate::model::time as clock;
use crate::model::{fmt_duration, Action, Approval};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the gate ended for this session.
pub(super) enum Gated {
    /// Every role approved: run the action.
    Open,
    /// Still waiting; the run pauses (or stops) with the step `waiting`.
    Waiting,
    /// Denied or timed out (already journaled).
    Failed(String),
    /// The run turned to rolling back before the gate was asked for: nothing happened.
    Halted,
}

fn record(ctx: &Ctx, id: &str) -> StepRecord {
    lock(&ctx.journal).state().step(id).cloned().unwrap_or_default()
}

/// Waits at step `i`'s gate.
pub(super) async fn pass(
    ctx: &Ctx,
    i: usize,
    approval: &Approval,
    vals: &Values<'_>,
) -> Result<Gated, JournalError> {
    let step = &ctx.job.rb.steps[i];
    let id = step.id.as_str();
    let rec = record(ctx, id);
    // Approvals hold until the step fails: a crash or a `retry` decision does not ask again.
    if rec.gate_satisfied() && rec.state != StepState::Failed {
        return Ok(Gated::Open);
    }
    if rec.state != StepState::Waiting || rec.gate.is_none() {
        let members = ctx.job.rb.roles.as_ref().map(|roles| {
            roles
                .iter()
                .filter(|r| approval.roles.contains(&r.name))
                .map(|r| (r.name.clone(), r.members.clone()))
                .collect()
        });
        let e = Event::ApprovalRequested {
            step: id.to_string(),
            at: clock::now(),
            roles: approval.roles.clone(),
            members,
            timeout_ms: approval.timeout,
        };
        if !super::run::append_forward(&ctx.journal, e)? {
            return Ok(Gated::Halted);
        }
    }
    if ctx.job.approve.iter().any(|s| s == id) {
        let req = Request::new(id, &ctx.job.user, Ask::Approve { role: None, comment: None });
        let said = inbox::apply(&mut **lock(&ctx.journal), &req, How::Flag, &clock::now());
        note_answer(ctx, id, &ctx.job.user, said);
    }
    let mut tick = ctx.tick.clone();
    let mut stop = ctx.stop.clone();
    let mut halt = ctx.winding_down.clone();
    let mut shown: Option<usize> = None;
    let mut refusal: Option<String> = None;
    let mut person_gone = false;
    let mut prompt: Option<Prompt> = None;
    loop {
        let rec = record(ctx, id);
        let (Some(gate), StepState::Waiting) = (rec.gate.clone(), rec.state) else {
            close(&mut prompt);
            if rec.state == StepState::Failed {
                let error = rec.error.unwrap_or_else(|| "approval denied".into());
                return Ok(failed(ctx, id, rec.attempts, error));
            }
            return Ok(Gated::Open);
        };
        if rec.gate_satisfied() {
            close(&mut prompt);
            return Ok(Gated::Open);
        }
        if shown != Some(rec.approvals.len()) {
            shown = Some(rec.approvals.len());
            ctx.observer.note(Note::AwaitingApproval {
                step: id.to_string(),
                missing: rec.missing_roles().iter().map(|r| r.to_string()).collect(),
                approved: rec.approvals.iter().map(|a| (a.role.clone(), a.by.clone())).collect(),
            });
        }
        let deadline =
            gate.timeout_ms.and_then(|t| clock::parse(&gate.requested_at).map(|s| s + t as i64));
        let now = clock::now_ms();
        if deadline.is_some_and(|d| now >= d) {
            close(&mut prompt);
            // Judged again under the journal's lock: an answer may have come in meanwhile.
            let mut j = lock(&ctx.journal);
            let still = j.state().step(id).is_some_and(|r| {
                r.state == StepState::Waiting && r.gate.is_some() && !r.gate_satisfied()
            });
            if !still {
                continue;
            }
            j.append(&Event::ApprovalTimedOut { step: id.to_string(), at: clock::now() })?;
            drop(j);
            return Ok(failed(ctx, id, rec.attempts, "approval timed out".into()));
        }
        if *ctx.stop.borrow() || *ctx.winding_down.borrow() {
            close(&mut prompt);
            return Ok(Gated::Waiting);
        }
        let person = ctx.person.clone().filter(|_| !person_gone);
        if person.is_none() && !ctx.job.wait {
            return Ok(Gated::Waiting);
        }
        if prompt.as_ref().is_some_and(|p| p.approvals != rec.approvals.len()) {
            close(&mut prompt);
        }
        if let (Some(person), None) = (person, &prompt) {
            let ask = ask(ctx, i, &rec, vals, refusal.take());
            let cancel = Arc::new(AtomicBool::new(false));
            let c = cancel.clone();
            let task = tokio::task::spawn_blocking(move || person.approve(&ask, &c));
            prompt = Some(Prompt { task, cancel, approvals: rec.approvals.len() });
        }
        let wait = deadline.map_or(1000, |d| (d - now).clamp(1, 1000) as u64);
        tokio::select! {
            _ = tick.changed() => {}
            () = tokio::time::sleep(Duration::from_millis(wait)) => {}
            _ = stop.wait_for(|s| *s) => {}
            _ = halt.wait_for(|s| *s) => {}
            answer = async { match prompt.as_mut() { Some(p) => (&mut p.task).await, None => std::future::pending().await } } => {
                prompt = None;
                match answer.ok().flatten() {
                    Some(a) => {
                        let (by, req) = match a {
                            ApprovalAnswer::Approve { by, role, comment } => {
                                let r = Request::new(id, &by, Ask::Approve { role, comment });
                                (by, r)
                            }
                            ApprovalAnswer::Deny { by, reason } => {
                                let r = Request::new(id, &by, Ask::Deny { reason });
                                (by, r)
                            }
                        };
                        let req = req.scrubbed(|t| ctx.job.secrets.scrub(t));
                        let said = inbox::apply(&mut **lock(&ctx.journal), &req, How::Prompt, &clock::now());
                        if let Err(why) = &said {
                            refusal = Some(why.clone());
                        }
                        note_answer(ctx, id, &by, said);
                    }
                    // End of input: nobody is at the terminal any more.
                    None => person_gone = true,
                }
            }
        }
    }
}

fn failed(ctx: &Ctx, id: &str, attempt: u32, error: String) -> Gated {
    ctx.observer.note(Note::StepFailed {
        step: id.to_string(),
        attempt,
        error: error.clone(),
        retry_in_ms: None,
    });
    Gated::Failed(error)
}

/// A prompt open on the terminal, answered on a blocking thread.
struct Prompt {
    task: tokio::task::JoinHandle<Option<ApprovalAnswer>>,
    cancel: Arc<AtomicBool>,
    /// How many approvals the prompt showed: it is reopened when that changes.
    approvals: usize,
}

fn close(prompt: &mut Option<Prompt>) {
    if let Some(p) = prompt.take() {
        p.cancel.store(true, Ordering::SeqCst);
    }
}

fn note_answer(ctx: &Ctx, step: &str, by: &str, said: Result<String, String>) {
    let n = match said {
        Ok(message) => Note::ApprovalRecorded { step: step.to_string(), message },
        Err(reason) => Note::ApprovalRefused { step: step.to_string(), by: by.to_string(), reason },
    };
    ctx.observer.note(n);
}

/// What the prompt shows: the step, its owner and expected duration, the rendered action
/// (secrets masked), the RTO budget and the roles.
fn ask(
    ctx: &Ctx,
    i: usize,
    rec: &StepRecord,
    vals: &Values<'_>,
    refusal: Option<String>,
) -> ApprovalAsk {
    let step = &ctx.job.rb.steps[i];
    let gate = rec.gate.clone().unwrap_or_default();
    let roles = gate
        .roles
        .iter()
        .map(|r| {
            let members = gate.members.as_ref().and_then(|m| m.get(r)).cloned();
            let by = rec.approvals.iter().find(|a| &a.role == r).map(|a| a.by.clone());
            (r.clone(), members, by)
        })
        .collect();
    let elapsed = u64::try_from(clock::now_ms() - ctx.job.clock_start_ms).unwrap_or(0);
    let budget = match ctx.job.rb.rto {
        Some(rto) if elapsed > rto => format!(
            "{} elapsed: OVER the {} budget by {}",
            fmt_duration(elapsed / 1000 * 1000),
            fmt_duration(rto),
            fmt_duration((elapsed - rto) / 1000 * 1000)
        ),
        Some(rto) => format!(
            "{} elapsed of the {} budget ({} left)",
            fmt_duration(elapsed / 1000 * 1000),
            fmt_duration(rto),
            fmt_duration((rto - elapsed) / 1000 * 1000)
        ),
        None => format!("{} elapsed (no budget)", fmt_duration(elapsed / 1000 * 1000)),
    };
    ApprovalAsk {
        step: step.id.clone(),
        title: step.title.clone(),
        owner: step.owner.clone(),
        expected_ms: step.duration,
        action: describe(ctx, step.action.as_ref(), vals),
        budget,
        roles,
        default_name: ctx.job.user.clone(),
        refusal,
    }
}

/// The action as it will run, secrets masked.
fn describe(ctx: &Ctx, action: Option<&Action>, vals: &Values<'_>) -> String {
    let shown = match action {
        None => "none (an approval gate)".to_string(),
        Some(Action::Run { script }) => match vals.render(script, true) {
            Ok(s) => format!("run: {}", s.trim()),
            Err(e) => format!("run (cannot be rendered yet: {e})"),
        },
        Some(Action::Manual { instructions }) => match vals.render(instructions, false) {
            Ok(s) => format!("manual: {}", s.trim()),
            Err(e) => format!("manual (cannot be rendered yet: {e})"),
        },
        Some(Action::Wait { millis }) => format!("wait {}", fmt_duration(*millis)),
        Some(Action::Http { method, url, .. }) => match vals.render(url, false) {
            Ok(u) => format!("http {method} {}", u.trim()),
            Err(e) => format!("http {method} (cannot be rendered yet: {e})"),
        },
        Some(Action::Notify { url, .. }) => match vals.render(url, false) {
            Ok(u) => format!("notify: POST {}", u.trim()),
            Err(e) => format!("notify (cannot be rendered yet: {e})"),
        },
        Some(other) => other.kind().replace('_', " "),
    };
    ctx.job.secrets.scrub(&shown)
}
