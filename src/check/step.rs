//! One step (or a template body) → [`model::Step`]: attribute types, duplicates, the
//! one-action rule, approvals, captures and actions.

use super::action::action;
use super::cx::Cx;
use super::names::{self, At};
use crate::diag::{suggest, Diagnostic, Span};
use crate::model::{self, Approval, Capture, CaptureFrom, FailurePolicy, Retry};
use crate::syntax::ast::{self, ApprovalItem, CaptureSource, RollbackItem, StepKind};

pub const POLICIES: &[&str] = &["abort", "rollback", "continue"];

pub fn policy(word: &str) -> FailurePolicy {
    match word {
        "rollback" => FailurePolicy::Rollback,
        "continue" => FailurePolicy::Continue,
        _ => FailurePolicy::Abort,
    }
}

/// Builds a step. `index` is its position; `needs` are left empty (resolved by the caller).
pub fn step(
    cx: &mut Cx,
    index: usize,
    id: &ast::Ident,
    title: Option<&ast::Value>,
    items: &[ast::StepItem],
    defaults: (&Option<String>, FailurePolicy),
    span: Span,
) -> model::Step {
    let mut s = model::Step {
        id: id.name.to_string(),
        title: title.and_then(|t| cx.plain(t, "step title")),
        owner: defaults.0.clone(),
        duration: None,
        timeout: None,
        needs: Vec::new(),
        when: None,
        retry: None,
        on_failure: defaults.1,
        idempotent: false,
        approval: None,
        env: Vec::new(),
        workdir: None,
        captures: Vec::new(),
        checks: Vec::new(),
        measure_rpo: None,
        action: None,
        rollback: None,
        verify: None,
        span,
        finally: false,
        safe: false,
        restores: Vec::new(),
    };
    super::drills::safe_step(cx, id, items);
    // A dozen keys at most: a list beats a hash map here (one of these per step).
    let mut seen: Vec<(&'static str, Span)> = Vec::new();
    let own: Vec<String> = cx.captures.get(index).cloned().unwrap_or_default();
    let at = At { step: index, own: None };
    let at_own = At { step: index, own: Some(&own) };
    for item in items {
        if let Some(key) = item.kind.once_key() {
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                let (code, msg) = if key == "action" {
                    ("drbook::check::two_actions", format!("step `{}` has two actions", id.name))
                } else {
                    (
                        "drbook::check::duplicate_attribute",
                        format!("`{key}` given twice in step `{}`", id.name),
                    )
                };
                let help = if key == "action" {
                    "a step does one thing: split it into two steps joined by `needs`"
                } else {
                    "keep one of them"
                };
                cx.error(
                    Diagnostic::error(code, item.span, msg)
                        .label("second one")
                        .related(*first, "first one here")
                        .help(help),
                );
                continue;
            }
            seen.push((key, item.span));
        }
        match &item.kind {
            StepKind::Attr(kw, v) => match &*kw.name {
                "owner" => s.owner = cx.plain(v, "owner"),
                // An invalid duration was reported; 0 keeps "no duration" from being said too.
                "duration" => s.duration = cx.duration(v, "duration").or(Some(0)),
                "timeout" => s.timeout = cx.duration(v, "timeout"),
                "on_failure" => {
                    s.on_failure =
                        cx.choice(v, "on_failure", POLICIES).map_or(s.on_failure, |w| policy(&w))
                }
                _ => s.workdir = cx.string(v, "workdir").map(|t| names::text(cx, t, at)),
            },
            StepKind::Needs(_) => {}
            StepKind::When(e) => s.when = names::expr(cx, e, at),
            StepKind::Check(e) => s.checks.extend(names::expr(cx, e, at_own)),
            StepKind::Retry { count, every, backoff } => {
                s.retry = retry(cx, count, every.as_ref(), backoff.as_ref());
            }
            StepKind::Idempotent => s.idempotent = true,
            StepKind::Safe => s.safe = true,
            StepKind::Approval(block) => s.approval = approval(cx, block),
            StepKind::Env(block) => {
                for kv in &block.items {
                    if let Some(t) = cx.string(&kv.value, "env") {
                        s.env.push((kv.key.name.to_string(), names::text(cx, t, at)));
                    }
                }
            }
            StepKind::Capture { name, source } => {
                let from = match source {
                    CaptureSource::Stdout => Some(CaptureFrom::Stdout),
                    CaptureSource::Json(v) => cx.plain(v, "capture json").map(CaptureFrom::Json),
                    CaptureSource::Regex(v) => {
                        cx.plain(v, "capture regex").and_then(|r| regex(cx, v.span, r))
                    }
                };
                if let Some(from) = from {
                    s.captures.push(Capture { name: name.name.to_string(), from });
                }
            }
            StepKind::Measure { what, from } => {
                if &*what.name != "rpo" {
                    cx.error(
                        Diagnostic::error(
                            "drbook::check::bad_value",
                            what.span,
                            format!("cannot measure `{}`", what.name),
                        )
                        .label("expected `rpo`")
                        .help("write `measure rpo from CAPTURE`"),
                    );
                } else if !own.iter().any(|c| *c == *from.name) {
                    let help =
                        suggest(&from.name, own.iter().map(String::as_str)).unwrap_or_else(|| {
                            format!("add `capture {} from stdout` to this step", from.name)
                        });
                    cx.error(
                        Diagnostic::error(
                            "drbook::check::unknown_capture",
                            from.span,
                            format!("this step has no capture `{}`", from.name),
                        )
                        .label("not captured by this step")
                        .help(help),
                    );
                } else {
                    s.measure_rpo = Some(from.name.to_string());
                }
            }
            StepKind::Rollback(rb) => s.rollback = rollback(cx, rb, at),
            StepKind::Action(a) => s.action = action(cx, a, at),
            StepKind::Verify(a) => s.verify = verify(cx, a, at),
            StepKind::Restores(vs) => {
                super::objectives::restores(cx, item.span, vs, &mut s.restores)
            }
            StepKind::Use(u) => {
                // Only reachable in module checking: `use` inside a template body is spliced
                // at the use site; nothing to check here beyond the alias, done by the loader.
                let _ = u;
            }
        }
    }
    s
}

