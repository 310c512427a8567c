//! Reading a DR plan document from untrusted bytes: a size cap before anything is parsed,
//! then serde-saphyr under an explicit [`Budget`], so that hostile YAML (alias bombs, deep
//! nesting, huge scalars, wrong types, duplicate keys, bytes that are not UTF-8) comes back as
//! one [`Diagnostic`] with a span, never a panic or an unbounded allocation.
//!
//! Limits (documented in README, "Import"):
//! - the file: at most [`MAX_BYTES`] (16 MiB), checked by [`read_capped`] while reading;
//! - nesting: at most 64 levels of mappings and sequences (flow collections: 32);
//! - aliases: at most 1,000 `*ref`s, 100,000 replayed events in all;
//! - nodes: at most 250,000; parser events at most 1,000,000; one document.

use super::DrPlan;
use crate::diag::{Diagnostic, FileId, Sources, Span};
use serde_saphyr::options::DuplicateKeyPolicy;
use serde_saphyr::{Budget, Options};
use std::io::Read;
use std::path::Path;

/// The largest document `import` reads.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

const CODE_READ: &str = "drbook::import::unreadable";
const CODE_SIZE: &str = "drbook::import::too_large";
const CODE_UTF8: &str = "drbook::import::not_utf8";
const CODE_YAML: &str = "drbook::import::bad_document";

/// What reading produced: the sources the diagnostic points into, and the document or why not.
pub struct Reading {
    pub sources: Sources,
    pub file: FileId,
    pub result: Result<DrPlan, Diagnostic>,
}

/// Reads at most [`MAX_BYTES`] + 1 bytes of `path`: `Err` only when the file cannot be opened
/// or read at all.
pub fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    f.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads the file `path` (shown as `label`).
pub fn read_path(path: &Path, label: &str) -> Reading {
    match read_capped(path) {
        Ok(bytes) => read_bytes(label, &bytes),
        Err(e) => {
            let mut sources = Sources::new();
            let file = sources.add(label.to_string(), Some(path.to_path_buf()), "".into());
            let d = Diagnostic::error(
                CODE_READ,
                Span::new(file, 0, 0),
                format!("cannot read `{label}`: {e}"),
            )
            .label("unreadable")
            .help("check the path and its permissions");
            Reading { sources, file, result: Err(d) }
        }
    }
}

/// Reads a document from `bytes` (at most [`MAX_BYTES`] of them are looked at).
pub fn read_bytes(label: &str, bytes: &[u8]) -> Reading {
    let mut sources = Sources::new();
    let cut = bytes.len().min(MAX_BYTES);
    let (text, utf8_error) = match std::str::from_utf8(&bytes[..cut]) {
        Ok(t) => (t.to_string(), None),
        Err(e) if e.error_len().is_none() && bytes.len() > MAX_BYTES => {
            (String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned(), None)
        }
        Err(e) => (String::from_utf8_lossy(&bytes[..cut]).into_owned(), Some(e.valid_up_to())),
    };
    let file = sources.add(label.to_string(), None, text.as_str().into());
    let result = if bytes.len() > MAX_BYTES {
        let at = text.len();
        Err(Diagnostic::error(
            CODE_SIZE,
            Span::new(file, at, at),
            format!("`{label}` is larger than {} MiB; not read", MAX_BYTES / (1024 * 1024)),
        )
        .label("the limit is reached here")
        .help("a DR plan document is a few kilobytes; split or trim the file"))
    } else if let Some(at) = utf8_error {
        Err(Diagnostic::error(
            CODE_UTF8,
            Span::new(file, at, at + 1),
            "the document is not valid UTF-8",
        )
        .label("this byte is not UTF-8")
        .help("save the document as UTF-8"))
    } else {
        parse(&text, file)
    };
    Reading { sources, file, result }
}

/// The options every document is read with.
pub fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = 64;
    budget.flow_nesting_limit = 32;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_nodes = 250_000;
    budget.max_events = 1_000_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = MAX_BYTES;
    budget.max_recorded_anchor_events = 100_000;
    budget.max_recorded_anchor_bytes = MAX_BYTES;
    budget.max_inclusion_depth = 0;
    let mut opts = Options::default();
    opts.budget = Some(budget);
    opts.duplicate_keys = DuplicateKeyPolicy::Error;
    opts.alias_limits.max_total_replayed_events = 100_000;
    opts.alias_limits.max_alias_expansions_per_anchor = 100;
    opts.with_snippet = false;
    opts
}

