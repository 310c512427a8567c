//! `when` and `check` expressions as the language writes them: source-like text (for plans
//! and for messages about a check that failed) and the references an expression reads.

use super::{fmt_duration, format_number, BinOp, Expr, Ref};

impl Expr {
    /// Source-like text, parenthesised only where the grammar needs it; `name` spells each
    /// reference (`lag_seconds`, `steps.lag.seconds`, or a value).
    pub fn source(&self, name: &dyn Fn(&Ref) -> String) -> String {
        let mut out = String::new();
        self.source_into(name, &mut out);
        out
    }

    fn source_into(&self, name: &dyn Fn(&Ref) -> String, out: &mut String) {
        match self {
            Expr::Str(s) => out.push_str(&quote(s)),
            Expr::Number(n) => out.push_str(&format_number(*n)),
            Expr::Duration(ms) => out.push_str(&fmt_duration(*ms)),
            Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Expr::Ref(r) => out.push_str(&name(r)),
            Expr::Not(inner) => {
                out.push('!');
                inner.child(name, precedence(inner) < ATOM, out);
            }
            Expr::Binary(op, l, r) => {
                let p = op_precedence(*op);
                // Left-associative `&&`/`||`; comparisons do not chain.
                let left_parens = precedence(l) < p || (p == COMPARE && precedence(l) == COMPARE);
                l.child(name, left_parens, out);
                out.push_str(&format!(" {} ", op.symbol()));
                r.child(name, precedence(r) <= p, out);
            }
        }
    }

    fn child(&self, name: &dyn Fn(&Ref) -> String, parens: bool, out: &mut String) {
        if parens {
            out.push('(');
        }
        self.source_into(name, out);
        if parens {
            out.push(')');
        }
    }

    /// Every reference the expression reads, in order of first appearance, each once.
    pub fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        self.refs_into(&mut out);
        out
    }

    fn refs_into<'e>(&'e self, out: &mut Vec<&'e Ref>) {
        match self {
            Expr::Ref(r) if !out.contains(&r) => out.push(r),
            Expr::Not(inner) => inner.refs_into(out),
            Expr::Binary(_, l, r) => {
                l.refs_into(out);
                r.refs_into(out);
            }
            _ => {}
        }
    }
}

const COMPARE: u8 = 3;
const ATOM: u8 = 4;

fn op_precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        _ => COMPARE,
    }
}

fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Binary(op, ..) => op_precedence(*op),
        _ => ATOM,
    }
}

/// A string literal as the language writes it.
pub fn quote(s: &str) -> String {
    let escaped = s
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
        .replace('\t', r"\t")
        .replace("${", r"\${");
    format!("\"{escaped}\"")
}
