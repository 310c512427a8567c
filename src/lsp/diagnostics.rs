//! drbook's diagnostics as the protocol's: the code, the message with its help line, related
//! locations, errors and warnings. A problem inside an imported file is published for that
//! file and shown in the document too, at the import that brings it in.

use super::analysis::Analysis;
use super::index;
use crate::diag::{Diagnostic, FileId, Severity};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range, Uri,
};

/// Every file's diagnostics, the document's first (present even when empty, so that fixed
/// problems disappear).
pub fn by_file(a: &Analysis) -> Vec<(Uri, Vec<lsp_types::Diagnostic>)> {
    let mut out: Vec<(Uri, Vec<lsp_types::Diagnostic>)> = vec![(a.uri.clone(), Vec::new())];
    for d in &a.diags {
        let file = d.span.file;
        if file.0 != 0 {
            let mirrored = mirror(a, d);
            out[0].1.push(mirrored);
            if a.sources.get(file).path.is_none() {
                continue;
            }
            let Some(uri) = a.file_uri(file) else { continue };
            let converted = convert(a, d);
            match out.iter_mut().find(|(u, _)| *u == uri) {
                Some((_, list)) => list.push(converted),
                None => out.push((uri, vec![converted])),
            }
        } else {
            out[0].1.push(convert(a, d));
        }
    }
    out
}

/// The message as shown: drbook's message, then `help: ...` on its own line.
pub fn message(d: &Diagnostic) -> String {
    match &d.help {
        Some(h) => format!("{}\nhelp: {h}", d.message),
        None => d.message.clone(),
    }
}

fn severity(d: &Diagnostic) -> DiagnosticSeverity {
    match d.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
    }
}

pub fn convert(a: &Analysis, d: &Diagnostic) -> lsp_types::Diagnostic {
    let file = d.span.file;
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|(span, label)| {
            Some(DiagnosticRelatedInformation {
                location: Location::new(
                    a.file_uri(span.file)?,
                    a.range_in(span.file, index::span(*span)),
                ),
                message: label.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: a.range_in(file, index::span(d.span)),
        severity: Some(severity(d)),
        code: Some(NumberOrString::String(d.code.to_string())),
        source: Some("drbook".into()),
        message: message(d),
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

/// A problem of an imported file, shown at the document's import of it (or of the module
/// that imports it), pointing to where it really is.
fn mirror(a: &Analysis, d: &Diagnostic) -> lsp_types::Diagnostic {
    let file = d.span.file;
    let name = &a.sources.get(file).name;
    let at = a
        .index
        .imports
        .iter()
        .find(|i| a.module(&i.alias) == Some(file))
        .or_else(|| a.index.imports.first())
        .map_or(Range::default(), |i| a.range_in(FileId(0), i.span));
    let (line, col) = a.sources.get(file).line_col(index::span(d.span).0);
    let mut out = convert(a, d);
    out.range = at;
    out.message = format!("in `{name}` (line {line}, column {col}): {}", message(d));
    if let Some(uri) = a.file_uri(file) {
        let here = DiagnosticRelatedInformation {
            location: Location::new(uri, a.range_in(file, index::span(d.span))),
            message: if d.label.is_empty() { "here".into() } else { d.label.clone() },
        };
        out.related_information.get_or_insert_with(Vec::new).insert(0, here);
    }
    out
}