/// `retry N [every D] [backoff exponential]`, of a step or of its rollback.
fn retry(
    cx: &mut Cx,
    count: &ast::Value,
    every: Option<&ast::Value>,
    backoff: Option<&ast::Ident>,
) -> Option<Retry> {
    let attempts = cx.integer(count, "retry", 0).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let every = every.map_or(Some(10_000), |e| cx.duration(e, "every"));
    let exponential = match backoff {
        Some(b) if &*b.name == "exponential" => true,
        Some(b) => {
            cx.error(
                Diagnostic::error(
                    "drbook::check::bad_value",
                    b.span,
                    format!("unknown backoff `{}`", b.name),
                )
                .label("expected `exponential`")
                .help("write `backoff exponential`, or leave it out for a fixed wait"),
            );
            false
        }
        None => false,
    };
    Some(Retry { attempts: attempts?, every: every?, exponential })
}

/// `verify ACTION`: checked like any action; `manual` and `wait` say nothing about the world.
fn verify(cx: &mut Cx, a: &ast::Action, at: At) -> Option<model::Action> {
    if matches!(a.kind, ast::ActionKind::Manual(_) | ast::ActionKind::Wait(_)) {
        cx.error(
            Diagnostic::error(
                "drbook::check::bad_probe",
                a.span,
                format!("`verify {}` cannot tell whether the step's effect is in place", a.kind.keyword()),
            )
            .label("not a probe")
            .help("probe with a command or a request: `verify run \"test -f /srv/promoted\"` or `verify http GET \"https://...\"`"),
        );
    }
    // Kept even when refused (the error stops everything), so no lint says it is missing.
    action(cx, a, at)
}

