//! The `drbook::lint::reparsed_interpolation` warning: a `${...}` that drbook inserts as one
//! quoted shell word, in a place where the shell (or a remote one) parses the value again, so
//! that `$(...)`, backticks or `;` inside it run:
//!
//! - the body of a heredoc whose delimiter is not quoted (`<<EOF`): quotes mean nothing there,
//!   `$(...)` and backticks expand;
//! - the text `eval` runs (any word after `eval`);
//! - the script of `sh -c`, `bash -c` (and `dash`, `zsh`, `ksh`) and `su -c` (the word after
//!   `-c`; positional arguments after it are safe);
//! - the remote command of `ssh` (every word after the host: ssh joins them for the remote
//!   shell).
//!
//! Prefixes are looked through: `sudo`, `env`, `xargs`, `nohup`, `exec`, `command`, `time`,
//! `nice`, `timeout`, and `NAME=value` assignments. The scanner is a small POSIX shell lexer:
//! quotes, backslashes, `$(...)` nesting, comments, command separators and heredocs.

use super::cx::Cx;
use crate::diag::Diagnostic;
use crate::syntax::ast::{Path, Str, StrPart};
use std::borrow::Cow;

/// Stands for the `i`-th reference in the flattened script (a private-use character).
const MARK: char = '\u{E000}';

/// Where the value is parsed again, for the message.
#[derive(Clone, Copy)]
enum Construct {
    Heredoc,
    Eval,
    ShC,
    SuC,
    Ssh,
}

impl Construct {
    fn describe(self) -> &'static str {
        match self {
            Construct::Heredoc => "in the body of an unquoted heredoc (`<<EOF`), which expands `$(...)` and backticks inside its value",
            Construct::Eval => "in the text `eval` parses again",
            Construct::ShC => "in the script of `sh -c`, which parses it again",
            Construct::SuC => "in the command of `su -c`, which a shell parses again",
            Construct::Ssh => "in the remote command of `ssh`, which the remote shell parses again",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Construct::Heredoc => "quote the delimiter (`<<'EOF'`) and read the value from `env { V = \"${...}\" }` as \"$V\" in the shell that runs the body, or write it with `printf '%s\\n' ${...}`",
            Construct::Eval | Construct::ShC | Construct::SuC => "pass it through `env { V = \"${...}\" }` and write \"$V\" inside single-quoted text (`sh -c 'cmd \"$V\"'`), or as a positional argument (`sh -c 'cmd \"$1\"' _ ${...}`)",
            Construct::Ssh => "send it on standard input instead: `env { V = \"${...}\" }` and `printf '%s\\n' \"$V\" | ssh HOST 'read -r v; cmd \"$v\"'`",
        }
    }
}

pub fn reparsed_interpolation(cx: &mut Cx, s: &Str) {
    if !may_reparse(&s.parts) {
        return;
    }
    let mut refs: Vec<&Path> = Vec::new();
    let mut script = String::new();
    flatten(&s.parts, &mut script, &mut refs);
    if refs.is_empty() {
        return;
    }
    let mut found: Vec<(usize, Construct)> = Vec::new();
    let mut lx = Lexer { chars: script.chars().collect(), at: 0, refs: 0 };
    lx.script(&mut found);
    found.sort_by_key(|&(i, _)| i);
    found.dedup_by_key(|&mut (i, _)| i);
    for (i, what) in found {
        let Some(r) = refs.get(i) else { continue };
        cx.error(
            Diagnostic::warning(
                "drbook::lint::reparsed_interpolation",
                r.span,
                format!("`${{{}}}` is {}", r.dotted(), what.describe()),
            )
            .label("a hostile value would run as code here")
            .help(what.help()),
        );
    }
}

/// Whether the string can hold any of the constructs at all: it needs a reference, and `<<` or
/// a command named `eval`, `su` or `…sh` in its text; a command's name is its word without
/// quotes and backslashes. Most scripts have none, and skip the lexer.
fn may_reparse(parts: &[StrPart]) -> bool {
    if !parts.iter().any(|p| matches!(p, StrPart::Ref(_) | StrPart::Word(_))) {
        return false;
    }
    // Literal text between two references is one run (adjacent pieces are joined).
    let mut run: Cow<str> = Cow::Borrowed("");
    for p in parts {
        match p {
            StrPart::Lit(t) if run.is_empty() => run = Cow::Borrowed(t),
            StrPart::Lit(t) => run.to_mut().push_str(t),
            _ if holds_needle(&run) => return true,
            _ => run = Cow::Borrowed(""),
        }
    }
    holds_needle(&run)
}

