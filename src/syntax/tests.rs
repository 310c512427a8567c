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

#[test]
fn syntax_errors_have_exact_spans_and_messages() {
    // (source, message, start, end, help contains)
    let cases: &[(&str, &str, usize, usize, &str)] = &[
        (
            "runbook \"r\" {\n  ownr \"x\"\n}\n",
            "unknown attribute `ownr` in a runbook header",
            16,
            20,
            "did you mean `owner`?",
        ),
        (
            "runbook \"r\" {\n  step a { duration 5x }\n}\n",
            "invalid value `5x`",
            34,
            36,
            "units ms, s, m, h, d",
        ),
        ("runbook \"r\" {\n  title \"abc\n}\n", "unterminated string", 22, 23, "close it"),
        ("runbook \"r\" {\n  step a {\n}\n", "unclosed `{`", 12, 13, "add the matching `}`"),
        (
            "runbook \"r\" {\n  reviewed 2026-02-30\n}\n",
            "invalid value `2026-02-30`",
            25,
            35,
            "calendar date",
        ),
        (
            "runbook \"r\" {\n  step a { rto 5m }\n}\n",
            "unknown attribute or action `rto` in a step",
            25,
            28,
            "belongs in the runbook header",
        ),
        (
            "runbook \"r\" {\n  step a { run \"x ${a b}\" }\n}\n",
            "`${a b}` is not a valid reference",
            32,
            38,
            "names joined by dots",
        ),
        (
            "runbook \"r\" {\n  step a { needs b c }\n}\n",
            "malformed `needs`",
            25,
            34,
            "needs other_step",
        ),
    ];
    for (src, message, start, end, help) in cases {
        let (m, s, e, h) = first_error(src);
        assert_eq!((m.as_str(), s, e), (*message, *start, *end), "for {src:?}");
        assert!(h.as_deref().is_some_and(|h| h.contains(help)), "help {h:?} for {src:?}");
    }
}

#[test]
fn every_problem_in_a_file_is_reported() {
    let src =
        "runbook \"r\" {\n  ownr \"x\"\n  step a { duration 5x; colour red }\n  tittle \"t\"\n}\n";
    let (parsed, diags) = parse(src, FileId(0));
    assert!(parsed.is_some());
    let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown attribute `ownr` in a runbook header",
            "invalid value `5x`",
            "unknown attribute or action `colour` in a step",
            "unknown attribute `tittle` in a runbook header",
        ]
    );
}

#[test]
fn wrapped_conditions_parse_inside_parentheses() {
    let src = "runbook \"r\" {\n  step a {\n    when (x == 1\n      && y)\n  }\n}\n";
    parse_ok(src);
}

#[test]
fn a_large_body_parsed_in_halves_keeps_source_order() {
    let mut src = String::from("runbook \"big\" {\n");
    for i in 0..5000 {
        src.push_str(&format!("  step s{i} {{ duration 1m; bogus{i} 1 }}\n"));
    }
    src.push_str("}\n");
    let (parsed, diags) = parse(&src, FileId(0));
    let file = parsed.expect("parsed").file;
    let ast::Item::Runbook(rb) = &file.items[0] else { panic!("runbook expected") };
    let ids: Vec<String> = rb
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ast::HeaderKind::Step(s) => Some(s.id.name.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 5000);
    assert!(ids.iter().enumerate().all(|(i, id)| *id == format!("s{i}")));
    assert_eq!(diags.len(), 5000);
    assert!(diags.windows(2).all(|w| w[0].span.start < w[1].span.start));
    assert_eq!(diags[4999].message, "unknown attribute or action `bogus4999` in a step");
}

