//! `--params-file FILE`: params read from a file, one `NAME=VALUE` per line, for planning every
//! runbook of a repository in CI without a long command line.
//!
//! Input: the file's text. Output: the `(name, value)` pairs in file order, or diagnostics
//! pointing at the offending line (`drbook::params::bad_line`, `drbook::params::duplicate`).
//! A line is blank, a comment (its first non-blank character is `#`), or `NAME=VALUE`: the
//! name and the value lose their surrounding blanks, and the value is everything after the
//! first `=` (a `#` or `=` inside it is part of it). `--param` flags win over the file.
//!
//! `RUNBOOK.params` beside `RUNBOOK.drbook` is the runbook's own params file: `plan` reads it
//! when no `--params-file` is given (see [`beside`]).

use super::outcome::CliError;
use super::report;
use crate::diag::{Diagnostic, Sources, Span};
use std::path::{Path, PathBuf};

/// The params file `plan` reads for `runbook` when none is given: the same path with the
/// extension `.params`, when that file exists.
pub fn beside(runbook: &Path) -> Option<PathBuf> {
    let candidate = runbook.with_extension("params");
    (candidate != runbook && candidate.is_file()).then_some(candidate)
}

/// Reads `path` and returns its pairs; a file that cannot be read, or a bad line, is bad input
/// (exit 2) with the file and line.
pub fn read(path: &Path, color: bool) -> Result<Vec<(String, String)>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::invalid(format!("cannot read the params file `{}`: {e}", path.display()))
    })?;
    let mut sources = Sources::new();
    let file = sources.add(path.display().to_string(), Some(path.to_path_buf()), text.into());
    let text = sources.get(file).text.clone();
    let (pairs, diags) = parse(&text, |start, end| Span::new(file, start, end));
    if diags.is_empty() {
        return Ok(pairs);
    }
    Err(CliError::Diagnostics(format!(
        "{}failed: {} ({})",
        report::human(&sources, &diags, color),
        path.display(),
        report::counts(diags.len(), 0)
    )))
}

/// The pairs of a params file's text, and a diagnostic for every bad line (all of them).
fn parse(
    text: &str,
    span: impl Fn(usize, usize) -> Span,
) -> (Vec<(String, String)>, Vec<Diagnostic>) {
    let (mut pairs, mut diags) = (Vec::<(String, String)>::new(), Vec::new());
    let mut first: Vec<Span> = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let at = span(start, start + line.len());
        start += raw.len();
        let code = line.trim();
        if code.is_empty() || code.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=').map(|(n, v)| (n.trim(), v.trim())) else {
            diags.push(
                Diagnostic::error(
                    "drbook::params::bad_line",
                    at,
                    "a params file line is `NAME=VALUE`",
                )
                .label("no `=` on this line")
                .help("write one `NAME=VALUE` per line; `#` starts a comment line"),
            );
            continue;
        };
        if !is_name(name) {
            diags.push(
                Diagnostic::error(
                    "drbook::params::bad_line",
                    at,
                    format!("`{}` is not a param name", crate::diag::printable(name)),
                )
                .label("before the `=`")
                .help(
                    "a param name is letters, digits, `_` and `-`, starting with a letter or `_`",
                ),
            );
            continue;
        }
        if let Some(i) = pairs.iter().position(|(n, _)| n == name) {
            diags.push(
                Diagnostic::error(
                    "drbook::params::duplicate",
                    at,
                    format!("param `{name}` is set twice"),
                )
                .label("set again here")
                .related(first[i], "first set here")
                .help("keep one line per param"),
            );
            continue;
        }
        pairs.push((name.to_string(), value.to_string()));
        first.push(at);
    }
    (pairs, diags)
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The file's pairs, then the `--param` pairs: a name given by both keeps the flag's value.
pub fn merge(file: Vec<(String, String)>, flags: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<_> =
        file.into_iter().filter(|(n, _)| !flags.iter().any(|(f, _)| f == n)).collect();
    out.extend(flags);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::FileId;

    fn pairs(text: &str) -> (Vec<(String, String)>, Vec<&'static str>) {
        let (p, d) = parse(text, |s, e| Span::new(FileId(0), s, e));
        (p, d.iter().map(|d| d.code).collect())
    }

    #[test]
    fn comments_blank_lines_and_blanks_around_names_and_values_are_dropped() {
        let (p, d) = pairs("# c\n\n  a = 1 \r\nb=x=y # z\n   # indented comment\nc-d=\n");
        assert!(d.is_empty(), "{d:?}");
        let want = [("a", "1"), ("b", "x=y # z"), ("c-d", "")];
        assert_eq!(p, want.map(|(n, v)| (n.to_string(), v.to_string())).to_vec());
    }

    #[test]
    fn every_bad_line_is_reported() {
        let (_, d) = pairs("a\n1x=2\n=3\nb=1\nb=2\n");
        assert_eq!(
            d,
            vec![
                "drbook::params::bad_line",
                "drbook::params::bad_line",
                "drbook::params::bad_line",
                "drbook::params::duplicate"
            ]
        );
    }

    #[test]
    fn a_flag_wins_over_the_file() {
        let file = vec![("a".into(), "1".into()), ("b".into(), "2".into())];
        let got = merge(file, vec![("a".into(), "9".into())]);
        assert_eq!(got, vec![("b".into(), "2".into()), ("a".into(), "9".into())]);
    }
}
