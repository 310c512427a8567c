//! Check: the loaded AST in, a [`model::Runbook`] and its [`Dag`] out, with every error and
//! warning of LANGUAGE.md §7. Every problem is reported, not the first one.
//!
//! Order of work: header declarations (params with `--param` values, secrets, roles), step
//! ids and capture names, then each step, then `needs` and the graph (cycles), then the
//! capture-ancestor rule, then lints. A module file (templates only) is checked template by
//! template, with template parameters left open.

mod action;
mod advice;
mod approvals;
mod cx;
#[cfg(test)]
mod drill_tests;
mod drills;
mod header;
mod lints;
mod names;
mod objectives;
#[cfg(test)]
mod objectives_tests;
mod reparse;
mod step;
#[cfg(test)]
mod tests;
mod trigger;

pub use header::parse_param;

use crate::diag::{shorten, suggest, Diagnostic, Severity};
use crate::graph::Dag;
use crate::load::Loaded;
use crate::model::{self, Date, FailurePolicy, ParamValue};
use crate::syntax::ast::{self, HeaderKind, StepKind};
use cx::Cx;
use std::collections::HashMap;

/// What the caller knows beyond the file.
#[derive(Clone, Debug)]
pub struct Options {
    /// For the stale-review warning.
    pub today: Date,
    /// `--param NAME=VALUE`, in the order given.
    pub params: Vec<(String, String)>,
    /// Plan and run need every required param; `check` does not.
    pub require_params: bool,
    /// Promote warnings to errors.
    pub strict: bool,
}

/// The product of checking.
#[derive(Debug, Default)]
pub struct Checked {
    /// Present when there is a runbook and no error.
    pub runbook: Option<model::Runbook>,
    pub dag: Option<Dag>,
    /// The effective value of every param that has one.
    pub values: HashMap<String, ParamValue>,
    pub diags: Vec<Diagnostic>,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diags.len() - self.errors()
    }
}

/// Checks the loaded file. The runbook's syntax tree is consumed step by step as the model is
/// built, so a large runbook never holds both whole in memory.
pub fn check(loaded: &mut Loaded, opts: &Options) -> Checked {
    check_in(Cx::new(), loaded, opts)
}

/// [`check`] with a context made by the caller (the tests choose how steps are split).
fn check_in(mut cx: Cx, loaded: &mut Loaded, opts: &Options) -> Checked {
    cx.base_dir = loaded
        .sources
        .get(loaded.root)
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .map(|d| d.to_path_buf());
    let mut out = Checked::default();
    if let Some(rb) = loaded.runbook.take() {
        runbook(&mut cx, rb, loaded.root, opts, &mut out);
    }
    for t in &loaded.templates {
        template(&mut cx, t);
    }
    let mut diags = loaded.diags.clone();
    diags.append(&mut cx.diags);
    diags.extend(lints::bidi_controls(&loaded.sources));
    if opts.strict {
        for d in &mut diags {
            d.severity = Severity::Error;
        }
    }
    diags.sort_by_key(|d| (d.span.file, d.span.start));
    if diags.iter().any(Diagnostic::is_error) {
        out.runbook = None;
        out.dag = None;
    }
    out.diags = diags;
    out
}

/// What the graph checks still need of a step once its syntax tree is gone.
struct StepRef {
    id: ast::Ident,
    needs: Vec<ast::Ident>,
}

