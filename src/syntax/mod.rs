//! Syntax: text in, [`ast::File`] out. pest lives here and only here.
//!
//! A file is parsed one statement at a time: [`lex`] checks strings and brackets and cuts the
//! file into top-level items and the runbook body into its items; each item is parsed by pest
//! (`grammar/drbook.pest`) and turned into AST by [`build`]. A malformed statement becomes a
//! diagnostic and parsing goes on, so one run reports every problem in the file. Steps in the
//! common form are read by [`fast`] instead, which gives the same tree or leaves the statement
//! to pest.

pub mod ast;
mod build;
mod fast;
#[cfg(test)]
mod fast_tests;
pub mod fmt;
pub mod keywords;
pub mod lex;
pub mod strings;

use crate::diag::{Diagnostic, FileId, Span};
pub use build::parse_duration;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/drbook.pest"]
struct DrbookParser;

/// A parsed file and its comments (for the formatter).
#[derive(Debug)]
pub struct Parsed {
    pub file: ast::File,
    pub comments: Vec<lex::Comment>,
}

/// Parses one file. `None` when the file's structure is broken (an unterminated string,
/// unbalanced brackets); otherwise the tree of every statement that parsed, and diagnostics
/// for those that did not.
pub fn parse(text: &str, file: FileId) -> (Option<Parsed>, Vec<Diagnostic>) {
    parse_with(text, file, Reader::Fast)
}

/// How the statements of a runbook body are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Common `step` statements by [`fast::step`], everything else by pest: the default.
    Fast,
    /// Every statement by pest, the grammar of record (what the fast reader is tested against).
    Pest,
}

/// [`parse`], choosing how body statements are read. Both readers give the same tree and the
/// same diagnostics for every text; the tests hold them to it.
pub fn parse_with(text: &str, file: FileId, reader: Reader) -> (Option<Parsed>, Vec<Diagnostic>) {
    let comments = match lex::scan(text) {
        Ok(c) => c,
        Err(e) => return (None, vec![lex_error(e, file)]),
    };
    let mut b = build::Builder::new(file);
    let mut items = Vec::new();
    for (s, e) in lex::statements(text, 0, text.len()) {
        if let Some(item) = top_item(text, s, e, &mut b, reader) {
            items.push(item);
        }
    }
    (Some(Parsed { file: ast::File { items }, comments }), b.diags)
}

