//! Rendering diagnostics: miette's graphical report for people, JSON for tools. Very long
//! lines are shown as a window around the problem so a 10 MB line never floods a terminal.

use super::snippet::{Windowed, MAX_LINE};
use crate::diag::escape::escape;
use crate::diag::{Diagnostic, Severity, Sources, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, SourceSpan};
use std::collections::HashMap;

/// One diagnostic as `check --format json` prints it (and the GitHub and SARIF renderers
/// read). Positions are 1-based, columns in characters; the end is exclusive (the position
/// just after the span's last character).
#[derive(serde::Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub help: Option<String>,
    /// The primary label first (the text under the snippet), then the related locations.
    pub labels: Vec<JsonLabel>,
}

/// A labelled location of a diagnostic.
#[derive(serde::Serialize)]
pub struct JsonLabel {
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub primary: bool,
}

/// The code of the diagnostic for a file `check` could not read.
pub const UNREADABLE: &str = "drbook::load::unreadable";

fn label(sources: &Sources, s: Span, message: &str, primary: bool) -> JsonLabel {
    let f = sources.get(s.file);
    let (line, column) = f.line_col(s.start as usize);
    let (end_line, end_column) = f.line_col(s.end as usize);
    JsonLabel {
        message: message.to_string(),
        file: f.name.clone(),
        line,
        column,
        end_line,
        end_column,
        primary,
    }
}

pub fn to_json(sources: &Sources, d: &Diagnostic) -> JsonDiagnostic {
    let main = label(sources, d.span, &d.label, true);
    let mut labels = vec![main];
    labels.extend(d.related.iter().map(|(s, l)| label(sources, *s, l, false)));
    let m = &labels[0];
    JsonDiagnostic {
        severity: d.severity,
        code: d.code,
        message: d.message.clone(),
        file: m.file.clone(),
        line: m.line,
        column: m.column,
        end_line: m.end_line,
        end_column: m.end_column,
        help: d.help.clone(),
        labels,
    }
}

/// The diagnostic for a file that could not be read (missing, no permission, a directory):
/// placed at its first position, with the OS error in the message.
pub fn unreadable(file: &str, message: String) -> JsonDiagnostic {
    JsonDiagnostic {
        severity: Severity::Error,
        code: UNREADABLE,
        message,
        file: file.to_string(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        help: Some("check the path and that it is a readable file".into()),
        labels: Vec::new(),
    }
}

fn source_span(s: Span, text_len: usize) -> SourceSpan {
    let start = (s.start as usize).min(text_len);
    let len = s.len().min(text_len - start).min(MAX_LINE);
    (start, len).into()
}

/// Renders diagnostics for a person.
pub fn human(sources: &Sources, diags: &[Diagnostic], color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    // One snippet source per file, built once: its line index makes each snippet cost the
    // lines it shows, not the file's length.
    let mut windows: HashMap<_, Windowed> = HashMap::new();
    for d in diags {
        let file = sources.get(d.span.file);
        let len = file.text.len();
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(escape(&d.label).into_owned()),
            source_span(d.span, len),
        )];
        for (s, l) in &d.related {
            if s.file == d.span.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(escape(l).into_owned()),
                    source_span(*s, len),
                ));
            }
        }
        let mut m = MietteDiagnostic::new(escape(&d.message).into_owned())
            .with_code(d.code)
            .with_severity(match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            })
            .with_labels(labels);
        if let Some(h) = &d.help {
            m = m.with_help(escape(h).into_owned());
        }
        let window =
            windows.entry(d.span.file).or_insert_with(|| Windowed::new(&file.name, &file.text));
        let report = miette::Report::new(m).with_source_code(window.clone());
        let _ = handler.render_report(&mut out, report.as_ref());
        let (line, col) = file.line_col(d.span.start as usize);
        for (s, l) in &d.related {
            if s.file != d.span.file {
                let f = sources.get(s.file);
                let (rl, rc) = f.line_col(s.start as usize);
                out.push_str(&format!("  note: {} at {}:{rl}:{rc}\n", escape(l), f.name));
            }
        }
        if file.text.is_empty() {
            out.push_str(&format!("  --> {}:{line}:{col}\n", file.name));
        }
        out.push('\n');
    }
    out
}

/// `2 errors, 1 warning`.
pub fn counts(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!("{}, {}", plural(errors, "error"), plural(warnings, "warning"))
}

/// A diagnostic as a plan lists it among its warnings.
pub fn plan_warning(sources: &Sources, d: &Diagnostic) -> crate::plan::PlanWarning {
    let j = to_json(sources, d);
    crate::plan::PlanWarning {
        code: j.code.to_string(),
        message: j.message,
        file: j.file,
        line: j.line,
        column: j.column,
    }
}
