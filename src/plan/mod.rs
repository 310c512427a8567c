//! The plan: everything a reviewer needs to judge a runbook before it runs.
//!
//! Input: the checked [`model::Runbook`], its [`Dag`], the effective value of every param and
//! the warnings found so far. Output: a [`Plan`], pure data, and one small renderer per format
//! ([`text`], [`json`], [`markdown`], [`mermaid`]) that streams it into a writer.
//!
//! Invariants:
//! - every string is fully rendered: params are replaced by their values (shell-quoted as one
//!   word inside `run` scripts and ssm `commands`, so the plan shows exactly what would run),
//!   captures and built-ins stay as `${...}` placeholders, and a secret is always
//!   `<secret:NAME>` (the model never holds a secret's value, so none can leak);
//! - steps appear in declaration order; `needs` lists ids in declaration order;
//! - durations are whole seconds, rounded up so a sub-second step never looks free; the
//!   budget verdict compares the exact milliseconds.
//!
//! Building is linear in the size of the runbook: ids are looked up by graph index, never by
//! searching, so a 100,000-step runbook plans in well under a second.

mod resolve;
pub mod services;

pub mod diff;
pub mod drplan;
pub mod json;
pub mod markdown;
pub mod mermaid;
pub mod text;
pub mod trigger;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde::{Serialize, Serializer};

use crate::graph::Dag;
use crate::model::{self, DrillKind, FailurePolicy, Millis, ParamValue};

/// Everything a reviewer needs to judge a runbook before it runs. Pure data; renderers in the
/// submodules. Field names are the JSON field names.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub runbook: String,
    pub title: Option<String>,
    pub owner: Option<String>,
    pub rto_seconds: Option<u64>,
    pub rpo_seconds: Option<u64>,
    /// Length of the critical path.
    pub estimated_rto_seconds: u64,
    pub budget: Budget,
    /// Step ids from the first step of the critical path to its last.
    pub critical_path: Vec<String>,
    /// Wave k holds the steps whose longest chain of predecessors has k edges.
    pub waves: Vec<Vec<String>>,
    pub steps: Vec<PlanStep>,
    /// Effective param values, in declaration order.
    pub params: OrderedMap<String>,
    pub warnings: Vec<PlanWarning>,
    /// The `finally` steps, in the order they may run: after the run has ended, outside the
    /// waves and the critical path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finally: Vec<PlanStep>,
    /// The header's `shell` (`run` scripts run as `SHELL -c`); absent: `sh`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// How approvers are proved (header `approvals`), when the runbook has a gate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals_proved_by: Option<crate::model::ApprovalMode>,
    /// The header's `drills { }` cadence, in declaration order.
    pub drills: Vec<PlanDrill>,
    /// The steps a component drill runs (`safe`, or a side-effect-free `http GET`/`HEAD`).
    pub component_drill_steps: Vec<String>,
    /// Where a drill posts its summary (`notify_drills`), secrets as `<secret:NAME>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_drills: Option<String>,
    /// The header's `description` (left out of JSON when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The header's `tier` label (left out of JSON when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The header's `trigger { }`: when `drbook watch` starts a run (left out of JSON when
    /// absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<trigger::PlanTrigger>,
    /// The header's `objectives { }`, one entry per service (left out of JSON when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<services::PlanService>,
}

/// One entry of `drills { }`: `component every 7d`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanDrill {
    #[serde(rename = "type")]
    pub kind: crate::model::DrillKind,
    pub every_seconds: u64,
}

/// The estimated RTO against the runbook's `rto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    Within,
    Over,
    /// The runbook declares no `rto`.
    Unknown,
}

