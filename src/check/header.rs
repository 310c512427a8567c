//! The runbook header: attributes, params (with `--param` values), secrets and roles, and
//! what every step inherits from it (`env`, `workdir`).

use super::cx::Cx;
use super::names;
use super::step::{policy, POLICIES};
use crate::diag::{suggest, Diagnostic, Span};
use crate::model::{self, Date, FailurePolicy, ParamType, ParamValue, SecretSource};
use crate::syntax::ast::{self, HeaderKind, ValueKind};
use std::collections::HashMap;

/// The header's attributes, read into their model types.
#[derive(Default)]
pub struct Header {
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub rto: Option<u64>,
    pub rpo: Option<u64>,
    pub tier: Option<String>,
    pub reviewed: Option<Date>,
    pub review_every: Option<u64>,
    pub on_failure: Option<FailurePolicy>,
    pub parallel: Option<u32>,
    pub params: Vec<model::Param>,
    pub secrets: Vec<model::Secret>,
    pub roles: Option<Vec<model::Role>>,
    pub spans: HashMap<&'static str, Span>,
    /// `shell "bash"`.
    pub shell: Option<String>,
    /// The header's `env` and `workdir`: every step's, under its own and its templates'.
    pub env: Vec<(String, model::Text)>,
    pub workdir: Option<model::Text>,
    /// `initiator_may_approve`.
    pub people: model::People,
    /// `approvals typed | os | signed` and the `signers` file's text.
    pub approvals: Option<model::ApprovalMode>,
    pub signers: Option<String>,
    /// `drills { }` and `notify_drills`.
    pub drills: Vec<model::DrillCadence>,
    pub notify_drills: Option<model::Text>,
    /// `objectives { }` and `impact { }`.
    pub objectives: Vec<model::ServiceObjective>,
    pub impact: Option<model::ImpactDecl>,
}

const TYPES: &[&str] = &["string", "number", "bool", "duration", "list"];

/// Reads params and secrets first (steps and header values may refer to them).
pub fn declarations(
    cx: &mut Cx,
    rb: &ast::Runbook,
    overrides: &[(String, String)],
    h: &mut Header,
) {
    let mut names: HashMap<String, Span> = HashMap::new();
    for item in &rb.items {
        match &item.kind {
            HeaderKind::Param(p) => {
                if !cx.declare(&p.name, "param", names.get(&*p.name.name).copied()) {
                    continue;
                }
                names.insert(p.name.name.to_string(), p.name.span);
                if let Some(param) = param(cx, p, overrides) {
                    cx.params.insert(param.name.clone(), (param.ty, param.default.clone()));
                    cx.param_order.push(param.name.clone());
                    h.params.push(param);
                }
            }
            HeaderKind::Secret(s) => {
                if !cx.declare(&s.name, "secret", names.get(&*s.name.name).copied()) {
                    continue;
                }
                names.insert(s.name.name.to_string(), s.name.span);
                if let Some(source) = secret_source(cx, s) {
                    cx.secrets.insert(s.name.name.to_string());
                    h.secrets.push(model::Secret {
                        name: s.name.name.to_string(),
                        source,
                        span: s.name.span,
                    });
                }
            }
            HeaderKind::Roles(block) => {
                let mut roles: Vec<model::Role> = Vec::new();
                for kv in &block.items {
                    if roles.iter().any(|r| r.name == *kv.key.name) {
                        cx.error(
                            Diagnostic::error(
                                "drbook::check::duplicate_role",
                                kv.key.span,
                                format!("role `{}` declared twice", kv.key.name),
                            )
                            .label("second declaration")
                            .help("list every member in one declaration"),
                        );
                        continue;
                    }
                    let members = match &kv.value.kind {
                        ValueKind::List(items) => {
                            items.iter().filter_map(|i| cx.plain(i, "role member")).collect()
                        }
                        _ => {
                            cx.expected(
                                &kv.value,
                                "role",
                                "a list of people",
                                "oncall_lead = [\"alice\", \"bob\"]",
                            );
                            Vec::new()
                        }
                    };
                    roles.push(model::Role { name: kv.key.name.to_string(), members });
                }
                cx.roles = Some(roles.iter().map(|r| r.name.clone()).collect());
                h.roles = Some(roles);
            }
            _ => {}
        }
    }
    for (name, _) in overrides {
        if !cx.params.contains_key(name) && !names.contains_key(name) {
            let help = suggest(name, cx.params.keys().map(String::as_str))
                .unwrap_or_else(|| "only declared params can be set with `--param`".into());
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_param",
                    rb.name.span,
                    format!("`--param {name}` names no param of this runbook"),
                )
                .label("runbook declared here")
                .help(help),
            );
        }
    }
}

