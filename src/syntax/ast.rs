//! The syntax tree of one `.drbook` file, as written: no imports resolved, no names checked.
//!
//! Every node carries a [`Span`]; spans compare equal to each other, so two trees compare by
//! structure alone (the formatter's round-trip property: `parse(fmt(x)) == parse(x)`).
//! Values that the language types later (durations, numbers, lists) stay generic [`Value`]s
//! here, so that the checker can explain a wrong type instead of the parser rejecting it.

use crate::diag::Span;

/// A name: step id, param, role, capture, alias, template, attribute keyword.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: Box<str>,
    pub span: Span,
}

/// A string literal, `"..."` or `"""..."""`, split into literal text and `${...}` references.
#[derive(Clone, Debug, PartialEq)]
pub struct Str {
    pub parts: Vec<StrPart>,
    pub span: Span,
    /// Written as `"""..."""`.
    pub triple: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Lit(Box<str>),
    Ref(Path),
    /// A template argument spliced into a template's string: one value, inserted as a single
    /// shell word in `run` and ssm `commands` (LANGUAGE.md §6). Never produced by the parser.
    Word(Vec<StrPart>),
    /// A bare word given as a template argument that the template interpolates into a string
    /// (`use http.healthy(url = dr_health)`): the checker reports it as
    /// `drbook::check::bare_word`. Never produced by the parser.
    Bare(Ident),
}

/// A dotted name: `region`, `steps.backup.id`, `run.id`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segments: Vec<Box<str>>,
    pub span: Span,
}

impl Path {
    pub fn dotted(&self) -> String {
        self.segments.join(".")
    }
}

impl Str {
    /// The string's text when it has no `${...}` reference.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                StrPart::Lit(s) => out.push_str(s),
                StrPart::Ref(_) | StrPart::Word(_) | StrPart::Bare(_) => return None,
            }
        }
        Some(out)
    }

    /// The `${...}` references written directly in this string.
    pub fn refs(&self) -> impl Iterator<Item = &Path> {
        self.parts.iter().filter_map(|p| match p {
            StrPart::Ref(r) => Some(r),
            StrPart::Lit(_) | StrPart::Word(_) | StrPart::Bare(_) => None,
        })
    }
}

/// A value where the language expects a typed value.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    Str(Str),
    Int(i64),
    /// A decimal, kept as written.
    Dec(Box<str>),
    /// Milliseconds, with the text as written (`1h30m`).
    Duration(u64, Box<str>),
    /// `YYYY-MM-DD` as (year, month, day); validated by the parser.
    Date(i32, u32, u32),
    Bool(bool),
    List(Vec<Value>),
    /// `200..299`, inclusive.
    Range(i64, i64),
    /// A bare identifier (`critical`, `abort`, a type name).
    Ident(Box<str>),
    /// `${NAME}` standing for a value: a template argument or a param.
    Placeholder(Box<str>),
    /// A token that is no value at all; already reported by the parser.
    Invalid(Box<str>),
}

