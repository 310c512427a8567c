//! Recovery objectives and business impact: the header's `objectives { service ... }` and
//! `impact { }` blocks, the steps' `restores`, and the warnings that weigh them: a service no
//! step restores, a service whose steps take longer than its `rto`, and (in `advice`) a runbook
//! whose `rto`, `rpo` or `tier` is looser than what its `impact` advises.

use super::cx::Cx;
use super::header::Header;
use crate::advise::{advise, CustomerImpact, Regulatory};
use crate::diag::{shorten, suggest, Diagnostic, Span};
use crate::graph::Dag;
use crate::model::{fmt_duration, ImpactDecl, Runbook, ServiceObjective};
use crate::syntax::ast::{self, HeaderKind, Setting, StrPart, ValueKind};
use crate::syntax::ast::{IMPACT_SETTINGS as IMPACT, SERVICE_SETTINGS as SERVICE};

const REGULATORY: &[&str] = &["none", "moderate", "strict"];
const CUSTOMER_IMPACT: &[&str] = &["low", "medium", "high", "critical"];

/// Reads `objectives { }` and `impact { }` (one each at most) into the header, makes the
/// service names known to `restores`, and weighs the header's `rto`, `rpo` and `tier` against
/// what the impact advises. Runs after the header's attributes.
pub fn header(cx: &mut Cx, rb: &ast::Runbook, h: &mut Header) {
    let mut bad_names = Vec::new();
    for item in &rb.items {
        let key = match &item.kind {
            HeaderKind::Objectives(_) => "objectives",
            HeaderKind::Impact(_) => "impact",
            _ => continue,
        };
        // Findings about a whole block point at its keyword.
        let at = Span { end: item.span.start + key.len() as u32, ..item.span };
        if let Some(first) = h.spans.get(key) {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_attribute",
                    at,
                    format!("`{key}` given twice in the runbook header"),
                )
                .label("second one")
                .related(*first, "first one here")
                .help(format!("declare everything in one `{key} {{ }}` block")),
            );
            continue;
        }
        h.spans.insert(key, at);
        match &item.kind {
            HeaderKind::Objectives(block) => bad_names = objectives(cx, block, h),
            HeaderKind::Impact(block) => h.impact = impact(cx, block, at),
            _ => {}
        }
    }
    if h.spans.contains_key("objectives") {
        // Names already reported as malformed still count, so `restores` adds no error.
        cx.services = Some(h.objectives.iter().map(|s| s.name.clone()).chain(bad_names).collect());
    }
    if let Some(decl) = &h.impact {
        match advise(&decl.impact()) {
            Ok(a) => super::advice::judge(cx, h, decl, &a),
            Err(bad) => cx.error(
                Diagnostic::error(
                    "drbook::check::bad_impact",
                    decl.span,
                    format!("cannot advise objectives: {bad}"),
                )
                .label("the objectives calculator refused this impact")
                .help(format!("give `{}` a finite amount of 0 or more", bad.field)),
            ),
        }
    }
}

/// Reads the services into `h.objectives`; returns the names written as bare words (reported).
fn objectives(cx: &mut Cx, block: &ast::Block<ast::Service>, h: &mut Header) -> Vec<String> {
    let mut first: Vec<(String, Span)> = Vec::new();
    let mut bad = Vec::new();
    for svc in &block.items {
        let Some(name) = cx.plain(&svc.name, "service") else {
            if let ValueKind::Ident(w) = &svc.name.kind {
                bad.push(w.to_string());
            }
            continue;
        };
        if let Some((_, at)) = first.iter().find(|(n, _)| *n == name) {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_service",
                    svc.name.span,
                    format!("service `{}` declared twice", shorten(&name)),
                )
                .label("second one")
                .related(*at, "first one here")
                .help("give each service one `service \"NAME\" { ... }` line"),
            );
            continue;
        }
        first.push((name.clone(), svc.name.span));
        let mut o =
            ServiceObjective { name, rto: None, rpo: None, tier: None, span: svc.name.span };
        let what = format!("service `{}`", shorten(&o.name));
        for (key, st) in settings(cx, &svc.settings, SERVICE, &what).0 {
            let v = &st.value;
            match key {
                "rto" => o.rto = cx.duration(v, "rto"),
                "rpo" => o.rpo = cx.duration(v, "rpo"),
                _ => {
                    o.tier = match &v.kind {
                        ValueKind::Ident(t) => Some(t.to_string()),
                        _ => cx.plain(v, "tier"),
                    }
                }
            }
        }
        h.objectives.push(o);
    }
    bad
}

