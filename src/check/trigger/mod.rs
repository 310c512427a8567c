//! The header's `trigger { }` block (issue 14) → [`model::Trigger`].
//!
//! Input: the runbook's syntax tree (its non-step items), the header read so far and the
//! checked steps (the RPO gate names one). Output: the trigger with every default filled in
//! (`model::trigger::DEFAULT_*`), or `None` when the runbook has none or it has errors, which
//! are reported: no probe, a duplicate probe, a probe that is not read-only, a quorum that
//! does not fit the probes, a zero interval or failure count, a probe timeout over the
//! interval, a bad RPO gate, an unknown or missing `requires`, an approval role not in
//! `roles`, `requires auto` without a recovering drill cadence, `params` naming unknown
//! params or giving them values of the wrong type, duplicate settings. A lint warns when the
//! runbook has an `rpo` and the trigger no `rpo_gate`.

mod gate;
mod params;
#[cfg(test)]
mod tests;

use super::cx::{Cx, TriggerAt};
use super::header::Header;
use super::names::At;
use crate::diag::{shorten, suggest, Diagnostic, Span};
use crate::model::trigger::{self as mt, Probe, Requires, Trigger};
use crate::model::{self, Approval, Text};
use crate::syntax::ast::{self, ActionKind, HeaderKind, HttpItem, TriggerKind, ValueKind};

/// Where nothing is a step: references resolve like the header's.
pub(super) const HEADER: At<'static> = At { step: usize::MAX, own: None };

/// Reads the trigger block, if any (one at most).
pub fn trigger(
    cx: &mut Cx,
    rb: &ast::Runbook,
    h: &Header,
    steps: &[model::Step],
) -> Option<Trigger> {
    let mut found: Option<(Span, &ast::Block<ast::TriggerItem>)> = None;
    for item in &rb.items {
        let HeaderKind::Trigger(block) = &item.kind else { continue };
        if let Some((first, _)) = found {
            cx.error(
                Diagnostic::error(
                    "drbook::check::duplicate_attribute",
                    item.span,
                    "`trigger` given twice in the runbook header",
                )
                .label("second one")
                .related(first, "first one here")
                .help("a runbook has one trigger; put every probe in one `trigger { }` block"),
            );
            continue;
        }
        found = Some((item.span, block));
    }
    let (span, block) = found?;
    let errors = cx.diags.iter().filter(|d| d.is_error()).count();
    let t = read(cx, span, block, h, steps);
    let ok = cx.diags.iter().filter(|d| d.is_error()).count() == errors;
    let gated = block
        .items
        .iter()
        .any(|i| matches!(&i.kind, TriggerKind::Attr(kw, _) if &*kw.name == "rpo_gate"));
    if t.is_some() && !gated && h.rpo.is_some() {
        {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::trigger_without_rpo_gate",
                    keyword(span),
                    "the trigger may fail over without measuring the replication lag",
                )
                .label("no `rpo_gate`")
                .help("add `rpo_gate STEP` naming a `safe` step that captures the lag, so a failover that would lose more than `rpo` is refused"),
            );
        }
    }
    t.filter(|_| ok)
}

/// What the settings said, before the rules that relate them.
#[derive(Default)]
struct Read {
    probes: Vec<(Probe, Option<Span>)>,
    every: Option<u64>,
    failures: Option<u32>,
    quorum: Option<(u32, u32, Span)>,
    cooldown: Option<u64>,
    rpo_gate: Option<(String, Span)>,
    requires: Option<Requires>,
    requires_seen: bool,
    params: Vec<(String, Text)>,
    notify: Option<Text>,
}

