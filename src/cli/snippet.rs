//! The source text miette reads its snippets from: control characters replaced (byte for
//! byte, so spans still fit), very long lines windowed around the problem, and a line index so
//! that each snippet costs the lines it shows, not the file's length.
//!
//! miette's own `SourceCode for str` scans from the start of the text for every snippet, which
//! made ten thousand warnings on a large runbook take minutes. [`Windowed`] gives miette only
//! the slice that starts a few lines above the span and shifts the answer back: miette's line
//! scan depends on nothing before a line start but the line count, so the result is the same.

use crate::diag::SourceText;
use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use std::sync::Arc;

/// The longest line shown whole in a snippet.
pub const MAX_LINE: usize = 400;

/// A file's text as shown in snippets; cheap to clone (one per diagnostic).
#[derive(Clone)]
pub struct Windowed(Arc<Inner>);

struct Inner {
    name: String,
    text: SourceText,
    /// Start of every line, a line ending at `\n`: what the snippet header counts.
    nl_starts: Vec<usize>,
    /// Start of every line as miette counts them (`\r\n`, `\n` and a lone `\r` end a line).
    miette_starts: Vec<usize>,
}

impl Windowed {
    pub fn new(name: &str, text: &SourceText) -> Windowed {
        let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
        let text = if text.chars().any(unsafe_char) {
            let clean: String = text
                .chars()
                .map(|c| if unsafe_char(c) { "?".repeat(c.len_utf8()) } else { c.to_string() })
                .collect();
            SourceText::from(clean)
        } else {
            text.clone()
        };
        let bytes = text.as_bytes();
        let mut nl_starts = vec![0];
        nl_starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        let mut miette_starts = vec![0];
        let mut i = 0;
        while let Some(at) = memchr::memchr2(b'\n', b'\r', &bytes[i..]) {
            let at = i + at;
            let next = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                at + 2
            } else {
                at + 1
            };
            miette_starts.push(next);
            i = next;
        }
        Windowed(Arc::new(Inner { name: name.to_string(), text, nl_starts, miette_starts }))
    }
}

/// The index of the line (of `starts`) that holds `offset`.
fn line_of(starts: &[usize], offset: usize) -> usize {
    match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i - 1,
    }
}

/// miette's reading of `text` with its line scan started `before` lines above the span's
/// line, the answer shifted back to the whole text's offsets and line numbers.
fn context<'a>(
    text: &'a str,
    miette_starts: &[usize],
    span: &SourceSpan,
    before: usize,
    after: usize,
) -> Result<MietteSpanContents<'a>, MietteError> {
    // miette takes a span's last byte to be one before its end, so an empty span at a line's
    // start reaches into the line above: start the scan above whichever comes first.
    let last = (span.offset() + span.len()).saturating_sub(1);
    let lo = span.offset().min(last).min(text.len());
    let first = line_of(miette_starts, lo).saturating_sub(before);
    let base = miette_starts[first];
    let shifted: SourceSpan = (span.offset().saturating_sub(base), span.len()).into();
    let c = text.as_bytes()[base..].read_span(&shifted, before, after)?;
    let span = (c.span().offset() + base, c.span().len()).into();
    Ok(MietteSpanContents::new(
        c.data(),
        span,
        c.line() + first,
        c.column(),
        c.line_count() + first,
    ))
}

impl SourceCode for Windowed {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = &*self.0;
        let text: &str = &inner.text;
        let start = span.offset().min(text.len());
        let line = line_of(&inner.nl_starts, start);
        let line_start = inner.nl_starts[line];
        let line_end = inner.nl_starts.get(line + 1).map_or(text.len(), |&next| next - 1);
        if before == 0 && after == 0 {
            // The position in the snippet's header: exactly where the span starts.
            let end = (start + span.len()).min(line_end.max(start));
            let column = text[line_start..start].chars().count();
            return Ok(Box::new(MietteSpanContents::new_named(
                inner.name.clone(),
                &text.as_bytes()[start..end],
                (start, end - start).into(),
                line,
                column,
                1,
            )));
        }
        if line_end - line_start <= MAX_LINE {
            let c = context(text, &inner.miette_starts, span, before, after)?;
            return Ok(Box::new(MietteSpanContents::new_named(
                inner.name.clone(),
                c.data(),
                *c.span(),
                c.line(),
                c.column(),
                c.line_count(),
            )));
        }
        let mut from = start.saturating_sub(MAX_LINE / 2).max(line_start);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        let mut to = (start + span.len() + MAX_LINE / 2).min(line_end);
        while !text.is_char_boundary(to) {
            to += 1;
        }
        let column = text[line_start..from].chars().count();
        Ok(Box::new(MietteSpanContents::new_named(
            inner.name.clone(),
            &text.as_bytes()[from..to],
            (from, to - from).into(),
            line,
            column,
            1,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every span of texts with `\n`, `\r\n`, lone `\r`, blank lines and multi-byte characters,
    /// read with several context sizes: the same answer as miette's scan of the whole text.
    #[test]
    fn reads_every_span_as_miette_does_over_the_whole_text() {
        let texts = [
            "a\nbb\n\nccc\nd",
            "one\r\ntwo\r\n\r\nthree\rfour\n",
            "\n\n\nx\n\n",
            "é\nßü\n  step x \"ti\u{2014}tle\" {\n    run \"y\"\n  }\n",
            "",
            "no newline at all",
        ];
        for text in texts {
            let arc: SourceText = text.into();
            let w = Windowed::new("f", &arc);
            // What miette is given: the text with control characters replaced.
            let text: &str = &w.0.text;
            for start in 0..=text.len() {
                for len in [0, 1, 2, 5] {
                    let len = len.min(text.len() - start);
                    let span: SourceSpan = (start, len).into();
                    for (before, after) in [(1, 1), (2, 0), (0, 2), (3, 3)] {
                        let ours = context(text, &w.0.miette_starts, &span, before, after);
                        let theirs = text.read_span(&span, before, after);
                        match (ours, theirs) {
                            (Ok(a), Ok(b)) => {
                                let what = format!("{text:?} {start}+{len} ({before},{after})");
                                assert_eq!(a.data(), b.data(), "{what}");
                                assert_eq!(a.span(), b.span(), "{what}");
                                assert_eq!(a.line(), b.line(), "{what}");
                                assert_eq!(a.column(), b.column(), "{what}");
                                assert_eq!(a.line_count(), b.line_count(), "{what}");
                            }
                            (Err(_), Err(_)) => {}
                            (a, b) => panic!(
                                "{text:?} {start}+{len}: ours {:?}, miette's {:?}",
                                a.is_ok(),
                                b.is_ok()
                            ),
                        }
                    }
                }
            }
        }
    }
}