fn runbook(
    cx: &mut Cx,
    mut rb: ast::Runbook,
    file: crate::diag::FileId,
    opts: &Options,
    out: &mut Checked,
) {
    cx.file = Some(file);
    let mut h = header::Header::default();
    header::declarations(cx, &rb, &opts.params, &mut h);
    header::attributes(cx, &rb, &mut h);
    header::env(cx, &rb, &mut h);
    drills::cadence(cx, &rb, &mut h);
    objectives::header(cx, &rb, &mut h);
    let name = cx.plain(&rb.name, "runbook name").unwrap_or_default();
    // `finally` steps take the indices after every other step's.
    let items = std::mem::take(&mut rb.items);
    let mut ordered: Vec<ast::Step> = Vec::with_capacity(items.len());
    let mut finally: Vec<ast::Step> = Vec::new();
    for item in items {
        match item.kind {
            HeaderKind::Step(s) if s.finally => finally.push(s),
            HeaderKind::Step(s) => ordered.push(s),
            kind => rb.items.push(ast::HeaderItem { kind, span: item.span }),
        }
    }
    cx.finally_from = ordered.len();
    ordered.append(&mut finally);
    let mut ids = cx::StepIds::with_capacity_and_hasher(ordered.len(), Default::default());
    let mut captures: Vec<Vec<String>> = Vec::with_capacity(ordered.len());
    for (i, s) in ordered.iter().enumerate() {
        if let Some(&prev) = ids.get(&*s.id.name) {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_step",
                    s.id.span,
                    format!("duplicate step id `{}`", s.id.name),
                )
                .label("second step with this id")
                .related(ordered[prev].id.span, "first defined here")
                .help("step ids must be unique; rename one of them"),
            );
        } else {
            ids.insert(s.id.name.to_string(), i);
        }
        let mut caps: Vec<String> = Vec::new();
        for item in &s.items {
            if let StepKind::Capture { name, .. } = &item.kind {
                let taken = cx.params.contains_key(&*name.name) || cx.secrets.contains(&*name.name);
                let span = taken.then_some(rb.span);
                if caps.iter().any(|c| *c == *name.name) {
                    cx.error(
                        Diagnostic::error(
                            "drbook::check::duplicate_capture",
                            name.span,
                            format!("capture `{}` defined twice", name.name),
                        )
                        .label("second capture with this name")
                        .help("give each capture its own name"),
                    );
                } else if cx.declare(name, "capture", span) {
                    caps.push(name.name.to_string());
                }
            }
        }
        captures.push(caps);
    }
    cx.steps = ids.into();
    cx.captures = captures.into();
    let on_failure = h.on_failure.unwrap_or(FailurePolicy::Abort);
    let (mut model_steps, refs) = steps_in_parallel(cx, ordered, &h, on_failure);
    let steps = refs;
    needs(cx, &steps, &mut model_steps);
    let trigger = trigger::trigger(cx, &rb, &h, &model_steps);
    // Finally steps run after the run has ended: they take no time of the RTO budget.
    let durations =
        model_steps.iter().map(|s| if s.finally { 0 } else { s.duration.unwrap_or(0) }).collect();
    let deps = model_steps.iter().map(|s| s.needs.clone()).collect();
    let dag = match Dag::new(durations, deps) {
        Ok(d) => Some(d),
        Err(cycles) => {
            for c in cycles {
                cycle(cx, &steps, &c);
            }
            None
        }
    };
    if let Some(dag) = &dag {
        for (user, target, span) in std::mem::take(&mut cx.capture_uses) {
            // A finally step runs after every other step has ended, so it may use any of their
            // captures (one never taken fails it at run time).
            let after_all = cx.is_finally(user) && !cx.is_finally(target);
            if !after_all && !dag.is_ancestor(target, user) {
                let (u, t) = (&steps[user].id.name, &steps[target].id.name);
                cx.error(
                    Diagnostic::error(
                        "drbook::check::capture_not_ancestor",
                        span,
                        format!("step `{u}` uses a capture of `{t}`, which it does not depend on"),
                    )
                    .label(format!("`{t}` might not have run yet"))
                    .help(format!("add `needs {t}` to `{u}` (directly or through another step)")),
                );
            }
        }
    }
    if opts.require_params {
        for p in &h.params {
            if p.default.is_none() && !cx.bad_params.contains(&p.name) {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::missing_param",
                        p.span,
                        format!("required param `{}` has no value", p.name),
                    )
                    .label("no default")
                    .help(format!("pass `--param {}=VALUE`", p.name)),
                );
            }
        }
    }
    out.values =
        h.params.iter().filter_map(|p| p.default.clone().map(|v| (p.name.clone(), v))).collect();
    let model = model::Runbook {
        name,
        title: h.title,
        description: h.description,
        owner: h.owner,
        rto: h.rto,
        rpo: h.rpo,
        tier: h.tier,
        reviewed: h.reviewed,
        review_every: h.review_every,
        on_failure,
        parallel: h.parallel.unwrap_or(16),
        params: h.params,
        secrets: h.secrets,
        roles: h.roles,
        steps: model_steps,
        file,
        shell: h.shell,
        people: h.people,
        approvals: h.approvals.unwrap_or_default(),
        signers: h.signers,
        drills: h.drills,
        notify_drills: h.notify_drills,
        trigger,
        objectives: h.objectives,
        impact: h.impact,
    };
    approvals::lint(cx, &model, rb.name.span, h.spans.get("approvals").copied());
    if let (Some(dag), Some(&span)) = (&dag, h.spans.get("drills")) {
        drills::lint_component(cx, &model, dag, span);
    }
    if let Some(dag) = &dag {
        let (estimated, critical) = dag.critical_path();
        lints::runbook(cx, &model, rb.name.span, estimated, &critical, opts.today);
        objectives::lint(cx, &model, dag);
    }
    out.runbook = Some(model);
    out.dag = dag;
}

