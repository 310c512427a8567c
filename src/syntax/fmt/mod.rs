//! `drbook fmt`: a parsed file in, its canonical text out.
//!
//! Layout: two-space indentation, one statement per line, aligned keywords in each block,
//! lists and `use` arguments broken one per line only when a line would pass 100 columns, and
//! nested blocks kept on one line when the author wrote them so and they still fit. Blank
//! lines between statements are kept (at most one), never right after `{` or before `}`; a
//! `step` after another statement, and two top-level items other than two imports, are always
//! separated by one. Strings, numbers and durations print as written; `"""` strings are
//! re-indented under their statement.
//!
//! Comments are attached by line: the comments before a statement (and inside the brackets of
//! a statement without a block) print on their own lines above it; a comment on the line where
//! a statement, a block's `{` or its `}` ends trails it after two spaces. Every comment is
//! printed exactly once, in source order.
//!
//! Invariants: the input parsed without diagnostics; the output parses to the same tree up to
//! `Block::one_line` (a one-line block that no longer fits is broken, an empty block closes on
//! its own line), and formats to itself.

mod render;
mod shape;
#[cfg(test)]
mod tests;

use super::lex::{self, Comment};
use super::Parsed;
use render::{spaces, width, Layout, WIDTH};
use shape::{Node, Pads, Shape};

/// Formats a file that parsed without diagnostics. `text` is the source the tree came from.
pub fn format(text: &str, parsed: &Parsed) -> String {
    let mut p = Printer::new(text, &parsed.comments);
    let items: Vec<Node> = parsed.file.items.iter().map(Node::Item).collect();
    for (i, n) in items.iter().enumerate() {
        let (start, _) = n.range();
        if i > 0 {
            let imports = [items[i - 1], *n]
                .iter()
                .all(|m| matches!(m, Node::Item(super::ast::Item::Import(_))));
            if imports {
                p.force = Some(false);
            } else {
                p.ensure_blank_before(start);
            }
        }
        let limit = items.get(i + 1).map_or(usize::MAX, |m| m.range().0);
        p.node(*n, 0, &Pads::default(), 0, limit);
    }
    p.lead(usize::MAX, usize::MAX, 0);
    let mut out = p.out;
    out.truncate(out.trim_end_matches('\n').len());
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

struct Printer<'t> {
    text: &'t str,
    lay: Layout<'t>,
    line_starts: Vec<usize>,
    comments: &'t [Comment],
    /// The first comment not printed yet.
    next: usize,
    out: String,
    /// Source line where the last printed element ended; `None` right after a `{`.
    last_line: Option<usize>,
    /// Overrides the source's blank line before the next element.
    force: Option<bool>,
}

