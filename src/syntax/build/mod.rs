//! pest pairs → AST. Each function takes the pairs of one rule and the byte offset of the
//! statement that pest parsed, so that spans point into the whole file.

use super::ast::*;
use super::strings;
use super::Rule;
use crate::diag::{Diagnostic, FileId, Span};
use pest::iterators::{Pair, Pairs};

pub(super) type P<'a> = Pair<'a, Rule>;

/// The most operands one `when`/`check` expression may have.
const MAX_EXPR_TERMS: usize = 256;

pub struct Builder {
    pub file: FileId,
    pub diags: Vec<Diagnostic>,
    base: usize,
}

mod lexemes;
mod objectives;
mod recover;

use lexemes::parse_date;
pub use lexemes::{parse_duration, pest_error};
use recover::Ctx;

impl Builder {
    pub fn new(file: FileId) -> Builder {
        Builder { file, diags: Vec::new(), base: 0 }
    }

    /// The pair's span without trailing blanks (pest includes the implicit whitespace that
    /// precedes a closing `}` or `;` in the statement).
    fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        let trimmed = p.as_str().trim_end_matches([' ', '\t', '\r', '\n']).len();
        Span::new(self.file, self.base + s.start(), self.base + s.start() + trimmed)
    }

    fn ident(&self, p: P) -> Ident {
        Ident { name: p.as_str().into(), span: self.span(&p) }
    }

    pub fn top_item(&mut self, pairs: Pairs<Rule>, base: usize) -> Option<Item> {
        self.base = base;
        let p = pairs.into_iter().next()?;
        match p.as_rule() {
            Rule::import => Some(Item::Import(self.import(p))),
            Rule::template => Some(Item::Template(self.template(p))),
            _ => self.unknown(p, Ctx::Top),
        }
    }

    pub fn runbook_name(&mut self, pairs: Pairs<Rule>, base: usize) -> Option<Value> {
        self.base = base;
        let open = pairs.into_iter().next()?;
        let v = open.into_inner().find(|p| p.as_rule() == Rule::value)?;
        Some(self.value(v))
    }

    pub fn header_item(&mut self, pairs: Pairs<Rule>, base: usize) -> Option<HeaderItem> {
        self.base = base;
        let p = pairs.into_iter().next()?;
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::step => HeaderKind::Step(self.step(p)),
            Rule::param => {
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next()?);
                let (mut ty, mut default) = (None, None);
                for q in it {
                    match q.as_rule() {
                        Rule::ident => ty = Some(self.ident(q)),
                        _ => default = Some(self.value(q)),
                    }
                }
                HeaderKind::Param(Param { name, ty, default })
            }
            Rule::secret => {
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next()?);
                let source = self.ident(it.next()?);
                let arg = self.value(it.next()?);
                HeaderKind::Secret(Secret { name, source, arg })
            }
            Rule::roles => HeaderKind::Roles(self.kv_block(p.into_inner().nth(1)?)),
            Rule::env => HeaderKind::Env(self.kv_block(p.into_inner().nth(1)?)),
            Rule::drills => HeaderKind::Drills(self.drills_block(p.into_inner().nth(1)?)),
            Rule::trigger => HeaderKind::Trigger(self.trigger_block(p.into_inner().nth(1)?)),
            Rule::objectives => {
                HeaderKind::Objectives(self.objectives_block(p.into_inner().nth(1)?))
            }
            Rule::impact => {
                HeaderKind::Impact(self.settings_block(p.into_inner().nth(1)?, Ctx::Impact))
            }
            Rule::header_attr => {
                let mut it = p.into_inner();
                let kw = self.ident(it.next()?);
                HeaderKind::Attr(kw, self.value(it.next()?))
            }
            _ => return self.unknown(p, Ctx::Runbook),
        };
        Some(HeaderItem { kind, span })
    }

    fn import(&mut self, p: P) -> Import {
        let span = self.span(&p);
        let mut path = None;
        let mut alias = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::value => path = Some(self.value(q)),
                Rule::ident => alias = Some(self.ident(q)),
                _ => {}
            }
        }
        let path = path.expect("invariant: the import rule requires a value");
        Import { path, alias, span }
    }

    fn template(&mut self, p: P) -> Template {
        let span = self.span(&p);
        let mut it = p.into_inner().skip(1);
        let name = self.ident(it.next().expect("invariant: template has a name"));
        let mut params = Vec::new();
        let mut items = Vec::new();
        let mut close = span;
        for q in it {
            match q.as_rule() {
                Rule::template_param => {
                    let mut r = q.into_inner();
                    let name = self.ident(r.next().expect("invariant: param has a name"));
                    let default = r.next().map(|v| self.value(v));
                    params.push(TemplateParam { name, default });
                }
                Rule::step_body => (items, close) = self.step_body(q),
                _ => {}
            }
        }
        Template { name, params, items, span, close }
    }

    fn step(&mut self, p: P) -> Step {
        let span = self.span(&p);
        let finally = p.clone().into_inner().next().is_some_and(|k| k.as_rule() == Rule::k_finally);
        let mut it = p.into_inner().skip(1 + usize::from(finally));
        let id = self.ident(it.next().expect("invariant: step has an id"));
        let mut title = None;
        let mut items = Vec::new();
        let mut close = span;
        for q in it {
            match q.as_rule() {
                Rule::value => title = Some(self.value(q)),
                Rule::step_body => (items, close) = self.step_body(q),
                _ => {}
            }
        }
        Step { id, title, items, span, close, finally }
    }

    fn step_body(&mut self, p: P) -> (Vec<StepItem>, Span) {
        let span = self.span(&p);
        let close = Span { start: span.end.saturating_sub(1), ..span };
        let items: Vec<StepItem> = p.into_inner().filter_map(|q| self.step_item(q)).collect();
        (super::exact(items), close)
    }

    fn step_item(&mut self, p: P) -> Option<StepItem> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let kind = match rule {
            Rule::step_attr => {
                let mut it = p.into_inner();
                let kw = self.ident(it.next()?);
                StepKind::Attr(kw, self.value(it.next()?))
            }
            Rule::needs => StepKind::Needs(p.into_inner().skip(1).map(|q| self.ident(q)).collect()),
            Rule::when => StepKind::When(self.expr(p.into_inner().nth(1)?)?),
            Rule::check => StepKind::Check(self.expr(p.into_inner().nth(1)?)?),
            Rule::retry => {
                let (count, every, backoff) = self.retry(p)?;
                StepKind::Retry { count, every, backoff }
            }
            Rule::verify => StepKind::Verify(self.action(p.into_inner().nth(1)?)?),
            Rule::idempotent => StepKind::Idempotent,
            Rule::safe => StepKind::Safe,
            Rule::approval => {
                let items =
                    p.clone().into_inner().skip(1).filter_map(|q| self.approval_item(q)).collect();
                StepKind::Approval(Block { items, one_line: !p.as_str().contains('\n'), span })
            }
            Rule::env => StepKind::Env(self.kv_block(p.into_inner().nth(1)?)),
            Rule::capture => {
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next()?);
                let src = it.nth(1)?;
                let source = match src.as_rule() {
                    Rule::capture_json => CaptureSource::Json(self.value(src.into_inner().nth(1)?)),
                    Rule::capture_regex => {
                        CaptureSource::Regex(self.value(src.into_inner().nth(1)?))
                    }
                    _ => CaptureSource::Stdout,
                };
                StepKind::Capture { name, source }
            }
            Rule::measure => {
                let mut it = p.into_inner().filter(|q| q.as_rule() == Rule::ident);
                let what = self.ident(it.next()?);
                let from = self.ident(it.next()?);
                StepKind::Measure { what, from }
            }
            Rule::rollback => {
                let inner = p.into_inner().nth(1)?;
                if inner.as_rule() == Rule::rollback_block {
                    let bspan = self.span(&inner);
                    let one_line = !inner.as_str().contains('\n');
                    let items = inner.into_inner().filter_map(|q| self.rollback_item(q)).collect();
                    StepKind::Rollback(Rollback::Block(Block { items, one_line, span: bspan }))
                } else {
                    StepKind::Rollback(Rollback::Action(Box::new(self.action(inner)?)))
                }
            }
            Rule::use_tpl => {
                let mut it = p.into_inner().skip(1);
                let alias = self.ident(it.next()?);
                let template = self.ident(it.next()?);
                let args = it
                    .filter_map(|a| {
                        let mut r = a.into_inner();
                        let name = self.ident(r.next()?);
                        Some(Arg { name, value: self.value(r.next()?) })
                    })
                    .collect();
                StepKind::Use(Use { alias, template, args })
            }
            Rule::action => StepKind::Action(self.action(p)?),
            Rule::restores => {
                StepKind::Restores(p.into_inner().skip(1).map(|q| self.value(q)).collect())
            }
            _ => return self.unknown(p, Ctx::Step),
        };
        Some(StepItem { kind, span })
    }

    fn approval_item(&mut self, p: P) -> Option<ApprovalItem> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::approval_by => Some(ApprovalItem::By(
                p.into_inner().skip(1).map(|q| self.ident(q)).collect(),
                span,
            )),
            Rule::approval_timeout => {
                Some(ApprovalItem::Timeout(self.value(p.into_inner().nth(1)?), span))
            }
            _ => self.unknown(p, Ctx::Approval),
        }
    }

    fn rollback_item(&mut self, p: P) -> Option<RollbackItem> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::approval_timeout => {
                Some(RollbackItem::Timeout(self.value(p.into_inner().nth(1)?), span))
            }
            Rule::action => Some(RollbackItem::Action(self.action(p)?)),
            Rule::retry => {
                let (count, every, backoff) = self.retry(p)?;
                Some(RollbackItem::Retry { count, every, backoff, span })
            }
            _ => self.unknown(p, Ctx::Rollback),
        }
    }

    /// `retry N [every D] [backoff WORD]`, in a step or a rollback block.
    fn retry(&mut self, p: P) -> Option<(Value, Option<Value>, Option<Ident>)> {
        let mut count = None;
        let mut every = None;
        let mut backoff = None;
        let mut after_every = false;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::k_every => after_every = true,
                Rule::value if after_every => every = Some(self.value(q)),
                Rule::value => count = Some(self.value(q)),
                Rule::ident => backoff = Some(self.ident(q)),
                _ => {}
            }
        }
        Some((count?, every, backoff))
    }

    fn action(&mut self, p: P) -> Option<Action> {
        let span = self.span(&p);
        let a = p.into_inner().next()?;
        let rule = a.as_rule();
        let mut vals = Vec::new();
        let mut method = None;
        let mut http_block = None;
        let mut ssm_block = None;
        let mut secure = false;
        for q in a.into_inner() {
            match q.as_rule() {
                Rule::value => vals.push(self.value(q)),
                Rule::ident => method = Some(self.ident(q)),
                Rule::http_block => http_block = Some(self.http_block(q)),
                Rule::ssm_block => ssm_block = Some(self.ssm_block(q)),
                Rule::secure_flag => secure = true,
                _ => {}
            }
        }
        let mut vals = vals.into_iter();
        let kind = match rule {
            Rule::run => ActionKind::Run(vals.next()?),
            Rule::http => {
                ActionKind::Http { method: method?, url: vals.next()?, options: http_block }
            }
            Rule::ssm_command => {
                ActionKind::SsmCommand { document: vals.next()?, options: ssm_block }
            }
            Rule::ssm_automation => {
                ActionKind::SsmAutomation { document: vals.next()?, options: ssm_block }
            }
            Rule::ssm_put => ActionKind::SsmPut { name: vals.next()?, value: vals.next()?, secure },
            Rule::wait => ActionKind::Wait(vals.next()?),
            Rule::manual => ActionKind::Manual(vals.next()?),
            _ => ActionKind::Notify { url: vals.next()?, text: vals.next()? },
        };
        Some(Action { kind, span })
    }

    fn http_block(&mut self, p: P) -> Block<HttpItem> {
        let span = self.span(&p);
        let one_line = !p.as_str().contains('\n');
        let items = p
            .into_inner()
            .filter_map(|q| {
                let qs = self.span(&q);
                match q.as_rule() {
                    Rule::http_header => {
                        let mut it = q.into_inner().skip(1);
                        let k = self.value(it.next()?);
                        Some(HttpItem::Header(k, self.value(it.next()?), qs))
                    }
                    Rule::http_attr => {
                        let mut it = q.into_inner();
                        let kw = self.ident(it.next()?);
                        Some(HttpItem::Attr(kw, self.value(it.next()?)))
                    }
                    _ => self.unknown(q, Ctx::Http),
                }
            })
            .collect();
        Block { items, one_line, span }
    }

    fn ssm_block(&mut self, p: P) -> Block<SsmItem> {
        let span = self.span(&p);
        let one_line = !p.as_str().contains('\n');
        let items = p
            .into_inner()
            .filter_map(|q| match q.as_rule() {
                Rule::ssm_targets => {
                    let bspan = self.span(&q);
                    let one_line = !q.as_str().contains('\n');
                    let items = q
                        .into_inner()
                        .skip(1)
                        .filter_map(|t| {
                            let ts = self.span(&t);
                            if t.as_rule() != Rule::tag {
                                return self.unknown(t, Ctx::Targets);
                            }
                            let mut it = t.into_inner().skip(1);
                            let key = self.value(it.next()?);
                            Some(Tag { key, value: self.value(it.next()?), span: ts })
                        })
                        .collect();
                    Some(SsmItem::Targets(Block { items, one_line, span: bspan }))
                }
                Rule::ssm_parameters => {
                    Some(SsmItem::Parameters(self.kv_block(q.into_inner().nth(1)?)))
                }
                Rule::ssm_attr => {
                    let mut it = q.into_inner();
                    let kw = self.ident(it.next()?);
                    Some(SsmItem::Attr(kw, self.value(it.next()?)))
                }
                _ => self.unknown(q, Ctx::Ssm),
            })
            .collect();
        Block { items, one_line, span }
    }

    /// `{ TYPE every DURATION ... }` of the header's `drills`.
    fn drills_block(&mut self, p: P) -> Block<DrillEntry> {
        let span = self.span(&p);
        let one_line = !p.as_str().contains('\n');
        let items = p
            .into_inner()
            .filter_map(|q| {
                if q.as_rule() != Rule::drill_entry {
                    return self.unknown(q, Ctx::Drills);
                }
                let espan = self.span(&q);
                let mut it = q.into_inner();
                let kind = self.ident(it.next()?);
                let every = self.value(it.nth(1)?);
                Some(DrillEntry { kind, every, span: espan })
            })
            .collect();
        Block { items, one_line, span }
    }

    /// The `{ ... }` of `trigger`.
    fn trigger_block(&mut self, p: P) -> Block<TriggerItem> {
        let span = self.span(&p);
        let one_line = !p.as_str().contains('\n');
        let items = p.into_inner().filter_map(|q| self.trigger_item(q)).collect();
        Block { items, one_line, span }
    }

    fn trigger_item(&mut self, p: P) -> Option<TriggerItem> {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::probe => {
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next()?);
                let mut timeout = None;
                let mut action = None;
                for q in it {
                    match q.as_rule() {
                        Rule::value => timeout = Some(self.value(q)),
                        Rule::action => action = self.action(q),
                        _ => {}
                    }
                }
                TriggerKind::Probe { name, timeout, action: action? }
            }
            Rule::trigger_attr => {
                let mut it = p.into_inner();
                let kw = self.ident(it.next()?);
                TriggerKind::Attr(kw, self.value(it.next()?))
            }
            Rule::trigger_quorum => {
                let mut it = p.into_inner().filter(|q| q.as_rule() == Rule::value);
                let k = self.value(it.next()?);
                TriggerKind::Quorum { k, n: self.value(it.next()?) }
            }
            Rule::trigger_requires => {
                let mut it = p.into_inner().skip(1);
                let what = self.ident(it.next()?);
                let gate = it.next().map(|b| {
                    let bspan = self.span(&b);
                    let one_line = !b.as_str().contains('\n');
                    let items = b.into_inner().filter_map(|q| self.approval_item(q)).collect();
                    Block { items, one_line, span: bspan }
                });
                TriggerKind::Requires { what, gate }
            }
            Rule::trigger_params => TriggerKind::Params(self.kv_block(p.into_inner().nth(1)?)),
            _ => return self.unknown(p, Ctx::Trigger),
        };
        Some(TriggerItem { kind, span })
    }

    fn kv_block(&mut self, p: P) -> Block<KeyValue> {
        let span = self.span(&p);
        let one_line = !p.as_str().contains('\n');
        let items = p
            .into_inner()
            .filter_map(|q| {
                if q.as_rule() != Rule::kv {
                    return self.unknown(q, Ctx::Kv);
                }
                let kspan = self.span(&q);
                let mut it = q.into_inner();
                let k = it.next()?;
                let quoted_key = k.as_rule() == Rule::string;
                let key = if quoted_key {
                    let s = self.string(k)?;
                    Ident { name: s.as_literal().unwrap_or_default().into(), span: s.span }
                } else {
                    self.ident(k)
                };
                Some(KeyValue { key, quoted_key, value: self.value(it.next()?), span: kspan })
            })
            .collect();
        Block { items, one_line, span }
    }

    fn string(&mut self, p: P) -> Option<Str> {
        let start = self.base + p.as_span().start();
        match strings::decode(p.as_str(), start, self.file) {
            Ok(s) => Some(s),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    /// A `value` pair (or one of its alternatives) → Value.
    fn value(&mut self, p: P) -> Value {
        let p = if p.as_rule() == Rule::value {
            p.into_inner().next().expect("invariant: value has one alternative")
        } else {
            p
        };
        let span = self.span(&p);
        let text = p.as_str();
        let kind = match p.as_rule() {
            Rule::string | Rule::tstring => match self.string(p) {
                Some(s) => ValueKind::Str(s),
                None => ValueKind::Invalid(text.into()),
            },
            Rule::list => ValueKind::List(p.into_inner().map(|q| self.value(q)).collect()),
            Rule::range => {
                let mut it = p.into_inner().map(|q| q.as_str().parse::<i64>());
                match (it.next(), it.next()) {
                    (Some(Ok(a)), Some(Ok(b))) => ValueKind::Range(a, b),
                    _ => self.invalid(span, text, "this range's bounds are too large"),
                }
            }
            Rule::date => match parse_date(text) {
                Some((y, m, d)) => ValueKind::Date(y, m, d),
                None => self.invalid(span, text, "not a calendar date (YYYY-MM-DD)"),
            },
            Rule::duration => match parse_duration(text) {
                Some(ms) => ValueKind::Duration(ms, text.into()),
                None => self.invalid(span, text, "this duration is too large"),
            },
            Rule::decimal => ValueKind::Dec(text.into()),
            Rule::integer => match text.parse() {
                Ok(n) => ValueKind::Int(n),
                Err(_) => self.invalid(span, text, "this number is too large"),
            },
            Rule::boolean => ValueKind::Bool(text == "true"),
            Rule::placeholder => ValueKind::Placeholder(text[2..text.len() - 1].into()),
            Rule::ident => ValueKind::Ident(text.into()),
            _ => {
                let why = if text.starts_with(|c: char| c.is_ascii_digit()) {
                    "durations are written with the units ms, s, m, h, d, as in `90s` or `1h30m`"
                } else {
                    "expected a string, number, duration, date, boolean, list or name"
                };
                self.invalid(span, text, why)
            }
        };
        Value { kind, span }
    }

    fn invalid(&mut self, span: Span, text: &str, help: &str) -> ValueKind {
        self.diags.push(
            Diagnostic::error("drbook::syntax::bad_value", span, format!("invalid value `{text}`"))
                .label("not a valid value here")
                .help(help),
        );
        ValueKind::Invalid(text.into())
    }

    fn expr(&mut self, p: P) -> Option<Expr> {
        // Operands and `!`s both deepen the tree, so both count (10,000 `!` must not recurse).
        let terms = p
            .clone()
            .into_inner()
            .flatten()
            .filter(|q| matches!(q.as_rule(), Rule::unary | Rule::not_op))
            .count();
        if terms > MAX_EXPR_TERMS {
            self.diags.push(
                Diagnostic::error(
                    "drbook::syntax::expression_too_long",
                    self.span(&p),
                    "expression too long",
                )
                .label(format!("{terms} operands and `!`s"))
                .help(format!(
                    "an expression may have at most {MAX_EXPR_TERMS} operands and `!`s; split the condition over several steps"
                )),
            );
            return None;
        }
        self.expr_rec(p)
    }

    fn expr_rec(&mut self, p: P) -> Option<Expr> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::expr | Rule::and_expr | Rule::cmp_expr => {
                let mut it = p.into_inner();
                let mut lhs = self.expr_rec(it.next()?)?;
                while let Some(op) = it.next() {
                    let op = match op.as_str() {
                        "||" => BinOp::Or,
                        "&&" => BinOp::And,
                        "==" => BinOp::Eq,
                        "!=" => BinOp::Ne,
                        "<" => BinOp::Lt,
                        "<=" => BinOp::Le,
                        ">" => BinOp::Gt,
                        _ => BinOp::Ge,
                    };
                    let rhs = self.expr_rec(it.next()?)?;
                    let span = lhs.span.to(rhs.span);
                    lhs = Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span };
                }
                Some(lhs)
            }
            Rule::unary => {
                let inner: Vec<P> = p.into_inner().collect();
                let (nots, rest) = inner.split_at(inner.len().saturating_sub(1));
                let mut e = self.expr_rec(rest.first()?.clone())?;
                for _ in nots {
                    e = Expr { kind: ExprKind::Not(Box::new(e)), span };
                }
                Some(e)
            }
            Rule::paren => {
                let inner = self.expr_rec(p.into_inner().next()?)?;
                Some(Expr { kind: ExprKind::Paren(Box::new(inner)), span })
            }
            Rule::literal => {
                Some(Expr { kind: ExprKind::Lit(self.value(p.into_inner().next()?)), span })
            }
            Rule::name => {
                let segments = p.into_inner().map(|q| Box::from(q.as_str())).collect();
                Some(Expr { kind: ExprKind::Name(Path { segments, span }), span })
            }
            _ => None,
        }
    }
}
