//! Name resolution: `${...}` in strings and names in expressions become [`model::Ref`]s.
//! A capture of another step is recorded for the ancestor check that runs once the graph
//! exists (LANGUAGE.md §6: only descendants of the capturing step may use it).

use super::cx::Cx;
use super::cx::TriggerAt;
use crate::diag::{suggest, Diagnostic};
use crate::model::{self, Part, Ref, RunEndField, Text, TriggerField};
use crate::syntax::ast::{self, ExprKind, Path, StrPart, ValueKind};

/// Where a reference is being resolved.
#[derive(Clone, Copy)]
pub struct At<'a> {
    /// Index of the step being checked.
    pub step: usize,
    /// This step's own captures, visible in `check` and `measure` only.
    pub own: Option<&'a [String]>,
}

pub fn text(cx: &mut Cx, s: &ast::Str, at: At) -> Text {
    Text { parts: resolve_parts(cx, &s.parts, at) }
}

fn resolve_parts(cx: &mut Cx, input: &[StrPart], at: At) -> Vec<Part> {
    let mut parts = Vec::with_capacity(input.len());
    for p in input {
        match p {
            StrPart::Lit(l) => parts.push(Part::Lit(l.to_string())),
            StrPart::Ref(path) => {
                if let Some(r) = resolve(cx, path, at) {
                    parts.push(Part::Ref(r));
                } else if cx.in_template() {
                    parts.push(Part::Lit(format!("${{{}}}", path.dotted())));
                }
            }
            StrPart::Word(inner) => {
                let inner = resolve_parts(cx, inner, at);
                parts.push(Part::Word(inner));
            }
            StrPart::Bare(word) => cx.bare_word(&word.name, word.span, "a template argument"),
        }
    }
    parts
}

/// Resolves a dotted name; `None` after reporting it (or, in a template, when it is free).
pub fn resolve(cx: &mut Cx, path: &Path, at: At) -> Option<Ref> {
    let segs: Vec<&str> = path.segments.iter().map(|s| &**s).collect();
    if cx.trigger_at.is_some() && segs.len() > 1 && matches!(segs[0], "steps" | "run") {
        cx.error(
            Diagnostic::error(
                "drbook::check::trigger_run_ref",
                path.span,
                format!("the trigger cannot use `{}`", path.dotted()),
            )
            .label("no run exists when the trigger reads this")
            .help("a trigger's probes and params may use params, secrets and, in `params`, `${trigger.fired_at}` / `${trigger.detected_at}`"),
        );
        return None;
    }
    match segs.as_slice() {
        [name] => {
            if cx.params.contains_key(*name) {
                cx.params_used.insert(name.to_string());
                return Some(Ref::Param(name.to_string()));
            }
            if cx.secrets.contains(*name) {
                return Some(Ref::Secret(name.to_string()));
            }
            if let Some(own) = at.own {
                if own.iter().any(|c| c == name) {
                    return Some(Ref::OwnCapture(name.to_string()));
                }
            }
            if cx.in_template() {
                return None;
            }
            let mut help = cx.suggest_name(name);
            if help.is_none()
                && cx.captures.get(at.step).is_some_and(|c| c.iter().any(|c| c == name))
            {
                help = Some(format!("this step's capture `{name}` exists only after its action, in `check` and `measure`"));
            }
            let in_other = cx.captures.iter().position(|c| c.iter().any(|c| c == name));
            if help.is_none() {
                if let Some(i) = in_other {
                    let id = cx
                        .steps
                        .iter()
                        .find(|(_, &v)| v == i)
                        .map(|(k, _)| k.clone())
                        .unwrap_or_default();
                    help = Some(format!("to use another step's capture write `steps.{id}.{name}`"));
                }
            }
            if help.is_none() && cx.file.is_some_and(|f| f != path.span.file) {
                help = Some(format!(
                    "this is inside a template: make `{name}` a template parameter and pass it at the `use`, or declare it in the runbook that uses the template"
                ));
            }
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_name",
                    path.span,
                    format!("unknown name `{}`", crate::diag::shorten(name)),
                )
                .label("not a param, secret or capture")
                .help(help.unwrap_or_else(|| {
                    "declare it with `param` or `secret` in the runbook header".into()
                })),
            );
            None
        }
        ["run", "id"] => Some(Ref::RunId),
        ["run", field @ ("status" | "elapsed" | "rto_met" | "rpo")] => {
            let f = match *field {
                "status" => RunEndField::Status,
                "elapsed" => RunEndField::Elapsed,
                "rto_met" => RunEndField::RtoMet,
                _ => RunEndField::Rpo,
            };
            if cx.in_template() || cx.is_finally(at.step) {
                return Some(Ref::RunEnd(f));
            }
            cx.error(
                Diagnostic::error(
                    "drbook::check::finally_only",
                    path.span,
                    format!("`run.{field}` is known only in a `finally` step"),
                )
                .label("the run has not ended when this step runs")
                .help("use it in a `finally step`, which runs once the run has ended"),
            );
            None
        }
        ["runbook", "name"] => Some(Ref::RunbookName),
        ["trigger", field] => trigger_field(cx, path, field),
        ["steps", id, cap] => {
            let Some(&target) = cx.steps.get(*id) else {
                if cx.in_template() {
                    return None;
                }
                let help = suggest(id, cx.steps.keys().map(String::as_str));
                cx.error(
                    Diagnostic::error(
                        "drbook::check::unknown_step",
                        path.span,
                        format!("unknown step `{id}`"),
                    )
                    .label("no step with this id")
                    .help(help.unwrap_or_else(|| "name a step declared in this runbook".into())),
                );
                return None;
            };
            let caps = cx.captures.get(target).cloned().unwrap_or_default();
            if !caps.iter().any(|c| c == cap) {
                let help = suggest(cap, caps.iter().map(String::as_str)).unwrap_or_else(|| {
                    if caps.is_empty() {
                        format!(
                            "step `{id}` captures nothing; add `capture {cap} from stdout` to it"
                        )
                    } else {
                        format!("step `{id}` captures: {}", caps.join(", "))
                    }
                });
                cx.error(
                    Diagnostic::error(
                        "drbook::check::unknown_capture",
                        path.span,
                        format!("step `{id}` has no capture `{cap}`"),
                    )
                    .label("unknown capture")
                    .help(help),
                );
                return None;
            }
            cx.capture_uses.push((at.step, target, path.span));
            Some(Ref::Capture(target, cap.to_string()))
        }
        _ => {
            if cx.in_template() {
                return None;
            }
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_name",
                    path.span,
                    format!("unknown reference `{}`", path.dotted()),
                )
                .label("not a known reference")
                .help("references are `NAME`, `steps.ID.NAME`, `run.id`, `runbook.name`, in finally steps `run.status`, `run.elapsed`, `run.rto_met`, `run.rpo`, and in the trigger's `params` `trigger.fired_at`, `trigger.detected_at`"),
            );
            None
        }
    }
}