fn regex(cx: &mut Cx, span: Span, pattern: String) -> Option<CaptureFrom> {
    match regex::Regex::new(&pattern) {
        Ok(_) => Some(CaptureFrom::Regex(pattern)),
        Err(e) => {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or("invalid pattern").trim().to_string();
            cx.error(
                Diagnostic::error("drbook::check::bad_regex", span, "invalid regular expression")
                    .label(last)
                    .help("capture regexes use Rust regex syntax; group 1 is captured"),
            );
            None
        }
    }
}

pub(super) fn approval(cx: &mut Cx, block: &ast::Block<ApprovalItem>) -> Option<Approval> {
    let mut roles: Vec<String> = Vec::new();
    let mut timeout = None;
    let mut by_seen = false;
    for item in &block.items {
        match item {
            ApprovalItem::By(names, _) => {
                by_seen = true;
                for n in names {
                    if roles.iter().any(|r| *r == *n.name) {
                        cx.error(
                            Diagnostic::error(
                                "drbook::check::duplicate_role",
                                n.span,
                                format!("role `{}` listed twice", n.name),
                            )
                            .label("already listed")
                            .help("each listed role needs a different person; list a role once"),
                        );
                        continue;
                    }
                    if let Some(declared) = &cx.roles {
                        if !declared.iter().any(|r| *r == *n.name) && !cx.in_template() {
                            let help = suggest(&n.name, declared.iter().map(String::as_str))
                                .unwrap_or_else(|| {
                                    format!("declared roles: {}", declared.join(", "))
                                });
                            cx.error(
                                Diagnostic::error(
                                    "drbook::check::unknown_role",
                                    n.span,
                                    format!("unknown role `{}`", n.name),
                                )
                                .label("not declared in `roles`")
                                .help(help),
                            );
                        }
                    }
                    roles.push(n.name.to_string());
                }
            }
            ApprovalItem::Timeout(v, _) => timeout = cx.duration(v, "timeout"),
        }
    }
    if !by_seen || roles.is_empty() {
        cx.error(
            Diagnostic::error(
                "drbook::check::empty_approval",
                block.span,
                "approval names no role",
            )
            .label("who approves?")
            .help("write `approval { by oncall_lead, eng_manager }`"),
        );
        return None;
    }
    Some(Approval { roles, timeout })
}

fn rollback(cx: &mut Cx, rb: &ast::Rollback, at: At) -> Option<model::Rollback> {
    match rb {
        ast::Rollback::Action(a) => {
            Some(model::Rollback { action: action(cx, a, at)?, timeout: None, retry: None })
        }
        ast::Rollback::Block(block) => {
            let mut act = None;
            let mut timeout = None;
            let mut again = None;
            let mut first: Option<Span> = None;
            for item in &block.items {
                match item {
                    RollbackItem::Action(a) => {
                        if let Some(f) = first {
                            cx.error(
                                Diagnostic::error(
                                    "drbook::check::two_actions",
                                    a.span,
                                    "a rollback has one action",
                                )
                                .label("second action")
                                .related(f, "first action here")
                                .help("keep one action; chain commands inside one `run`"),
                            );
                            continue;
                        }
                        first = Some(a.span);
                        act = action(cx, a, at);
                    }
                    RollbackItem::Timeout(v, _) => timeout = cx.duration(v, "timeout"),
                    RollbackItem::Retry { count, every, backoff, .. } => {
                        again = retry(cx, count, every.as_ref(), backoff.as_ref());
                    }
                }
            }
            if first.is_none() {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::empty_rollback",
                        block.span,
                        "rollback block has no action",
                    )
                    .label("nothing to undo with")
                    .help("write `rollback { run \"...\"; timeout 5m }`"),
                );
            }
            Some(model::Rollback { action: act?, timeout, retry: again })
        }
    }
}