/// Builds the model of every step. A long runbook is cut in halves checked on two threads
/// (a step's check reads the names in scope and adds findings, see [`Cx::fork`]); the
/// findings are joined in step order, so the result is the same as checking them in turn.
fn steps_in_parallel(
    cx: &mut Cx,
    ordered: Vec<ast::Step>,
    h: &header::Header,
    on_failure: FailurePolicy,
) -> (Vec<model::Step>, Vec<StepRef>) {
    let total = ordered.len();
    let work = |cx: &mut Cx, steps: Vec<ast::Step>, from| {
        let room = crate::par::room(from, steps.len(), total);
        model_steps(cx, steps, from, room, h, on_failure)
    };
    let (mut done, rest) = crate::par::halves(ordered, cx.parallel_from, cx, Cx::fork, work);
    if let Some((other, (steps, refs))) = rest {
        cx.join(other);
        done.0.extend(steps);
        done.1.extend(refs);
    }
    done
}

/// The model of each of `steps`, the first at index `from`, in vectors with room for `room`
/// steps, and what the graph checks need of each once its syntax tree is gone.
fn model_steps(
    cx: &mut Cx,
    steps: Vec<ast::Step>,
    from: usize,
    room: usize,
    h: &header::Header,
    on_failure: FailurePolicy,
) -> (Vec<model::Step>, Vec<StepRef>) {
    let mut model_steps = Vec::with_capacity(room);
    let mut refs = Vec::with_capacity(room);
    for s in steps {
        let i = from + model_steps.len();
        let defaults = (&h.owner, on_failure);
        // Step-level findings point at the step's id, not its whole body.
        let mut st = step::step(cx, i, &s.id, s.title.as_ref(), &s.items, defaults, s.id.span);
        header::inherit(&mut st, h);
        if s.finally {
            finally_step(cx, &s, &mut st);
        }
        model_steps.push(st);
        let needs = s
            .items
            .into_iter()
            .filter_map(|it| match it.kind {
                StepKind::Needs(ids) => Some(ids),
                _ => None,
            })
            .flatten()
            .collect();
        refs.push(StepRef { id: s.id, needs });
    }
    (model_steps, refs)
}