fn param(cx: &mut Cx, p: &ast::Param, overrides: &[(String, String)]) -> Option<model::Param> {
    let declared = match &p.ty {
        Some(t) => match &*t.name {
            "string" => Some(ParamType::String),
            "number" => Some(ParamType::Number),
            "bool" => Some(ParamType::Bool),
            "duration" => Some(ParamType::Duration),
            "list" => Some(ParamType::List),
            other => {
                let help = suggest(other, TYPES.iter().copied())
                    .unwrap_or_else(|| format!("types: {}", TYPES.join(", ")));
                cx.error(
                    Diagnostic::error(
                        "drbook::check::unknown_type",
                        t.span,
                        format!("unknown type `{other}`"),
                    )
                    .label("not a param type")
                    .help(help),
                );
                return None;
            }
        },
        None => None,
    };
    let default = p.default.as_ref().and_then(|v| literal_value(cx, v, declared));
    let ty = declared.or_else(|| default.as_ref().map(type_of)).unwrap_or(ParamType::String);
    if p.default.is_none() && p.ty.is_none() {
        cx.error(
            Diagnostic::error(
                "drbook::check::untyped_param",
                p.name.span,
                format!("param `{}` has neither a type nor a default", p.name.name),
            )
            .label("what kind of value is it?")
            .help(format!(
                "write `param {}: string` (required) or `param {} = \"value\"`",
                p.name.name, p.name.name
            )),
        );
    }
    let mut value = default.clone();
    if let Some((_, given)) = overrides.iter().rev().find(|(n, _)| *n == *p.name.name) {
        match parse_param(ty, given) {
            Some(v) => value = Some(v),
            None => {
                cx.bad_params.push(p.name.name.to_string());
                cx.error(
                    Diagnostic::error(
                        "drbook::check::bad_param",
                        p.name.span,
                        format!("`--param {}={given}` is not a {}", p.name.name, ty.name()),
                    )
                    .label(format!("declared as a {}", ty.name()))
                    .help(param_help(ty)),
                );
            }
        }
    }
    Some(model::Param { name: p.name.name.to_string(), ty, default: value, span: p.name.span })
}

fn param_help(ty: ParamType) -> &'static str {
    match ty {
        ParamType::Number => "give a number, like `3` or `0.5`",
        ParamType::Bool => "give `true` or `false`",
        ParamType::Duration => "give a duration, like `90s` or `1h30m`",
        _ => "give a value",
    }
}

/// A `--param` value parsed by the param's type (lists: comma-separated).
pub fn parse_param(ty: ParamType, s: &str) -> Option<ParamValue> {
    Some(match ty {
        ParamType::String => ParamValue::Str(s.to_string()),
        ParamType::Number => {
            ParamValue::Number(s.trim().parse().ok().filter(|n: &f64| n.is_finite())?)
        }
        ParamType::Bool => ParamValue::Bool(match s.trim() {
            "true" => true,
            "false" => false,
            _ => return None,
        }),
        ParamType::Duration => {
            let t = s.trim();
            let ok = !t.is_empty() && t.starts_with(|c: char| c.is_ascii_digit());
            ParamValue::Duration(
                ok.then(|| crate::syntax::parse_duration(t)).flatten()?,
                t.to_string(),
            )
        }
        ParamType::List => ParamValue::List(if s.is_empty() {
            Vec::new()
        } else {
            s.split(',').map(|x| x.trim().to_string()).collect()
        }),
    })
}