/// `${trigger.fired_at}` and `${trigger.detected_at}`: in the trigger's `params` only.
fn trigger_field(cx: &mut Cx, path: &Path, field: &str) -> Option<Ref> {
    let f = match field {
        "fired_at" => TriggerField::FiredAt,
        "detected_at" => TriggerField::DetectedAt,
        other => {
            let help = suggest(other, ["fired_at", "detected_at"]).unwrap_or_else(|| {
                "the trigger's fields are `trigger.fired_at` and `trigger.detected_at`".into()
            });
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_trigger_field",
                    path.span,
                    format!("unknown trigger field `{}`", crate::diag::shorten(other)),
                )
                .label("not a field of `trigger`")
                .help(help),
            );
            return None;
        }
    };
    if cx.trigger_at == Some(TriggerAt::Params) {
        return Some(Ref::Trigger(f));
    }
    cx.error(
        Diagnostic::error(
            "drbook::check::trigger_params_only",
            path.span,
            format!("`trigger.{field}` is known only in the trigger's `params`"),
        )
        .label("nothing has fired when this is read")
        .help(format!(
            "set a param from it in `trigger {{ params {{ NAME = \"${{trigger.{field}}}\" }} }}` and use `${{NAME}}` here"
        )),
    );
    None
}

pub fn expr(cx: &mut Cx, e: &ast::Expr, at: At) -> Option<model::Expr> {
    use model::Expr as M;
    Some(match &e.kind {
        ExprKind::Lit(v) => match &v.kind {
            ValueKind::Str(s) => M::Str(text(cx, s, at).render(|_| String::new())),
            ValueKind::Int(n) => M::Number(*n as f64),
            ValueKind::Dec(t) => M::Number(t.parse().unwrap_or(0.0)),
            ValueKind::Duration(ms, _) => M::Duration(*ms),
            ValueKind::Bool(b) => M::Bool(*b),
            ValueKind::Ident(word) => {
                cx.bare_word(word, v.span, "a template argument");
                return None;
            }
            _ => return None,
        },
        ExprKind::Name(p) => M::Ref(resolve(cx, p, at)?),
        ExprKind::Not(x) => M::Not(Box::new(expr(cx, x, at)?)),
        ExprKind::Paren(x) => expr(cx, x, at)?,
        ExprKind::Binary(op, l, r) => {
            let l = expr(cx, l, at);
            let r = expr(cx, r, at);
            M::Binary(*op, Box::new(l?), Box::new(r?))
        }
    })
}
