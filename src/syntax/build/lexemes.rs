//! Literal values (durations, dates) and pest failures turned into diagnostics.

use super::super::Rule;
use crate::diag::{Diagnostic, FileId, Span};

/// Milliseconds of `1h30m`-style text; `None` on overflow.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut num: u64 = 0;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            num = num.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            i += 1;
            continue;
        }
        let (unit, len) = match (c, b.get(i + 1)) {
            (b'm', Some(b's')) => (1, 2),
            (b's', _) => (1000, 1),
            (b'm', _) => (60_000, 1),
            (b'h', _) => (3_600_000, 1),
            (b'd', _) => (86_400_000, 1),
            _ => return None,
        };
        total = total.checked_add(num.checked_mul(unit)?)?;
        num = 0;
        i += len;
    }
    Some(total)
}

pub(super) fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let y: i32 = text.get(0..4)?.parse().ok()?;
    let m: u32 = text.get(5..7)?.parse().ok()?;
    let d: u32 = text.get(8..10)?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((y, m, d))
}

/// Turns a pest failure into a diagnostic at the failing position.
pub fn pest_error(
    err: &pest::error::Error<Rule>,
    text: &str,
    base: usize,
    file: FileId,
) -> Diagnostic {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    } + base;
    let found = text.get(pos..).and_then(|t| t.split_whitespace().next()).unwrap_or("");
    let found = crate::diag::printable(&found.chars().take(20).collect::<String>());
    let expected = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
            names.sort_unstable();
            names.dedup();
            names
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let message = if found.is_empty() {
        "unexpected end of statement".to_string()
    } else {
        format!("unexpected `{found}`")
    };
    let help = if expected.is_empty() {
        "statements start with a keyword such as `step`, `owner` or `run`".to_string()
    } else {
        format!("expected {}", expected.join(" or "))
    };
    let end = (pos + found.len().max(1)).min(text.len().max(pos));
    Diagnostic::error("drbook::syntax::unexpected", Span::new(file, pos, end), message)
        .label("cannot read from here")
        .help(help)
}

fn rule_name(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::ident | Rule::unknown | Rule::name => "a name",
        Rule::value | Rule::string | Rule::tstring => "a value",
        Rule::EOI => "the end of the statement",
        Rule::expr | Rule::literal | Rule::unary | Rule::paren => "an expression",
        Rule::import | Rule::k_import => "`import`",
        Rule::template | Rule::k_template => "`template`",
        Rule::runbook | Rule::k_runbook => "`runbook`",
        Rule::list => "a list",
        _ => return None,
    })
}