/// A whole file: imports, at most one runbook, templates, in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Import(Import),
    Runbook(Runbook),
    Template(Template),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub path: Value,
    pub alias: Option<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Runbook {
    pub name: Value,
    pub items: Vec<HeaderItem>,
    pub span: Span,
    /// Span of the closing brace, where comments before it are anchored.
    pub close: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HeaderItem {
    pub kind: HeaderKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HeaderKind {
    /// `title`, `description`, `owner`, `rto`, `rpo`, `tier`, `reviewed`, `review_every`,
    /// `on_failure`, `parallel`, `shell`, `workdir`: a keyword and one value.
    Attr(Ident, Value),
    Param(Param),
    Secret(Secret),
    Roles(Block<KeyValue>),
    Step(Step),
    /// `env { KEY = "value" }`: every step's environment, under the step's and its templates'.
    Env(Block<KeyValue>),
    /// `drills { component every 7d }`: how often each drill type is due.
    Drills(Block<DrillEntry>),
    /// `trigger { ... }`: when `drbook watch` starts a run by itself.
    Trigger(Block<TriggerItem>),
    /// `objectives { service "NAME" { rto 15m; rpo 0s; tier critical } ... }`.
    Objectives(Block<Service>),
    /// `impact { hourly_revenue 50000; ... }`: the business impact of an outage.
    Impact(Block<Setting>),
}

/// `service "NAME" { rto D; rpo D; tier IDENT }` inside `objectives { }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub name: Value,
    pub settings: Block<Setting>,
    pub span: Span,
}

/// `NAME VALUE` inside a `service { }` or `impact { }`; the name is checked, not parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

/// One setting of `trigger { }`.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerItem {
    pub kind: TriggerKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TriggerKind {
    /// `probe NAME [timeout DURATION] ACTION`.
    Probe { name: Ident, timeout: Option<Value>, action: Action },
    /// `every`, `failures`, `cooldown`, `rpo_gate`, `notify`: a keyword and one value.
    Attr(Ident, Value),
    /// `quorum K of N`.
    Quorum { k: Value, n: Value },
    /// `requires approval [{ by ...; timeout ... }]` or `requires auto`; the word is checked,
    /// not parsed.
    Requires { what: Ident, gate: Option<Block<ApprovalItem>> },
    /// `params { NAME = VALUE }`.
    Params(Block<KeyValue>),
}

impl TriggerKind {
    /// The setting's keyword, for messages and the duplicate rule.
    pub fn keyword(&self) -> &str {
        match self {
            TriggerKind::Probe { .. } => "probe",
            TriggerKind::Attr(kw, _) => &kw.name,
            TriggerKind::Quorum { .. } => "quorum",
            TriggerKind::Requires { .. } => "requires",
            TriggerKind::Params(_) => "params",
        }
    }
}

/// `TYPE every DURATION` inside `drills { }`; the type is checked, not parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct DrillEntry {
    pub kind: Ident,
    pub every: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<Ident>,
    pub default: Option<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    pub name: Ident,
    /// `env`, `file` or `ssm`.
    pub source: Ident,
    pub arg: Value,
}

/// A `{ ... }` block of nested items.
#[derive(Clone, Debug)]
pub struct Block<T> {
    pub items: Vec<T>,
    /// Written on one line in the source; the formatter keeps it so when it fits. Layout, not
    /// structure: it takes no part in equality.
    pub one_line: bool,
    pub span: Span,
}

