//! Spelling values as drbook source text: quoted strings (escapes, no interpolation), block
//! strings, identifiers made from prose (`slug`), durations (`1h30m`).

use crate::model::{fmt_duration, Millis};
use crate::syntax::strings::is_ident;

/// `"..."` with `\`, `"`, `${`, newlines, tabs escaped and other control characters dropped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    out.push_str(&escape(s, true));
    out.push('"');
    out
}

fn escape(s: &str, newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            '\n' if newlines => out.push_str("\\n"),
            '\n' => out.push('\n'),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A block string (`"""` ... `"""`) indented by `indent`, for multi-line prose.
pub fn block(s: &str, indent: &str) -> String {
    let mut out = String::from("\"\"\"\n");
    for line in s.trim_end().lines() {
        let line = escape(line.trim_end(), false);
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("{indent}  {line}\n"));
        }
    }
    out.push_str(indent);
    out.push_str("\"\"\"");
    out
}

/// A string literal: a block string when `s` has several lines, else a quoted one.
pub fn string(s: &str, indent: &str) -> String {
    if s.trim_end().contains('\n') {
        block(s, indent)
    } else {
        quote(s.trim())
    }
}

const STOP: &[&str] = &[
    "a", "an", "the", "is", "are", "to", "of", "for", "from", "as", "and", "be", "in", "on",
    "that", "this", "with", "truly",
];

/// An identifier from prose: the first three words that carry meaning, lowercase, joined by
/// `_` (`"Promote DR database to primary"` → `promote_dr_database`); `fallback` when nothing
/// is left.
pub fn slug(text: &str, fallback: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let meaningful: Vec<&String> = words.iter().filter(|w| !STOP.contains(&w.as_str())).collect();
    let chosen: Vec<&str> =
        if meaningful.is_empty() { words.iter().collect::<Vec<_>>() } else { meaningful }
            .into_iter()
            .take(3)
            .map(String::as_str)
            .collect();
    ident(&chosen.join("_"), fallback)
}

/// `s` as an identifier: characters outside `[A-Za-z0-9_-]` become `_`, a leading digit or
/// `-` gets a `_` before it; `fallback` when nothing is left.
pub fn ident(s: &str, fallback: &str) -> String {
    let mut out: String = s
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    let out = out.trim_matches('_').to_string();
    let out = if out.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        format!("_{out}")
    } else {
        out
    };
    if is_ident(&out) {
        out
    } else {
        fallback.to_string()
    }
}

/// Makes `id` unique among `taken` (`id`, `id_2`, `id_3`, ...) and records it.
pub fn unique(id: String, taken: &mut Vec<String>) -> String {
    let mut candidate = id.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{id}_{n}");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

/// drbook's spelling of a length: `1h`, `15m`, `0s`.
pub fn duration(ms: Millis) -> String {
    fmt_duration(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_the_words_that_matter() {
        assert_eq!(slug("Promote DR database to primary", "s"), "promote_dr_database");
        assert_eq!(
            slug("Verify primary region is truly unavailable", "s"),
            "verify_primary_region"
        );
        assert_eq!(slug("Verify services are healthy", "s"), "verify_services_healthy");
        assert_eq!(slug("3 things", "s"), "_3_things");
        assert_eq!(slug("!!!", "step_1"), "step_1");
        assert_eq!(slug("the a", "s"), "the_a");
    }

    #[test]
    fn ids_are_unique() {
        let mut taken = Vec::new();
        assert_eq!(unique("a".into(), &mut taken), "a");
        assert_eq!(unique("a".into(), &mut taken), "a_2");
        assert_eq!(unique("a".into(), &mut taken), "a_3");
    }

    #[test]
    fn quoting_escapes_what_the_language_reads() {
        assert_eq!(quote("say \"hi\" ${x} $HOME \\"), r#""say \"hi\" \${x} $HOME \\""#);
        assert_eq!(quote("a\nb\tc\u{7}"), r#""a\nb\tc""#);
        assert_eq!(ident("warm standby", "x"), "warm_standby");
        assert_eq!(ident("", "x"), "x");
    }
}
