//! pest pairs → AST. Each function takes the pairs of one rule and the byte offset of the
//! statement that pest parsed, so that spans point into the whole file.

use super::ast::*;
use super::strings;
use super::Rule;
use crate::diag::{shorten, suggest, Diagnostic, FileId, Span};
use pest::iterators::{Pair, Pairs};

type P<'a> = Pair<'a, Rule>;

/// The most operands one `when`/`check` expression may have.
const MAX_EXPR_TERMS: usize = 256;

pub struct Builder {
    pub file: FileId,
    pub diags: Vec<Diagnostic>,
    base: usize,
}

/// Where a statement stands, for "unknown attribute" messages.
#[derive(Clone, Copy)]
enum Ctx {
    Top,
    Runbook,
    Step,
    Approval,
    Rollback,
    Http,
    Ssm,
    Targets,
    Kv,
}

const TOP: &[&str] = &["import", "runbook", "template"];
const RUNBOOK: &[&str] = &[
    "title",
    "description",
    "owner",
    "rto",
    "rpo",
    "tier",
    "reviewed",
    "review_every",
    "on_failure",
    "parallel",
    "param",
    "secret",
    "roles",
    "step",
];
const STEP: &[&str] = &[
    "owner",
    "duration",
    "timeout",
    "needs",
    "when",
    "retry",
    "on_failure",
    "idempotent",
    "approval",
    "env",
    "workdir",
    "capture",
    "check",
    "measure",
    "rollback",
    "use",
    "run",
    "http",
    "ssm",
    "wait",
    "manual",
    "notify",
];
const ACTIONS: &[&str] = &["run", "http", "ssm", "wait", "manual", "notify"];
const APPROVAL: &[&str] = &["by", "timeout"];
const HTTP: &[&str] = &["header", "body", "status", "body_contains"];
const SSM: &[&str] =
    &["targets", "instances", "parameters", "max_concurrency", "max_errors", "comment"];

/// How a statement is written, for "malformed" help lines.
fn usage(kw: &str) -> Option<&'static str> {
    Some(match kw {
        "import" => "import \"std/http\"  or  import \"./common.drbook\" as common",
        "runbook" => "runbook \"name\" { ... }",
        "template" => "template NAME(param, other = default) { ... }",
        "title" | "description" => "title \"Fail over to us-west-2\"",
        "owner" => "owner \"platform-team\"",
        "rto" | "rpo" | "duration" | "timeout" | "review_every" => "rto 1h30m",
        "tier" => "tier critical",
        "reviewed" => "reviewed 2026-10-01",
        "on_failure" => "on_failure abort | rollback | continue",
        "parallel" => "parallel 8",
        "param" => "param NAME = VALUE  or  param NAME: string",
        "secret" => "secret NAME = env(\"VAR\") | file(\"path\") | ssm(\"/name\")",
        "roles" => "roles { lead = [\"alice\", \"bob\"] }",
        "step" => "step ID \"Title\" { ... }",
        "needs" => "needs other_step, another_step",
        "when" => "when include_app_check == true",
        "check" => "check lag_seconds < 900",
        "retry" => "retry 3 every 30s backoff exponential",
        "idempotent" => "idempotent",
        "approval" => "approval { by lead, manager; timeout 15m }",
        "by" => "by lead, manager",
        "env" => "env { KEY = \"value\" }",
        "workdir" => "workdir \"infra/dns\"",
        "capture" => "capture NAME from stdout | json \"a.b[0]\" | regex \"v(\\d+)\"",
        "measure" => "measure rpo from lag_seconds",
        "rollback" => "rollback run \"...\"  or  rollback { run \"...\"; timeout 5m }",
        "use" => "use alias.template(name = value)",
        "run" => "run \"command\"",
        "http" => "http GET \"https://...\" { status 200..299 }",
        "ssm" => "ssm command \"DOC\" { ... }  |  ssm automation \"DOC\" { ... }  |  ssm put \"/name\" = \"value\"",
        "wait" => "wait 5m",
        "manual" => "manual \"what the person does\"",
        "notify" => "notify \"https://hooks.example.com/...\" \"message\"",
        "header" => "header \"Authorization\" = \"Bearer ${token}\"",
        "body" | "body_contains" => "body_contains \"ok\"",
        "status" => "status 200..299  or  status [200, 204]",
        "targets" => "targets { tag \"Role\" = \"api\" }",
        "tag" => "tag \"Role\" = \"api\"",
        "instances" => "instances [\"i-0abc\", \"i-0def\"]",
        "parameters" => "parameters { commands = [\"...\"] }",
        "max_concurrency" | "max_errors" | "comment" => "max_concurrency \"50%\"",
        _ => return None,
    })
}

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
        let mut it = p.into_inner().skip(1);
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
        Step { id, title, items, span, close }
    }

    fn step_body(&mut self, p: P) -> (Vec<StepItem>, Span) {
        let span = self.span(&p);
        let close = Span { start: span.end.saturating_sub(1), ..span };
        let mut items: Vec<StepItem> = p.into_inner().filter_map(|q| self.step_item(q)).collect();
        items.shrink_to_fit();
        (items, close)
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
                StepKind::Retry { count: count?, every, backoff }
            }
            Rule::idempotent => StepKind::Idempotent,
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
            _ => self.unknown(p, Ctx::Rollback),
        }
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

    /// Reports a statement no rule accepted: an unknown attribute (with "did you mean"), a
    /// known one written wrongly (with its usage), or one that belongs elsewhere.
    fn unknown<T>(&mut self, p: P, ctx: Ctx) -> Option<T> {
        let span = self.span(&p);
        let name_pair = p.into_inner().next()?;
        let short = shorten(name_pair.as_str());
        let name: &str = &short;
        let name_span = self.span(&name_pair);
        let (here, what): (&[&str], &str) = match ctx {
            Ctx::Top => (TOP, "at the top of a file"),
            Ctx::Runbook => (RUNBOOK, "in a runbook header"),
            Ctx::Step => (STEP, "in a step"),
            Ctx::Approval => (APPROVAL, "in an approval"),
            Ctx::Rollback => (
                &["timeout", "run", "http", "ssm", "wait", "manual", "notify"],
                "in a rollback block",
            ),
            Ctx::Http => (HTTP, "in http options"),
            Ctx::Ssm => (SSM, "in ssm options"),
            Ctx::Targets => (&["tag"], "in targets"),
            Ctx::Kv => (&[], "in this block"),
        };
        let d = if matches!(ctx, Ctx::Kv) {
            Diagnostic::error(
                "drbook::syntax::malformed",
                span,
                format!("malformed entry `{name}`"),
            )
            .label("expected `KEY = VALUE`")
            .help("each line of this block is `NAME = VALUE`")
        } else if here.contains(&name) {
            Diagnostic::error("drbook::syntax::malformed", span, format!("malformed `{name}`"))
                .label("cannot read this statement")
                .with_help(usage(name).map(|u| format!("write it as `{u}`")))
        } else {
            let elsewhere = [
                (TOP, "at the top of a file"),
                (RUNBOOK, "in the runbook header"),
                (STEP, "in a step"),
            ]
            .into_iter()
            .find(|(list, _)| list.contains(&name))
            .map(|(_, w)| w);
            let kind = if matches!(ctx, Ctx::Step | Ctx::Rollback) {
                "attribute or action"
            } else {
                "attribute"
            };
            let help = match elsewhere {
                Some(w) if !ACTIONS.contains(&name) || !matches!(ctx, Ctx::Step) => {
                    Some(format!("`{name}` belongs {w}, not {what}"))
                }
                _ => suggest(name, here.iter().copied())
                    .or_else(|| Some(format!("expected one of: {}", here.join(", ")))),
            };
            Diagnostic::error(
                "drbook::syntax::unknown_attribute",
                name_span,
                format!("unknown {kind} `{name}` {what}"),
            )
            .label("not known here")
            .with_help(help)
        };
        self.diags.push(d);
        None
    }
}