#[test]
fn drill_language_parses_and_misshapen_entries_are_precise() {
    let src = "runbook \"r\" {\n  drills {\n    tabletop  every 30d\n    full every 365d\n  }\n  notify_drills hook\n  step a {\n    safe\n    run \"true\"\n  }\n}\n";
    let f = parse_ok(src);
    assert!(accepts_as_whole_file(src));
    let ast::Item::Runbook(rb) = &f.items[0] else { panic!("runbook expected") };
    let ast::HeaderKind::Drills(b) = &rb.items[0].kind else { panic!("drills expected") };
    let kinds: Vec<&str> = b.items.iter().map(|d| &*d.kind.name).collect();
    assert_eq!(kinds, ["tabletop", "full"]);
    assert!(
        matches!(&rb.items[1].kind, ast::HeaderKind::Attr(k, _) if &*k.name == "notify_drills")
    );
    let ast::HeaderKind::Step(s) = &rb.items[2].kind else { panic!("step expected") };
    assert_eq!(s.items[0].kind, ast::StepKind::Safe);

    // (source, message, start, end, help contains)
    let cases: &[(&str, &str, usize, usize, &str)] = &[
        (
            "runbook \"r\" {\n  drills { tabletop 30d }\n}\n",
            "malformed `tabletop`",
            25,
            37,
            "`component every 7d`",
        ),
        (
            "runbook \"r\" {\n  drills { full every }\n}\n",
            "malformed `full`",
            25,
            35,
            "`component every 7d`",
        ),
        (
            "runbook \"r\" {\n  drills { weekly 7d }\n}\n",
            "unknown drill type `weekly` in `drills`",
            25,
            31,
            "expected one of: tabletop, component, partial, full",
        ),
        (
            "runbook \"r\" {\n  drills { owner \"x\" }\n}\n",
            "unknown drill type `owner` in `drills`",
            25,
            30,
            "belongs in the runbook header",
        ),
        (
            "runbook \"r\" {\n  step a { saf }\n}\n",
            "unknown attribute or action `saf` in a step",
            25,
            28,
            "did you mean `safe`?",
        ),
        (
            "runbook \"r\" {\n  step a { safe true }\n}\n",
            "malformed `safe`",
            25,
            34,
            "write it as `safe`",
        ),
    ];
    for (src, message, start, end, help) in cases {
        let (m, s, e, h) = first_error(src);
        assert_eq!((m.as_str(), s, e), (*message, *start, *end), "{src}");
        assert!(h.as_deref().unwrap_or("").contains(help), "{src}: {h:?}");
    }
}

#[test]
fn trigger_block_parses_every_setting_and_keywords_stay_contextual() {
    let src = "runbook \"r\" {\n  trigger {\n    probe primary http GET \"https://x/health\" { status 200..299 }\n    probe db timeout 5s run \"pg_isready\"\n    every 30s; failures 3\n    quorum 2 of 2\n    cooldown 30m\n    rpo_gate lag\n    requires approval { by lead, manager; timeout 15m }\n    params { ticket = \"AUTO-${trigger.fired_at}\" }\n    notify hook\n  }\n  param trigger = \"x\"\n  step probe {\n    run \"true\"\n  }\n}\n";
    let f = parse_ok(src);
    assert!(accepts_as_whole_file(src));
    let ast::Item::Runbook(rb) = &f.items[0] else { panic!("runbook expected") };
    let ast::HeaderKind::Trigger(b) = &rb.items[0].kind else { panic!("trigger expected") };
    let kws: Vec<&str> = b.items.iter().map(|i| i.kind.keyword()).collect();
    assert_eq!(
        kws,
        [
            "probe", "probe", "every", "failures", "quorum", "cooldown", "rpo_gate", "requires",
            "params", "notify"
        ]
    );
    let ast::TriggerKind::Probe { name, timeout, action } = &b.items[1].kind else {
        panic!("probe expected")
    };
    assert_eq!((&*name.name, action.kind.keyword()), ("db", "run"));
    assert!(matches!(timeout, Some(ast::Value { kind: ast::ValueKind::Duration(5000, _), .. })));
    let ast::TriggerKind::Requires { what, gate: Some(g) } = &b.items[7].kind else {
        panic!("requires with a gate expected")
    };
    assert_eq!((&*what.name, g.items.len()), ("approval", 2));
    assert!(matches!(&rb.items[1].kind, ast::HeaderKind::Param(p) if &*p.name.name == "trigger"));
    assert!(matches!(&rb.items[2].kind, ast::HeaderKind::Step(s) if &*s.id.name == "probe"));

    let (msg, _, _, help) = first_error("runbook \"r\" {\n  trigger {\n    quorum 2\n  }\n}\n");
    assert_eq!(msg, "malformed `quorum`");
    assert!(help.is_some_and(|h| h.contains("quorum 2 of 3")));
    let (msg, _, _, help) = first_error("runbook \"r\" {\n  trigger {\n    cooldwn 5m\n  }\n}\n");
    assert_eq!(msg, "unknown attribute `cooldwn` in `trigger`");
    assert_eq!(help.as_deref(), Some("did you mean `cooldown`?"));
    let (msg, _, _, _) =
        first_error("runbook \"r\" {\n  trigger {\n    probe x post \"u\"\n  }\n}\n");
    assert_eq!(msg, "malformed `probe`");
}

