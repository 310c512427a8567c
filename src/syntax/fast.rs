//! A hand-written reader for the most common statement of a large runbook: a `step` whose
//! items are `owner`, `duration`, `timeout`, `on_failure`, `workdir`, `needs`, `run`,
//! `rollback run`, `verify run`, `idempotent` and `safe`, one per line.
//!
//! It is a shortcut, not a second grammar: `grammar/drbook.pest` stays the definition of the
//! language. [`step`] either returns exactly the syntax tree that pest and the builder make of
//! the statement (same nodes, same spans, no diagnostic), or `None`, and the caller hands the
//! statement to pest. Anything it is not sure of — a comment, `;`, `\r`, a list, a tab before
//! a value it does not know, an escape the decoder rejects, a duration that overflows —
//! makes it give up. The differential tests (`syntax::fast_tests`) hold it to that over every
//! fixture, generated statements and mangled copies.

use super::ast::*;
use super::build::parse_duration;
use super::strings;
use crate::diag::{FileId, Span};

/// `text[s..e]` (one statement of a runbook body, as `lex::statements` cut it) as a step, when
/// it is written in the common form; `None` sends it to pest.
pub fn step(text: &str, s: usize, e: usize, file: FileId) -> Option<HeaderItem> {
    let mut c = Cur { text, b: text.as_bytes(), i: s, end: e, file };
    if !c.keyword("step") {
        return None;
    }
    c.blanks();
    let id = c.ident()?;
    c.blanks();
    let title = if c.peek() == Some(b'"') {
        let v = c.string_value()?;
        c.blanks();
        Some(v)
    } else {
        None
    };
    if c.peek()? != b'{' {
        return None;
    }
    c.i += 1;
    let mut items = Vec::with_capacity(8);
    loop {
        c.blanks();
        match c.peek()? {
            b'\n' => c.i += 1,
            b'}' => break,
            _ => {
                items.push(c.item()?);
                c.blanks();
                match c.peek()? {
                    b'\n' | b'}' => {}
                    _ => return None,
                }
            }
        }
    }
    let items = super::exact(items);
    let close_at = c.i;
    if close_at + 1 != e {
        return None;
    }
    let span = c.span(s, e);
    let step =
        Step { id, title, items, span, close: c.span(close_at, close_at + 1), finally: false };
    Some(HeaderItem { kind: HeaderKind::Step(step), span })
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

struct Cur<'t> {
    text: &'t str,
    b: &'t [u8],
    i: usize,
    end: usize,
    file: FileId,
}

impl<'t> Cur<'t> {
    fn peek(&self) -> Option<u8> {
        (self.i < self.end).then(|| self.b[self.i])
    }

    fn span(&self, s: usize, e: usize) -> Span {
        Span::new(self.file, s, e)
    }