fn read(
    cx: &mut Cx,
    span: Span,
    block: &ast::Block<ast::TriggerItem>,
    h: &Header,
    steps: &[model::Step],
) -> Option<Trigger> {
    let mut r = Read::default();
    let mut seen: Vec<(String, Span)> = Vec::new();
    for item in &block.items {
        let kw = item.kind.keyword();
        if !matches!(item.kind, TriggerKind::Probe { .. }) {
            if let Some((_, first)) = seen.iter().find(|(k, _)| k == kw) {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::duplicate_attribute",
                        item.span,
                        format!("`{kw}` given twice in `trigger`"),
                    )
                    .label("second one")
                    .related(*first, "first one here")
                    .help("keep one of them"),
                );
                continue;
            }
            seen.push((kw.to_string(), item.span));
        }
        match &item.kind {
            TriggerKind::Probe { name, timeout, action } => {
                probe(cx, &mut r, name, timeout.as_ref(), action, item.span)
            }
            TriggerKind::Attr(kw, v) => match &*kw.name {
                "every" => r.every = positive(cx, v, "every"),
                "failures" => {
                    r.failures =
                        cx.integer(v, "failures", 1).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                }
                "cooldown" => r.cooldown = cx.duration(v, "cooldown"),
                "rpo_gate" => match &v.kind {
                    ValueKind::Ident(step) => r.rpo_gate = Some((step.to_string(), v.span)),
                    _ => cx.expected(v, "rpo_gate", "a step id", "rpo_gate replica_lag"),
                },
                _ => r.notify = super::drills::notify_target(cx, v, "notify"),
            },
            TriggerKind::Quorum { k, n } => {
                let k = cx.integer(k, "quorum", 0);
                let n = cx.integer(n, "quorum", 0);
                if let (Some(k), Some(n)) = (k, n) {
                    let c = |x: i64| u32::try_from(x).unwrap_or(u32::MAX);
                    r.quorum = Some((c(k), c(n), item.span));
                }
            }
            TriggerKind::Requires { what, gate } => {
                r.requires_seen = true;
                r.requires = requires(cx, what, gate.as_ref(), h);
            }
            TriggerKind::Params(kvs) => r.params = params::params(cx, kvs),
        }
    }
    if r.probes.is_empty() {
        cx.error(
            Diagnostic::error("drbook::check::no_probe", keyword(span), "the trigger has no probe")
                .label("nothing would tell it that the primary is down")
                .help("add `probe primary http GET \"https://.../health\"` (or `probe NAME run \"...\"`)"),
        );
    }
    if !r.requires_seen {
        cx.error(
            Diagnostic::error("drbook::check::missing_requires", keyword(span), "the trigger does not say what firing needs")
                .label("no `requires`")
                .help("add `requires approval { by ROLE }` (a person decides) or `requires auto` (after a recent practice drill)"),
        );
    }
    let every = r.every.unwrap_or(mt::DEFAULT_EVERY);
    let mut probes = Vec::with_capacity(r.probes.len());
    for (mut p, given) in r.probes {
        match given {
            Some(at) if p.timeout > every => cx.error(
                Diagnostic::error(
                    "drbook::check::probe_timeout_over_interval",
                    at,
                    format!("probe `{}` may take longer than the interval between rounds", p.name),
                )
                .label(format!("timeout {}", model::fmt_duration(p.timeout)))
                .help(format!(
                    "give it a timeout of at most `every` ({}), or probe less often",
                    model::fmt_duration(every)
                )),
            ),
            Some(_) => {}
            None => p.timeout = p.timeout.min(every),
        }
        probes.push(p);
    }
    let count = u32::try_from(probes.len()).unwrap_or(u32::MAX);
    let quorum = match r.quorum {
        None => count,
        Some((k, n, at)) => {
            if let Some((label, help)) = quorum_problem(k, n, count) {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::bad_quorum",
                        at,
                        format!("`quorum {k} of {n}` does not fit the trigger's {count} probes"),
                    )
                    .label(label)
                    .help(help),
                );
            }
            k
        }
    };
    let rpo_gate = r.rpo_gate.and_then(|(id, at)| gate::rpo_gate(cx, &id, at, h, steps));
    Some(Trigger {
        probes,
        every,
        failures: r.failures.unwrap_or(mt::DEFAULT_FAILURES),
        quorum,
        cooldown: r.cooldown.unwrap_or(mt::DEFAULT_COOLDOWN),
        rpo_gate,
        requires: r.requires?,
        params: r.params,
        notify: r.notify,
        span,
    })
}

/// What is wrong with `quorum K of N` for a trigger of `count` probes: a label and a help.
fn quorum_problem(k: u32, n: u32, count: u32) -> Option<(String, String)> {
    if k == 0 {
        Some((
            "a quorum of 0".into(),
            "a round fails when at least K probes fail: K is 1 or more".into(),
        ))
    } else if n != count {
        Some((
            format!("counts {n} probes, the trigger has {count}"),
            format!("write `quorum {} of {count}`, N being the number of probes", k.min(count)),
        ))
    } else if k > n {
        Some((
            "a quorum larger than the probes".into(),
            format!(
                "K is at most {n}: `quorum {n} of {n}` fails a round only when every probe fails"
            ),
        ))
    } else {
        None
    }
}

/// The `trigger` keyword of the block starting at `span`: where block-wide findings point.
fn keyword(span: Span) -> Span {
    Span { end: span.start + "trigger".len() as u32, ..span }
}

/// A duration above zero.
fn positive(cx: &mut Cx, v: &ast::Value, what: &str) -> Option<u64> {
    let d = cx.duration(v, what)?;
    if d == 0 {
        cx.error(
            Diagnostic::error("drbook::check::zero_interval", v.span, format!("`{what}` is zero"))
                .label("an interval of zero")
                .help(format!("give a duration above zero, e.g. `{what} 30s`")),
        );
        return None;
    }
    Some(d)
}

