//! Pure text rendering for the formatter: values, lists, `"""` strings, expressions, `use`
//! calls and template heads. Input is an AST fragment and the indentation of the line it
//! starts on; output is its text, where every line after the first carries its own absolute
//! indentation. Nothing here knows about comments or blank lines (see `mod.rs`).
//!
//! Invariant: the rendering of a fragment depends only on the fragment and the column it
//! starts at, never on how the source laid it out, so formatting is idempotent.

use crate::diag::Span;
use crate::syntax::ast::{Expr, ExprKind, Template, TemplateParam, Use, Value, ValueKind};
use crate::syntax::strings;

/// The widest line the formatter aims for.
pub(super) const WIDTH: usize = 100;

/// Display width of one line.
pub(super) fn width(s: &str) -> usize {
    s.chars().count()
}

pub(super) fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// The column after `buf`, whose first line starts at column `indent` and whose later lines
/// carry their own indentation.
fn column(buf: &str, indent: usize) -> usize {
    match buf.rfind('\n') {
        Some(i) => width(&buf[i + 1..]),
        None => indent + width(buf),
    }
}

/// Renders fragments of one source text.
#[derive(Clone, Copy)]
pub(super) struct Layout<'t> {
    pub text: &'t str,
    /// Lists and argument lists break when a line would pass this; `usize::MAX` keeps
    /// everything on one line.
    pub max: usize,
}

impl<'t> Layout<'t> {
    pub fn new(text: &'t str) -> Layout<'t> {
        Layout { text, max: WIDTH }
    }

    /// The same source, rendered without ever breaking a line.
    pub fn flat(self) -> Layout<'t> {
        Layout { max: usize::MAX, ..self }
    }

    /// The source text of a node, as written.
    pub fn raw(&self, span: Span) -> &'t str {
        self.text.get(span.range()).unwrap_or("")
    }

    /// A value starting at column `col` of a line indented by `indent`, followed on its last
    /// line by `suffix` more columns. Scalars and one-line strings print as written.
    pub fn value(&self, v: &Value, indent: usize, col: usize, suffix: usize) -> String {
        match &v.kind {
            ValueKind::List(items) => self.list(items, indent, col, suffix),
            ValueKind::Str(s) if s.triple => triple(self.raw(v.span), indent),
            _ => self.raw(v.span).to_string(),
        }
    }

    /// Appends a value to `buf`, a line (or lines) that started at column `indent`.
    pub fn push(&self, buf: &mut String, v: &Value, indent: usize, suffix: usize) {
        let col = column(buf, indent);
        buf.push_str(&self.value(v, indent, col, suffix));
    }

    /// `[a, b]` when it fits, otherwise one element per line with a trailing comma.
    fn list(&self, items: &[Value], indent: usize, col: usize, suffix: usize) -> String {
        let flat = self.flat();
        let parts: Vec<String> = items.iter().map(|v| flat.value(v, 0, 0, 0)).collect();
        let one = format!("[{}]", parts.join(", "));
        let multi_line_item = one.contains('\n');
        if items.is_empty() || (!multi_line_item && col + width(&one) + suffix <= self.max) {
            return one;
        }
        let inner = indent + 2;
        let mut out = String::from("[\n");
        for v in items {
            out.push_str(&spaces(inner));
            self.push(&mut out, v, inner, 1);
            out.push_str(",\n");
        }
        out.push_str(&spaces(indent));
        out.push(']');
        out
    }

    /// An expression with single spaces around binary operators and parentheses as written.
    pub fn expr(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Lit(v) => self.raw(v.span).to_string(),
            ExprKind::Name(p) => p.dotted(),
            ExprKind::Not(x) => format!("!{}", self.expr(x)),
            ExprKind::Binary(op, a, b) => {
                format!("{} {} {}", self.expr(a), op.symbol(), self.expr(b))
            }
            ExprKind::Paren(x) => format!("({})", self.expr(x)),
        }
    }

    /// `alias.template(a = 1, b = "x")` starting at column `col`, or one argument per line.
    pub fn use_call(&self, u: &Use, indent: usize, col: usize) -> String {
        let head = format!("{}.{}(", u.alias.name, u.template.name);
        let flat = self.flat();
        let args: Vec<String> = u
            .args
            .iter()
            .map(|a| format!("{} = {}", a.name.name, flat.value(&a.value, 0, 0, 0)))
            .collect();
        let one = format!("{head}{})", args.join(", "));
        if u.args.is_empty() || (!one.contains('\n') && col + width(&one) <= self.max) {
            return one;
        }
        let inner = indent + 2;
        let mut out = format!("{head}\n");
        for a in &u.args {
            out.push_str(&spaces(inner));
            out.push_str(&a.name.name);
            out.push_str(" = ");
            self.push(&mut out, &a.value, inner, 1);
            out.push_str(",\n");
        }
        out.push_str(&spaces(indent));
        out.push(')');
        out
    }

    /// `template name(a, b = 10s) ` (with the space before `{`), or one parameter per line.
    pub fn template_head(&self, t: &Template, indent: usize) -> String {
        let param = |lay: &Layout, p: &TemplateParam, at: usize| {
            let mut s = p.name.name.to_string();
            if let Some(v) = &p.default {
                s.push_str(" = ");
                lay.push(&mut s, v, at, 1);
            }
            s
        };
        let flat = self.flat();
        let params: Vec<String> = t.params.iter().map(|p| param(&flat, p, 0)).collect();
        let one = format!("template {}({}) ", t.name.name, params.join(", "));
        if t.params.is_empty() || (!one.contains('\n') && indent + width(&one) < self.max) {
            return one;
        }
        let inner = indent + 2;
        let mut out = format!("template {}(\n", t.name.name);
        for p in &t.params {
            out.push_str(&spaces(inner));
            out.push_str(&param(self, p, inner));
            out.push_str(",\n");
        }
        out.push_str(&spaces(indent));
        out.push_str(") ");
        out
    }
}

/// A `"""` string re-indented under a line indented by `indent`: content two spaces deeper,
/// the closing quotes on their own line. One-line `"""` strings stay as written.
fn triple(raw: &str, indent: usize) -> String {
    let inner = raw.get(3..raw.len().saturating_sub(3)).unwrap_or("");
    if raw.len() < 6 || !inner.contains('\n') {
        return raw.to_string();
    }
    let lines = strings::dedent(inner);
    // Content made only of whitespace has no common indentation to strip again: keep it as is.
    let pad = if lines.iter().any(|(_, l)| !l.trim().is_empty()) { indent + 2 } else { 0 };
    let mut out = String::from("\"\"\"\n");
    for (_, line) in &lines {
        if !line.is_empty() {
            out.push_str(&spaces(pad));
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(&spaces(indent));
    out.push_str("\"\"\"");
    out
}
