//! The terminal-person port: what the executor asks of a person at a terminal ([`Person`],
//! implemented by the CLI) and what the approval prompt shows and gets back.

use crate::model::Millis;
use std::sync::atomic::AtomicBool;

/// A person at a terminal, when there is one.
pub trait Person: Send + Sync {
    /// Shows a manual step's instructions; `Ok(())` done, `Err(reason)` failed; `None` when
    /// `cancel` was set (answered elsewhere) or input ended.
    fn manual(
        &self,
        step: &str,
        instructions: &str,
        cancel: &AtomicBool,
    ) -> Option<Result<(), String>>;
    /// Asks for an approval at a gate. `None`: `cancel` was set (the gate was settled
    /// elsewhere) or input ended.
    fn approve(&self, ask: &ApprovalAsk, cancel: &AtomicBool) -> Option<ApprovalAnswer>;
    /// Asks how a step (`undo`: its rollback) that was in flight when its runner died ended:
    /// retry (offered only when `retry`), done, or failed. `None`: `cancel` was set (answered
    /// elsewhere) or input ended. A person who cannot be asked answers nothing.
    fn decide(
        &self,
        _step: &str,
        _undo: bool,
        _retry: bool,
        _cancel: &AtomicBool,
    ) -> Option<crate::journal::Decision> {
        None
    }
    /// [`Person::decide`] with what the prompt should show besides: the step's probe, the
    /// question asked as a run rolls back ("was it done?"), why an answer was refused.
    fn decide_about(
        &self,
        ask: &DecideAsk,
        cancel: &AtomicBool,
    ) -> Option<crate::journal::Decision> {
        self.decide(&ask.step, ask.undo, ask.retry, cancel)
    }
    /// Shows a tabletop drill's step to the team and takes their answer: ready, or an issue
    /// found, with or without a runbook update needed. `None`: `cancel` was set (answered
    /// elsewhere) or input ended. A person who cannot be asked answers nothing.
    fn discuss(&self, _ask: &DiscussAsk, _cancel: &AtomicBool) -> Option<DiscussAnswer> {
        None
    }
}

/// What a tabletop drill shows of a step: rendered the way `plan` renders it (params filled
/// in, secrets as `<secret:NAME>`), nothing evaluated.
#[derive(Clone, Debug, Default)]
pub struct DiscussAsk {
    pub step: String,
    pub title: Option<String>,
    pub owner: Option<String>,
    pub expected_ms: Option<Millis>,
    /// The steps it needs (discussed before it).
    pub needs: Vec<String>,
    /// Its `when`, shown, never evaluated.
    pub when: Option<String>,
    /// The rendered action (`none (an approval gate)` without one).
    pub action: String,
    /// The roles its approval gate would need (not asked: nothing runs).
    pub approvals: Vec<String>,
    /// The rendered rollback action, if any.
    pub rollback: Option<String>,
    /// It is a `finally` step.
    pub finally: bool,
    /// The name offered when the person just presses Enter.
    pub default_name: String,
    /// Why the previous answer was refused.
    pub refusal: Option<String>,
}

/// The team's answer for a tabletop step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscussAnswer {
    pub by: String,
    /// An issue found; `None`: ready.
    pub issue: Option<String>,
    /// A runbook update needed.
    pub update: Option<String>,
    pub comment: Option<String>,
}

/// What the prompt about a step in doubt shows.
#[derive(Clone, Debug, Default)]
pub struct DecideAsk {
    pub step: String,
    /// About its rollback (interrupted or manual), not the step.
    pub undo: bool,
    /// `retry` is one of the answers.
    pub retry: bool,
    /// The step failed and the run rolls back: was its effect done anyway (undo it)?
    pub was_done: bool,
    /// What its `verify` probe saw, e.g. `not in place (exit code 1)`.
    pub probe: Option<String>,
    /// Why the previous answer was refused.
    pub refusal: Option<String>,
}

/// What the approval prompt shows.
#[derive(Clone, Debug)]
pub struct ApprovalAsk {
    pub step: String,
    pub title: Option<String>,
    pub owner: Option<String>,
    pub expected_ms: Option<Millis>,
    /// The rendered action, secrets masked.
    pub action: String,
    /// The RTO budget as it stands.
    pub budget: String,
    /// Each role of the gate: its members (when declared) and who approved it so far.
    pub roles: Vec<(String, Option<Vec<String>>, Option<String>)>,
    /// The name offered when the person just presses Enter.
    pub default_name: String,
    /// Why the previous answer was refused.
    pub refusal: Option<String>,
}

/// A person's answer at the approval prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalAnswer {
    Approve { by: String, role: Option<String>, comment: Option<String> },
    Deny { by: String, reason: String },
}