/// A diagnostic to show with the plan (check warnings, say), already located.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanWarning {
    pub code: String,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanStep {
    pub id: String,
    pub title: Option<String>,
    pub owner: Option<String>,
    pub duration_seconds: Option<u64>,
    pub timeout_seconds: Option<u64>,
    pub needs: Vec<String>,
    /// The `when` condition as source-like text.
    pub when: Option<String>,
    pub action: Option<PlanAction>,
    pub approval: Option<PlanApproval>,
    pub rollback: bool,
    pub rollback_action: Option<PlanAction>,
    /// `retry` inside `rollback { }` (left out of JSON when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_retry: Option<PlanRetry>,
    /// The `verify` probe (left out of JSON when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<PlanAction>,
    pub retry: Option<PlanRetry>,
    pub on_failure: FailurePolicy,
    pub idempotent: bool,
    /// `safe`: read-only; a component drill runs it.
    pub safe: bool,
    /// On the critical path.
    pub critical: bool,
    /// The `timeout` inside `rollback { }` (left out of JSON when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_timeout_seconds: Option<u64>,
    /// `env { }` of the step's `run` actions: params filled in, secrets as `<secret:NAME>`.
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    pub env: OrderedMap<String>,
    /// `workdir`, rendered like `env` (left out of JSON when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// `capture NAME from ...`, in declaration order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<PlanCapture>,
    /// `check EXPR` post-conditions as source-like text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// `measure rpo from NAME`: the capture whose value is the achieved RPO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure_rpo: Option<String>,
}

/// `capture NAME from stdout | json "PATH" | regex "PAT"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanCapture {
    pub name: String,
    /// `stdout`, `json` or `regex`.
    pub from: &'static str,
    /// The json path or the regex (absent for `stdout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl PlanCapture {
    /// Source-like text: `lag from json "a.b"`.
    pub fn describe(&self) -> String {
        match &self.pattern {
            Some(p) => format!("{} from {} {p:?}", self.name, self.from),
            None => format!("{} from {}", self.name, self.from),
        }
    }
}

fn plan_capture(c: &model::Capture) -> PlanCapture {
    let (from, pattern) = match &c.from {
        model::CaptureFrom::Stdout => ("stdout", None),
        model::CaptureFrom::Json(p) => ("json", Some(p.clone())),
        model::CaptureFrom::Regex(p) => ("regex", Some(p.clone())),
    };
    PlanCapture { name: c.name.clone(), from, pattern }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanApproval {
    /// One approval per role, each by a different person.
    pub by: Vec<String>,
    pub timeout_seconds: Option<u64>,
}

fn plan_retry(r: &crate::model::Retry) -> PlanRetry {
    PlanRetry { attempts: r.attempts, every_seconds: seconds(r.every), exponential: r.exponential }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanRetry {
    /// Additional attempts after the first.
    pub attempts: u32,
    pub every_seconds: u64,
    pub exponential: bool,
}

/// An action with every string rendered (see the module invariants).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanAction {
    Run {
        script: String,
    },
    Http {
        method: String,
        url: String,
        headers: OrderedMap<String>,
        body: Option<String>,
        /// Accepted statuses: `"200"` or an inclusive range `"200..299"`.
        status: Vec<String>,
        body_contains: Option<String>,
    },
    SsmCommand {
        document: String,
        targets: PlanTargets,
        parameters: OrderedMap<Vec<String>>,
        max_concurrency: Option<String>,
        max_errors: Option<String>,
        comment: Option<String>,
    },
    SsmAutomation {
        document: String,
        parameters: OrderedMap<Vec<String>>,
    },
    SsmPut {
        name: String,
        value: String,
        secure: bool,
    },
    Wait {
        seconds: u64,
    },
    Manual {
        instructions: String,
    },
    Notify {
        url: String,
        text: String,
    },
}

/// `{"tags": {...}}` or `{"instances": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanTargets {
    Tags(OrderedMap<String>),
    Instances(Vec<String>),
}

/// Key/value pairs serialized as a JSON object in the order given (declaration order), which
/// a `HashMap` would lose and a `BTreeMap` would sort.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> OrderedMap<V> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// Builds the plan. `values` holds the effective value of every param (defaults merged with
/// `--param`); a param missing from it is shown as `${NAME}`. `dag` must be the graph of
/// `rb` (node i is `rb.steps[i]`).
/// Steps below this count are planned on the calling thread.
const PARALLEL_FROM: usize = 512;

