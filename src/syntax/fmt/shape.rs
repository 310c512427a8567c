//! Statements as the formatter sees them: a [`Node`] is any statement of any block (top-level
//! item, header item, step item, or an item of a nested block), and its [`Shape`] is either one
//! leaf text or a head followed by a `{ ... }` block of further nodes. Keyword padding comes in
//! as [`Pads`]; comments and blank lines are handled by the printer in `mod.rs`.

use super::render::{width, Layout};
use crate::syntax::ast::*;

/// One statement, borrowed from the tree.
#[derive(Clone, Copy)]
pub(super) enum Node<'a> {
    Item(&'a Item),
    Header(&'a HeaderItem),
    Step(&'a StepItem),
    Approval(&'a ApprovalItem),
    Rollback(&'a RollbackItem),
    Http(&'a HttpItem),
    Ssm(&'a SsmItem),
    Tag(&'a Tag),
    Kv(&'a KeyValue),
    Drill(&'a DrillEntry),
    Trigger(&'a TriggerItem),
    Service(&'a Service),
    Setting(&'a Setting),
}

/// How a statement prints.
pub(super) enum Shape<'a> {
    /// The whole statement; lines after the first carry their own indentation.
    Leaf(String),
    /// `head` (ending with the space before `{`) and the block's statements.
    Block { head: String, nodes: Vec<Node<'a>>, one_line: bool },
}

/// Keyword widths of one block: aligned keywords are padded to the longest one plus a space.
/// Two classes, so that `targets`/`parameters` and the one-value options of an `ssm` block
/// align among themselves; everything else is class 0.
#[derive(Default)]
pub(super) struct Pads {
    pub kw: [usize; 2],
    /// Per node: the name width of its run of aligned `param`/`secret` lines (0: none).
    pub names: Vec<usize>,
}

impl Pads {
    /// `kw` followed by the spaces that align what comes after it.
    pub fn kw(&self, class: usize, kw: &str) -> String {
        let w = self.kw[class].max(width(kw) + 1);
        format!("{kw:<w$}")
    }
}

impl<'a> Node<'a> {
    /// Byte range of the statement in the source.
    pub fn range(self) -> (usize, usize) {
        let span = match self {
            Node::Item(Item::Import(i)) => i.span,
            Node::Item(Item::Runbook(r)) => r.span,
            Node::Item(Item::Template(t)) => t.span,
            Node::Header(h) => h.span,
            Node::Step(s) => s.span,
            Node::Approval(ApprovalItem::By(_, s) | ApprovalItem::Timeout(_, s)) => *s,
            Node::Rollback(RollbackItem::Action(a)) => a.span,
            Node::Rollback(RollbackItem::Timeout(_, s) | RollbackItem::Retry { span: s, .. }) => *s,
            Node::Http(HttpItem::Header(_, _, s)) => *s,
            Node::Http(HttpItem::Attr(k, v)) | Node::Ssm(SsmItem::Attr(k, v)) => k.span.to(v.span),
            Node::Ssm(SsmItem::Targets(b)) => b.span,
            Node::Ssm(SsmItem::Parameters(b)) => b.span,
            Node::Tag(t) => t.span,
            Node::Kv(k) => k.span,
            Node::Drill(d) => d.span,
            Node::Trigger(t) => t.span,
            Node::Service(x) => x.span,
            Node::Setting(x) => x.span,
        };
        (span.start as usize, span.end as usize)
    }

    /// The padded keyword this statement starts with, and its class.
    pub fn pad_key(self) -> Option<(usize, &'a str)> {
        let kw = match self {
            Node::Header(HeaderItem { kind: HeaderKind::Attr(k, _), .. })
            | Node::Step(StepItem { kind: StepKind::Attr(k, _), .. })
            | Node::Http(HttpItem::Attr(k, _))
            | Node::Ssm(SsmItem::Attr(k, _)) => &k.name,
            Node::Step(s) => match &s.kind {
                StepKind::Needs(_) => "needs",
                StepKind::When(_) => "when",
                StepKind::Retry { .. } => "retry",
                StepKind::Capture { .. } => "capture",
                StepKind::Check(_) => "check",
                StepKind::Measure { .. } => "measure",
                StepKind::Use(_) => "use",
                StepKind::Verify(_) => "verify",
                StepKind::Restores(_) => "restores",
                StepKind::Action(a) => action_key(a)?,
                _ => return None,
            },
            Node::Approval(ApprovalItem::By(..)) => "by",
            Node::Approval(ApprovalItem::Timeout(..))
            | Node::Rollback(RollbackItem::Timeout(..)) => "timeout",
            Node::Rollback(RollbackItem::Action(a)) => action_key(a)?,
            Node::Rollback(RollbackItem::Retry { .. }) => "retry",
            Node::Ssm(SsmItem::Targets(_)) => return Some((1, "targets")),
            Node::Ssm(SsmItem::Parameters(_)) => return Some((1, "parameters")),
            // `drills { }` aligns `every` under the longest type.
            Node::Drill(d) => &d.kind.name,
            // Probes align their names instead (see `align_name`).
            Node::Trigger(TriggerItem { kind: TriggerKind::Probe { .. }, .. }) => return None,
            Node::Trigger(t) => t.kind.keyword(),
            Node::Setting(x) => &x.name.name,
            _ => return None,
        };
        Some((0, kw))
    }

    /// For `param NAME = VALUE` (no type) and `secret NAME = ...`: which kind, and the name,
    /// so that runs of them align their `=`.
    pub fn align_name(self) -> Option<(u8, &'a str)> {
        match self {
            Node::Header(HeaderItem { kind: HeaderKind::Param(p), .. })
                if p.ty.is_none() && p.default.is_some() =>
            {
                Some((0, &p.name.name))
            }
            Node::Header(HeaderItem { kind: HeaderKind::Secret(s), .. }) => Some((1, &s.name.name)),
            Node::Trigger(TriggerItem { kind: TriggerKind::Probe { name, .. }, .. }) => {
                Some((2, &name.name))
            }
            _ => None,
        }
    }

    pub fn is_step(self) -> bool {
        matches!(self, Node::Header(HeaderItem { kind: HeaderKind::Step(_), .. }))
    }
}

/// Actions whose keyword is padded: `run` with a one-line string, `wait`, `manual`.
fn action_key(a: &Action) -> Option<&'static str> {
    match &a.kind {
        ActionKind::Run(v) if !is_triple(v) => Some("run"),
        ActionKind::Wait(_) => Some("wait"),
        ActionKind::Manual(_) => Some("manual"),
        _ => None,
    }
}

fn is_triple(v: &Value) -> bool {
    matches!(&v.kind, ValueKind::Str(s) if s.triple)
}

fn names(ids: &[Ident]) -> String {
    ids.iter().map(|i| &*i.name).collect::<Vec<_>>().join(", ")
}

impl Layout<'_> {
    /// The shape of a statement printed on a line indented by `indent`.
    pub fn shape<'a>(&self, n: Node<'a>, indent: usize, pads: &Pads, name_w: usize) -> Shape<'a> {
        let leaf = |mut s: String, v: &Value| {
            self.push(&mut s, v, indent, 0);
            Shape::Leaf(s)
        };
        let block = |head: String, nodes: Vec<Node<'a>>, one_line: bool| Shape::Block {
            head,
            nodes,
            one_line,
        };
        match n {
            Node::Item(Item::Import(i)) => {
                let mut s = "import ".to_string();
                self.push(&mut s, &i.path, indent, 0);
                if let Some(a) = &i.alias {
                    s.push_str(" as ");
                    s.push_str(&a.name);
                }
                Shape::Leaf(s)
            }
            Node::Item(Item::Runbook(r)) => {
                let mut head = "runbook ".to_string();
                self.push(&mut head, &r.name, indent, 2);
                head.push(' ');
                block(head, r.items.iter().map(Node::Header).collect(), false)
            }
            Node::Item(Item::Template(t)) => block(
                self.template_head(t, indent),
                t.items.iter().map(Node::Step).collect(),
                false,
            ),
            Node::Header(h) => match &h.kind {
                HeaderKind::Attr(kw, v) => leaf(pads.kw(0, &kw.name), v),
                HeaderKind::Param(p) => {
                    let mut s = format!("param {:<name_w$}", p.name.name);
                    if let Some(t) = &p.ty {
                        s.push_str(": ");
                        s.push_str(&t.name);
                    }
                    match &p.default {
                        Some(v) => leaf(s + " = ", v),
                        None => Shape::Leaf(s),
                    }
                }
                HeaderKind::Secret(x) => {
                    let mut s = format!("secret {:<name_w$} = {}(", x.name.name, x.source.name);
                    self.push(&mut s, &x.arg, indent, 1);
                    s.push(')');
                    Shape::Leaf(s)
                }
                HeaderKind::Roles(b) => {
                    block("roles ".into(), b.items.iter().map(Node::Kv).collect(), b.one_line)
                }
                HeaderKind::Env(b) => {
                    block("env ".into(), b.items.iter().map(Node::Kv).collect(), b.one_line)
                }
                HeaderKind::Drills(b) => {
                    block("drills ".into(), b.items.iter().map(Node::Drill).collect(), b.one_line)
                }
                HeaderKind::Trigger(b) => block(
                    "trigger ".into(),
                    b.items.iter().map(Node::Trigger).collect(),
                    b.one_line,
                ),
                HeaderKind::Objectives(b) => block(
                    "objectives ".into(),
                    b.items.iter().map(Node::Service).collect(),
                    b.one_line,
                ),
                HeaderKind::Impact(b) => {
                    block("impact ".into(), b.items.iter().map(Node::Setting).collect(), b.one_line)
                }
                HeaderKind::Step(st) => {
                    let prefix = if st.finally { "finally " } else { "" };
                    let mut head = format!("{prefix}step {}", st.id.name);
                    if let Some(t) = &st.title {
                        head.push(' ');
                        self.push(&mut head, t, indent, 2);
                    }
                    head.push(' ');
                    block(head, st.items.iter().map(Node::Step).collect(), false)
                }
            },
            Node::Step(it) => match &it.kind {
                StepKind::Attr(kw, v) => leaf(pads.kw(0, &kw.name), v),
                StepKind::Needs(ids) => Shape::Leaf(pads.kw(0, "needs") + &names(ids)),
                StepKind::When(e) => Shape::Leaf(pads.kw(0, "when") + &self.expr(e)),
                StepKind::Check(e) => Shape::Leaf(pads.kw(0, "check") + &self.expr(e)),
                StepKind::Retry { count, every, backoff } => {
                    Shape::Leaf(self.retry(pads, count, every.as_ref(), backoff.as_ref(), indent))
                }
                StepKind::Idempotent => Shape::Leaf("idempotent".into()),
                StepKind::Safe => Shape::Leaf("safe".into()),
                StepKind::Approval(b) => block(
                    "approval ".into(),
                    b.items.iter().map(Node::Approval).collect(),
                    b.one_line,
                ),
                StepKind::Env(b) => {
                    block("env ".into(), b.items.iter().map(Node::Kv).collect(), b.one_line)
                }
                StepKind::Capture { name, source } => {
                    let s = format!("{}{} from ", pads.kw(0, "capture"), name.name);
                    match source {
                        CaptureSource::Stdout => Shape::Leaf(s + "stdout"),
                        CaptureSource::Json(v) => leaf(s + "json ", v),
                        CaptureSource::Regex(v) => leaf(s + "regex ", v),
                    }
                }
                StepKind::Measure { what, from } => Shape::Leaf(format!(
                    "{}{} from {}",
                    pads.kw(0, "measure"),
                    what.name,
                    from.name
                )),
                StepKind::Rollback(Rollback::Action(a)) => {
                    self.action("rollback ", a, indent, &Pads::default())
                }
                StepKind::Rollback(Rollback::Block(b)) => block(
                    "rollback ".into(),
                    b.items.iter().map(Node::Rollback).collect(),
                    b.one_line,
                ),
                StepKind::Action(a) => self.action("", a, indent, pads),
                StepKind::Verify(a) => {
                    self.action(&pads.kw(0, "verify"), a, indent, &Pads::default())
                }
                StepKind::Restores(vs) => {
                    let mut s = pads.kw(0, "restores");
                    for (i, v) in vs.iter().enumerate() {
                        if i > 0 {
                            s.push_str(", ");
                        }
                        self.push(&mut s, v, indent, 0);
                    }
                    Shape::Leaf(s)
                }
                StepKind::Use(u) => {
                    let s = pads.kw(0, "use");
                    let call = self.use_call(u, indent, indent + width(&s));
                    Shape::Leaf(s + &call)
                }
            },
            Node::Approval(ApprovalItem::By(ids, _)) => Shape::Leaf(pads.kw(0, "by") + &names(ids)),
            Node::Approval(ApprovalItem::Timeout(v, _))
            | Node::Rollback(RollbackItem::Timeout(v, _)) => leaf(pads.kw(0, "timeout"), v),
            Node::Rollback(RollbackItem::Action(a)) => self.action("", a, indent, pads),
            Node::Rollback(RollbackItem::Retry { count, every, backoff, .. }) => {
                Shape::Leaf(self.retry(pads, count, every.as_ref(), backoff.as_ref(), indent))
            }
            Node::Http(HttpItem::Header(k, v, _)) => {
                let mut s = "header ".to_string();
                self.push(&mut s, k, indent, 0);
                leaf(s + " = ", v)
            }
            Node::Http(HttpItem::Attr(kw, v)) | Node::Ssm(SsmItem::Attr(kw, v)) => {
                leaf(pads.kw(0, &kw.name), v)
            }
            Node::Ssm(SsmItem::Targets(b)) => {
                block(pads.kw(1, "targets"), b.items.iter().map(Node::Tag).collect(), b.one_line)
            }
            Node::Ssm(SsmItem::Parameters(b)) => {
                block(pads.kw(1, "parameters"), b.items.iter().map(Node::Kv).collect(), b.one_line)
            }
            Node::Tag(t) => {
                let mut s = "tag ".to_string();
                self.push(&mut s, &t.key, indent, 0);
                leaf(s + " = ", &t.value)
            }
            Node::Kv(kv) => {
                let key = if kv.quoted_key { self.raw(kv.key.span) } else { &kv.key.name };
                leaf(format!("{key} = "), &kv.value)
            }
            Node::Drill(d) => leaf(pads.kw(0, &d.kind.name) + "every ", &d.every),
            Node::Trigger(t) => self.trigger_item(t, indent, pads, name_w),
            // One service per line: `service "api" { rto 15m; rpo 0s; tier critical }`.
            Node::Service(x) => {
                let mut head = "service ".to_string();
                self.push(&mut head, &x.name, indent, 2);
                head.push(' ');
                block(head, x.settings.items.iter().map(Node::Setting).collect(), true)
            }
            Node::Setting(x) => leaf(pads.kw(0, &x.name.name), &x.value),
        }
    }

    /// A setting of `trigger { }`.
    fn trigger_item<'a>(
        &self,
        t: &'a TriggerItem,
        indent: usize,
        pads: &Pads,
        name_w: usize,
    ) -> Shape<'a> {
        match &t.kind {
            TriggerKind::Probe { name, timeout, action } => {
                let mut s = format!("probe {:<name_w$} ", name.name);
                if let Some(v) = timeout {
                    s.push_str("timeout ");
                    self.push(&mut s, v, indent, 0);
                    s.push(' ');
                }
                self.action(&s, action, indent, &Pads::default())
            }
            TriggerKind::Attr(kw, v) => {
                let mut s = pads.kw(0, &kw.name);
                self.push(&mut s, v, indent, 0);
                Shape::Leaf(s)
            }
            TriggerKind::Quorum { k, n } => {
                let mut s = pads.kw(0, "quorum");
                self.push(&mut s, k, indent, 0);
                s.push_str(" of ");
                self.push(&mut s, n, indent, 0);
                Shape::Leaf(s)
            }
            TriggerKind::Requires { what, gate } => {
                let s = format!("{}{}", pads.kw(0, "requires"), what.name);
                match gate {
                    Some(b) => Shape::Block {
                        head: s + " ",
                        nodes: b.items.iter().map(Node::Approval).collect(),
                        one_line: b.one_line,
                    },
                    None => Shape::Leaf(s),
                }
            }
            TriggerKind::Params(b) => Shape::Block {
                head: pads.kw(0, "params"),
                nodes: b.items.iter().map(Node::Kv).collect(),
                one_line: b.one_line,
            },
        }
    }

    /// `retry N [every D] [backoff WORD]`, in a step or a rollback block.
    fn retry(
        &self,
        pads: &Pads,
        count: &Value,
        every: Option<&Value>,
        backoff: Option<&Ident>,
        indent: usize,
    ) -> String {
        let mut s = pads.kw(0, "retry");
        self.push(&mut s, count, indent, 0);
        if let Some(v) = every {
            s.push_str(" every ");
            self.push(&mut s, v, indent, 0);
        }
        if let Some(b) = backoff {
            s.push_str(" backoff ");
            s.push_str(&b.name);
        }
        s
    }

    /// An action after `prefix` (`""`, `"rollback "` or a padded `verify`).
    fn action<'a>(&self, prefix: &str, a: &'a Action, indent: usize, pads: &Pads) -> Shape<'a> {
        let mut s = prefix.to_string();
        let options = |s: String, b: &'a Option<Block<SsmItem>>| match b {
            Some(b) => Shape::Block {
                head: s + " ",
                nodes: b.items.iter().map(Node::Ssm).collect(),
                one_line: b.one_line,
            },
            None => Shape::Leaf(s),
        };
        match &a.kind {
            ActionKind::Run(v) => {
                s.push_str(&if is_triple(v) { "run ".to_string() } else { pads.kw(0, "run") });
                self.push(&mut s, v, indent, 0);
            }
            ActionKind::Http { method, url, options } => {
                s.push_str(&format!("http {} ", method.name));
                self.push(&mut s, url, indent, 2);
                if let Some(b) = options {
                    let nodes = b.items.iter().map(Node::Http).collect();
                    return Shape::Block { head: s + " ", nodes, one_line: b.one_line };
                }
            }
            ActionKind::SsmCommand { document, options: o } => {
                s.push_str("ssm command ");
                self.push(&mut s, document, indent, 2);
                return options(s, o);
            }
            ActionKind::SsmAutomation { document, options: o } => {
                s.push_str("ssm automation ");
                self.push(&mut s, document, indent, 2);
                return options(s, o);
            }
            ActionKind::SsmPut { name, value, secure } => {
                s.push_str("ssm put ");
                self.push(&mut s, name, indent, 0);
                s.push_str(" = ");
                self.push(&mut s, value, indent, 0);
                if *secure {
                    s.push_str(" secure");
                }
            }
            ActionKind::Wait(v) => {
                s.push_str(&pads.kw(0, "wait"));
                self.push(&mut s, v, indent, 0);
            }
            ActionKind::Manual(v) => {
                s.push_str(&pads.kw(0, "manual"));
                self.push(&mut s, v, indent, 0);
            }
            ActionKind::Notify { url, text } => {
                s.push_str("notify ");
                self.push(&mut s, url, indent, 0);
                s.push(' ');
                self.push(&mut s, text, indent, 0);
            }
        }
        Shape::Leaf(s)
    }

    /// A block's statements on one line, `{ a; b }` (or `{}`), when each of them can be.
    pub fn inline_block(&self, nodes: &[Node]) -> Option<String> {
        if nodes.is_empty() {
            return Some("{}".into());
        }
        let flat = self.flat();
        let mut parts = Vec::with_capacity(nodes.len());
        for n in nodes {
            let s = match flat.shape(*n, 0, &Pads::default(), 0) {
                Shape::Leaf(s) => s,
                Shape::Block { head, nodes, .. } => head + &flat.inline_block(&nodes)?,
            };
            if s.contains('\n') {
                return None;
            }
            parts.push(s);
        }
        Some(format!("{{ {} }}", parts.join("; ")))
    }
}