/// Every file of the repository that the statement-at-a-time parser reads without a
/// diagnostic is accepted by the grammar's single `file` rule too: both define one language.
#[test]
fn the_file_rule_accepts_every_cleanly_parsed_fixture() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut checked = 0;
    for dir in [
        "runbooks",
        "stdlib",
        "tests/fixtures/ok",
        "tests/fixtures/ok/modules",
        "tests/fixtures/err",
        "tests/fixtures/warn",
        "tests/fixtures/diff",
    ] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else { continue };
        for path in entries.flatten().map(|e| e.path()) {
            if path.extension().is_none_or(|e| e != "drbook") {
                continue;
            }
            let src = std::fs::read_to_string(&path).expect("readable fixture");
            if parse(&src, FileId(0)).1.is_empty() {
                assert!(accepts_as_whole_file(&src), "`file` rejects {}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} files parsed cleanly");
}

#[test]
fn objectives_impact_and_restores_parse_and_keywords_stay_contextual() {
    let src = "runbook \"r\" {\n  objectives {\n    service \"api\" { rto 15m; rpo 0s; tier critical }\n    service \"db\" {\n      rto 30m\n    }\n  }\n  impact { hourly_revenue 500.5; regulatory strict }\n  param impact = \"x\"\n  step restores {\n    restores \"api\", \"db\"\n    run \"true\"\n  }\n}\n";
    let f = parse_ok(src);
    assert!(accepts_as_whole_file(src));
    let ast::Item::Runbook(rb) = &f.items[0] else { panic!("runbook expected") };
    let ast::HeaderKind::Objectives(b) = &rb.items[0].kind else { panic!("objectives expected") };
    assert_eq!(b.items.len(), 2);
    assert!(
        matches!(&b.items[0].name.kind, ast::ValueKind::Str(s) if s.as_literal().as_deref() == Some("api"))
    );
    let names: Vec<&str> = b.items[0].settings.items.iter().map(|s| &*s.name.name).collect();
    assert_eq!(names, ["rto", "rpo", "tier"]);
    assert!(b.items[0].settings.one_line && !b.items[1].settings.one_line);
    let ast::HeaderKind::Impact(i) = &rb.items[1].kind else { panic!("impact expected") };
    assert!(matches!(i.items[0].value.kind, ast::ValueKind::Dec(ref d) if &**d == "500.5"));
    assert!(matches!(&rb.items[2].kind, ast::HeaderKind::Param(p) if &*p.name.name == "impact"));
    let ast::HeaderKind::Step(s) = &rb.items[3].kind else { panic!("step expected") };
    assert_eq!(&*s.id.name, "restores");
    let ast::StepKind::Restores(vs) = &s.items[0].kind else { panic!("restores expected") };
    assert_eq!(vs.len(), 2);

    // Statements the blocks cannot read: recovery says what belongs there.
    let (msg, _, _, help) =
        first_error("runbook \"r\" {\n  objectives {\n    servce \"api\" { rto 1m }\n  }\n}\n");
    assert_eq!(msg, "unknown attribute `servce` in `objectives`");
    assert_eq!(help.as_deref(), Some("did you mean `service`?"));
    let (msg, _, _, help) =
        first_error("runbook \"r\" {\n  objectives {\n    service \"api\" { rto }\n  }\n}\n");
    assert_eq!(msg, "malformed `rto`");
    assert!(help.expect("help").contains("rto 1h30m"));
    let (msg, _, _, help) = first_error("runbook \"r\" {\n  impact {\n    regulatory\n  }\n}\n");
    assert_eq!(msg, "malformed `regulatory`");
    assert!(help.expect("help").contains("none | moderate | strict"));
    let (msg, _, _, help) = first_error("runbook \"r\" {\n  step a {\n    restores\n  }\n}\n");
    assert_eq!(msg, "malformed `restores`");
    assert!(help.expect("help").contains("restores \"api\""));
    let (msg, _, _, _) = first_error("runbook \"r\" {\n  impct { }\n}\n");
    assert_eq!(msg, "unknown attribute `impct` in a runbook header");
}
