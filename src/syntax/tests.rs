//! Parser tests: exact spans and messages.

use super::*;
use crate::diag::FileId;

fn parse_ok(src: &str) -> ast::File {
    let (parsed, diags) = parse(src, FileId(0));
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    parsed.expect("parsed").file
}

fn first_error(src: &str) -> (String, usize, usize, Option<String>) {
    let (_, diags) = parse(src, FileId(0));
    let d = diags.into_iter().next().expect("a diagnostic");
    (d.message, d.span.start as usize, d.span.end as usize, d.help)
}

#[test]
fn parses_the_contract_example() {
    let src = include_str!("../../tests/fixtures/ok/language-example.drbook");
    let f = parse_ok(src);
    assert_eq!(f.items.len(), 2);
    let ast::Item::Runbook(rb) = &f.items[1] else { panic!("runbook expected") };
    let steps = rb.items.iter().filter(|i| matches!(i.kind, ast::HeaderKind::Step(_))).count();
    assert_eq!(steps, 8);
    assert!(accepts_as_whole_file(src));
}
