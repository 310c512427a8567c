//! Decoding string literals: escapes, `${...}` references, and the indentation rule of
//! `"""` blocks (LANGUAGE.md §2). Input is the raw literal as written, quotes included, and its
//! byte offset in the file; output is a [`Str`] whose reference spans point into the file.

use super::ast::{Path, Str, StrPart};
use crate::diag::{Diagnostic, FileId, Span};

/// Decodes a literal. Errors are malformed `${...}` references.
pub fn decode(raw: &str, offset: usize, file: FileId) -> Result<Str, Diagnostic> {
    let span = Span::new(file, offset, offset + raw.len());
    let triple = raw.starts_with("\"\"\"") && raw.len() >= 6;
    let mut d = Decoder { file, parts: Vec::new(), lit: String::new() };
    if triple {
        let inner = &raw[3..raw.len() - 3];
        let lines = dedent(inner);
        for (n, (start, text)) in lines.iter().enumerate() {
            if n > 0 {
                d.lit.push('\n');
            }
            d.run(text, offset + 3 + start)?;
        }
    } else {
        d.run(&raw[1..raw.len().saturating_sub(1).max(1)], offset + 1)?;
    }
    d.flush();
    Ok(Str { parts: super::exact(d.parts), span, triple })
}

/// The lines of a `"""` block's content after removing the first and last blank lines and the
/// common indentation: (offset of the kept text within `inner`, kept text).
pub fn dedent(inner: &str) -> Vec<(usize, &str)> {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut pos = 0;
    for line in inner.split('\n') {
        lines.push((pos, line));
        pos += line.len() + 1;
    }
    let blank = |s: &str| s.trim().is_empty();
    if lines.len() > 1 && lines.first().is_some_and(|l| blank(l.1)) {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(|l| blank(l.1)) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|l| !blank(l.1))
        .map(|l| l.1.len() - l.1.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    lines
        .into_iter()
        .map(|(p, l)| {
            let cut = indent.min(l.len() - l.trim_start_matches([' ', '\t']).len());
            let l = l.strip_suffix('\r').unwrap_or(l);
            (p + cut, l.get(cut..).unwrap_or(""))
        })
        .collect()
}

struct Decoder {
    file: FileId,
    parts: Vec<StrPart>,
    lit: String,
}

impl Decoder {
    fn flush(&mut self) {
        if !self.lit.is_empty() {
            self.parts.push(StrPart::Lit(std::mem::take(&mut self.lit).into_boxed_str()));
        }
    }

    /// Decodes `s` (found at `offset` in the file): plain text is copied in runs up to the
    /// next `\\` or `$`, the only bytes that can start an escape or a reference.
    fn run(&mut self, s: &str, offset: usize) -> Result<(), Diagnostic> {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let Some(k) = memchr::memchr2(b'\\', b'$', &b[i..]) else {
                self.lit.push_str(&s[i..]);
                break;
            };
            let at = i + k;
            self.lit.push_str(&s[i..at]);
            if b[at] == b'\\' {
                let (text, len) = match b.get(at + 1) {
                    Some(b'"') => ("\"", 2),
                    Some(b'\\') => ("\\", 2),
                    Some(b'n') => ("\n", 2),
                    Some(b't') => ("\t", 2),
                    Some(b'$') if s[at + 1..].starts_with("${") => ("${", 3),
                    // Any other backslash is kept; what follows it is read as usual.
                    _ => ("\\", 1),
                };
                self.lit.push_str(text);
                i = at + len;
            } else if s[at..].starts_with("${") {
                let Some(close) = s[at..].find('}') else {
                    let span = Span::new(self.file, offset + at, offset + s.len());
                    return Err(Diagnostic::error(
                        "drbook::syntax::bad_interpolation",
                        span,
                        "unclosed `${` in string",
                    )
                    .label("this `${` has no closing `}`")
                    .help("close the reference with `}`, or write `\\${` for a literal `${`"));
                };
                let inner = &s[at + 2..at + close];
                let span = Span::new(self.file, offset + at, offset + at + close + 1);
                self.flush();
                self.parts.push(StrPart::Ref(path(inner, span)?));
                i = at + close + 1;
            } else {
                self.lit.push('$');
                i = at + 1;
            }
        }
        Ok(())
    }
}

/// Parses the inside of `${...}`: identifiers joined by dots.
fn path(inner: &str, span: Span) -> Result<Path, Diagnostic> {
    let trimmed = inner.trim();
    let segments: Vec<Box<str>> = trimmed.split('.').map(Box::from).collect();
    if trimmed.is_empty() || !segments.iter().all(|s| is_ident(s)) {
        return Err(Diagnostic::error(
            "drbook::syntax::bad_interpolation",
            span,
            format!("`${{{inner}}}` is not a valid reference"),
        )
        .label("expected a name such as `${region}` or `${steps.ID.NAME}`")
        .help("references are names joined by dots; write `\\${` for a literal `${`"));
    }
    Ok(Path { segments, span })
}

pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(s: &Str) -> Vec<String> {
        s.parts
            .iter()
            .map(|p| match p {
                StrPart::Lit(l) => l.to_string(),
                StrPart::Ref(r) => format!("<{}>", r.dotted()),
                StrPart::Word(_) | StrPart::Bare(_) => "<word>".to_string(),
            })
            .collect()
    }

    fn dec(raw: &str) -> Str {
        decode(raw, 0, FileId(0)).expect("valid string")
    }

    #[test]
    fn escapes_and_references() {
        let raw = r#""a\"b\\c\nd\te \${x} $HOME $(date) \d ${steps.s.v}""#;
        let s = dec(raw);
        assert_eq!(lits(&s), ["a\"b\\c\nd\te ${x} $HOME $(date) \\d ", "<steps.s.v>"]);
        let r = s.refs().next().expect("one ref");
        let at = raw.find("${steps").expect("present");
        assert_eq!((r.span.start as usize, r.span.end as usize), (at, at + 12));
    }

    #[test]
    fn triple_strings_lose_common_indentation_and_blank_edges() {
        let s = dec("\"\"\"\n    terraform init\n      -x ${dr}\n  \"\"\"");
        assert_eq!(lits(&s), ["terraform init\n  -x ", "<dr>"]);
        assert!(s.triple);
    }

    #[test]
    fn bad_references_are_reported_with_their_span() {
        let e = decode(r#""x ${a b} y""#, 10, FileId(0)).expect_err("invalid");
        assert_eq!((e.span.start, e.span.end), (13, 19));
        let e = decode(r#""x ${abc""#, 0, FileId(0)).expect_err("unclosed");
        assert_eq!(e.message, "unclosed `${` in string");
    }
}
