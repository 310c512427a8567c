//! What the server offers to change: "did you mean" quick fixes and formatting (the same
//! `drbook fmt` layout). Both refuse to guess: a fix replaces only the misspelt word, and a
//! document that does not parse is left as it is.

use super::analysis::Analysis;
use super::text::Lines;
use crate::diag::FileId;
use crate::syntax;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Position, Range, TextEdit, WorkspaceEdit,
};
use std::collections::HashMap;

/// Quick fixes for the document's diagnostics that touch `[start, end]` and carry a
/// "did you mean `X`?" help.
pub fn code_actions(a: &Analysis, start: usize, end: usize) -> Vec<CodeActionOrCommand> {
    let mut out = Vec::new();
    for d in a.diags.iter().filter(|d| d.span.file == FileId(0)) {
        let (from, to) = super::index::span(d.span);
        if to < start || from > end {
            continue;
        }
        let Some(help) = &d.help else { continue };
        let Some(suggestion) = suggested(help) else { continue };
        let Some((from, to, new)) = replacement(&a.text, from, to, suggestion) else {
            continue;
        };
        let edit = TextEdit::new(a.lines.range(&a.text, from, to), new.clone());
        let diagnostic = super::diagnostics::convert(a, d);
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Replace with `{new}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic]),
            edit: Some(WorkspaceEdit {
                changes: Some(HashMap::from([(a.uri.clone(), vec![edit])])),
                ..WorkspaceEdit::default()
            }),
            is_preferred: Some(true),
            ..CodeAction::default()
        }));
    }
    out
}

/// `X` of a help line "... did you mean `X`? ...".
fn suggested(help: &str) -> Option<&str> {
    let at = help.find("did you mean `")? + "did you mean `".len();
    let len = help[at..].find("`?")?;
    Some(&help[at..at + len])
}

/// The misspelt word inside `[start, end)` and what replaces it: the whole span when it is
/// one word or one string (its quotes kept), else the span's first word.
fn replacement(text: &str, start: usize, end: usize, new: &str) -> Option<(usize, usize, String)> {
    let spanned = text.get(start..end)?;
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '/';
    if spanned.len() >= 2 && spanned.starts_with('"') && spanned.ends_with('"') {
        return Some((start + 1, end - 1, new.to_string()));
    }
    let word = spanned.len() - spanned.trim_start_matches(is_word).len();
    if word == 0 {
        return None;
    }
    Some((start, start + word, new.to_string()))
}

/// The whole document in `drbook fmt`'s layout, as one edit; nothing when it is formatted
/// already or does not parse cleanly.
pub fn format(text: &str) -> Vec<TextEdit> {
    let (parsed, diags) = syntax::parse(text, FileId(0));
    let Some(parsed) = parsed.filter(|_| diags.is_empty()) else { return Vec::new() };
    let formatted = syntax::fmt::format(text, &parsed);
    if formatted == text {
        return Vec::new();
    }
    let lines = Lines::new(text);
    let end = lines.position(text, text.len());
    vec![TextEdit::new(Range::new(Position::new(0, 0), end), formatted)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggestion_is_read_from_the_help_line() {
        assert_eq!(suggested("did you mean `restore`?"), Some("restore"));
        assert_eq!(suggested("no step `x`; did you mean `std/http`? or ..."), Some("std/http"));
        assert_eq!(suggested("declare it first"), None);
    }

    #[test]
    fn only_the_misspelt_word_is_replaced() {
        let text = "  ownr \"sre\"\n  needs restor\n  import \"std/htp\"";
        let at = |s: &str| text.find(s).expect("in text");
        let ownr = at("ownr");
        assert_eq!(
            replacement(text, ownr, ownr + "ownr \"sre\"".len(), "owner"),
            Some((ownr, ownr + 4, "owner".into()))
        );
        let restor = at("restor");
        assert_eq!(
            replacement(text, restor, restor + 6, "restore"),
            Some((restor, restor + 6, "restore".into()))
        );
        let quoted = at("\"std/htp\"");
        assert_eq!(
            replacement(text, quoted, quoted + 9, "std/http"),
            Some((quoted + 1, quoted + 8, "std/http".into()))
        );
        assert_eq!(replacement(text, 0, 2, "x"), None);
    }

    #[test]
    fn formatting_leaves_a_broken_document_alone() {
        assert!(format("runbook \"r\" {\n  step a {\n").is_empty());
        let edits = format("runbook \"r\" {\nowner   \"o\"\n}\n");
        assert_eq!(edits.len(), 1, "{edits:?}");
        assert_eq!(edits[0].new_text, "runbook \"r\" {\n  owner \"o\"\n}\n");
    }
}