fn holds_needle(text: &str) -> bool {
    const NEEDLES: [&str; 4] = ["<<", "eval", "sh", "su"];
    if text.contains(['\'', '"', '\\']) {
        let bare: String = text.chars().filter(|c| !matches!(c, '\'' | '"' | '\\')).collect();
        NEEDLES.iter().any(|n| bare.contains(n))
    } else {
        NEEDLES.iter().any(|n| text.contains(n))
    }
}

fn flatten<'a>(parts: &'a [StrPart], out: &mut String, refs: &mut Vec<&'a Path>) {
    for p in parts {
        match p {
            StrPart::Lit(t) => out.push_str(&t.replace(MARK, " ")),
            StrPart::Ref(r) => {
                refs.push(r);
                out.push(MARK);
            }
            StrPart::Word(inner) => match first_ref(inner) {
                Some(r) => {
                    refs.push(r);
                    out.push(MARK);
                }
                None => out.push('x'),
            },
            StrPart::Bare(_) => out.push('x'),
        }
    }
}

fn first_ref(parts: &[StrPart]) -> Option<&Path> {
    parts.iter().find_map(|p| match p {
        StrPart::Ref(r) => Some(r),
        StrPart::Word(w) => first_ref(w),
        _ => None,
    })
}

/// One shell word: which references it holds.
struct Word {
    text: String,
    refs: Vec<usize>,
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    /// References seen so far (the index of the next [`MARK`]).
    refs: usize,
}

impl Lexer {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.at + k).copied()
    }

    fn script(&mut self, found: &mut Vec<(usize, Construct)>) {
        let mut words: Vec<Word> = Vec::new();
        let mut heredocs: Vec<(String, bool, bool)> = Vec::new();
        while let Some(c) = self.peek(0) {
            match c {
                ' ' | '\t' => self.at += 1,
                '\n' => {
                    self.at += 1;
                    command(&words, found);
                    words.clear();
                    for (delim, quoted, strip) in std::mem::take(&mut heredocs) {
                        self.heredoc_body(&delim, quoted, strip, found);
                    }
                }
                ';' | '&' | '|' | '(' | ')' => {
                    self.at += 1;
                    command(&words, found);
                    words.clear();
                }
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.at += 1;
                    }
                }
                '<' if self.peek(1) == Some('<') && self.peek(2) != Some('<') => {
                    self.at += 2;
                    let strip = self.peek(0) == Some('-');
                    if strip {
                        self.at += 1;
                    }
                    while matches!(self.peek(0), Some(' ' | '\t')) {
                        self.at += 1;
                    }
                    let w = self.word();
                    let quoted = w.text.contains(['\'', '"', '\\']);
                    let delim: String =
                        w.text.chars().filter(|c| !matches!(c, '\'' | '"' | '\\')).collect();
                    heredocs.push((delim, quoted, strip));
                }
                _ => {
                    let w = self.word();
                    if w.text.is_empty() {
                        self.at += 1;
                    } else {
                        words.push(w);
                    }
                }
            }
        }
        command(&words, found);
    }

    /// Reads the lines of a heredoc body up to its delimiter line.
    fn heredoc_body(
        &mut self,
        delim: &str,
        quoted: bool,
        strip: bool,
        found: &mut Vec<(usize, Construct)>,
    ) {
        while self.at < self.chars.len() {
            let start = self.at;
            while self.peek(0).is_some_and(|c| c != '\n') {
                self.at += 1;
            }
            let line: String = self.chars[start..self.at].iter().collect();
            self.at += 1;
            let shown = if strip { line.trim_start_matches('\t') } else { &line };
            if shown == delim {
                return;
            }
            for _ in line.matches(MARK) {
                if !quoted {
                    found.push((self.refs, Construct::Heredoc));
                }
                self.refs += 1;
            }
        }
    }

    /// One word, with quotes, backslashes and `$(...)` kept in its text.
    fn word(&mut self) -> Word {
        let mut w = Word { text: String::new(), refs: Vec::new() };
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            match (quote, c) {
                (None, ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>') if depth == 0 => break,
                (None, '(' | ')') if depth == 0 && !w.text.ends_with('$') => break,
                (Some('\''), '\'') => quote = None,
                (Some('\''), _) => {}
                (_, '\\') => {
                    w.text.push(c);
                    self.at += 1;
                    match self.peek(0) {
                        Some(n) if n != MARK => {
                            w.text.push(n);
                            self.at += 1;
                        }
                        _ => {}
                    }
                    continue;
                }
                (Some('"'), '"') => quote = None,
                (None, '\'' | '"') => quote = Some(c),
                (_, '(') if w.text.ends_with('$') || depth > 0 => depth += 1,
                (_, ')') if depth > 0 => depth -= 1,
                _ => {}
            }
            if c == MARK {
                w.refs.push(self.refs);
                self.refs += 1;
            }
            w.text.push(c);
            self.at += 1;
        }
        w
    }
}

