//! The keywords each place of a runbook accepts: the parser's "did you mean" candidates and
//! the language server's completions.

/// Top level of a file.
pub const TOP: &[&str] = &["import", "runbook", "template"];
/// Inside `runbook { }`.
pub const RUNBOOK: &[&str] = &[
    "title",
    "description",
    "owner",
    "rto",
    "rpo",
    "tier",
    "reviewed",
    "review_every",
    "on_failure",
    "parallel",
    "param",
    "secret",
    "roles",
    "step",
    "env",
    "workdir",
    "shell",
    "finally",
    "initiator_may_approve",
    "approvals",
    "signers",
    "drills",
    "notify_drills",
    "trigger",
    "objectives",
    "impact",
];
/// Inside `step { }` and `template { }`.
pub const STEP: &[&str] = &[
    "owner",
    "duration",
    "timeout",
    "needs",
    "when",
    "retry",
    "on_failure",
    "idempotent",
    "safe",
    "approval",
    "env",
    "workdir",
    "capture",
    "check",
    "measure",
    "rollback",
    "verify",
    "restores",
    "use",
    "run",
    "http",
    "ssm",
    "wait",
    "manual",
    "notify",
];
/// The settings of `trigger { }`.
pub const TRIGGER: &[&str] = &[
    "probe", "every", "failures", "quorum", "cooldown", "rpo_gate", "requires", "params", "notify",
];
/// The drill types of `drills { }` (model::DrillKind).
pub const DRILLS: &[&str] = &["tabletop", "component", "partial", "full"];
/// The words that start an action.
pub const ACTIONS: &[&str] = &["run", "http", "ssm", "wait", "manual", "notify"];
/// Inside `approval { }`.
pub const APPROVAL: &[&str] = &["by", "timeout"];
/// Inside an `http` action's `{ }`.
pub const HTTP: &[&str] = &["header", "body", "status", "body_contains"];
/// Inside an `ssm command|automation` action's `{ }`.
pub const SSM: &[&str] =
    &["targets", "instances", "parameters", "max_concurrency", "max_errors", "comment"];