/// Parses `text`, registered as `file`, into a [`DrPlan`].
pub fn parse(text: &str, file: FileId) -> Result<DrPlan, Diagnostic> {
    if text.trim().lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(Diagnostic::error(CODE_YAML, Span::new(file, 0, 0), "the document is empty")
            .label("nothing here")
            .help("a DR plan document is a mapping with `metadata`, `procedures`, ... (see the guide's template)"));
    }
    let result =
        std::panic::catch_unwind(|| serde_saphyr::from_str_with_options::<DrPlan>(text, options()));
    let err = match result {
        Ok(Ok(doc)) => return Ok(doc),
        Ok(Err(e)) => e,
        Err(_) => {
            return Err(Diagnostic::error(
                CODE_YAML,
                Span::new(file, 0, 0),
                "the YAML reader failed on this document",
            )
            .label("here")
            .help("simplify the document"));
        }
    };
    let at = err.location().map_or(0, |l| offset(text, l.line(), l.column()));
    let message = first_line(&err.to_string());
    let help = if message.contains("budget")
        || message.contains("limit")
        || message.contains("depth")
    {
        "the document exceeds a reading limit (nesting 64, aliases 1,000, nodes 250,000); a DR plan document needs none of that"
    } else if message.contains("duplicate") {
        "each key may appear once in a mapping; remove one of them"
    } else if message.contains("tab") {
        "indent YAML with spaces, not tabs"
    } else {
        "compare the document with the DR planning guide's template (README, \"The DR plan document\")"
    };
    let end = text[at..].find('\n').map_or(text.len(), |n| at + n).min(at + 1).max(at);
    Err(Diagnostic::error(
        CODE_YAML,
        Span::new(file, at, end),
        format!("not a DR plan document: {message}"),
    )
    .label(message)
    .help(help))
}

/// The message without serde-saphyr's own location suffix.
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    let line = match line.rfind(" at line ") {
        Some(n) => &line[..n],
        None => line,
    };
    let line = line.split(", set DuplicateKeyPolicy").next().unwrap_or(line);
    crate::diag::printable(line).chars().take(200).collect()
}

/// The byte offset of 1-based `line` and character `column` in `text` (clamped to the text).
pub fn offset(text: &str, line: u64, column: u64) -> usize {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(n) => start += n + 1,
            None => return text.len(),
        }
    }
    let rest = &text[start..];
    let col = usize::try_from(column.max(1) - 1).unwrap_or(usize::MAX);
    start + rest.char_indices().nth(col).map_or(rest.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(text: &[u8]) -> (usize, usize, String) {
        let r = read_bytes("t.yaml", text);
        let d = r.result.expect_err("fails");
        let (l, c) = r.sources.get(r.file).line_col(d.span.start as usize);
        (l, c, d.message)
    }

    #[test]
    fn the_template_reads() {
        let text = include_bytes!("../../tests/fixtures/dr-plan/guide-template.yaml");
        let doc = read_bytes("t.yaml", text).result.expect("reads");
        assert!(doc.procedures.is_some());
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let (l, _, m) = fails(b"metadata:\n  owner: x\nprocedures:\n  failover:\n    steps: 5\n");
        assert_eq!(l, 5, "{m}");
    }

    #[test]
    fn duplicate_keys_and_bad_bytes_fail() {
        let (l, _, _) = fails(b"metadata:\n  owner: a\n  owner: b\n");
        assert_eq!(l, 3);
        let (l, c, m) = fails(b"metadata:\n  owner: \"a\xff\"\n");
        assert_eq!((l, c), (2, 12), "{m}");
        assert!(fails(b"").2.contains("empty"));
        assert!(fails(b"- a\n- b\n").2.contains("not a DR plan"));
    }

    #[test]
    fn offsets_count_characters() {
        assert_eq!(offset("ab\néx", 2, 2), 5);
        assert_eq!(offset("ab", 9, 1), 2);
    }
}