fn type_of(v: &ParamValue) -> ParamType {
    match v {
        ParamValue::Str(_) => ParamType::String,
        ParamValue::Number(_) => ParamType::Number,
        ParamValue::Bool(_) => ParamType::Bool,
        ParamValue::Duration(..) => ParamType::Duration,
        ParamValue::List(_) => ParamType::List,
    }
}

/// A param default: a literal of the declared type (if any).
fn literal_value(cx: &mut Cx, v: &ast::Value, ty: Option<ParamType>) -> Option<ParamValue> {
    let span = v.span;
    let value = match &v.kind {
        ValueKind::Str(s) => match s.as_literal() {
            Some(t) => ParamValue::Str(t),
            None => {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::bad_value",
                        v.span,
                        "a param default cannot use `${...}`",
                    )
                    .label("interpolation in a default")
                    .help("write the default literally"),
                );
                return None;
            }
        },
        ValueKind::Int(n) => ParamValue::Number(*n as f64),
        ValueKind::Dec(t) => ParamValue::Number(t.parse().unwrap_or(0.0)),
        ValueKind::Bool(b) => ParamValue::Bool(*b),
        ValueKind::Duration(ms, t) => ParamValue::Duration(*ms, t.to_string()),
        ValueKind::List(items) => {
            ParamValue::List(items.iter().filter_map(|i| cx.plain(i, "list param")).collect())
        }
        ValueKind::Ident(t) => {
            cx.bare_word(t, span, "a param default");
            return None;
        }
        _ => {
            cx.expected(
                v,
                "param",
                "a string, number, bool, duration or list",
                "param region = \"us-west-2\"",
            );
            return None;
        }
    };
    match ty {
        Some(t) if t != type_of(&value) => {
            let found = type_of(&value).name();
            cx.error(
                Diagnostic::error(
                    "drbook::check::bad_value",
                    span,
                    format!("default is a {found}, but the param is a {}", t.name()),
                )
                .label(format!("expected a {}", t.name()))
                .help(param_help(t)),
            );
            None
        }
        _ => Some(value),
    }
}

fn secret_source(cx: &mut Cx, s: &ast::Secret) -> Option<SecretSource> {
    let arg = cx.plain(&s.arg, "secret source")?;
    match &*s.source.name {
        "env" => Some(SecretSource::Env(arg)),
        "file" => Some(SecretSource::File(arg)),
        "ssm" => {
            super::action::aws_available(cx, s.source.span);
            Some(SecretSource::Ssm(arg))
        }
        other => {
            let help = suggest(other, ["env", "file", "ssm"])
                .unwrap_or_else(|| "sources: env(\"VAR\"), file(\"path\"), ssm(\"/name\")".into());
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_secret_source",
                    s.source.span,
                    format!("unknown secret source `{other}`"),
                )
                .label("not a secret source")
                .help(help),
            );
            None
        }
    }
}