/// The known settings of a block, each once, in order, and whether an unknown one was
/// reported; unknown and repeated ones are reported.
fn settings<'b>(
    cx: &mut Cx,
    block: &'b ast::Block<Setting>,
    known: &'static [&'static str],
    what: &str,
) -> (Vec<(&'static str, &'b Setting)>, bool) {
    let mut out: Vec<(&'static str, &'b Setting)> = Vec::new();
    let mut unknown = false;
    for st in &block.items {
        let Some(&key) = known.iter().find(|k| **k == &*st.name.name) else {
            let help = suggest(&st.name.name, known.iter().copied())
                .unwrap_or_else(|| format!("the settings of {what}: {}", known.join(", ")));
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_setting",
                    st.name.span,
                    format!("unknown setting `{}` in {what}", shorten(&st.name.name)),
                )
                .label("not a setting here")
                .help(help),
            );
            unknown = true;
            continue;
        };
        if let Some((_, prev)) = out.iter().find(|(k, _)| *k == key) {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_attribute",
                    st.span,
                    format!("`{key}` given twice in {what}"),
                )
                .label("second one")
                .related(prev.span, "first one here")
                .help("keep one of them"),
            );
            continue;
        }
        out.push((key, st));
    }
    (out, unknown)
}

fn impact(cx: &mut Cx, block: &ast::Block<Setting>, span: Span) -> Option<ImpactDecl> {
    let (given, misspelt) = settings(cx, block, IMPACT, "`impact`");
    let missing: Vec<&str> =
        IMPACT.iter().copied().filter(|k| !given.iter().any(|(g, _)| g == k)).collect();
    // A misspelt setting is also a missing one: say it once.
    if !missing.is_empty() && !misspelt {
        let list: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
        cx.error(
            Diagnostic::error(
                "drbook::check::missing_impact_setting",
                span,
                format!("`impact` lacks {}", list.join(", ")),
            )
            .label("incomplete impact")
            .help(format!(
                "`impact` needs all of {}, as in `impact {{ hourly_revenue 50000; transactions_per_hour 5000; regulatory strict; customer_impact critical; data_recreation_cost 500000 }}`",
                IMPACT.join(", ")
            )),
        );
    }
    let (mut revenue, mut volume, mut cost) = (None, None, None);
    let (mut regulatory, mut customer) = (None, None);
    for (key, st) in given {
        let v = &st.value;
        match key {
            "hourly_revenue" => revenue = amount(cx, v, key),
            "transactions_per_hour" => volume = amount(cx, v, key),
            "data_recreation_cost" => cost = amount(cx, v, key),
            "regulatory" => {
                regulatory = cx.choice(v, key, REGULATORY).and_then(|w| Regulatory::parse(&w))
            }
            _ => {
                customer =
                    cx.choice(v, key, CUSTOMER_IMPACT).and_then(|w| CustomerImpact::parse(&w))
            }
        }
    }
    Some(ImpactDecl {
        hourly_revenue: revenue?,
        transactions_per_hour: volume?,
        regulatory: regulatory?,
        customer_impact: customer?,
        data_recreation_cost: cost?,
        span,
    })
}

/// A number of 0 or more (a whole number or a decimal).
fn amount(cx: &mut Cx, v: &ast::Value, what: &str) -> Option<f64> {
    let n = match &v.kind {
        ValueKind::Int(n) => *n as f64,
        ValueKind::Dec(d) => d.parse::<f64>().ok()?,
        _ => {
            cx.expected(v, what, "a number", &format!("{what} 50000"));
            return None;
        }
    };
    if n < 0.0 {
        cx.error(
            Diagnostic::error(
                "drbook::check::bad_value",
                v.span,
                format!("`{what}` cannot be negative"),
            )
            .label("a negative amount")
            .help(format!("give `{what}` as an amount of 0 or more")),
        );
        return None;
    }
    Some(n)
}