impl<T: PartialEq> PartialEq for Block<T> {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

/// `KEY = VALUE` inside `roles`, `env`, `parameters`; the key may be a name or a string.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    pub key: Ident,
    pub quoted_key: bool,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub id: Ident,
    pub title: Option<Value>,
    pub items: Vec<StepItem>,
    pub span: Span,
    pub close: Span,
    /// Written `finally step`: runs after the run has ended, whatever its outcome.
    pub finally: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub name: Ident,
    pub params: Vec<TemplateParam>,
    pub items: Vec<StepItem>,
    pub span: Span,
    pub close: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TemplateParam {
    pub name: Ident,
    pub default: Option<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepItem {
    pub kind: StepKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// `owner`, `duration`, `timeout`, `on_failure`, `workdir`: a keyword and one value.
    Attr(Ident, Value),
    Needs(Vec<Ident>),
    When(Expr),
    Retry {
        count: Value,
        every: Option<Value>,
        backoff: Option<Ident>,
    },
    Idempotent,
    /// `safe`: read-only, no side effects, safe to run against production at any time.
    Safe,
    Approval(Block<ApprovalItem>),
    Env(Block<KeyValue>),
    Capture {
        name: Ident,
        source: CaptureSource,
    },
    Check(Expr),
    Measure {
        what: Ident,
        from: Ident,
    },
    Rollback(Rollback),
    /// `verify ACTION`: the probe saying whether the step's effect is in place.
    Verify(Action),
    Action(Action),
    Use(Use),
    /// `restores "api-gateway", "user-service"`: the services this step brings back.
    Restores(Vec<Value>),
}

impl StepKind {
    /// The key under which an item may appear only once in a step (`None` for `needs`,
    /// `capture`, `check`, `restores` and `use`, which may repeat). Template splicing and the checker's
    /// duplicate rule both use it.
    pub fn once_key(&self) -> Option<&'static str> {
        Some(match self {
            StepKind::Attr(kw, _) => match &*kw.name {
                "owner" => "owner",
                "duration" => "duration",
                "timeout" => "timeout",
                "on_failure" => "on_failure",
                _ => "workdir",
            },
            StepKind::When(_) => "when",
            StepKind::Retry { .. } => "retry",
            StepKind::Idempotent => "idempotent",
            StepKind::Safe => "safe",
            StepKind::Approval(_) => "approval",
            StepKind::Env(_) => "env",
            StepKind::Measure { .. } => "measure",
            StepKind::Rollback(_) => "rollback",
            StepKind::Verify(_) => "verify",
            StepKind::Action(_) => "action",
            StepKind::Needs(_)
            | StepKind::Capture { .. }
            | StepKind::Check(_)
            | StepKind::Restores(_)
            | StepKind::Use(_) => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ApprovalItem {
    By(Vec<Ident>, Span),
    Timeout(Value, Span),
}

#[derive(Clone, Debug, PartialEq)]
pub enum CaptureSource {
    Stdout,
    Json(Value),
    Regex(Value),
}

/// `rollback ACTION` or `rollback { ACTION; timeout D }`.
#[derive(Clone, Debug, PartialEq)]
pub enum Rollback {
    Action(Box<Action>),
    Block(Block<RollbackItem>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum RollbackItem {
    Action(Action),
    Timeout(Value, Span),
    /// `retry N [every D] [backoff exponential]`: more attempts of the rollback action.
    Retry {
        count: Value,
        every: Option<Value>,
        backoff: Option<Ident>,
        span: Span,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    Run(Value),
    Http { method: Ident, url: Value, options: Option<Block<HttpItem>> },
    SsmCommand { document: Value, options: Option<Block<SsmItem>> },
    SsmAutomation { document: Value, options: Option<Block<SsmItem>> },
    SsmPut { name: Value, value: Value, secure: bool },
    Wait(Value),
    Manual(Value),
    Notify { url: Value, text: Value },
}

impl ActionKind {
    /// The keyword(s) that start the action, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            ActionKind::Run(_) => "run",
            ActionKind::Http { .. } => "http",
            ActionKind::SsmCommand { .. } => "ssm command",
            ActionKind::SsmAutomation { .. } => "ssm automation",
            ActionKind::SsmPut { .. } => "ssm put",
            ActionKind::Wait(_) => "wait",
            ActionKind::Manual(_) => "manual",
            ActionKind::Notify { .. } => "notify",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum HttpItem {
    Header(Value, Value, Span),
    /// `body`, `status`, `body_contains`.
    Attr(Ident, Value),
}

#[derive(Clone, Debug, PartialEq)]
pub enum SsmItem {
    Targets(Block<Tag>),
    Parameters(Block<KeyValue>),
    /// `instances`, `max_concurrency`, `max_errors`, `comment`.
    Attr(Ident, Value),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    pub key: Value,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Use {
    pub alias: Ident,
    pub template: Ident,
    pub args: Vec<Arg>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Ident,
    pub value: Value,
}

/// An expression of `when` and `check`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Lit(Value),
    Name(Path),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// Kept so the formatter can print what the author grouped.
    Paren(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}

/// The settings of a `service { }` in `objectives { }`.
pub const SERVICE_SETTINGS: &[&str] = &["rto", "rpo", "tier"];
/// The settings of `impact { }`, all required.
pub const IMPACT_SETTINGS: &[&str] = &[
    "hourly_revenue",
    "transactions_per_hour",
    "regulatory",
    "customer_impact",
    "data_recreation_cost",
];
