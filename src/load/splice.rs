//! Template splicing: `use alias.tpl(args)` inside a step is replaced by the template's items,
//! with `${param}` and bare `param` names bound to the arguments (or defaults).
//!
//! Rules (LANGUAGE.md §3): attributes written in the step win over the template's; the step's
//! own action replaces the template's; among several templates each contributes what the step
//! does not set itself, and the one-action rule is checked after splicing. `env` merges per
//! key: a key the step (or an earlier template) sets wins over the template's. Spans inside
//! spliced items still point into the template's file; argument values keep their caller spans.

use super::Loader;
use crate::diag::{suggest, Diagnostic, FileId, Span};
use crate::syntax::ast::*;
use std::collections::HashMap;

/// Templates may use templates; this bounds the nesting (and catches recursion).
const MAX_DEPTH: usize = 16;

pub(super) fn splice_runbook(l: &mut Loader, file: FileId, mut out: Runbook) -> Runbook {
    for item in &mut out.items {
        if let HeaderKind::Step(step) = &mut item.kind {
            if step.items.iter().any(|i| matches!(i.kind, StepKind::Use(_))) {
                let items = std::mem::take(&mut step.items);
                step.items = expand(l, file, items, 0);
            }
        }
    }
    out
}

/// Replaces every `use` in `items` (written in `file`) by the template's items.
fn expand(l: &mut Loader, file: FileId, items: Vec<StepItem>, depth: usize) -> Vec<StepItem> {
    let mut own = Vec::new();
    let mut spliced = Vec::new();
    for item in items {
        match item.kind {
            StepKind::Use(u) => {
                if let Some(body) = instantiate(l, file, &u, item.span, depth) {
                    spliced.extend(body);
                }
            }
            _ => own.push(item),
        }
    }
    let own_has_action = own.iter().any(|i| matches!(i.kind, StepKind::Action(_)));
    let own_keys: Vec<&'static str> = own.iter().filter_map(|i| i.kind.once_key()).collect();
    for item in spliced {
        let overridden = match &item.kind {
            StepKind::Action(_) => own_has_action,
            // `env` merges per key: the step's own keys (and earlier templates') win.
            StepKind::Env(_) => merge_env(&mut own, &item),
            _ => item.kind.once_key().is_some_and(|k| own_keys.contains(&k)),
        };
        if !overridden {
            own.push(item);
        }
    }
    own
}

/// Adds the keys of a spliced `env` block that `items` does not set to the `env` block already
/// in `items`. `false` when `items` has no `env` block (the spliced one is taken whole).
fn merge_env(items: &mut [StepItem], spliced: &StepItem) -> bool {
    let StepKind::Env(from) = &spliced.kind else { return false };
    let Some(into) = items.iter_mut().find_map(|i| match &mut i.kind {
        StepKind::Env(b) => Some(b),
        _ => None,
    }) else {
        return false;
    };
    for kv in &from.items {
        if !into.items.iter().any(|k| k.key.name == kv.key.name) {
            into.items.push(kv.clone());
        }
    }
    true
}

