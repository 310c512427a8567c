//! The checked runbook: the only input of `graph`, `plan` and `exec`.
//!
//! Everything here has been validated: step references are indices into `Runbook::steps`
//! (declaration order), durations are milliseconds, templates are spliced, names in strings
//! and expressions are resolved to what they denote. Param values stay symbolic in strings
//! ([`Part::Param`]) so that one model can be planned with different `--param` values; values
//! in typed positions (`retry ${attempts}`) were resolved by the checker.

pub mod drill;
mod expr;
pub mod hash;
pub mod objectives;
mod text;
pub mod time;
pub mod trigger;

pub use crate::syntax::ast::BinOp;
pub use drill::{DrillCadence, DrillKind};
pub use expr::quote;
pub use objectives::{ImpactDecl, ServiceObjective};
pub use text::{shell_word, Part, Text};
pub use trigger::{Trigger, TriggerField};

use crate::diag::{FileId, Span};

/// Milliseconds.
pub type Millis = u64;

#[derive(Clone, Debug)]
pub struct Runbook {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub rto: Option<Millis>,
    pub rpo: Option<Millis>,
    pub tier: Option<String>,
    pub reviewed: Option<Date>,
    pub review_every: Option<Millis>,
    pub on_failure: FailurePolicy,
    pub parallel: u32,
    pub params: Vec<Param>,
    pub secrets: Vec<Secret>,
    /// Declared roles; `None` when the runbook has no `roles` block (any person may approve).
    pub roles: Option<Vec<Role>>,
    /// In declaration order; a step's index is its identity in the graph.
    pub steps: Vec<Step>,
    pub file: FileId,
    /// The header's `shell`: what `run` actions and `run` rollbacks run with (`SHELL -c`);
    /// `None`: `sh`.
    pub shell: Option<String>,
    /// Who may approve, beyond `roles`: the header's `initiator_may_approve`.
    pub people: People,
    /// The header's `approvals`: how an approver proves who they are.
    pub approvals: ApprovalMode,
    /// The header's `signers` file (an OpenSSH allowed_signers file), as read at check time.
    pub signers: Option<String>,
    /// The header's `drills { }` block: how often each drill type is due (declaration order).
    pub drills: Vec<DrillCadence>,
    /// The header's `notify_drills`: where a drill posts its summary (a URL, or a secret).
    pub notify_drills: Option<Text>,
    /// The header's `trigger { }` block: when `drbook watch` starts a run by itself.
    pub trigger: Option<Trigger>,
    /// The header's `objectives { }` block: per-service RTO/RPO/tier (declaration order).
    pub objectives: Vec<ServiceObjective>,
    /// The header's `impact { }` block: the business impact the advisor judges objectives by.
    pub impact: Option<ImpactDecl>,
}

/// How a runbook tells people apart at its gates (issue 11 §1).
#[derive(Clone, Debug, Default)]
pub struct People {
    /// `initiator_may_approve false`: whoever started the run approves no role of any gate.
    pub exclude_initiator: bool,
}

/// How an approver proves who they are (header `approvals typed | os | signed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// A typed name (`--as`, `DRBOOK_USER`, `USER`): proves nothing.
    #[default]
    Typed,
    /// The OS account that made the request.
    Os,
    /// An SSH signature by a key of the runbook's `signers` file.
    Signed,
}

impl ApprovalMode {
    pub fn is_typed(&self) -> bool {
        *self == ApprovalMode::Typed
    }
}

