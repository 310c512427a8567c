//! Completion, decided by the text before the cursor (so it works in a half-typed line): step
//! ids after `needs`, role names after `by`, templates and their parameters in `use`, names in
//! `${`, and otherwise the keywords the enclosing block accepts (found by counting braces
//! outside strings and comments, so it needs no parse).

use super::analysis::Analysis;
use crate::syntax::keywords;
use lsp_types::{CompletionItem, CompletionItemKind, InsertTextFormat};

/// Completions at byte `offset` of `text` (the document as it is now); names come from `a`
/// (which may be the last analysis whose structure was intact).
pub fn complete(a: &Analysis, text: &str, offset: usize) -> Vec<CompletionItem> {
    let offset = floor(text, offset);
    let line = &text[text[..offset].rfind('\n').map_or(0, |i| i + 1)..offset];
    let trimmed = line.trim_start();
    if let Some(inside) = open_interpolation(line) {
        return interpolation(a, text, offset, inside);
    }
    let word = |w: &str| trimmed == w || trimmed.starts_with(&format!("{w} "));
    let here = a.index.step_at(offset).map(|s| s.id.clone());
    if word("needs") {
        // The ids already listed, not the one being typed.
        let listed = trimmed["needs".len()..]
            .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '-');
        let given: Vec<&str> = listed.split([',', ' ']).filter(|s| !s.is_empty()).collect();
        return a
            .index
            .steps
            .iter()
            .filter(|s| Some(&s.id) != here.as_ref() && !given.contains(&s.id.as_str()))
            .map(|s| item(&s.id, CompletionItemKind::REFERENCE, s.title.clone()))
            .collect();
    }
    if word("by") || trimmed.contains("{ by ") || trimmed.ends_with("{ by") {
        return a
            .index
            .roles
            .iter()
            .map(|r| item(&r.name, CompletionItemKind::CONSTANT, Some(r.members.clone())))
            .collect();
    }
    if word("use") {
        return uses(a, &trimmed["use".len()..]);
    }
    let blocks = blocks(text, offset);
    let is_word_start = trimmed.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_word_start {
        return Vec::new();
    }
    let words: &[&str] = match blocks.last().map(String::as_str) {
        None => keywords::TOP,
        Some("runbook") => keywords::RUNBOOK,
        Some("step" | "finally" | "template") => keywords::STEP,
        Some("approval") => keywords::APPROVAL,
        Some("rollback") => &["run", "http", "ssm", "wait", "manual", "notify", "timeout", "retry"],
        Some("trigger") => keywords::TRIGGER,
        Some("drills") => keywords::DRILLS,
        Some("http") => keywords::HTTP,
        Some("ssm") => keywords::SSM,
        Some(_) => &[],
    };
    words.iter().map(|w| keyword(w)).collect()
}

fn floor(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        ..CompletionItem::default()
    }
}

fn keyword(w: &str) -> CompletionItem {
    let detail = keywords::ACTIONS.contains(&w).then(|| "action".to_string());
    item(w, CompletionItemKind::KEYWORD, detail)
}

/// The text after an unclosed `${` on this line.
fn open_interpolation(line: &str) -> Option<&str> {
    let at = line.rfind("${")?;
    let inside = &line[at + 2..];
    (!inside.contains('}')).then_some(inside)
}