    /// Spaces and tabs (pest's implicit whitespace without `\r` and comments).
    fn blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// `word` not followed by an identifier character.
    fn keyword(&mut self, word: &str) -> bool {
        let end = self.i + word.len();
        if end <= self.end
            && &self.b[self.i..end] == word.as_bytes()
            && !(end < self.end && is_ident_char(self.b[end]))
        {
            self.i = end;
            true
        } else {
            false
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_-]*`: start and end.
    fn word(&mut self) -> Option<(usize, usize)> {
        let s = self.i;
        if !matches!(self.peek(), Some(c) if c.is_ascii_alphabetic() || c == b'_') {
            return None;
        }
        while matches!(self.peek(), Some(c) if is_ident_char(c)) {
            self.i += 1;
        }
        Some((s, self.i))
    }

    fn ident(&mut self) -> Option<Ident> {
        let (s, e) = self.word()?;
        Some(Ident { name: self.text[s..e].into(), span: self.span(s, e) })
    }

    /// A one-line `"..."` (not `"""`), decoded; `None` if the decoder would report it.
    fn string_value(&mut self) -> Option<Value> {
        let s = self.i;
        if self.b.get(s + 1..s + 3) == Some(b"\"\"") {
            return None;
        }
        let mut j = s + 1;
        loop {
            let at = j + memchr::memchr3(b'"', b'\\', b'\n', &self.b[j..self.end])?;
            match self.b[at] {
                b'"' => {
                    j = at + 1;
                    break;
                }
                b'\\' if at + 1 < self.end && self.b[at + 1] != b'\n' => j = at + 2,
                _ => return None,
            }
        }
        let str = strings::decode(&self.text[s..j], s, self.file).ok()?;
        self.i = j;
        Some(Value { kind: ValueKind::Str(str), span: self.span(s, j) })
    }

    /// A value of an attribute: a string, a duration or a name (not `true`/`false`).
    fn value(&mut self) -> Option<Value> {
        let s = self.i;
        match self.peek()? {
            b'"' => self.string_value(),
            b'0'..=b'9' => {
                // duration = (DIGIT+ ("ms" | "s" | "m" | "h" | "d"))+ !ident_char
                loop {
                    let at = self.i;
                    while matches!(self.peek(), Some(b'0'..=b'9')) {
                        self.i += 1;
                    }
                    let unit = match (self.peek(), self.b.get(self.i + 1)) {
                        _ if self.i == at => 0,
                        (Some(b'm'), Some(b's')) if self.i + 1 < self.end => 2,
                        (Some(b's' | b'm' | b'h' | b'd'), _) => 1,
                        _ => 0,
                    };
                    if unit == 0 {
                        self.i = at;
                        break;
                    }
                    self.i += unit;
                }
                if self.i == s || matches!(self.peek(), Some(c) if is_ident_char(c)) {
                    return None;
                }
                let written = &self.text[s..self.i];
                let ms = parse_duration(written)?;
                Some(Value {
                    kind: ValueKind::Duration(ms, written.into()),
                    span: self.span(s, self.i),
                })
            }
            _ => {
                let (ws, we) = self.word()?;
                let word = &self.text[ws..we];
                if word == "true" || word == "false" {
                    return None;
                }
                Some(Value { kind: ValueKind::Ident(word.into()), span: self.span(ws, we) })
            }
        }
    }

    /// `run "..."`, the only action read here.
    fn run(&mut self) -> Option<Action> {
        let s = self.i;
        if !self.keyword("run") {
            return None;
        }
        self.blanks();
        if self.peek()? != b'"' {
            return None;
        }
        let v = self.string_value()?;
        Some(Action { kind: ActionKind::Run(v), span: self.span(s, self.i) })
    }

    fn item(&mut self) -> Option<StepItem> {
        let s = self.i;
        let (ws, we) = self.word()?;
        self.i = ws;
        let kind = match &self.text[ws..we] {
            "owner" | "duration" | "timeout" | "on_failure" | "workdir" => {
                let kw = self.ident()?;
                self.blanks();
                StepKind::Attr(kw, self.value()?)
            }
            "needs" => {
                self.i = we;
                self.blanks();
                let mut ids = vec![self.ident()?];
                loop {
                    let back = self.i;
                    self.blanks();
                    if self.peek() != Some(b',') {
                        self.i = back;
                        break;
                    }
                    self.i += 1;
                    self.blanks();
                    ids.push(self.ident()?);
                }
                StepKind::Needs(ids)
            }
            "run" => StepKind::Action(self.run()?),
            "rollback" => {
                self.i = we;
                self.blanks();
                StepKind::Rollback(Rollback::Action(Box::new(self.run()?)))
            }
            "verify" => {
                self.i = we;
                self.blanks();
                StepKind::Verify(self.run()?)
            }
            "idempotent" => {
                self.i = we;
                StepKind::Idempotent
            }
            "safe" => {
                self.i = we;
                StepKind::Safe
            }
            _ => return None,
        };
        Some(StepItem { kind, span: self.span(s, self.i) })
    }
}