fn instantiate(
    l: &mut Loader,
    file: FileId,
    u: &Use,
    span: Span,
    depth: usize,
) -> Option<Vec<StepItem>> {
    if depth >= MAX_DEPTH {
        l.diags.push(
            Diagnostic::error("drbook::load::template_depth", span, "templates nested too deeply")
                .label(format!("more than {MAX_DEPTH} levels of `use`"))
                .help("a template probably uses itself, directly or through another"),
        );
        return None;
    }
    let m = l.modules.get(&file)?;
    if !m.failed.is_empty() && !m.aliases.contains_key(&*u.alias.name) {
        // An import of this file failed and was reported; the `use` most likely meant it.
        return None;
    }
    let aliases = &m.aliases;
    let Some(&module) = aliases.get(&*u.alias.name) else {
        let help =
            suggest(&u.alias.name, aliases.keys().map(String::as_str)).unwrap_or_else(|| {
                format!("import the module first, e.g. `import \"std/{}\"`", u.alias.name)
            });
        l.diags.push(
            Diagnostic::error(
                "drbook::load::unknown_alias",
                u.alias.span,
                format!("no import named `{}`", u.alias.name),
            )
            .label("unknown module alias")
            .help(help),
        );
        return None;
    };
    let templates: Vec<&Template> = l.modules.get(&module)?.file.as_ref().map_or(Vec::new(), |f| {
        f.items
            .iter()
            .filter_map(|i| match i {
                Item::Template(t) => Some(t),
                _ => None,
            })
            .collect()
    });
    let Some(tpl) = templates.iter().find(|t| t.name.name == u.template.name).map(|t| (*t).clone())
    else {
        let help = suggest(&u.template.name, templates.iter().map(|t| &*t.name.name))
            .unwrap_or_else(|| {
                let names: Vec<&str> = templates.iter().map(|t| &*t.name.name).collect();
                format!("`{}` defines: {}", u.alias.name, names.join(", "))
            });
        l.diags.push(
            Diagnostic::error(
                "drbook::load::unknown_template",
                u.template.span,
                format!("no template `{}` in `{}`", u.template.name, u.alias.name),
            )
            .label("unknown template")
            .help(help),
        );
        return None;
    };
    let mut bind: HashMap<String, Value> = HashMap::new();
    let mut ok = true;
    for arg in &u.args {
        if !tpl.params.iter().any(|p| p.name.name == arg.name.name) {
            let help = suggest(&arg.name.name, tpl.params.iter().map(|p| &*p.name.name))
                .unwrap_or_else(|| format!("`{}` takes: {}", tpl.name.name, param_list(&tpl)));
            l.diags.push(
                Diagnostic::error(
                    "drbook::load::unknown_argument",
                    arg.name.span,
                    format!("`{}` has no parameter `{}`", tpl.name.name, arg.name.name),
                )
                .label("unknown argument")
                .related(tpl.name.span, "template defined here")
                .help(help),
            );
            ok = false;
        } else if bind.insert(arg.name.name.to_string(), arg.value.clone()).is_some() {
            l.diags.push(
                Diagnostic::error(
                    "drbook::load::duplicate_argument",
                    arg.name.span,
                    format!("argument `{}` given twice", arg.name.name),
                )
                .label("second value")
                .help("give each argument once"),
            );
            ok = false;
        }
    }
    for p in &tpl.params {
        if bind.contains_key(&*p.name.name) {
            continue;
        }
        match &p.default {
            Some(d) => {
                bind.insert(p.name.name.to_string(), d.clone());
            }
            None => {
                l.diags.push(
                    Diagnostic::error(
                        "drbook::load::missing_argument",
                        span,
                        format!(
                            "`{}.{}` needs the argument `{}`",
                            u.alias.name, tpl.name.name, p.name.name
                        ),
                    )
                    .label(format!("`{}` missing", p.name.name))
                    .related(p.name.span, "parameter declared here without a default")
                    .help(format!(
                        "add `{} = ...` to the call of `{}.{}`",
                        p.name.name, u.alias.name, tpl.name.name
                    )),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    let items: Vec<StepItem> = tpl.items.iter().map(|i| subst_item(i, &bind)).collect();
    Some(expand(l, module, items, depth + 1))
}

fn param_list(t: &Template) -> String {
    t.params.iter().map(|p| p.name.name.to_string()).collect::<Vec<_>>().join(", ")
}

fn subst_item(item: &StepItem, b: &HashMap<String, Value>) -> StepItem {
    let kind = match &item.kind {
        StepKind::Attr(k, v) => StepKind::Attr(k.clone(), subst(v, b)),
        StepKind::When(e) => StepKind::When(subst_expr(e, b)),
        StepKind::Check(e) => StepKind::Check(subst_expr(e, b)),
        StepKind::Retry { count, every, backoff } => StepKind::Retry {
            count: subst(count, b),
            every: every.as_ref().map(|v| subst(v, b)),
            backoff: backoff.clone(),
        },
        StepKind::Approval(blk) => StepKind::Approval(Block {
            items: blk
                .items
                .iter()
                .map(|i| match i {
                    ApprovalItem::Timeout(v, s) => ApprovalItem::Timeout(subst(v, b), *s),
                    other => other.clone(),
                })
                .collect(),
            ..blk.clone()
        }),
        StepKind::Env(blk) => StepKind::Env(subst_kv(blk, b)),
        StepKind::Capture { name, source } => StepKind::Capture {
            name: name.clone(),
            source: match source {
                CaptureSource::Json(v) => CaptureSource::Json(subst(v, b)),
                CaptureSource::Regex(v) => CaptureSource::Regex(subst(v, b)),
                CaptureSource::Stdout => CaptureSource::Stdout,
            },
        },
        StepKind::Rollback(Rollback::Action(a)) => {
            StepKind::Rollback(Rollback::Action(Box::new(subst_action(a, b))))
        }
        StepKind::Rollback(Rollback::Block(blk)) => StepKind::Rollback(Rollback::Block(Block {
            items: blk
                .items
                .iter()
                .map(|i| match i {
                    RollbackItem::Action(a) => RollbackItem::Action(subst_action(a, b)),
                    RollbackItem::Timeout(v, s) => RollbackItem::Timeout(subst(v, b), *s),
                    RollbackItem::Retry { count, every, backoff, span } => RollbackItem::Retry {
                        count: subst(count, b),
                        every: every.as_ref().map(|v| subst(v, b)),
                        backoff: backoff.clone(),
                        span: *span,
                    },
                })
                .collect(),
            ..blk.clone()
        })),
        StepKind::Action(a) => StepKind::Action(subst_action(a, b)),
        StepKind::Verify(a) => StepKind::Verify(subst_action(a, b)),
        StepKind::Restores(vs) => StepKind::Restores(vs.iter().map(|v| subst(v, b)).collect()),
        StepKind::Use(u) => StepKind::Use(Use {
            args: u
                .args
                .iter()
                .map(|a| Arg { name: a.name.clone(), value: subst(&a.value, b) })
                .collect(),
            ..u.clone()
        }),
        other => other.clone(),
    };
    StepItem { kind, span: item.span }
}

fn subst_action(a: &Action, b: &HashMap<String, Value>) -> Action {
    let s = |v: &Value| subst(v, b);
    let kind = match &a.kind {
        ActionKind::Run(v) => ActionKind::Run(s(v)),
        ActionKind::Http { method, url, options } => ActionKind::Http {
            method: method.clone(),
            url: s(url),
            options: options.as_ref().map(|o| Block {
                items: o
                    .items
                    .iter()
                    .map(|i| match i {
                        HttpItem::Header(k, v, sp) => HttpItem::Header(s(k), s(v), *sp),
                        HttpItem::Attr(k, v) => HttpItem::Attr(k.clone(), s(v)),
                    })
                    .collect(),
                ..o.clone()
            }),
        },
        ActionKind::SsmCommand { document, options } => ActionKind::SsmCommand {
            document: s(document),
            options: options.as_ref().map(|o| subst_ssm(o, b)),
        },
        ActionKind::SsmAutomation { document, options } => ActionKind::SsmAutomation {
            document: s(document),
            options: options.as_ref().map(|o| subst_ssm(o, b)),
        },
        ActionKind::SsmPut { name, value, secure } => {
            ActionKind::SsmPut { name: s(name), value: s(value), secure: *secure }
        }
        ActionKind::Wait(v) => ActionKind::Wait(s(v)),
        ActionKind::Manual(v) => ActionKind::Manual(s(v)),
        ActionKind::Notify { url, text } => ActionKind::Notify { url: s(url), text: s(text) },
    };
    Action { kind, span: a.span }
}

fn subst_ssm(o: &Block<SsmItem>, b: &HashMap<String, Value>) -> Block<SsmItem> {
    Block {
        items: o
            .items
            .iter()
            .map(|i| match i {
                SsmItem::Targets(t) => SsmItem::Targets(Block {
                    items: t
                        .items
                        .iter()
                        .map(|g| Tag {
                            key: subst(&g.key, b),
                            value: subst(&g.value, b),
                            span: g.span,
                        })
                        .collect(),
                    ..t.clone()
                }),
                SsmItem::Parameters(p) => SsmItem::Parameters(subst_kv(p, b)),
                SsmItem::Attr(k, v) => SsmItem::Attr(k.clone(), subst(v, b)),
            })
            .collect(),
        ..o.clone()
    }
}

fn subst_kv(blk: &Block<KeyValue>, b: &HashMap<String, Value>) -> Block<KeyValue> {
    Block {
        items: blk
            .items
            .iter()
            .map(|kv| KeyValue { value: subst(&kv.value, b), ..kv.clone() })
            .collect(),
        ..blk.clone()
    }
}

/// Substitutes template arguments into a value.
fn subst(v: &Value, b: &HashMap<String, Value>) -> Value {
    match &v.kind {
        ValueKind::Placeholder(n) => match b.get(&**n) {
            Some(arg) => arg.clone(),
            None => v.clone(),
        },
        ValueKind::Str(s) => Value { kind: ValueKind::Str(subst_str(s, b)), span: v.span },
        ValueKind::List(items) => Value {
            kind: ValueKind::List(items.iter().map(|i| subst(i, b)).collect()),
            span: v.span,
        },
        _ => v.clone(),
    }
}

fn subst_str(s: &Str, b: &HashMap<String, Value>) -> Str {
    let mut parts = Vec::new();
    for p in &s.parts {
        match p {
            StrPart::Ref(r) if r.segments.len() == 1 && b.contains_key(&*r.segments[0]) => {
                parts.push(StrPart::Word(value_parts(&b[&*r.segments[0]])));
            }
            StrPart::Word(inner) => {
                let inner = Str { parts: inner.clone(), span: s.span, triple: false };
                parts.push(StrPart::Word(subst_str(&inner, b).parts));
            }
            other => parts.push(other.clone()),
        }
    }
    Str { parts, ..s.clone() }
}

/// What an argument contributes when interpolated into a string.
fn value_parts(v: &Value) -> Vec<StrPart> {
    let lit = |t: String| vec![StrPart::Lit(t.into_boxed_str())];
    match &v.kind {
        ValueKind::Str(s) => s.parts.clone(),
        ValueKind::Int(n) => lit(n.to_string()),
        ValueKind::Dec(t) | ValueKind::Duration(_, t) | ValueKind::Invalid(t) => lit(t.to_string()),
        // Reported by the checker: a bare word is not a string (`url = dr_health`).
        ValueKind::Ident(t) => vec![StrPart::Bare(Ident { name: t.clone(), span: v.span })],
        ValueKind::Bool(x) => lit(x.to_string()),
        ValueKind::Date(y, m, d) => lit(format!("{y:04}-{m:02}-{d:02}")),
        ValueKind::Range(a, c) => lit(format!("{a}..{c}")),
        ValueKind::Placeholder(n) => {
            vec![StrPart::Ref(Path { segments: vec![n.clone()], span: v.span })]
        }
        ValueKind::List(items) => {
            let mut out = Vec::new();
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(StrPart::Lit(",".into()));
                }
                out.extend(value_parts(it));
            }
            out
        }
    }
}

fn subst_expr(e: &Expr, b: &HashMap<String, Value>) -> Expr {
    let kind = match &e.kind {
        ExprKind::Name(p) if p.segments.len() == 1 && b.contains_key(&*p.segments[0]) => {
            let arg = &b[&*p.segments[0]];
            match &arg.kind {
                ValueKind::Placeholder(n) => {
                    ExprKind::Name(Path { segments: vec![n.clone()], span: arg.span })
                }
                ValueKind::Str(s)
                    if s.parts.len() == 1 && matches!(s.parts[0], StrPart::Ref(_)) =>
                {
                    match &s.parts[0] {
                        StrPart::Ref(r) => ExprKind::Name(r.clone()),
                        StrPart::Lit(_) | StrPart::Word(_) | StrPart::Bare(_) => {
                            ExprKind::Lit(arg.clone())
                        }
                    }
                }
                _ => ExprKind::Lit(arg.clone()),
            }
        }
        ExprKind::Not(x) => ExprKind::Not(Box::new(subst_expr(x, b))),
        ExprKind::Paren(x) => ExprKind::Paren(Box::new(subst_expr(x, b))),
        ExprKind::Binary(op, l, r) => {
            ExprKind::Binary(*op, Box::new(subst_expr(l, b)), Box::new(subst_expr(r, b)))
        }
        other => other.clone(),
    };
    Expr { kind, span: e.span }
}
