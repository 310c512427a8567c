//! A tabletop drill's step (issue 12): nothing executes. When the steps it needs have been
//! discussed, the step is shown to the team (`step_waiting`, reason [`REASON`]) — title, owner,
//! expected duration, what it needs, its `when` (shown, not evaluated), its action and
//! rollback rendered as `plan` renders them (secrets as `<secret:NAME>`; none is resolved),
//! the roles its approval would need (not asked) — and waits in the one loop that waits for
//! a person (`person.rs`): the prompt, or `drbook approve` (ready) / `drbook deny --reason`
//! (issue found) from another shell, either with `--update TEXT`. Without a terminal and
//! without `--wait` the step is left waiting and the drill pauses (exit 3).
//!
//! The answer is journaled as `step_discussed` (`journal::tabletop`), which makes the step
//! `succeeded` (discussed) whatever the answer: the walkthrough goes on after an issue.

use super::board::Done;
use super::ctx::Ctx;
use super::note::Note;
use super::person::{self, Prompt, Question, Waited};
use super::port::{DiscussAnswer, DiscussAsk, Person};
use crate::journal::inbox::{Ask, Request};
use crate::journal::{Event, JournalError, StepState};
use crate::model::time as clock;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The `step_waiting` reason of a tabletop step: what `status` shows it waits for.
pub const REASON: &str = "discuss: waiting for the team";

/// Shows step `i` to the team and waits for their answer.
pub(super) async fn discuss(ctx: &Ctx, i: usize) -> Result<Done, JournalError> {
    let id = ctx.job.rb.steps[i].id.clone();
    let prior = ctx.state(|s| s.step(&id).map(|r| r.state)).unwrap_or_default();
    if prior == StepState::Succeeded {
        return Ok(Done::Succeeded);
    }
    if prior != StepState::Waiting {
        let e = Event::StepWaiting { step: id.clone(), at: clock::now(), reason: REASON.into() };
        if !ctx.record_forward(&[e]).await? {
            return Ok(Done::Halted);
        }
    } else {
        ctx.say(Note::StepWaiting { step: id.clone(), reason: REASON.into() });
    }
    let ask = shown(ctx, i);
    if ctx.person.is_none() {
        ctx.say(Note::Discuss { ask: ask.clone() });
    }
    let mut q = Discussion { ask, step: id };
    Ok(match person::ask(ctx, &mut q).await? {
        Waited::Done(()) => Done::Succeeded,
        Waited::Waiting => Done::Waiting,
    })
}

/// What the team is shown of step `i`.
fn shown(ctx: &Ctx, i: usize) -> DiscussAsk {
    let rb = &ctx.job.rb;
    let step = &rb.steps[i];
    let (action, rollback, when) = crate::plan::rendered_step(rb, &ctx.job.values, i);
    let needs = ctx.job.dag.needs(i).iter().filter_map(|&n| rb.steps.get(n)).map(|s| s.id.clone());
    DiscussAsk {
        step: step.id.clone(),
        title: step.title.clone(),
        owner: step.owner.clone(),
        expected_ms: step.duration,
        needs: needs.collect(),
        when,
        action: action.map_or_else(|| "none (an approval gate)".into(), |a| a.describe()),
        approvals: step.approval.as_ref().map(|a| a.roles.clone()).unwrap_or_default(),
        rollback: rollback.map(|a| a.describe()),
        finally: step.finally,
        default_name: ctx.job.user.clone(),
        refusal: None,
    }
}

/// A step up for discussion: settled once the journal says it was discussed.
struct Discussion {
    step: String,
    ask: DiscussAsk,
}

impl Question for Discussion {
    type Done = ();

    fn settled(&mut self, ctx: &Ctx) -> Result<Option<()>, JournalError> {
        let state = ctx.state(|s| s.step(&self.step).map(|r| r.state));
        Ok((state == Some(StepState::Succeeded)).then_some(()))
    }

    fn prompt(&mut self, _ctx: &Ctx, person: Arc<dyn Person>, cancel: Arc<AtomicBool>) -> Prompt {
        let ask = self.ask.clone();
        self.ask.refusal = None;
        let step = self.step.clone();
        Box::new(move || {
            let DiscussAnswer { by, issue, update, comment } = person.discuss(&ask, &cancel)?;
            let ask = match issue {
                Some(reason) => Ask::Deny { reason },
                None => Ask::Approve { role: None, comment },
            };
            Some(Request::new(&step, &by, ask).with_update(update))
        })
    }

    fn refused(&mut self, reason: String) {
        self.ask.refusal = Some(reason);
    }
}