fn top_item(
    text: &str,
    s: usize,
    e: usize,
    b: &mut build::Builder,
    reader: Reader,
) -> Option<ast::Item> {
    let stmt = &text[s..e];
    let is_runbook = stmt.starts_with("runbook")
        && !stmt[7..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if is_runbook {
        if let Some((open, close)) = lex::outer_block(text, s, e) {
            return runbook(text, (s, e), (open, close), b, reader).map(ast::Item::Runbook);
        }
    }
    let pairs = run_pest(Rule::top_entry, text, s, e, b)?;
    b.top_item(pairs, s)
}

fn runbook(
    text: &str,
    (s, e): (usize, usize),
    (open, close): (usize, usize),
    b: &mut build::Builder,
    reader: Reader,
) -> Option<ast::Runbook> {
    if close + 1 < e {
        let span = Span::new(b.file, close + 1, e);
        b.diags.push(
            Diagnostic::error("drbook::syntax::unexpected", span, "unexpected text after `}`")
                .label("expected the end of the line")
                .help("start the next statement on a new line"),
        );
    }
    let head = run_pest(Rule::runbook_open, text, s, open, b)?;
    let name = b.runbook_name(head, s)?;
    let stmts = lex::statements(text, open + 1, close);
    let items = body_items(text, &stmts, b, reader);
    Some(ast::Runbook {
        name,
        items,
        span: Span::new(b.file, s, e.min(close + 1)),
        close: Span::new(b.file, close, close + 1),
    })
}

/// Statements below this count are parsed on the calling thread.
const PARALLEL_FROM: usize = 512;

/// Parses the runbook body's statements; a large body is cut in halves parsed on two threads
/// (each statement parses independently), and the results are joined in source order.
fn body_items(
    text: &str,
    stmts: &[(usize, usize)],
    b: &mut build::Builder,
    reader: Reader,
) -> Vec<ast::HeaderItem> {
    let total = stmts.len();
    let parse_all = |b: &mut build::Builder, stmts: Vec<(usize, usize)>, from| {
        let mut items = Vec::with_capacity(crate::par::room(from, stmts.len(), total));
        for (s, e) in stmts {
            if reader == Reader::Fast {
                if let Some(item) = fast::step(text, s, e, b.file) {
                    items.push(item);
                    continue;
                }
            }
            if let Some(pairs) = run_pest(Rule::runbook_entry, text, s, e, b) {
                items.extend(b.header_item(pairs, s));
            }
        }
        items
    };
    let from = crate::par::parallel_from(PARALLEL_FROM);
    let fork = |b: &build::Builder| build::Builder::new(b.file);
    let (mut items, rest) = crate::par::halves(stmts.to_vec(), from, b, fork, parse_all);
    if let Some((mut other, rest)) = rest {
        items.extend(rest);
        b.diags.append(&mut other.diags);
    }
    items
}

/// `v` in a block of exactly its length. `shrink_to_fit` is not enough: the allocator keeps a
/// block at its old size when the new size is over half of it, and a large runbook holds
/// hundreds of thousands of these vectors.
#[allow(clippy::drain_collect)] // `mem::take` would keep the block: the new one is the point
pub(crate) fn exact<T>(mut v: Vec<T>) -> Vec<T> {
    if v.capacity() == v.len() {
        v
    } else {
        v.drain(..).collect()
    }
}

fn run_pest<'t>(
    rule: Rule,
    text: &'t str,
    s: usize,
    e: usize,
    b: &mut build::Builder,
) -> Option<pest::iterators::Pairs<'t, Rule>> {
    match DrbookParser::parse(rule, &text[s..e]) {
        Ok(p) => Some(p),
        Err(err) => {
            b.diags.push(build::pest_error(&err, text, s, b.file));
            None
        }
    }
}

/// Parses a whole file with the single `file` rule. The statement-at-a-time parser and this
/// rule define the same language; tests hold them to it.
pub fn accepts_as_whole_file(text: &str) -> bool {
    DrbookParser::parse(Rule::file, text).is_ok()
}

fn lex_error(e: lex::LexError, file: FileId) -> Diagnostic {
    use lex::LexError as L;
    let code = "drbook::syntax::structure";
    let at = |a: usize, n: usize| Span::new(file, a, a + n);
    let ch = |c: u8| char::from(c);
    match e {
        L::UnterminatedString { at: a } => Diagnostic::error(
            "drbook::syntax::unterminated_string",
            at(a, 1),
            "unterminated string",
        )
        .label("this string is never closed")
        .help("close it with `\"` on the same line, or use `\"\"\"` for text over several lines"),
        L::UnterminatedTriple { at: a } => Diagnostic::error(
            "drbook::syntax::unterminated_string",
            at(a, 3),
            "unterminated `\"\"\"` string",
        )
        .label("this block string is never closed")
        .help("close it with `\"\"\"`"),
        L::Unclosed { at: a, open } => {
            Diagnostic::error(code, at(a, 1), format!("unclosed `{}`", ch(open)))
                .label("opened here and never closed")
                .help(format!("add the matching `{}`", ch(lex::closer(open))))
        }
        L::Unexpected { at: a, close } => {
            Diagnostic::error(code, at(a, 1), format!("unexpected `{}`", ch(close)))
                .label("nothing is open here")
                .help("remove it, or look for a missing opening bracket above")
        }
        L::Mismatched { open_at, open, at: a, close } => {
            Diagnostic::error(code, at(a, 1), format!("`{}` closes `{}`", ch(close), ch(open)))
                .label(format!("expected `{}`", ch(lex::closer(open))))
                .related(at(open_at, 1), "opened here")
                .help("brackets must close in the order they were opened")
        }
        L::TooDeep { at: a } => Diagnostic::error(
            code,
            at(a, 1),
            format!("brackets nested deeper than {} levels", lex::MAX_DEPTH),
        )
        .label("too deep")
        .help("runbooks never need this much nesting; flatten the structure"),
    }
}
#[cfg(test)]
mod tests;