/// Milliseconds of `1h30m`-style text; `None` on overflow.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut num: u64 = 0;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            num = num.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            i += 1;
            continue;
        }
        let (unit, len) = match (c, b.get(i + 1)) {
            (b'm', Some(b's')) => (1, 2),
            (b's', _) => (1000, 1),
            (b'm', _) => (60_000, 1),
            (b'h', _) => (3_600_000, 1),
            (b'd', _) => (86_400_000, 1),
            _ => return None,
        };
        total = total.checked_add(num.checked_mul(unit)?)?;
        num = 0;
        i += len;
    }
    Some(total)
}

fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let y: i32 = text.get(0..4)?.parse().ok()?;
    let m: u32 = text.get(5..7)?.parse().ok()?;
    let d: u32 = text.get(8..10)?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((y, m, d))
}

/// Turns a pest failure into a diagnostic at the failing position.
pub fn pest_error(
    err: &pest::error::Error<Rule>,
    text: &str,
    base: usize,
    file: FileId,
) -> Diagnostic {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    } + base;
    let found = text.get(pos..).and_then(|t| t.split_whitespace().next()).unwrap_or("");
    let found = crate::diag::printable(&found.chars().take(20).collect::<String>());
    let expected = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
            names.sort_unstable();
            names.dedup();
            names
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let message = if found.is_empty() {
        "unexpected end of statement".to_string()
    } else {
        format!("unexpected `{found}`")
    };
    let help = if expected.is_empty() {
        "statements start with a keyword such as `step`, `owner` or `run`".to_string()
    } else {
        format!("expected {}", expected.join(" or "))
    };
    let end = (pos + found.len().max(1)).min(text.len().max(pos));
    Diagnostic::error("drbook::syntax::unexpected", Span::new(file, pos, end), message)
        .label("cannot read from here")
        .help(help)
}

fn rule_name(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::ident | Rule::unknown | Rule::name => "a name",
        Rule::value | Rule::string | Rule::tstring => "a value",
        Rule::EOI => "the end of the statement",
        Rule::expr | Rule::literal | Rule::unary | Rule::paren => "an expression",
        Rule::import | Rule::k_import => "`import`",
        Rule::template | Rule::k_template => "`template`",
        Rule::runbook | Rule::k_runbook => "`runbook`",
        Rule::list => "a list",
        _ => return None,
    })
}