/// A step's `restores "A", "B"`: names of services declared in `objectives { }`.
pub fn restores(cx: &mut Cx, span: Span, vs: &[ast::Value], out: &mut Vec<String>) {
    if cx.in_template() {
        // A module's template: the runbook that uses it declares the services.
        for v in vs {
            if let ValueKind::Str(s) = &v.kind {
                out.extend(s.as_literal());
            }
        }
        return;
    }
    let Some(services) = cx.services.clone() else {
        cx.error(
            Diagnostic::error(
                "drbook::check::restores_without_objectives",
                span,
                "`restores` names services, but the runbook has no `objectives`",
            )
            .label("no services declared")
            .help("declare the services in the header: `objectives { service \"api\" { rto 15m; rpo 0s; tier critical } }`"),
        );
        return;
    };
    for v in vs {
        let Some(name) = restored_name(cx, v) else { continue };
        if !services.contains(&name) {
            let help = suggest(&name, services.iter().map(String::as_str))
                .unwrap_or_else(|| format!("declared services: {}", services.join(", ")));
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_service",
                    v.span,
                    format!("unknown service `{}`", shorten(&name)),
                )
                .label("not declared in `objectives`")
                .help(help),
            );
        } else if !out.contains(&name) {
            out.push(name);
        }
    }
}

/// A name of `restores`: a literal string, or one a template made of its literal argument
/// (`restores "${svc}"` used with `svc = "api"`).
fn restored_name(cx: &mut Cx, v: &ast::Value) -> Option<String> {
    fn flat(parts: &[StrPart], out: &mut String) -> Result<(), Option<ast::Ident>> {
        for p in parts {
            match p {
                StrPart::Lit(t) => out.push_str(t),
                StrPart::Word(inner) => flat(inner, out)?,
                StrPart::Bare(word) => return Err(Some(word.clone())),
                StrPart::Ref(_) => return Err(None),
            }
        }
        Ok(())
    }
    let ValueKind::Str(s) = &v.kind else { return cx.plain(v, "restores") };
    let mut out = String::new();
    match flat(&s.parts, &mut out) {
        Ok(()) => Some(out),
        Err(Some(word)) => {
            cx.bare_word(&word.name, word.span, "`restores`");
            None
        }
        Err(None) => cx.plain(v, "restores"),
    }
}

/// Services no step restores, and services whose restoring steps (finally steps aside) end
/// later than the service's own `rto` allows.
pub fn lint(cx: &mut Cx, rb: &Runbook, dag: &Dag) {
    for svc in &rb.objectives {
        let restoring = |finally_too: bool| -> Vec<usize> {
            (rb.steps.iter().enumerate())
                .filter(|(_, s)| (finally_too || !s.finally) && s.restores.contains(&svc.name))
                .map(|(i, _)| i)
                .collect()
        };
        if restoring(true).is_empty() {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::service_not_restored",
                    svc.span,
                    format!("no step restores service `{}`", shorten(&svc.name)),
                )
                .label("declared, restored by no step")
                .help(format!(
                    "add `restores \"{}\"` to the step that brings it back, or remove the service",
                    svc.name
                )),
            );
            continue;
        }
        let ends = restoring(false);
        let Some(rto) = svc.rto else { continue };
        if ends.is_empty() {
            continue;
        }
        let (estimated, path) = dag.critical_path_to(&ends);
        if estimated > rto {
            let path: Vec<&str> = path.iter().map(|&i| rb.steps[i].id.as_str()).collect();
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::service_over_budget",
                    svc.span,
                    format!(
                        "service `{}` is restored after {}, over its `rto` of {}",
                        shorten(&svc.name),
                        fmt_duration(estimated),
                        fmt_duration(rto)
                    ),
                )
                .label(format!("`{}`", path.join(" -> ")))
                .help("shorten or parallelise the steps that restore it, or revisit its budget"),
            );
        }
    }
}
