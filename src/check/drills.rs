//! The drill language (issue 12): the header's `drills { }` cadence and `notify_drills`
//! target, and what a `safe` step may not be (an action with side effects by construction,
//! or a rollback).

use super::cx::Cx;
use super::header::Header;
use crate::diag::{suggest, Diagnostic};
use crate::model::{DrillCadence, DrillKind, Part, Ref, Text};
use crate::syntax::ast::{self, ActionKind, HeaderKind, StepKind, ValueKind};

/// The header's `drills { }` block (one at most): each type once, every interval above zero.
pub fn cadence(cx: &mut Cx, rb: &ast::Runbook, h: &mut Header) {
    for item in &rb.items {
        let HeaderKind::Drills(block) = &item.kind else { continue };
        if let Some(first) = h.spans.get("drills") {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_attribute",
                    item.span,
                    "`drills` given twice in the runbook header",
                )
                .label("second one")
                .related(*first, "first one here")
                .help("declare every drill type in one `drills { }` block"),
            );
            continue;
        }
        h.spans.insert("drills", item.span);
        let mut seen: Vec<(DrillKind, crate::diag::Span)> = Vec::new();
        for entry in &block.items {
            let every = cx.duration(&entry.every, "every");
            let Some(kind) = DrillKind::parse(&entry.kind.name) else {
                let names = DrillKind::ALL.map(DrillKind::as_str);
                let help = suggest(&entry.kind.name, names.iter().copied())
                    .unwrap_or_else(|| format!("drill types: {}", names.join(", ")));
                cx.error(
                    Diagnostic::error(
                        "drbook::check::unknown_drill_type",
                        entry.kind.span,
                        format!("unknown drill type `{}`", crate::diag::shorten(&entry.kind.name)),
                    )
                    .label("not a drill type")
                    .help(help),
                );
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == kind) {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::duplicate_drill",
                        entry.span,
                        format!("drill type `{kind}` declared twice"),
                    )
                    .label("second one")
                    .related(*first, "first one here")
                    .help("give each drill type one interval"),
                );
                continue;
            }
            seen.push((kind, entry.span));
            match every {
                Some(0) => cx.error(
                    Diagnostic::error(
                        "drbook::check::zero_drill_interval",
                        entry.every.span,
                        format!("`{kind}` drills are due every 0s"),
                    )
                    .label("an interval of zero")
                    .help(format!("give how often a {kind} drill is due, e.g. `{kind} every 30d`")),
                ),
                Some(every) => h.drills.push(DrillCadence { kind, every }),
                None => {}
            }
        }
    }
}

/// `notify_drills "https://..."` (params and secrets may be interpolated) or
/// `notify_drills NAME` naming a declared secret whose value is the URL.
/// `what` is the attribute (`notify_drills`, or the trigger's `notify`).
pub fn notify_target(cx: &mut Cx, v: &ast::Value, what: &str) -> Option<Text> {
    let ValueKind::Ident(name) = &v.kind else {
        if !matches!(v.kind, ValueKind::Str(_)) {
            cx.expected(v, what, "a URL or the name of a secret", &format!("{what} webhook"));
            return None;
        }
        return super::header::header_text(cx, v, what);
    };
    if cx.secrets.contains(&**name) {
        return Some(Text { parts: vec![Part::Ref(Ref::Secret(name.to_string()))] });
    }
    let help = if cx.params.contains_key(&**name) {
        format!("`{name}` is a param: write `{what} \"${{{name}}}\"`")
    } else {
        suggest(name, cx.secrets.iter().map(String::as_str)).unwrap_or_else(|| {
            "name a `secret` declared in the header, or write the URL as a string".into()
        })
    };
    cx.error(
        Diagnostic::error(
            "drbook::check::unknown_secret",
            v.span,
            format!("unknown secret `{}`", crate::diag::shorten(name)),
        )
        .label("no secret with this name")
        .help(help),
    );
    None
}

/// A `safe` step promises to change nothing: refuse an action that changes the world by
/// construction (`notify`, `ssm put`, an `http` other than GET/HEAD) and a rollback (a
/// read-only step has nothing to undo). `items` are the step's items after splicing.
pub fn safe_step(cx: &mut Cx, id: &ast::Ident, items: &[ast::StepItem]) {
    if !items.iter().any(|i| matches!(i.kind, StepKind::Safe)) {
        return;
    }
    for item in items {
        match &item.kind {
            StepKind::Action(a) => {
                let why = match &a.kind {
                    ActionKind::Notify { .. } => "`notify` posts a message",
                    ActionKind::SsmPut { .. } => "`ssm put` overwrites a parameter",
                    ActionKind::Http { method, .. }
                        if !method.name.eq_ignore_ascii_case("GET")
                            && !method.name.eq_ignore_ascii_case("HEAD") =>
                    {
                        "only `http GET` and `http HEAD` are read-only"
                    }
                    _ => continue,
                };
                cx.error(
                    Diagnostic::error(
                        "drbook::check::unsafe_safe_step",
                        a.span,
                        format!(
                            "step `{}` is `safe` but its `{}` action changes things",
                            id.name,
                            a.kind.keyword()
                        ),
                    )
                    .label(why)
                    .help("remove `safe`, or make the step read-only (a component drill runs every `safe` step against production)"),
                );
            }
            StepKind::Rollback(_) => cx.error(
                Diagnostic::error(
                    "drbook::check::safe_rollback",
                    item.span,
                    format!("step `{}` is `safe` but has a rollback", id.name),
                )
                .label("a read-only step has nothing to undo")
                .help("remove the rollback, or remove `safe` if the step changes things"),
            ),
            _ => {}
        }
    }
}

/// A `drills { }` block that schedules component drills for a runbook whose component drill
/// would run no step: each weekly drill would prove nothing and still say SUCCESS-shaped
/// things in readiness (`drbook::lint::empty_component_drill`).
pub fn lint_component(
    cx: &mut Cx,
    rb: &crate::model::Runbook,
    dag: &crate::graph::Dag,
    span: crate::diag::Span,
) {
    if !rb.drills.iter().any(|d| d.kind == DrillKind::Component) {
        return;
    }
    let scope = crate::graph::drill::drill_scope(rb, dag, DrillKind::Component, &[]);
    if scope.iter().any(Option::is_none) {
        return;
    }
    cx.error(
        Diagnostic::warning(
            "drbook::lint::empty_component_drill",
            span,
            "a component drill of this runbook would run no step",
        )
        .label("schedules `component` drills")
        .help(
            "mark the read-only checks `safe` (backup freshness, replica lag, DNS, capacity), \
             or drop `component` from `drills`",
        ),
    );
}