/// The plan of every step, in order; many steps are planned in two halves on two threads
/// (a step's plan reads the runbook and writes nothing).
fn plan_steps(
    n: usize,
    parallel_from: usize,
    one: impl Fn(usize) -> PlanStep + Sync,
) -> Vec<PlanStep> {
    let work = |_: &mut (), part: Vec<usize>, from| {
        let mut steps = Vec::with_capacity(crate::par::room(from, part.len(), n));
        steps.extend(part.into_iter().map(&one));
        steps
    };
    let (mut steps, rest) =
        crate::par::halves((0..n).collect(), parallel_from, &mut (), |_| (), work);
    if let Some(((), rest)) = rest {
        steps.extend(rest);
    }
    steps
}

/// The plan of step `i`.
fn plan_step(
    ctx: &resolve::Ctx,
    rb: &model::Runbook,
    dag: &Dag,
    i: usize,
    critical: bool,
) -> PlanStep {
    let s = &rb.steps[i];
    PlanStep {
        id: s.id.clone(),
        title: s.title.clone(),
        owner: s.owner.clone(),
        duration_seconds: s.duration.map(seconds),
        timeout_seconds: s.timeout.map(seconds),
        needs: dag.needs(i).iter().filter_map(|&j| rb.steps.get(j)).map(|s| s.id.clone()).collect(),
        when: s.when.as_ref().map(|e| ctx.expr(e)),
        action: s.action.as_ref().map(|a| ctx.action(a)),
        approval: s
            .approval
            .as_ref()
            .map(|a| PlanApproval { by: a.roles.clone(), timeout_seconds: a.timeout.map(seconds) }),
        rollback: s.rollback.is_some(),
        rollback_action: s.rollback.as_ref().map(|r| ctx.action(&r.action)),
        rollback_retry: s.rollback.as_ref().and_then(|r| r.retry.as_ref()).map(plan_retry),
        verify: s.verify.as_ref().map(|a| ctx.action(a)),
        retry: s.retry.as_ref().map(plan_retry),
        on_failure: s.on_failure,
        idempotent: s.idempotent,
        safe: s.safe,
        critical: critical && !s.finally,
        rollback_timeout_seconds: s.rollback.as_ref().and_then(|r| r.timeout).map(seconds),
        env: OrderedMap(s.env.iter().map(|(k, v)| (k.clone(), ctx.text(v))).collect()),
        workdir: s.workdir.as_ref().map(|t| ctx.text(t)),
        captures: s.captures.iter().map(plan_capture).collect(),
        checks: s.checks.iter().map(|e| ctx.expr(e)).collect(),
        measure_rpo: s.measure_rpo.clone(),
    }
}

pub fn build(
    rb: &model::Runbook,
    dag: &Dag,
    values: &HashMap<String, ParamValue>,
    warnings: Vec<PlanWarning>,
) -> Plan {
    build_split(rb, dag, values, warnings, crate::par::parallel_from(PARALLEL_FROM))
}

