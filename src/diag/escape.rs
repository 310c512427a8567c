//! Text shown to people is made inert: terminal control characters that came from params,
//! approver names, runbook strings or a command's output are written as visible escapes, so
//! that `\r` or `ESC [2K` cannot hide part of a command on a terminal, and bidi controls cannot
//! reorder it.
//!
//! `\n` and `\t` pass; `\r` becomes `\r`, ESC `\e`, every other C0 control, DEL and C1
//! control `\xNN`, and the bidi controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069)
//! `\u{NNNN}`. JSON output needs none of this (serde escapes what JSON must) and must not get
//! it: escaping is for the human renderers only.

use std::borrow::Cow;
use std::io::{self, Write};

/// A bidirectional-text control: invisible, and it reorders what is shown around it.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// `s` with every control character but `\n` and `\t` written as a visible escape.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push(&mut out, c);
    }
    Cow::Owned(out)
}

fn push(out: &mut String, c: char) {
    match c {
        '\r' => out.push_str("\\r"),
        '\u{1b}' => out.push_str("\\e"),
        c if is_bidi_control(c) => out.push_str(&format!("\\u{{{:04X}}}", c as u32)),
        c if is_unsafe(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push(c),
    }
}

/// A writer that escapes (as [`escape`]) what passes through it; bytes that are not UTF-8 are
/// written as `\xNN`. A character split across two writes is held until its end arrives.
pub struct Escaped<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Escaped<W> {
    pub fn new(inner: W) -> Escaped<W> {
        Escaped { inner, pending: Vec::new() }
    }
}

impl<W: Write> Write for Escaped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    self.inner.write_all(escape(s).as_bytes())?;
                    self.pending.clear();
                    break;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    let head = std::str::from_utf8(&self.pending[..valid]).unwrap_or_default();
                    self.inner.write_all(escape(head).as_bytes())?;
                    let Some(bad) = e.error_len() else {
                        // An incomplete character at the end: wait for the rest.
                        self.pending.drain(..valid);
                        break;
                    };
                    for b in &self.pending[valid..valid + bad] {
                        write!(self.inner, "\\x{b:02x}")?;
                    }
                    self.pending.drain(..valid + bad);
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for Escaped<W> {
    fn drop(&mut self) {
        for b in std::mem::take(&mut self.pending) {
            let _ = write!(self.inner, "\\x{b:02x}");
        }
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_and_text_passes() {
        assert_eq!(escape("a\tb\nc"), "a\tb\nc");
        assert_eq!(escape("ok\r\u{1b}[2Kevil"), "ok\\r\\e[2Kevil");
        assert_eq!(escape("\u{7}\u{0}\u{7f}\u{9b}"), "\\x07\\x00\\x7f\\x9b");
        assert_eq!(escape("a\u{202E}b"), "a\\u{202E}b");
        assert_eq!(escape("été → 𝄞"), "été → 𝄞");
    }

    #[test]
    fn the_writer_escapes_across_split_writes() {
        let mut out = Vec::new();
        {
            let mut w = Escaped::new(&mut out);
            let bytes = "x\u{1b}é\u{9b}y".as_bytes();
            for b in bytes {
                w.write_all(std::slice::from_ref(b)).expect("write");
            }
            w.write_all(b"\xff!").expect("write");
        }
        assert_eq!(String::from_utf8(out).expect("utf8"), "x\\eé\\x9by\\xff!");
    }
}
