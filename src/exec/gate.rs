//! Approval gates at run time: a gated step asks for its approvals (journaled), takes them
//! from the runner's terminal, from `--approve`, or from `drbook approve` in another shell
//! (through the person loop, `person.rs`), and opens once every role has one. A denial or the
//! gate's `timeout` fails the step.
//!
//! While a step waits here other branches keep running: the wait is a task of its own, and
//! the step's own duration starts only when its action does. Without a terminal (and without
//! `--wait`) the step is left `waiting` and the run pauses once nothing else can run.

use super::ctx::Ctx;
use super::note::Note;
use super::person::{self, Prompt, Question, Waited};
use super::port::{ApprovalAnswer, ApprovalAsk, Person};
use super::values::Values;
use crate::journal::inbox::{Ask, Request};
use crate::journal::{Event, How, JournalError, StepRecord, StepState};
use crate::model::time as clock;
use crate::model::{fmt_duration, Action, Approval};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

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
    ctx.state(|s| s.step(id).cloned().unwrap_or_default())
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
            excluded: ctx.job.rb.people.exclude_initiator.then(|| ctx.state(|s| s.user.clone())),
            approvals: ctx.job.rb.approvals,
            signers: ctx.job.rb.signers.clone(),
        };
        if !ctx.record_forward(&[e]).await? {
            return Ok(Gated::Halted);
        }
    }
    if ctx.job.approve.iter().any(|s| s == id) {
        let req = Request::new(id, &ctx.job.user, Ask::Approve { role: None, comment: None });
        let _ = ctx.answer(req, How::Flag).await;
    }
    let mut q = Gate { i, vals, shown: None, refusal: None };
    Ok(match person::ask(ctx, &mut q).await? {
        Waited::Done(Ok(())) => Gated::Open,
        Waited::Done(Err(e)) => Gated::Failed(e),
        Waited::Waiting => Gated::Waiting,
    })
}

/// The gate as a question for people: settled once every role approved (`Ok`) or the step
/// failed (denied, timed out: `Err`).
struct Gate<'v, 'a> {
    i: usize,
    vals: &'v Values<'a>,
    /// How many approvals the last "awaiting approval" note showed.
    shown: Option<usize>,
    refusal: Option<String>,
}

impl Question for Gate<'_, '_> {
    type Done = Result<(), String>;

    fn settled(&mut self, ctx: &Ctx) -> Result<Option<Self::Done>, JournalError> {
        let id = &ctx.job.rb.steps[self.i].id;
        let rec = record(ctx, id);
        if rec.state == StepState::Failed {
            return Ok(Some(Err(rec.error.unwrap_or_else(|| "approval denied".into()))));
        }
        if rec.state != StepState::Waiting || rec.gate.is_none() || rec.gate_satisfied() {
            return Ok(Some(Ok(())));
        }
        if self.shown != Some(rec.approvals.len()) {
            self.shown = Some(rec.approvals.len());
            ctx.say(Note::AwaitingApproval {
                step: id.clone(),
                missing: rec.missing_roles().iter().map(|r| r.to_string()).collect(),
                approved: rec.approvals.iter().map(|a| (a.role.clone(), a.by.clone())).collect(),
            });
        }
        Ok(None)
    }

    fn version(&self, ctx: &Ctx) -> usize {
        record(ctx, &ctx.job.rb.steps[self.i].id).approvals.len()
    }

    fn deadline(&self, ctx: &Ctx) -> Option<i64> {
        let gate = record(ctx, &ctx.job.rb.steps[self.i].id).gate?;
        let t = gate.timeout_ms?;
        clock::parse(&gate.requested_at).map(|s| s + t as i64)
    }

    fn timeout(&self, ctx: &Ctx) -> Option<(Event, Self::Done)> {
        let id = ctx.job.rb.steps[self.i].id.clone();
        Some((
            Event::ApprovalTimedOut { step: id, at: clock::now() },
            Err("approval timed out".into()),
        ))
    }

    fn still_open(&self, ctx: &Ctx, s: &crate::journal::RunState) -> bool {
        s.step(&ctx.job.rb.steps[self.i].id).is_some_and(|r| {
            r.state == StepState::Waiting && r.gate.is_some() && !r.gate_satisfied()
        })
    }

    fn prompt(&mut self, ctx: &Ctx, person: Arc<dyn Person>, cancel: Arc<AtomicBool>) -> Prompt {
        let id = ctx.job.rb.steps[self.i].id.clone();
        let ask = ask(ctx, self.i, &record(ctx, &id), self.vals, self.refusal.take());
        Box::new(move || {
            let req = match person.approve(&ask, &cancel)? {
                ApprovalAnswer::Approve { by, role, comment } => {
                    Request::new(&id, &by, Ask::Approve { role, comment })
                }
                ApprovalAnswer::Deny { by, reason } => Request::new(&id, &by, Ask::Deny { reason }),
            };
            Some(req)
        })
    }

    fn refused(&mut self, reason: String) {
        self.refusal = Some(reason);
    }
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
