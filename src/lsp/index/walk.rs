//! The walk over one file's syntax tree that fills an [`Index`]: declarations first, then
//! every use, each resolved where it is written.

use super::{
    span, ImportDecl, Index, NameDecl, Occ, RoleDecl, StepDecl, Sym, TemplateDecl, UseSite,
};
use crate::syntax::ast::{self, HeaderKind, StepKind, ValueKind};

pub(super) struct Walker<'a> {
    text: &'a str,
    pub(super) ix: Index,
    /// The step being walked: its index in `ix.steps`.
    step: Option<usize>,
    /// Where the next step's declaration is looked for in `ix.steps`.
    next_step: usize,
    template: Option<String>,
}

impl<'a> Walker<'a> {
    pub(super) fn new(text: &'a str) -> Walker<'a> {
        Walker { text, ix: Index::default(), step: None, next_step: 0, template: None }
    }

    /// What a `${name}` or expression name means where the walk is: the enclosing step's
    /// capture, the enclosing template's own parameter, else a param or secret.
    fn resolve(&self, name: &str) -> Sym {
        if let Some(s) = self.step.and_then(|i| self.ix.steps.get(i)) {
            if s.captures.iter().any(|c| c == name) {
                return Sym::Capture(s.id.as_str().into(), name.into());
            }
        }
        if let Some(t) = self
            .template
            .as_ref()
            .and_then(|t| self.ix.templates.iter().rev().find(|d| &d.name == t))
        {
            if t.params.iter().any(|(p, _)| p == name) {
                return Sym::TemplateParam(t.name.as_str().into(), name.into());
            }
        }
        Sym::Name(name.into())
    }

    fn push(&mut self, (start, end): (usize, usize), sym: Sym, def: bool) {
        self.ix.occs.push(Occ { start, end, sym, def });
    }

    fn written(&self, s: crate::diag::Span) -> String {
        self.text.get(s.range()).unwrap_or("").to_string()
    }

    pub(super) fn import(&mut self, imp: &ast::Import) {
        let ValueKind::Str(s) = &imp.path.kind else { return };
        let Some(target) = s.as_literal() else { return };
        let alias = match (&imp.alias, target.strip_prefix("std/")) {
            (Some(a), _) => a.name.to_string(),
            (None, Some(name)) => name.to_string(),
            (None, None) => std::path::Path::new(&target)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        self.ix.imports.push(ImportDecl { alias, target, span: span(imp.span) });
    }

    pub(super) fn runbook(&mut self, rb: &ast::Runbook) {
        self.ix.runbook = Some((self.written(rb.name.span), span(rb.span)));
        let (start, end) = span(rb.span);
        let open = self.text.get(start..end).and_then(|t| t.find('{')).map_or(end, |i| start + i);
        self.ix.header = Some((start, open));
        // Declarations first, so that uses before them resolve (a step may need a later one).
        for item in &rb.items {
            if let HeaderKind::Step(st) = &item.kind {
                self.declare_step(st);
            }
        }
        for item in &rb.items {
            match &item.kind {
                HeaderKind::Attr(_, v) => self.value(v),
                HeaderKind::Param(p) => {
                    self.push(span(p.name.span), Sym::Name(p.name.name.clone()), true);
                    self.ix.names.push(NameDecl {
                        name: p.name.name.to_string(),
                        span: span(p.name.span),
                        kind: "param",
                        ty: p.ty.as_ref().map(|t| t.name.to_string()),
                        detail: p.default.as_ref().map(|d| self.written(d.span)),
                    });
                    if let Some(d) = &p.default {
                        self.value(d);
                    }
                }
                HeaderKind::Secret(s) => {
                    self.push(span(s.name.span), Sym::Name(s.name.name.clone()), true);
                    self.ix.names.push(NameDecl {
                        name: s.name.name.to_string(),
                        span: span(s.name.span),
                        kind: "secret",
                        ty: Some(s.source.name.to_string()),
                        detail: Some(self.written(s.arg.span)),
                    });
                }
                HeaderKind::Roles(b) => {
                    for kv in &b.items {
                        self.push(span(kv.key.span), Sym::Role(kv.key.name.clone()), true);
                        self.ix.roles.push(RoleDecl {
                            name: kv.key.name.to_string(),
                            span: span(kv.key.span),
                            members: self.written(kv.value.span),
                        });
                    }
                }
                HeaderKind::Step(st) => self.step(st),
                HeaderKind::Env(b) => b.items.iter().for_each(|kv| self.value(&kv.value)),
                HeaderKind::Drills(b) => b.items.iter().for_each(|d| self.value(&d.every)),
                HeaderKind::Trigger(b) => b.items.iter().for_each(|t| self.trigger(&t.kind)),
                HeaderKind::Objectives(b) => {
                    for s in &b.items {
                        s.settings.items.iter().for_each(|x| self.value(&x.value));
                    }
                }
                HeaderKind::Impact(b) => b.items.iter().for_each(|x| self.value(&x.value)),
            }
        }
    }

    fn trigger(&mut self, t: &ast::TriggerKind) {
        match t {
            ast::TriggerKind::Probe { timeout, action, .. } => {
                if let Some(v) = timeout {
                    self.value(v);
                }
                self.action(action);
            }
            ast::TriggerKind::Attr(_, v) => self.value(v),
            ast::TriggerKind::Quorum { .. } => {}
            ast::TriggerKind::Requires { gate, .. } => {
                if let Some(g) = gate {
                    g.items.iter().for_each(|a| self.approval(a));
                }
            }
            ast::TriggerKind::Params(b) => b.items.iter().for_each(|kv| self.value(&kv.value)),
        }
    }

    fn declare_step(&mut self, st: &ast::Step) {
        let mut d = StepDecl {
            id: st.id.name.to_string(),
            id_span: span(st.id.span),
            span: span(st.span),
            title: st.title.as_ref().map(|t| plain(&self.written(t.span))),
            finally: st.finally,
            ..StepDecl::default()
        };
        for item in &st.items {
            match &item.kind {
                StepKind::Attr(kw, v) if &*kw.name == "owner" => {
                    d.owner = Some(plain(&self.written(v.span)))
                }
                StepKind::Attr(kw, v) if &*kw.name == "duration" => {
                    if let ValueKind::Duration(ms, _) = v.kind {
                        d.duration_ms = Some(ms);
                    }
                }
                StepKind::Capture { name, .. } => d.captures.push(name.name.to_string()),
                _ => {}
            }
        }
        self.ix.steps.push(d);
    }

    fn step(&mut self, st: &ast::Step) {
        self.push(span(st.id.span), Sym::Step(st.id.name.clone()), true);
        // Declared in the same order they are walked: the next one is the first after the
        // previous step's.
        let from = self.next_step.min(self.ix.steps.len());
        self.step = self.ix.steps[from..]
            .iter()
            .position(|d| d.id_span == span(st.id.span))
            .map(|k| k + from);
        self.next_step = self.step.map_or(from, |k| k + 1);
        if let Some(t) = &st.title {
            self.value(t);
        }
        for item in &st.items {
            self.step_item(&item.kind);
        }
        self.step = None;
    }

    pub(super) fn template(&mut self, t: &ast::Template) {
        self.push(span(t.name.span), Sym::Template(t.name.name.clone()), true);
        self.ix.templates.push(TemplateDecl {
            name: t.name.name.to_string(),
            name_span: span(t.name.span),
            span: span(t.span),
            params: t
                .params
                .iter()
                .map(|p| {
                    (p.name.name.to_string(), p.default.as_ref().map(|d| self.written(d.span)))
                })
                .collect(),
            doc: Some(doc_comment(self.text, span(t.span).0))
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| module_doc(self.text, &t.name.name)),
        });
        for p in &t.params {
            let sym = Sym::TemplateParam(t.name.name.clone(), p.name.name.clone());
            self.push(span(p.name.span), sym, true);
        }
        self.template = Some(t.name.name.to_string());
        for item in &t.items {
            self.step_item(&item.kind);
        }
        self.template = None;
    }

    fn step_item(&mut self, kind: &StepKind) {
        let cur: Option<Box<str>> =
            self.step.and_then(|i| self.ix.steps.get(i)).map(|s| s.id.as_str().into());
        match kind {
            StepKind::Attr(_, v) => self.value(v),
            StepKind::Needs(ids) => {
                for id in ids {
                    self.push(span(id.span), Sym::Step(id.name.clone()), false);
                }
            }
            StepKind::When(e) | StepKind::Check(e) => self.expr(e),
            StepKind::Retry { count, every, .. } => {
                self.value(count);
                if let Some(v) = every {
                    self.value(v);
                }
            }
            StepKind::Idempotent | StepKind::Safe => {}
            StepKind::Approval(b) => b.items.iter().for_each(|a| self.approval(a)),
            StepKind::Env(b) => b.items.iter().for_each(|kv| self.value(&kv.value)),
            StepKind::Capture { name, source } => {
                if let Some(step) = cur {
                    self.push(span(name.span), Sym::Capture(step, name.name.clone()), true);
                }
                match source {
                    ast::CaptureSource::Stdout => {}
                    ast::CaptureSource::Json(v) | ast::CaptureSource::Regex(v) => self.value(v),
                }
            }
            StepKind::Measure { from, .. } => {
                if let Some(step) = cur {
                    self.push(span(from.span), Sym::Capture(step, from.name.clone()), false);
                }
            }
            StepKind::Rollback(ast::Rollback::Action(a)) => self.action(a),
            StepKind::Rollback(ast::Rollback::Block(b)) => {
                for item in &b.items {
                    match item {
                        ast::RollbackItem::Action(a) => self.action(a),
                        ast::RollbackItem::Timeout(v, _) => self.value(v),
                        ast::RollbackItem::Retry { count, every, .. } => {
                            self.value(count);
                            if let Some(v) = every {
                                self.value(v);
                            }
                        }
                    }
                }
            }
            StepKind::Verify(a) | StepKind::Action(a) => self.action(a),
            StepKind::Use(u) => {
                let whole = (span(u.alias.span).0, span(u.template.span).1);
                self.push(whole, Sym::Use(u.alias.name.clone(), u.template.name.clone()), false);
                let end = span(u.args.last().map_or(u.template.span, |a| a.value.span)).1;
                self.ix.uses.push(UseSite {
                    alias: u.alias.name.to_string(),
                    template: u.template.name.to_string(),
                    span: (whole.0, end + 1),
                    args: u.args.iter().map(|a| a.name.name.to_string()).collect(),
                });
                u.args.iter().for_each(|a| self.value(&a.value));
            }
            StepKind::Restores(vs) => vs.iter().for_each(|v| self.value(v)),
        }
    }

    fn approval(&mut self, a: &ast::ApprovalItem) {
        match a {
            ast::ApprovalItem::By(roles, _) => {
                for r in roles {
                    self.push(span(r.span), Sym::Role(r.name.clone()), false);
                }
            }
            ast::ApprovalItem::Timeout(v, _) => self.value(v),
        }
    }

    fn action(&mut self, a: &ast::Action) {
        match &a.kind {
            ast::ActionKind::Run(v) | ast::ActionKind::Wait(v) | ast::ActionKind::Manual(v) => {
                self.value(v)
            }
            ast::ActionKind::Http { url, options, .. } => {
                self.value(url);
                for item in options.iter().flat_map(|b| &b.items) {
                    match item {
                        ast::HttpItem::Header(k, v, _) => {
                            self.value(k);
                            self.value(v);
                        }
                        ast::HttpItem::Attr(_, v) => self.value(v),
                    }
                }
            }
            ast::ActionKind::SsmCommand { document, options }
            | ast::ActionKind::SsmAutomation { document, options } => {
                self.value(document);
                for item in options.iter().flat_map(|b| &b.items) {
                    match item {
                        ast::SsmItem::Targets(b) => {
                            for t in &b.items {
                                self.value(&t.key);
                                self.value(&t.value);
                            }
                        }
                        ast::SsmItem::Parameters(b) => {
                            b.items.iter().for_each(|kv| self.value(&kv.value))
                        }
                        ast::SsmItem::Attr(_, v) => self.value(v),
                    }
                }
            }
            ast::ActionKind::SsmPut { name, value, .. } => {
                self.value(name);
                self.value(value);
            }
            ast::ActionKind::Notify { url, text } => {
                self.value(url);
                self.value(text);
            }
        }
    }

    fn value(&mut self, v: &ast::Value) {
        match &v.kind {
            ValueKind::Str(s) => self.string(s),
            ValueKind::Duration(ms, _) => self.push(span(v.span), Sym::Duration(*ms), false),
            ValueKind::List(items) => items.iter().for_each(|i| self.value(i)),
            ValueKind::Placeholder(name) => {
                let segs = segments(self.text, span(v.span), std::slice::from_ref(name));
                if let Some(&s) = segs.first() {
                    let sym = self.resolve(name);
                    self.push(s, sym, false);
                }
            }
            _ => {}
        }
    }

    fn string(&mut self, s: &ast::Str) {
        for part in &s.parts {
            if let ast::StrPart::Ref(p) = part {
                self.path(p);
            }
        }
    }

    fn expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ast::ExprKind::Lit(v) => self.value(v),
            ast::ExprKind::Name(p) => self.path(p),
            ast::ExprKind::Not(x) | ast::ExprKind::Paren(x) => self.expr(x),
            ast::ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
        }
    }

    /// `${name}`, `${steps.ID.NAME}`, `${run.id}` (built in: nothing to index).
    fn path(&mut self, p: &ast::Path) {
        let segs = segments(self.text, span(p.span), &p.segments);
        match (p.segments.as_slice(), segs.as_slice()) {
            ([one], [at]) => {
                let sym = self.resolve(one);
                self.push(*at, sym, false);
            }
            ([steps, id, name], [_, at_id, at_name]) if &**steps == "steps" => {
                self.push(*at_id, Sym::Step(id.clone()), false);
                self.push(*at_name, Sym::Capture(id.clone(), name.clone()), false);
            }
            _ => {}
        }
    }
}

