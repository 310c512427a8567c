//! Warnings of LANGUAGE.md §7 (errors under `--strict`): missing owner, duration or rto, a
//! critical path over budget, a timeout shorter than the duration, a stale review, unused
//! params, `${...}` inside shell quotes, and side effects with no way back.

use super::cx::Cx;
use crate::diag::{Diagnostic, Span};
use crate::model::fmt_duration;
use crate::model::{Date, Runbook};
use crate::syntax::ast::{Str, StrPart};

pub fn runbook(
    cx: &mut Cx,
    rb: &Runbook,
    name_span: Span,
    estimated: u64,
    critical: &[usize],
    today: Date,
) {
    if rb.owner.is_none() {
        cx.error(
            Diagnostic::warning("drbook::lint::no_owner", name_span, "runbook has no `owner`")
                .label("who is accountable for this runbook?")
                .help("add `owner \"team-name\"` to the header; it is also every step's default owner"),
        );
    }
    match rb.rto {
        None => cx.error(
            Diagnostic::warning("drbook::lint::no_rto", name_span, "runbook has no `rto`")
                .label("no recovery-time budget")
                .help("add `rto 1h` (the recovery-time objective) so the plan can be judged against it"),
        ),
        Some(rto) if estimated > rto => {
            let path: Vec<&str> = critical.iter().map(|&i| rb.steps[i].id.as_str()).collect();
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::over_budget",
                    name_span,
                    format!("critical path takes {}, over the `rto` of {}", fmt_duration(estimated), fmt_duration(rto)),
                )
                .label(format!("`{}`", path.join(" -> ")))
                .help("shorten or parallelise steps on the critical path, or revisit the budget"),
            );
        }
        Some(_) => {}
    }
    if let (Some(reviewed), Some(every)) = (rb.reviewed, rb.review_every) {
        let due = Date::from_days(reviewed.days() + (every / 86_400_000) as i64);
        if due < today {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::stale_review",
                    name_span,
                    format!("review overdue since {due}"),
                )
                .label(format!("reviewed {reviewed}, due every {}", fmt_duration(every)))
                .help("walk through the runbook with its owners, then update `reviewed`"),
            );
        }
    }
    for p in &rb.params {
        if !cx.params_used.contains(&p.name) {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::unused_param",
                    p.span,
                    format!("param `{}` is never used", p.name),
                )
                .label("declared but not used")
                .help("remove it, or use it as `${...}`"),
            );
        }
    }
    for s in &rb.steps {
        let at = s.span;
        if s.owner.is_none() && rb.owner.is_none() {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::no_owner",
                    at,
                    format!("step `{}` has no owner", s.id),
                )
                .label("nobody answers for this step")
                .help("add `owner \"team\"` to the step or the runbook header"),
            );
        }
        if s.duration.is_none() {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::no_duration",
                    at,
                    format!("step `{}` has no `duration`", s.id),
                )
                .label("counts as 0 in the critical path")
                .help("add the expected duration, e.g. `duration 5m`"),
            );
        }
        if let (Some(t), Some(d)) = (s.timeout, s.duration) {
            if t < d {
                cx.error(
                    Diagnostic::warning(
                        "drbook::lint::timeout_shorter",
                        at,
                        format!("step `{}` times out before its expected duration", s.id),
                    )
                    .label(format!("timeout {} < duration {}", fmt_duration(t), fmt_duration(d)))
                    .help("raise the timeout above the expected duration"),
                );
            }
        }
        if s.action.as_ref().is_some_and(|a| a.has_side_effects())
            && !s.idempotent
            && s.rollback.is_none()
        {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::no_way_back",
                    at,
                    format!(
                        "step `{}` changes things but is neither `idempotent` nor has a `rollback`",
                        s.id
                    ),
                )
                .label("no way back")
                .help("add `rollback ACTION`, or `idempotent` if running it twice is harmless"),
            );
        }
        if s.action.as_ref().is_some_and(|a| a.has_side_effects())
            && !s.idempotent
            && s.rollback.is_some()
            && s.verify.is_none()
        {
            cx.error(
                Diagnostic::warning(
                    "drbook::lint::no_verify",
                    at,
                    format!("step `{}` can be undone but has no `verify` probe", s.id),
                )
                .label("in doubt after a crash, nothing can tell whether it acted")
                .help("add a read-only probe, e.g. `verify run \"test -f /srv/promoted\"` (exit 0: the effect is in place)"),
            );
        }
    }
}

/// Warns about `${...}` written inside shell quotes in a `run` string: the value is already
/// inserted as one quoted word, so surrounding quotes change its meaning.
pub fn quoted_interpolation(cx: &mut Cx, s: &Str) {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for p in &s.parts {
        match p {
            StrPart::Lit(text) => {
                for c in text.chars() {
                    if escaped {
                        escaped = false;
                        continue;
                    }
                    match c {
                        '\\' if !single => escaped = true,
                        '\'' if !double => single = !single,
                        '"' if !single => double = !double,
                        _ => {}
                    }
                }
            }
            StrPart::Ref(r) if single || double => cx.error(
                Diagnostic::warning(
                    "drbook::lint::quoted_interpolation",
                    r.span,
                    format!("`${{{}}}` is inside shell quotes", r.dotted()),
                )
                .label("already inserted as one shell word")
                .help("remove the quotes around it: drbook quotes interpolated values itself"),
            ),
            StrPart::Ref(_) | StrPart::Word(_) => {}
        }
    }
}