fn probe(
    cx: &mut Cx,
    r: &mut Read,
    name: &ast::Ident,
    timeout: Option<&ast::Value>,
    action: &ast::Action,
    span: Span,
) {
    if let Some((first, _)) = r.probes.iter().find(|(p, _)| p.name == *name.name) {
        cx.error(
            Diagnostic::error(
                "drbook::check::duplicate_probe",
                name.span,
                format!("probe `{}` declared twice", name.name),
            )
            .label("second probe with this name")
            .related(first.span, "first one here")
            .help("give each probe its own name (rounds and evidence name probes)"),
        );
        return;
    }
    let why = match &action.kind {
        ActionKind::Run(_) | ActionKind::SsmCommand { .. } => None,
        ActionKind::Http { method, options, .. } => {
            let read_only = ["GET", "HEAD"].iter().any(|m| method.name.eq_ignore_ascii_case(m));
            let body = options.as_ref().is_some_and(|o| {
                o.items.iter().any(|i| matches!(i, HttpItem::Attr(k, _) if &*k.name == "body"))
            });
            if !read_only {
                Some("only `http GET` and `http HEAD` are read-only")
            } else if body {
                Some("a probe's request sends no `body`")
            } else {
                None
            }
        }
        ActionKind::SsmAutomation { .. } => Some("an automation changes things"),
        ActionKind::SsmPut { .. } => Some("`ssm put` overwrites a parameter"),
        ActionKind::Notify { .. } => Some("`notify` posts a message"),
        ActionKind::Wait(_) => Some("`wait` says nothing about the primary"),
        ActionKind::Manual(_) => Some("a probe runs unattended, every round"),
    };
    if let Some(why) = why {
        cx.error(
            Diagnostic::error(
                "drbook::check::probe_not_read_only",
                action.span,
                format!("probe `{}` cannot be a `{}` action", name.name, action.kind.keyword()),
            )
            .label(why)
            .help("probe with `run \"...\"` (exit 0 is healthy), `http GET \"https://...\"` or `ssm command`; a probe runs every round and must change nothing"),
        );
    }
    let given = timeout.and_then(|v| {
        let t = cx.duration(v, "timeout")?;
        if t == 0 {
            cx.error(
                Diagnostic::error("drbook::check::zero_interval", v.span, "`timeout` is zero")
                    .label("a probe would always time out")
                    .help("give a timeout above zero, e.g. `timeout 5s`"),
            );
            return None;
        }
        Some((t, v.span))
    });
    cx.trigger_at = Some(TriggerAt::Probe);
    let lowered = super::action::action(cx, action, HEADER);
    cx.trigger_at = None;
    let Some(lowered) = lowered else { return };
    r.probes.push((
        Probe {
            name: name.name.to_string(),
            action: lowered,
            timeout: given.map_or(mt::DEFAULT_PROBE_TIMEOUT, |(t, _)| t),
            span,
        },
        given.map(|(_, s)| s),
    ));
}

fn requires(
    cx: &mut Cx,
    what: &ast::Ident,
    gate: Option<&ast::Block<ast::ApprovalItem>>,
    h: &Header,
) -> Option<Requires> {
    match &*what.name {
        "approval" => match gate {
            Some(block) => super::step::approval(cx, block).map(Requires::Approval),
            None => {
                if let Some(roles) = &h.roles {
                    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
                    cx.error(
                        Diagnostic::error(
                            "drbook::check::trigger_approval_roles",
                            what.span,
                            "the trigger's approval names no role, but the runbook declares `roles`",
                        )
                        .label("who approves the failover?")
                        .help(format!(
                            "write `requires approval {{ by {} }}` (declared roles: {})",
                            names.first().copied().unwrap_or("ROLE"),
                            names.join(", ")
                        )),
                    );
                    return None;
                }
                Some(Requires::Approval(Approval { roles: Vec::new(), timeout: None }))
            }
        },
        "auto" => {
            if let Some(block) = gate {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::bad_value",
                        block.span,
                        "`requires auto` takes no block",
                    )
                    .label("nobody approves under `auto`")
                    .help("write `requires auto`, or `requires approval { by ROLE }` for a person's decision"),
                );
                return None;
            }
            if !h.drills.iter().any(|d| d.kind.recovers()) {
                cx.error(
                    Diagnostic::error(
                        "drbook::check::auto_without_drills",
                        what.span,
                        "`requires auto` needs a `full` or `partial` drill cadence",
                    )
                    .label("fires without a person")
                    .help("declare `drills { full every 90d }` (or `partial`): the trigger fires by itself only after a successful drill within that schedule"),
                );
                return None;
            }
            Some(Requires::Auto)
        }
        other => {
            let help = suggest(other, ["approval", "auto"]).unwrap_or_else(|| {
                "write `requires approval { by ROLE }` or `requires auto`".into()
            });
            cx.error(
                Diagnostic::error(
                    "drbook::check::unknown_requires",
                    what.span,
                    format!("unknown `requires` value `{}`", shorten(other)),
                )
                .label("expected `approval` or `auto`")
                .help(help),
            );
            None
        }
    }
}