/// Where each dotted segment of a name is, inside `span` (which may include `${` and `}`).
/// Fewer results than segments when the text is not laid out as expected.
fn segments(text: &str, (start, end): (usize, usize), segs: &[Box<str>]) -> Vec<(usize, usize)> {
    let Some(src) = text.get(start..end.min(text.len())) else { return Vec::new() };
    let mut i = if src.starts_with("${") { 2 } else { 0 };
    let mut out = Vec::new();
    for (k, seg) in segs.iter().enumerate() {
        while src[i..].starts_with(char::is_whitespace) {
            i += src[i..].chars().next().map_or(1, char::len_utf8);
        }
        if k > 0 {
            if !src[i..].starts_with('.') {
                break;
            }
            i += 1;
        }
        if !src[i..].starts_with(&**seg) {
            break;
        }
        out.push((start + i, start + i + seg.len()));
        i += seg.len();
    }
    out
}

/// A string value's text without its quotes (for titles and owners).
fn plain(written: &str) -> String {
    written.trim_matches('"').to_string()
}

/// The `#` lines right above `start` (no blank line between), joined.
fn doc_comment(text: &str, start: usize) -> String {
    let start = start.min(text.len());
    let line_start = text.get(..start).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
    let mut lines: Vec<&str> = Vec::new();
    for line in text[..line_start].lines().rev() {
        match line.trim().strip_prefix('#') {
            Some(c) => lines.push(c.strip_prefix(' ').unwrap_or(c)),
            None => break,
        }
    }
    lines.reverse();
    lines.join("\n")
}

/// A module's own description of template `name`: in the file's leading comment, the line
/// `# name(...)` and the indented lines under it (the bundled library's layout).
fn module_doc(text: &str, name: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let head = format!("{name}(");
    for line in text.lines() {
        let Some(c) = line.strip_prefix('#') else { break };
        let c = c.strip_prefix(' ').unwrap_or(c);
        if out.is_empty() {
            if c.starts_with(&head) {
                out.push(c);
            }
        } else if c.starts_with(' ') && !c.trim().is_empty() {
            out.push(c.trim());
        } else {
            break;
        }
    }
    out.join("\n")
}