/// [`build`], planning the steps in two halves from `parallel_from` steps on.
fn build_split(
    rb: &model::Runbook,
    dag: &Dag,
    values: &HashMap<String, ParamValue>,
    warnings: Vec<PlanWarning>,
    parallel_from: usize,
) -> Plan {
    let ctx = resolve::Ctx::new(rb, values);
    let (total_ms, path) = dag.critical_path();
    let mut critical = vec![false; rb.steps.len()];
    for &i in &path {
        if let Some(c) = critical.get_mut(i) {
            *c = true;
        }
    }
    let ids = |nodes: &[usize]| -> Vec<String> {
        nodes.iter().filter_map(|&i| rb.steps.get(i)).map(|s| s.id.clone()).collect()
    };

    let one = |i: usize| plan_step(&ctx, rb, dag, i, critical[i]);
    let mut steps = plan_steps(rb.steps.len(), parallel_from, one);
    let forward = rb.forward_len();
    let finally = steps.split_off(forward);

    let params = rb
        .params
        .iter()
        .filter_map(|p| {
            let value = values.get(&p.name).or(p.default.as_ref())?;
            Some((p.name.clone(), value.render()))
        })
        .collect();

    Plan {
        runbook: rb.name.clone(),
        title: rb.title.clone(),
        owner: rb.owner.clone(),
        rto_seconds: rb.rto.map(seconds),
        rpo_seconds: rb.rpo.map(seconds),
        estimated_rto_seconds: seconds(total_ms),
        budget: match rb.rto {
            None => Budget::Unknown,
            Some(rto) if total_ms <= rto => Budget::Within,
            Some(_) => Budget::Over,
        },
        critical_path: ids(&path),
        waves: dag
            .waves()
            .iter()
            .map(|w| w.iter().copied().filter(|&i| i < forward).collect::<Vec<_>>())
            .filter(|w| !w.is_empty())
            .map(|w| ids(&w))
            .collect(),
        steps,
        params: OrderedMap(params),
        warnings,
        finally,
        shell: rb.shell.clone(),
        approvals_proved_by: rb.steps.iter().any(|s| s.approval.is_some()).then_some(rb.approvals),
        drills: rb
            .drills
            .iter()
            .map(|d| PlanDrill { kind: d.kind, every_seconds: seconds(d.every) })
            .collect(),
        component_drill_steps: crate::graph::drill::drill_scope(rb, dag, DrillKind::Component, &[])
            .iter()
            .zip(&rb.steps)
            .filter(|(skip, _)| skip.is_none())
            .map(|(_, s)| s.id.clone())
            .collect(),
        notify_drills: rb.notify_drills.as_ref().map(|t| ctx.text(t)),
        description: rb.description.clone(),
        tier: rb.tier.clone(),
        trigger: rb.trigger.as_ref().map(|t| {
            trigger::build(t, &ctx, |i| rb.steps.get(i).map_or_else(String::new, |s| s.id.clone()))
        }),
        services: services::build(rb, dag),
    }
}

/// Step `i` of `rb` rendered as the plan renders it (params filled in, secrets as
/// `<secret:NAME>`, captures as placeholders): its action, its rollback action and its
/// `when`. A tabletop drill shows each step so.
pub fn rendered_step(
    rb: &model::Runbook,
    values: &HashMap<String, ParamValue>,
    i: usize,
) -> (Option<PlanAction>, Option<PlanAction>, Option<String>) {
    let ctx = resolve::Ctx::new(rb, values);
    let Some(s) = rb.steps.get(i) else { return (None, None, None) };
    (
        s.action.as_ref().map(|a| ctx.action(a)),
        s.rollback.as_ref().map(|r| ctx.action(&r.action)),
        s.when.as_ref().map(|e| ctx.expr(e)),
    )
}

impl Plan {
    /// `estimated RTO 47m within budget 1h (slack 13m)`, `... OVER budget by 5m (budget 1h)`,
    /// or `... (no rto budget)`.
    pub fn verdict(&self) -> String {
        let est = human(self.estimated_rto_seconds);
        match (self.budget, self.rto_seconds) {
            (Budget::Within, Some(rto)) => format!(
                "estimated RTO {est} within budget {} (slack {})",
                human(rto),
                human(rto.saturating_sub(self.estimated_rto_seconds))
            ),
            (Budget::Over, Some(rto)) => format!(
                "estimated RTO {est} OVER budget by {} (budget {})",
                // Sub-second overruns round to equal seconds; never claim "by 0s".
                human(self.estimated_rto_seconds.saturating_sub(rto).max(1)),
                human(rto)
            ),
            _ => format!("estimated RTO {est} (no rto budget)"),
        }
    }

    /// How approvers are proved, said for a reviewer: `None` without a gate.
    pub fn proof_line(&self) -> Option<&'static str> {
        use crate::model::ApprovalMode::*;
        Some(match self.approvals_proved_by? {
            Typed => "typed (a typed name: not proved)",
            Os => "os (the OS account that asked)",
            Signed => "signed (an SSH signature by a key of `signers`)",
        })
    }

    /// Whether the runbook says anything about drills (a cadence, a `safe` step, a drill
    /// notification): the text and markdown plans then show a drills section.
    pub fn shows_drills(&self) -> bool {
        !self.drills.is_empty()
            || self.notify_drills.is_some()
            || self.steps.iter().chain(&self.finally).any(|s| s.safe)
    }

    /// Steps with an approval gate.
    pub fn approvals(&self) -> usize {
        self.steps.iter().filter(|s| s.approval.is_some()).count()
    }
}