impl Runbook {
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// How many steps are not `finally` steps: those are `steps[..forward_len()]`, the finally
    /// steps the rest.
    pub fn forward_len(&self) -> usize {
        self.steps.iter().take_while(|s| !s.finally).count()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Days since 1970-01-01 (proleptic Gregorian).
    pub fn days(self) -> i64 {
        let (y, m) = if self.month <= 2 {
            (self.year - 1, self.month + 9)
        } else {
            (self.year, self.month - 3)
        };
        let era = i64::from(y).div_euclid(400);
        let yoe = i64::from(y) - era * 400;
        let doy = (153 * i64::from(m) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Today's date (UTC).
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailurePolicy {
    Abort,
    Rollback,
    Continue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    String,
    Number,
    Bool,
    Duration,
    List,
}

impl ParamType {
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Number => "number",
            ParamType::Bool => "bool",
            ParamType::Duration => "duration",
            ParamType::List => "list",
        }
    }
}

/// A param's value, typed.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Str(String),
    Number(f64),
    Bool(bool),
    /// Milliseconds and the text as written.
    Duration(Millis, String),
    List(Vec<String>),
}

impl ParamValue {
    /// The text inserted where the param is interpolated (lists: comma-separated).
    pub fn render(&self) -> String {
        match self {
            ParamValue::Str(s) => s.clone(),
            ParamValue::Number(n) => format_number(*n),
            ParamValue::Bool(b) => b.to_string(),
            ParamValue::Duration(_, t) => t.clone(),
            ParamValue::List(l) => l.join(","),
        }
    }
}

pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    pub default: Option<ParamValue>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SecretSource {
    Env(String),
    File(String),
    Ssm(String),
}

#[derive(Clone, Debug)]
pub struct Secret {
    pub name: String,
    pub source: SecretSource,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub id: String,
    pub title: Option<String>,
    /// The step's owner, or the runbook's when the step has none.
    pub owner: Option<String>,
    pub duration: Option<Millis>,
    pub timeout: Option<Millis>,
    /// Indices of the steps this one needs, in the order written.
    pub needs: Vec<usize>,
    pub when: Option<Expr>,
    pub retry: Option<Retry>,
    /// The step's policy, or the runbook's default.
    pub on_failure: FailurePolicy,
    pub idempotent: bool,
    pub approval: Option<Approval>,
    pub env: Vec<(String, Text)>,
    pub workdir: Option<Text>,
    pub captures: Vec<Capture>,
    pub checks: Vec<Expr>,
    /// The capture whose value is the achieved RPO.
    pub measure_rpo: Option<String>,
    pub action: Option<Action>,
    pub rollback: Option<Rollback>,
    /// `verify ACTION`: a read-only probe saying whether the step's effect is in place.
    pub verify: Option<Action>,
    pub span: Span,
    /// A `finally` step: runs once the run has ended (never undone, outside the critical
    /// path). Finally steps come after every other step in [`Runbook::steps`].
    pub finally: bool,
    /// `safe`: read-only, no side effects, safe to run against production at any time (a
    /// component drill runs it).
    pub safe: bool,
    /// `restores "svc", ...`: the services (names from `objectives`) this step restores.
    pub restores: Vec<String>,
}

impl Step {
    /// Whether a component drill runs this step: it is `safe`, or its action is an `http GET`
    /// or `HEAD` with no body (no side effects by construction).
    pub fn drill_safe(&self) -> bool {
        self.safe
            || matches!(&self.action, Some(Action::Http { method, body: None, .. })
                if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD"))
    }
}

impl Action {
    /// Every text of an action.
    pub fn texts(&self) -> Vec<&Text> {
        fn words(ps: &[(String, Vec<Text>)]) -> impl Iterator<Item = &Text> {
            ps.iter().flat_map(|(_, vs)| vs.iter())
        }
        match self {
            Action::Run { script } => vec![script],
            Action::Http { url, headers, body, body_contains, .. } => {
                let mut v = vec![url];
                v.extend(headers.iter().flat_map(|(k, val)| [k, val]));
                v.extend(body);
                v.extend(body_contains);
                v
            }
            Action::SsmCommand {
                document,
                targets,
                parameters,
                max_concurrency,
                max_errors,
                comment,
            } => {
                let mut v = vec![document];
                match targets {
                    crate::model::SsmTargets::Tags(t) => {
                        v.extend(t.iter().flat_map(|(k, x)| [k, x]))
                    }
                    crate::model::SsmTargets::Instances(i) => v.extend(i),
                }
                v.extend(words(parameters));
                v.extend(max_concurrency);
                v.extend(max_errors);
                v.extend(comment);
                v
            }
            Action::SsmAutomation { document, parameters } => {
                let mut v = vec![document];
                v.extend(words(parameters));
                v
            }
            Action::SsmPut { name, value, .. } => vec![name, value],
            Action::Manual { instructions } => vec![instructions],
            Action::Notify { url, text } => vec![url, text],
            Action::Wait { .. } => Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    /// Additional attempts after the first.
    pub attempts: u32,
    pub every: Millis,
    pub exponential: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Approval {
    /// One approval per listed role, each by a different person.
    pub roles: Vec<String>,
    pub timeout: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Capture {
    pub name: String,
    pub from: CaptureFrom,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CaptureFrom {
    Stdout,
    Json(String),
    Regex(String),
}

#[derive(Clone, Debug)]
pub struct Rollback {
    pub action: Action,
    pub timeout: Option<Millis>,
    /// `retry N ...` inside `rollback { }`: more attempts of the rollback action.
    pub retry: Option<Retry>,
}

#[derive(Clone, Debug)]
pub enum Action {
    /// `sh -c` of the script; interpolated values are shell-quoted (LANGUAGE.md §6).
    Run {
        script: Text,
    },
    Http {
        method: String,
        url: Text,
        headers: Vec<(Text, Text)>,
        body: Option<Text>,
        /// Accepted status ranges, inclusive.
        status: Vec<(u16, u16)>,
        body_contains: Option<Text>,
    },
    SsmCommand {
        document: Text,
        targets: SsmTargets,
        parameters: Vec<(String, Vec<Text>)>,
        max_concurrency: Option<Text>,
        max_errors: Option<Text>,
        comment: Option<Text>,
    },
    SsmAutomation {
        document: Text,
        parameters: Vec<(String, Vec<Text>)>,
    },
    SsmPut {
        name: Text,
        value: Text,
        secure: bool,
    },
    Wait {
        millis: Millis,
    },
    Manual {
        instructions: Text,
    },
    Notify {
        url: Text,
        text: Text,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Run { .. } => "run",
            Action::Http { .. } => "http",
            Action::SsmCommand { .. } => "ssm_command",
            Action::SsmAutomation { .. } => "ssm_automation",
            Action::SsmPut { .. } => "ssm_put",
            Action::Wait { .. } => "wait",
            Action::Manual { .. } => "manual",
            Action::Notify { .. } => "notify",
        }
    }

    /// Whether running it changes the world (LANGUAGE.md §7): such steps should be
    /// `idempotent` or have a rollback.
    pub fn has_side_effects(&self) -> bool {
        match self {
            Action::Http { method, .. } => !matches!(method.as_str(), "GET" | "HEAD"),
            Action::Wait { .. } | Action::Manual { .. } => false,
            _ => true,
        }
    }
}

#[derive(Clone, Debug)]
pub enum SsmTargets {
    Tags(Vec<(Text, Text)>),
    Instances(Vec<Text>),
}

/// An expression of `when` / `check`, names resolved.
#[derive(Clone, Debug)]
pub enum Expr {
    Str(String),
    Number(f64),
    /// Milliseconds; compares with numbers as seconds.
    Duration(Millis),
    Bool(bool),
    Ref(Ref),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// What a name denotes.
#[derive(Clone, Debug, PartialEq)]
pub enum Ref {
    Param(String),
    Secret(String),
    /// A capture of the step itself (in its `check` / `measure`).
    OwnCapture(String),
    /// `steps.ID.NAME`: step index and capture name.
    Capture(usize, String),
    RunId,
    RunbookName,
    /// `${run.status}`, `${run.elapsed}`, `${run.rto_met}`, `${run.rpo}`: how the run ended,
    /// in `finally` steps only.
    RunEnd(RunEndField),
    /// `${trigger.fired_at}`, `${trigger.detected_at}`: in the trigger block's `params` only.
    Trigger(TriggerField),
}

/// What a `finally` step may know of the run's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEndField {
    /// `succeeded`, `failed`, `rolled_back`, `rollback_failed`.
    Status,
    /// From the RTO clock's start to the end of the run (before its finally steps).
    Elapsed,
    /// `true`, `false` or `unknown`.
    RtoMet,
    /// The achieved RPO as a duration, or `unknown`.
    Rpo,
}

impl RunEndField {
    pub fn name(self) -> &'static str {
        match self {
            RunEndField::Status => "status",
            RunEndField::Elapsed => "elapsed",
            RunEndField::RtoMet => "rto_met",
            RunEndField::Rpo => "rpo",
        }
    }
}

/// `1h30m`, `45s`, `250ms`, `0s`: the shortest exact spelling of a duration.
pub fn fmt_duration(ms: Millis) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
    {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Small runbooks built in code, for tests of the stages after `check`.
#[cfg(test)]
pub mod tests_support {
    use super::*;

    /// A runbook of `run "true"` steps with the given durations and needs.
    pub fn runbook_with_durations(durations: &[Millis], needs: &[&[usize]]) -> Runbook {
        let steps = durations
            .iter()
            .zip(needs)
            .enumerate()
            .map(|(i, (d, n))| Step {
                id: format!("s{i}"),
                title: None,
                owner: None,
                duration: Some(*d),
                timeout: None,
                needs: n.to_vec(),
                when: None,
                retry: None,
                on_failure: FailurePolicy::Abort,
                idempotent: true,
                approval: None,
                env: Vec::new(),
                workdir: None,
                captures: Vec::new(),
                checks: Vec::new(),
                measure_rpo: None,
                action: Some(Action::Run { script: Text::literal("true") }),
                rollback: None,
                verify: None,
                span: Span::default(),
                finally: false,
                safe: false,
                restores: Vec::new(),
            })
            .collect();
        Runbook {
            name: "t".into(),
            title: None,
            description: None,
            owner: None,
            rto: None,
            rpo: None,
            tier: None,
            reviewed: None,
            review_every: None,
            on_failure: FailurePolicy::Abort,
            parallel: 16,
            params: Vec::new(),
            secrets: Vec::new(),
            roles: None,
            steps,
            file: FileId(0),
            shell: None,
            people: People::default(),
            approvals: ApprovalMode::Typed,
            signers: None,
            drills: Vec::new(),
            notify_drills: None,
            trigger: None,
            objectives: Vec::new(),
            impact: None,
        }
    }
}
