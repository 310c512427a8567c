//! Diagnostics shared by every stage: a span plus a kind with a code, a message, a label and a
//! help line. Stages only *produce* diagnostics; the CLI renders them (miette, JSON).
//!
//! Invariant: every diagnostic points into a file registered in [`Sources`], so that errors in
//! imported files and spliced templates point at the right file.

pub mod escape;
mod source;

pub use source::{FileId, SourceFile, SourceText, Sources, Span};

/// How bad a diagnostic is. `--strict` promotes warnings to errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found in a runbook.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code such as `drbook::check::unknown_step`.
    pub code: &'static str,
    /// Short lowercase message with names in backticks.
    pub message: String,
    pub span: Span,
    /// Text shown under the snippet at `span`.
    pub label: String,
    pub help: Option<String>,
    /// Secondary locations (the first definition of a duplicate, say).
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, span, message) }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest candidate to `name`, for "did you mean" help lines. The one helper used
/// everywhere a name can be misspelled.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if name.len() > 64 {
        return None; // nobody misspells a name this long, and fuzzy matching it is costly
    }
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let score = strsim::jaro_winkler(name, c);
        let close = score >= 0.8 || strsim::levenshtein(name, c) <= name.len().max(2) / 3;
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Text from the input made safe for a terminal: control characters (an escape sequence could
/// rewrite the reader's screen) are shown escaped.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// A name as shown in a message: at most 40 characters, then `…`.
pub fn shorten(name: &str) -> std::borrow::Cow<'_, str> {
    match name.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &name[..cut]).into(),
        None => name.into(),
    }
}

/// `Some("did you mean `x`?")` when a close candidate exists.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_step_names() {
        let names = ["promote_db", "scale_up", "move_dns"];
        assert_eq!(did_you_mean("promte_db", names), Some("promote_db"));
        assert_eq!(did_you_mean("scaleup", names), Some("scale_up"));
        assert_eq!(did_you_mean("zzz", names), None);
    }
}