impl PlanAction {
    /// The action's kind as the language writes it: `run`, `http`, `ssm command`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            PlanAction::Run { .. } => "run",
            PlanAction::Http { .. } => "http",
            PlanAction::SsmCommand { .. } => "ssm command",
            PlanAction::SsmAutomation { .. } => "ssm automation",
            PlanAction::SsmPut { .. } => "ssm put",
            PlanAction::Wait { .. } => "wait",
            PlanAction::Manual { .. } => "manual",
            PlanAction::Notify { .. } => "notify",
        }
    }

    /// A description that may span lines (scripts and instructions keep all their lines;
    /// continuation lines are indented to sit under the first line's content).
    pub fn describe(&self) -> String {
        let (head, body) = match self {
            PlanAction::Run { script } => ("run", script.clone()),
            PlanAction::Http { method, url, status, .. } => {
                let mut s = format!("{method} {url}");
                if status.as_slice() != ["200..299"] {
                    s.push_str(&format!(" expect {}", status.join(", ")));
                }
                ("http", s)
            }
            PlanAction::SsmCommand {
                document,
                targets,
                parameters,
                max_concurrency,
                max_errors,
                comment,
            } => {
                let on = match targets {
                    PlanTargets::Tags(tags) => {
                        let t: Vec<String> =
                            tags.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!("tag {}", t.join(" "))
                    }
                    PlanTargets::Instances(ids) => format!("instances {}", ids.join(" ")),
                };
                let mut limits = String::new();
                if let Some(c) = max_concurrency {
                    limits.push_str(&format!(" max_concurrency={c}"));
                }
                if let Some(e) = max_errors {
                    limits.push_str(&format!(" max_errors={e}"));
                }
                if let Some(c) = comment {
                    limits.push_str(&format!(" comment={c:?}"));
                }
                ("ssm command", format!("{document} on {on}{}{limits}", list_params(parameters)))
            }
            PlanAction::SsmAutomation { document, parameters } => {
                ("ssm automation", format!("{document}{}", list_params(parameters)))
            }
            PlanAction::SsmPut { name, value, secure } => {
                ("ssm put", format!("{name} = {value}{}", if *secure { " (secure)" } else { "" }))
            }
            PlanAction::Wait { seconds } => ("wait", human(*seconds)),
            PlanAction::Manual { instructions } => ("manual", instructions.clone()),
            PlanAction::Notify { url, text } => ("notify", format!("{url} {text:?}")),
        };
        let indent = format!("\n{}", " ".repeat(head.chars().count() + 1));
        format!("{head} {}", body.trim_end().replace('\n', &indent))
    }

    /// One line of at most [`SUMMARY_CHARS`] characters: the first line of
    /// [`describe`](Self::describe), with `…` when something was cut.
    pub fn summary(&self) -> String {
        let full = self.describe();
        let mut lines = full.lines();
        let first = lines.next().unwrap_or_default();
        let cut = lines.next().is_some();
        if first.chars().count() > SUMMARY_CHARS {
            let mut s: String = first.chars().take(SUMMARY_CHARS - 1).collect();
            s.push('…');
            s
        } else if cut {
            format!("{first} …")
        } else {
            first.to_string()
        }
    }
}

/// Longest [`PlanAction::summary`].
pub const SUMMARY_CHARS: usize = 100;

fn list_params(params: &OrderedMap<Vec<String>>) -> String {
    params.0.iter().map(|(k, v)| format!(" {k}=[{}]", v.join(", "))).collect()
}

/// Whole seconds, rounded up.
fn seconds(ms: Millis) -> u64 {
    ms.div_ceil(1000)
}

/// `1h30m`, `45s`, `2d`, `0s`: the largest units first, zero parts left out.
pub fn human(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = seconds;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Like [`human`] but keeps milliseconds (`1s500ms`, `250ms`): a duration literal.
pub fn human_ms(ms: Millis) -> String {
    match (ms / 1000, ms % 1000) {
        (s, 0) => human(s),
        (0, m) => format!("{m}ms"),
        (s, m) => format!("{}{m}ms", human(s)),
    }
}