/// Names for `${`: params, secrets, template parameters, `steps.ID.CAPTURE`, built-ins.
fn interpolation(a: &Analysis, text: &str, offset: usize, inside: &str) -> Vec<CompletionItem> {
    let ix = &a.index;
    if let Some(rest) = inside.trim_start().strip_prefix("steps.") {
        if let Some((id, _)) = rest.split_once('.') {
            let Some(step) = ix.step(id) else { return Vec::new() };
            return step
                .captures
                .iter()
                .map(|c| item(c, CompletionItemKind::FIELD, Some(format!("capture of `{id}`"))))
                .collect();
        }
        return ix
            .steps
            .iter()
            .filter(|s| !s.captures.is_empty())
            .map(|s| item(&s.id, CompletionItemKind::REFERENCE, Some(s.captures.join(", "))))
            .collect();
    }
    let mut out: Vec<CompletionItem> = ix
        .names
        .iter()
        .map(|n| {
            let kind = if n.kind == "secret" {
                CompletionItemKind::CONSTANT
            } else {
                CompletionItemKind::VARIABLE
            };
            item(&n.name, kind, Some(n.kind.to_string()))
        })
        .collect();
    if let Some(t) = ix.template_at(floor(text, offset)) {
        out.extend(t.params.iter().map(|(p, _)| {
            item(p, CompletionItemKind::VARIABLE, Some(format!("parameter of `{}`", t.name)))
        }));
    }
    out.push(item("steps", CompletionItemKind::MODULE, Some("steps.ID.CAPTURE".into())));
    out.push(item("run.id", CompletionItemKind::CONSTANT, Some("this run's id".into())));
    out.push(item("runbook.name", CompletionItemKind::CONSTANT, Some("the runbook's name".into())));
    out
}

/// After `use`: `alias.TEMPLATE(...)` for every imported template, or inside the parentheses,
/// the template's parameters not given yet.
fn uses(a: &Analysis, after: &str) -> Vec<CompletionItem> {
    let after = after.trim_start();
    if let Some((head, args)) = after.split_once('(') {
        let Some((alias, name)) = head.trim().split_once('.') else { return Vec::new() };
        let Some(t) = a
            .module(alias)
            .and_then(|f| a.index_of(f))
            .and_then(|ix| ix.templates.iter().find(|t| t.name == name))
        else {
            return Vec::new();
        };
        let given: Vec<&str> =
            args.split(',').filter_map(|p| p.split_once('=')).map(|(n, _)| n.trim()).collect();
        return t
            .params
            .iter()
            .filter(|(p, _)| !given.contains(&p.as_str()))
            .map(|(p, d)| CompletionItem {
                insert_text: Some(format!("{p} = ")),
                ..item(
                    p,
                    CompletionItemKind::FIELD,
                    Some(d.as_ref().map_or("required".into(), |d| format!("default {d}"))),
                )
            })
            .collect();
    }
    let mut out = Vec::new();
    for imp in &a.index.imports {
        let Some(ix) = a.module(&imp.alias).and_then(|f| a.index_of(f)) else { continue };
        for t in &ix.templates {
            let args: Vec<String> = t
                .params
                .iter()
                .filter(|(_, d)| d.is_none())
                .enumerate()
                .map(|(k, (p, _))| format!("{p} = ${{{}}}", k + 1))
                .collect();
            out.push(CompletionItem {
                label: format!("{}.{}", imp.alias, t.name),
                kind: Some(CompletionItemKind::FUNCTION),
                detail: Some(format!("from {}", imp.target)),
                documentation: (!t.doc.is_empty())
                    .then(|| lsp_types::Documentation::String(t.doc.clone())),
                insert_text: Some(format!("{}.{}({})", imp.alias, t.name, args.join(", "))),
                insert_text_format: Some(InsertTextFormat::SNIPPET),
                ..CompletionItem::default()
            });
        }
    }
    out
}

/// The first word of the line opening each `{` still open at `offset`, outermost first.
/// Strings (`"..."`, `"""..."""`) and `#` comments are skipped.
pub fn blocks(text: &str, offset: usize) -> Vec<String> {
    let b = text.as_bytes();
    let end = offset.min(b.len());
    let mut stack: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < end {
        match b[i] {
            b'#' => {
                while i < end && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < end && !b[i..].starts_with(b"\"\"\"") {
                    i += 1;
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < end && b[i] != b'"' && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' => stack.push(i),
            b'}' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    stack
        .iter()
        .map(|&at| {
            let start = text[..at].rfind('\n').map_or(0, |k| k + 1);
            let head = text[start..at].trim_start();
            // `rollback {` and `http GET "..." {` name their block by the first word; so
            // does `step id "title" {`.
            head.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}