fn needs(cx: &mut Cx, steps: &[StepRef], model_steps: &mut [model::Step]) {
    for (i, s) in steps.iter().enumerate() {
        {
            for id in &s.needs {
                match cx.steps.get(&*id.name) {
                    Some(&j) if j == i => cx.error(
                        Diagnostic::error(
                            "drbook::check::self_dependency",
                            id.span,
                            format!("step `{}` needs itself", id.name),
                        )
                        .label("a step cannot wait for itself")
                        .help("remove it from `needs`"),
                    ),
                    Some(&j) if cx.is_finally(i) != cx.is_finally(j) => {
                        finally_needs(cx, id, &steps[i].id.name, cx.is_finally(i))
                    }
                    Some(&j) => {
                        if !model_steps[i].needs.contains(&j) {
                            model_steps[i].needs.push(j);
                        }
                    }
                    None => {
                        let help = suggest(&id.name, cx.steps.keys().map(String::as_str))
                            .unwrap_or_else(|| "`needs` names steps of this runbook".into());
                        cx.error(
                            Diagnostic::error(
                                "drbook::check::unknown_step",
                                id.span,
                                format!("unknown step `{}`", shorten(&id.name)),
                            )
                            .label("no step with this id")
                            .help(help),
                        );
                    }
                }
            }
        }
    }
}

/// A `needs` across the line between finally steps and the others.
fn finally_needs(cx: &mut Cx, id: &ast::Ident, step: &str, from_finally: bool) {
    let d = if from_finally {
        Diagnostic::error(
            "drbook::check::finally_needs_forward",
            id.span,
            format!("finally step `{step}` needs `{}`, which is not a finally step", id.name),
        )
        .label("finally steps run after every other step anyway")
        .help("a finally step may need only other finally steps; remove this one")
    } else {
        Diagnostic::error(
            "drbook::check::needs_finally",
            id.span,
            format!("step `{step}` needs finally step `{}`", id.name),
        )
        .label("a finally step runs only once the run has ended")
        .help("make it an ordinary step, or this one a finally step")
    };
    cx.error(d);
}

/// What a `finally` step may not have, and its flag in the model.
fn finally_step(cx: &mut Cx, s: &ast::Step, st: &mut model::Step) {
    st.finally = true;
    // A failed finally step blocks nothing and changes nothing of the run's outcome.
    st.on_failure = FailurePolicy::Continue;
    for item in &s.items {
        if matches!(item.kind, StepKind::Rollback(_)) {
            cx.error(
                Diagnostic::error(
                    "drbook::check::finally_rollback",
                    item.span,
                    format!("finally step `{}` has a rollback", s.id.name),
                )
                .label("finally steps are never undone")
                .help("remove the rollback; a finally step runs once the run has ended, rollback included"),
            );
        }
    }
}

fn cycle(cx: &mut Cx, steps: &[StepRef], c: &crate::graph::Cycle) {
    if c.nodes.len() == 1 {
        return; // self-dependencies are reported where `needs` is read
    }
    let mut names: Vec<&str> = c.nodes.iter().map(|&i| &*steps[i].id.name).collect();
    names.push(names[0]);
    let mut d = Diagnostic::error(
        "drbook::check::cycle",
        steps[c.nodes[0]].id.span,
        format!("dependency cycle: `{}`", names.join(" -> ")),
    )
    .label("this step waits for itself through the cycle");
    for &i in &c.nodes[1..] {
        d = d.related(steps[i].id.span, "on the cycle");
    }
    let also: Vec<&str> = c.also.iter().map(|&i| &*steps[i].id.name).collect();
    let help = if also.is_empty() {
        "remove one of the `needs` on the cycle".to_string()
    } else {
        format!("remove one of the `needs` on the cycle (also caught in it: {})", also.join(", "))
    };
    cx.error(d.help(help));
}

fn template(cx: &mut Cx, t: &ast::Template) {
    cx.template = Some(t.params.iter().map(|p| p.name.name.to_string()).collect());
    cx.captures = std::sync::Arc::new(vec![t
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            StepKind::Capture { name, .. } => Some(name.name.to_string()),
            _ => None,
        })
        .collect()]);
    step::step(cx, 0, &t.name, None, &t.items, (&None, FailurePolicy::Abort), t.span);
    cx.template = None;
}