/// The single-value header attributes.
pub fn attributes(cx: &mut Cx, rb: &ast::Runbook, h: &mut Header) {
    for item in &rb.items {
        let HeaderKind::Attr(kw, v) = &item.kind else { continue };
        let key: &'static str = match &*kw.name {
            "title" => "title",
            "description" => "description",
            "owner" => "owner",
            "rto" => "rto",
            "rpo" => "rpo",
            "tier" => "tier",
            "reviewed" => "reviewed",
            "review_every" => "review_every",
            "on_failure" => "on_failure",
            "shell" => "shell",
            "workdir" => "workdir",
            "initiator_may_approve" => "initiator_may_approve",
            "approvals" => "approvals",
            "signers" => "signers",
            "notify_drills" => "notify_drills",
            _ => "parallel",
        };
        if let Some(first) = h.spans.get(key) {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_attribute",
                    item.span,
                    format!("`{key}` given twice in the runbook header"),
                )
                .label("second one")
                .related(*first, "first one here")
                .help("keep one of them"),
            );
            continue;
        }
        h.spans.insert(key, item.span);
        match key {
            "title" => h.title = cx.plain(v, key),
            "description" => h.description = cx.plain(v, key),
            "owner" => h.owner = cx.plain(v, key),
            "rto" => h.rto = cx.duration(v, key),
            "rpo" => h.rpo = cx.duration(v, key),
            // A free label: a bare name (`tier critical`) or a string.
            "tier" => {
                h.tier = match &v.kind {
                    ValueKind::Ident(t) => Some(t.to_string()),
                    _ => cx.plain(v, key),
                }
            }
            "review_every" => h.review_every = cx.duration(v, key),
            "on_failure" => h.on_failure = cx.choice(v, key, POLICIES).map(|w| policy(&w)),
            "shell" => h.shell = shell(cx, v),
            "workdir" => h.workdir = header_text(cx, v, "workdir"),
            "initiator_may_approve" => match v.kind {
                ValueKind::Bool(b) => h.people.exclude_initiator = !b,
                _ => cx.expected(v, key, "`true` or `false`", "initiator_may_approve false"),
            },
            "approvals" => h.approvals = super::approvals::mode(cx, v),
            "signers" => h.signers = super::approvals::signers(cx, v),
            "notify_drills" => {
                h.notify_drills = super::drills::notify_target(cx, v, "notify_drills")
            }
            "parallel" => {
                h.parallel = cx.integer(v, key, 1).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            }
            _ => match v.kind {
                ValueKind::Date(year, month, day) => h.reviewed = Some(Date { year, month, day }),
                _ => cx.expected(v, key, "a date", "reviewed 2026-10-01"),
            },
        }
    }
}

/// `shell "bash"` or `shell "/bin/bash"`: a program name or a path, nothing else.
fn shell(cx: &mut Cx, v: &ast::Value) -> Option<String> {
    let name = cx.plain(v, "shell")?;
    if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
        cx.error(
            Diagnostic::error("drbook::check::bad_value", v.span, "`shell` names one program")
                .label("not a program name or path")
                .help("write `shell \"bash\"` or `shell \"/bin/bash\"`; options are not allowed"),
        );
        return None;
    }
    Some(name)
}

/// A header string that every step inherits (`workdir`, an `env` value): params and secrets
/// may be used, captures not (no step has run when it is read).
pub(super) fn header_text(cx: &mut Cx, v: &ast::Value, what: &str) -> Option<model::Text> {
    let s = cx.string(v, what)?;
    // Read before any step is known: a capture reference is refused here, by its form.
    let captures: Vec<Span> = s
        .refs()
        .filter(|r| r.segments.first().is_some_and(|f| &**f == "steps"))
        .map(|r| r.span)
        .collect();
    for span in &captures {
        cx.error(
            Diagnostic::error(
                "drbook::check::header_capture",
                *span,
                format!("the runbook header's `{what}` cannot use a capture"),
            )
            .label("no step has run when the header is read")
            .help("set it in the step that needs it, with `${steps.ID.NAME}`"),
        );
    }
    if !captures.is_empty() {
        return None;
    }
    Some(names::text(cx, s, names::At { step: usize::MAX, own: None }))
}

/// The header's `env { }` blocks (one at most).
pub fn env(cx: &mut Cx, rb: &ast::Runbook, h: &mut Header) {
    for item in &rb.items {
        let HeaderKind::Env(block) = &item.kind else { continue };
        if let Some(first) = h.spans.get("env") {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_attribute",
                    item.span,
                    "`env` given twice in the runbook header",
                )
                .label("second one")
                .related(*first, "first one here")
                .help("put every variable in one `env { }` block"),
            );
            continue;
        }
        h.spans.insert("env", item.span);
        for kv in &block.items {
            if let Some(t) = header_text(cx, &kv.value, "env") {
                h.env.push((kv.key.name.to_string(), t));
            }
        }
    }
}

/// Gives a step what the header sets and the step does not: `env` per key, `workdir`.
pub fn inherit(step: &mut model::Step, h: &Header) {
    let mut env: Vec<(String, model::Text)> =
        h.env.iter().filter(|(k, _)| !step.env.iter().any(|(s, _)| s == k)).cloned().collect();
    env.append(&mut step.env);
    step.env = env;
    if step.workdir.is_none() {
        step.workdir = h.workdir.clone();
    }
}
