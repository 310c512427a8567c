//! The trigger's `params { NAME = VALUE }`: the params of the run it starts. Input: the
//! block's entries; output: each declared param's value as a text (`${trigger.*}` allowed),
//! with unknown params, params set twice and values of the wrong type reported.

use super::HEADER;
use crate::check::cx::{Cx, TriggerAt};
use crate::check::names;
use crate::diag::{shorten, suggest, Diagnostic, Span};
use crate::model::{ParamType, Text};
use crate::syntax::ast::{self, ValueKind};

/// `params { NAME = VALUE }`: declared params, values of their type.
pub(super) fn params(cx: &mut Cx, kvs: &ast::Block<ast::KeyValue>) -> Vec<(String, Text)> {
    let mut out = Vec::new();
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for kv in &kvs.items {
        let name = &*kv.key.name;
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_attribute",
                    kv.key.span,
                    format!("param `{name}` set twice in the trigger's `params`"),
                )
                .label("second one")
                .related(*first, "first one here")
                .help("keep one of them"),
            );
            continue;
        }
        seen.push((name, kv.key.span));
        let Some((ty, _)) = cx.params.get(name).map(|(t, v)| (*t, v.is_some())) else {
            let help = suggest(name, cx.params.keys().map(String::as_str))
                .unwrap_or_else(|| "declare it with `param` in the runbook header".into());
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_param",
                    kv.key.span,
                    format!(
                        "the trigger sets `{}`, which is no param of this runbook",
                        shorten(name)
                    ),
                )
                .label("not a declared param")
                .help(help),
            );
            continue;
        };
        if let Some(t) = param_value(cx, name, ty, &kv.value) {
            out.push((name.to_string(), t));
        }
    }
    out
}

/// A value of `params { }` as the text the run gets for param `name` of type `ty`.
fn param_value(cx: &mut Cx, name: &str, ty: ParamType, v: &ast::Value) -> Option<Text> {
    let found = match &v.kind {
        ValueKind::Str(s) => {
            cx.trigger_at = Some(TriggerAt::Params);
            let t = names::text(cx, s, HEADER);
            cx.trigger_at = None;
            match s.as_literal() {
                Some(lit) if crate::check::header::parse_param(ty, &lit).is_some() => {
                    return Some(t)
                }
                Some(_) => "a string that is not one",
                None if matches!(ty, ParamType::String | ParamType::List) => return Some(t),
                None => "an interpolated string",
            }
        }
        ValueKind::Int(_) | ValueKind::Dec(_) if ty == ParamType::Number => {
            return Some(Text::literal(raw(v)));
        }
        ValueKind::Duration(_, t) if ty == ParamType::Duration => {
            return Some(Text::literal(t.to_string()))
        }
        ValueKind::Bool(b) if ty == ParamType::Bool => return Some(Text::literal(b.to_string())),
        ValueKind::List(items) if ty == ParamType::List => {
            let words: Option<Vec<String>> =
                items.iter().map(|i| cx.plain(i, "list param")).collect();
            return Some(Text::literal(words?.join(",")));
        }
        ValueKind::Ident(word) => {
            cx.bare_word(word, v.span, "a trigger param");
            return None;
        }
        ValueKind::Invalid(_) => return None,
        _ => describe(v),
    };
    cx.error(
        Diagnostic::error(
            "drbook::check::bad_value",
            v.span,
            format!("param `{name}` is a {}, the trigger gives it {found}", ty.name()),
        )
        .label(format!("expected a {}", ty.name()))
        .help(format!("give `{name}` a {} written literally", ty.name())),
    );
    None
}

fn raw(v: &ast::Value) -> String {
    match &v.kind {
        ValueKind::Int(n) => n.to_string(),
        ValueKind::Dec(t) => t.to_string(),
        _ => String::new(),
    }
}

fn describe(v: &ast::Value) -> &'static str {
    match &v.kind {
        ValueKind::Int(_) | ValueKind::Dec(_) => "a number",
        ValueKind::Duration(..) => "a duration",
        ValueKind::Bool(_) => "a bool",
        ValueKind::List(_) => "a list",
        ValueKind::Date(..) => "a date",
        ValueKind::Range(..) => "a range",
        _ => "a value of another type",
    }
}
