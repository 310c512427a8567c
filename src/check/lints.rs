//! Warnings of LANGUAGE.md §7 (errors under `--strict`): missing owner, duration or rto, a
//! critical path over budget, a timeout shorter than the duration, a stale review, unused
//! params, `${...}` inside shell quotes, side effects with no way back, and bidi controls in
//! the text.

use super::cx::Cx;
use crate::diag::escape::is_bidi_control;
use crate::diag::{Diagnostic, Sources, Span};
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
        // A `safe` step is read-only by its author's word: nothing to run twice or undo.
        if s.action.as_ref().is_some_and(|a| a.has_side_effects())
            && !s.idempotent
            && !s.safe
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
                .help(if s.finally {
                    "add `idempotent` if running it twice is harmless (a finally step is never undone)"
                } else {
                    "add `rollback ACTION`, or `idempotent` if running it twice is harmless"
                }),
            );
        }
        if s.action.as_ref().is_some_and(|a| a.has_side_effects())
            && !s.idempotent
            && !s.safe
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
///
/// The rule, as a small POSIX shell scanner: a reference is quoted when the innermost open
/// context is `'...'` or `"..."`. `$(` opens a new context inside any but single quotes (so
/// `"$(cmd ${x})"` is not quoted), and its `)` closes it. A `#` that starts a word outside
/// quotes begins a comment to the end of the line: quotes in it count for nothing.
pub fn quoted_interpolation(cx: &mut Cx, s: &Str) {
    #[derive(Clone, Copy, PartialEq)]
    enum Q {
        Single,
        Double,
        /// `$(...)` or a `(` inside one.
        Sub,
    }
    // Only a quote in the text opens shell quotes, and only a reference can be warned about.
    let quotes = s.parts.iter().any(|p| matches!(p, StrPart::Lit(t) if t.contains(['\'', '"'])));
    if !quotes || !s.parts.iter().any(|p| matches!(p, StrPart::Ref(_))) {
        return;
    }
    let mut stack: Vec<Q> = Vec::new();
    let (mut escaped, mut comment, mut dollar) = (false, false, false);
    // Whether the next character starts a word (for `#`).
    let mut word_start = true;
    for p in &s.parts {
        match p {
            StrPart::Lit(text) => {
                for c in text.chars() {
                    let top = stack.last().copied();
                    let was_dollar = std::mem::take(&mut dollar);
                    if comment {
                        if c == '\n' {
                            comment = false;
                            word_start = true;
                        }
                        continue;
                    }
                    if escaped {
                        escaped = false;
                        word_start = false;
                        continue;
                    }
                    match (top, c) {
                        (Some(Q::Single), '\'') => {
                            stack.pop();
                        }
                        (Some(Q::Single), _) => {}
                        (_, '\\') => escaped = true,
                        (Some(Q::Double), '"') => {
                            stack.pop();
                        }
                        (_, '$') => dollar = true,
                        (_, '(') if was_dollar || top == Some(Q::Sub) => stack.push(Q::Sub),
                        (Some(Q::Sub), ')') => {
                            stack.pop();
                        }
                        (Some(Q::Double), _) => {}
                        (_, '\'') => stack.push(Q::Single),
                        (_, '"') => stack.push(Q::Double),
                        (_, '#') if word_start => comment = true,
                        _ => {}
                    }
                    word_start = c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | ')');
                }
            }
            StrPart::Ref(r) if !comment && matches!(stack.last(), Some(Q::Single | Q::Double)) => {
                cx.error(
                    Diagnostic::warning(
                        "drbook::lint::quoted_interpolation",
                        r.span,
                        format!("`${{{}}}` is inside shell quotes", r.dotted()),
                    )
                    .label("already inserted as one shell word")
                    .help("remove the quotes around it: drbook quotes interpolated values itself"),
                );
                word_start = false;
            }
            StrPart::Ref(_) | StrPart::Word(_) | StrPart::Bare(_) => word_start = false,
        }
    }
}

/// A file shows no more bidi warnings than this (the first ones say enough).
const MAX_BIDI: usize = 16;

/// Bidirectional-text controls anywhere in the files read (strings, comments): invisible, they
/// make a reviewer see text in another order than the shell runs it ("Trojan Source").
pub fn bidi_controls(sources: &Sources) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for id in sources.ids() {
        let text = &sources.get(id).text;
        // Every bidi control is encoded with the lead byte 0xD8 (U+061C) or 0xE2 (U+2000 to
        // U+2FFF), and a lead byte always starts a character: look only there.
        let found = memchr::memchr2_iter(0xD8, 0xE2, text.as_bytes())
            .filter_map(|at| Some((at, text[at..].chars().next()?)))
            .filter(|&(_, c)| is_bidi_control(c))
            .take(MAX_BIDI);
        for (at, c) in found {
            out.push(
                Diagnostic::warning(
                    "drbook::lint::bidi_control",
                    Span::new(id, at, at + c.len_utf8()),
                    format!("invisible bidi control U+{:04X} in the text", c as u32),
                )
                .label("reorders how the text around it is shown")
                .help("remove it: what a reviewer reads must be what runs"),
            );
        }
    }
    out
}