impl<'t> Printer<'t> {
    fn new(text: &'t str, comments: &'t [Comment]) -> Printer<'t> {
        let mut line_starts = vec![0];
        line_starts
            .extend(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1));
        Printer {
            text,
            lay: Layout::new(text),
            line_starts,
            comments,
            next: 0,
            out: String::new(),
            last_line: None,
            force: None,
        }
    }

    /// 0-based source line of a byte offset.
    fn line(&self, pos: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= pos).saturating_sub(1)
    }

    /// Whether a line strictly between `a` and `b` is blank.
    fn has_blank(&self, a: usize, b: usize) -> bool {
        (a + 1..b).any(|l| {
            let start = self.line_starts[l];
            let end = self.line_starts.get(l + 1).map_or(self.text.len(), |&e| e - 1);
            self.text
                .get(start..end)
                .is_some_and(|s| s.trim_matches(|c: char| c.is_whitespace() || c == ';').is_empty())
        })
    }

    /// Asks for a blank line before the element starting at `start` unless the source already
    /// has one somewhere between the last element and it (which is then kept where it is).
    fn ensure_blank_before(&mut self, start: usize) {
        if let Some(l) = self.last_line {
            if !self.has_blank(l, self.line(start)) {
                self.force = Some(true);
            }
        }
    }

    /// Prints the blank line, if any, before an element starting on source line `line`.
    fn sep(&mut self, line: usize) {
        let blank = match self.force.take() {
            Some(f) => f,
            None => self.last_line.is_some_and(|l| self.has_blank(l, line)),
        };
        if blank && !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn write(&mut self, indent: usize, s: &str) {
        self.out.push_str(&spaces(indent));
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn comment_text(&self, c: Comment) -> &'t str {
        self.text.get(c.start..c.end).unwrap_or("#").trim_end()
    }

    /// Prints, on their own lines, the comments that start before `pos`. Blank lines are
    /// judged as if such comments stood no later than line `cap` (the statement's first
    /// line), so comments from inside a statement's brackets move above it without a gap.
    fn lead(&mut self, pos: usize, cap: usize, indent: usize) {
        while let Some(&c) = self.comments.get(self.next).filter(|c| c.start < pos) {
            let line = self.line(c.start);
            self.sep(line.min(cap));
            self.write(indent, self.comment_text(c));
            self.last_line = Some(line);
            self.next += 1;
        }
    }

    /// Appends the next comment to the last printed line when it sits on source line `line`
    /// and before `limit` (where the next statement starts).
    fn trail(&mut self, line: usize, limit: usize) {
        let Some(&c) = self.comments.get(self.next) else { return };
        if c.start < limit && self.line(c.start) == line {
            self.out.pop();
            self.out.push_str("  ");
            self.out.push_str(self.comment_text(c));
            self.out.push('\n');
            self.next += 1;
        }
    }

    fn comment_before(&self, pos: usize) -> bool {
        self.comments.get(self.next).is_some_and(|c| c.start < pos)
    }

    /// A statement's byte range without the blanks and the comment that pest counts into a
    /// statement when they stand before its end-of-statement lookahead.
    fn range(&self, n: Node) -> (usize, usize) {
        let (start, mut end) = n.range();
        let k = self.comments.partition_point(|c| c.start < end);
        if let Some(c) = k.checked_sub(1).map(|k| self.comments[k]) {
            if c.start >= start && c.end >= end {
                end = c.start;
            }
        }
        let b = self.text.as_bytes();
        while end > start && matches!(b.get(end - 1), Some(b' ' | b'\t' | b'\r')) {
            end -= 1;
        }
        (start, end)
    }

    fn node(&mut self, n: Node, indent: usize, pads: &Pads, name_w: usize, limit: usize) {
        let (start, end) = self.range(n);
        if n.is_step() {
            self.ensure_blank_before(start);
        }
        match self.lay.shape(n, indent, pads, name_w) {
            Shape::Leaf(text) => self.leaf(indent, start, end, &text, limit),
            Shape::Block { head, nodes, one_line } => {
                self.block(indent, &head, (start, end), &nodes, one_line, limit);
            }
        }
    }

    fn leaf(&mut self, indent: usize, start: usize, end: usize, text: &str, limit: usize) {
        let first = self.line(start);
        self.lead(end, first, indent);
        self.sep(first);
        self.write(indent, text);
        let last = self.line(end.saturating_sub(1).max(start));
        self.last_line = Some(last);
        self.trail(last, limit);
    }

    fn block(
        &mut self,
        indent: usize,
        head: &str,
        (start, end): (usize, usize),
        nodes: &[Node],
        one_line: bool,
        limit: usize,
    ) {
        let (open, close) =
            lex::outer_block(self.text, start, end).unwrap_or((start, end.saturating_sub(1)));
        let first = self.line(start);
        self.lead(open, first, indent);
        self.sep(first);
        let close_line = self.line(close);
        if !self.comment_before(close) {
            let flat =
                if one_line || nodes.is_empty() { self.lay.inline_block(nodes) } else { None };
            if let Some(flat) = flat {
                let line = format!("{head}{flat}");
                if nodes.is_empty() || (!line.contains('\n') && indent + width(&line) <= WIDTH) {
                    self.write(indent, &line);
                    self.last_line = Some(close_line);
                    self.trail(close_line, limit);
                    return;
                }
            }
        }
        // Alignment padding only reads well before a one-line block.
        self.write(indent, &format!("{} {{", head.trim_end()));
        let first_inside = nodes.first().map_or(close, |n| self.range(*n).0);
        self.trail(self.line(open), first_inside);
        self.last_line = None;
        let pads = self.pads(nodes);
        for (i, n) in nodes.iter().enumerate() {
            let lim = nodes.get(i + 1).map_or(close, |m| self.range(*m).0);
            self.node(*n, indent + 2, &pads, pads.names[i], lim);
        }
        self.lead(close, usize::MAX, indent + 2);
        self.write(indent, "}");
        self.last_line = Some(close_line);
        self.trail(close_line, limit);
    }

    /// Keyword widths of a block, and the name width of each run of `param NAME = VALUE` or
    /// `secret` lines not separated by a blank line.
    fn pads(&self, nodes: &[Node]) -> Pads {
        let mut pads = Pads { kw: [0; 2], names: vec![0; nodes.len()] };
        for (class, kw) in nodes.iter().filter_map(|n| n.pad_key()) {
            pads.kw[class] = pads.kw[class].max(width(kw) + 1);
        }
        let mut i = 0;
        while i < nodes.len() {
            let Some((kind, _)) = nodes[i].align_name() else {
                i += 1;
                continue;
            };
            let mut j = i + 1;
            while j < nodes.len()
                && nodes[j].align_name().is_some_and(|(k, _)| k == kind)
                && !self.has_blank(
                    self.line(self.range(nodes[j - 1]).1.saturating_sub(1)),
                    self.line(self.range(nodes[j]).0),
                )
            {
                j += 1;
            }
            let w = nodes[i..j]
                .iter()
                .filter_map(|n| n.align_name())
                .map(|(_, name)| width(name))
                .max();
            pads.names[i..j].fill(w.unwrap_or(0));
            i = j;
        }
        pads
    }
}