/// The commands inside each `$(...)` of `w`, judged like any other.
fn substitutions(w: &Word, found: &mut Vec<(usize, Construct)>) {
    let chars: Vec<char> = w.text.chars().collect();
    let mut k = 0;
    while k + 1 < chars.len() {
        if chars[k] != '$' || chars[k + 1] != '(' {
            k += 1;
            continue;
        }
        let (start, mut depth, mut end) = (k + 2, 1usize, k + 2);
        while end < chars.len() && depth > 0 {
            match chars[end] {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            end += 1;
        }
        let before = chars[..start].iter().filter(|&&c| c == MARK).count();
        let inner: Vec<char> = chars[start..end.saturating_sub(1).max(start)].to_vec();
        if let Some(&base) = w.refs.get(before) {
            Lexer { chars: inner, at: 0, refs: base }.script(found);
        }
        k = end;
    }
}

/// Judges one simple command's words.
fn command(words: &[Word], found: &mut Vec<(usize, Construct)>) {
    for w in words.iter().filter(|w| w.text.contains("$(")) {
        substitutions(w, found);
    }
    let mut i = 0;
    // Prefixes that run the rest as a command.
    loop {
        let Some(w) = words.get(i) else { return };
        let name = w.text.as_str();
        if is_assignment(name) || matches!(name, "nohup" | "exec" | "command" | "time") {
            i += 1;
        } else if matches!(name, "sudo" | "env" | "xargs" | "nice") {
            // Their options that take a value as the next word.
            let with_arg: &[&str] = match name {
                "sudo" => &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"],
                "env" => &["-u", "-C", "-S"],
                "xargs" => &["-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s"],
                _ => &["-n"],
            };
            i += 1;
            while let Some(w) = words.get(i) {
                if with_arg.contains(&w.text.as_str()) {
                    i += 2;
                } else if w.text.starts_with('-') || is_assignment(&w.text) {
                    i += 1;
                } else {
                    break;
                }
            }
        } else if name == "timeout" {
            i += 1;
            while words.get(i).is_some_and(|w| w.text.starts_with('-')) {
                i += 1;
            }
            i += 1;
        } else {
            break;
        }
    }
    let rest = words.get(i..).unwrap_or_default();
    let Some(first) = rest.first() else { return };
    let name = first.text.rsplit('/').next().unwrap_or_default();
    let mut flag = |w: &Word, what: Construct| found.extend(w.refs.iter().map(|&r| (r, what)));
    match name {
        "eval" => rest[1..].iter().for_each(|w| flag(w, Construct::Eval)),
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "su" => {
            let what = if name == "su" { Construct::SuC } else { Construct::ShC };
            let c = rest.iter().position(|w| {
                w.text == "-c"
                    || (w.text.starts_with('-')
                        && !w.text.starts_with("--")
                        && w.text.ends_with('c'))
            });
            if let Some(script) = c.and_then(|c| rest.get(c + 1)) {
                flag(script, what);
            }
        }
        "ssh" => {
            // Options that take a value.
            const WITH_ARG: &str = "BbcDEeFIiJLlmOoPpQRSWw";
            let mut k = 1;
            while let Some(w) = rest.get(k) {
                let t = w.text.as_str();
                if t == "--" {
                    k += 1;
                    break;
                }
                if !t.starts_with('-') {
                    break;
                }
                let last = t.chars().last().unwrap_or_default();
                k += if t.len() == 2 && WITH_ARG.contains(last) { 2 } else { 1 };
            }
            rest.iter().skip(k + 1).for_each(|w| flag(w, Construct::Ssh));
        }
        _ => {}
    }
}

fn is_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(n, _)| {
        !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}
