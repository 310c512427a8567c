//! Differential tests of the fast step reader against pest, the grammar of record: for every
//! text, both readers must give the same syntax tree (spans included) and the same
//! diagnostics, so the language is exactly what `grammar/drbook.pest` accepts.

use super::{fast, lex, parse_with, Reader};
use crate::diag::FileId;
use crate::testkit::Rng;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// Both readers' answers for `text`, as text (Debug shows spans; `PartialEq` ignores them).
fn both(text: &str) -> (String, String) {
    let read = |r| {
        let (parsed, diags) = parse_with(text, FileId(0), r);
        format!("{parsed:#?}\n{diags:#?}")
    };
    (read(Reader::Fast), read(Reader::Pest))
}

fn assert_same(text: &str) {
    let (fast, pest) = both(text);
    if fast != pest {
        let at = fast.bytes().zip(pest.bytes()).take_while(|(a, b)| a == b).count();
        let from = at.saturating_sub(300);
        panic!(
            "the readers differ on {text:?}\nfast: …{}\npest: …{}",
            &fast[from..(at + 300).min(fast.len())],
            &pest[from..(at + 300).min(pest.len())]
        );
    }
}

/// How many body statements of `text` the fast reader takes.
fn fast_count(text: &str) -> usize {
    let Some((open, close)) =
        text.find("runbook").and_then(|s| lex::outer_block(text, s, text.len()))
    else {
        return 0;
    };
    lex::statements(text, open + 1, close)
        .into_iter()
        .filter(|&(s, e)| fast::step(text, s, e, FileId(0)).is_some())
        .count()
}

fn repository_texts() -> Vec<(String, String)> {
    crate::testkit::corpus(&["runbooks", "stdlib", "tests/fixtures", "examples", "docs"])
        .into_iter()
        .map(|(p, text)| (p.display().to_string(), text))
        .collect()
}

#[test]
fn every_repository_runbook_reads_the_same_with_both_readers() {
    let texts = repository_texts();
    assert!(texts.len() > 50, "found only {} runbooks", texts.len());
    let mut taken = 0;
    for (_, text) in &texts {
        assert_same(text);
        taken += fast_count(text);
    }
    assert!(taken > 40, "the fast reader took only {taken} statements of the fixtures");
}

/// What mangling inserts: every byte the fast reader must either read as pest does or refuse.
const NOISE: &[&str] = &[
    "#",
    "# c\n",
    ";",
    "\r",
    "\t",
    " ",
    "\n",
    ",",
    "\"",
    "\\",
    "\\\"",
    "${",
    "${x}",
    "}",
    "{",
    "[",
    "]",
    "(",
    ")",
    "=",
    "5m",
    "ms",
    "1h30m",
    "99999999999999999999m",
    "true",
    "false",
    "-",
    "_",
    "é",
    "finally ",
    "step ",
    "run ",
    "rollback ",
    "verify ",
    "needs ",
    "owner ",
    "\"\"\"",
    "x",
    "0",
    ".",
];

#[test]
fn mangled_copies_of_every_runbook_read_the_same_with_both_readers() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases = 0;
    for (name, text) in repository_texts() {
        // Mangle inside the step statements, where the fast reader works.
        let steps: Vec<usize> = text.match_indices("step ").map(|(i, _)| i).collect();
        if steps.is_empty() {
            continue;
        }
        for _ in 0..12 {
            let at = steps[rng.below(steps.len())] + rng.below(120);
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut t = text.clone();
            match rng.below(3) {
                0 => t.insert_str(at, NOISE[rng.below(NOISE.len())]),
                1 => {
                    let mut end = (at + 1 + rng.below(6)).min(t.len());
                    while !t.is_char_boundary(end) {
                        end += 1;
                    }
                    t.replace_range(at..end, "");
                }
                _ => {
                    let mut end = (at + 1 + rng.below(12)).min(t.len());
                    while !t.is_char_boundary(end) {
                        end += 1;
                    }
                    let piece = t[at..end].to_string();
                    t.insert_str(at, &piece);
                }
            }
            let (fast, pest) = both(&t);
            assert!(fast == pest, "the readers differ on a mangled copy of {name}: {t:?}");
            cases += 1;
        }
    }
    assert!(cases > 500, "only {cases} mangled cases");
}

/// One line of a step body, from the forms the fast reader knows and the forms it must refuse.
fn item() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("\"team-a\"".to_string()),
        Just("\"a \\\"q\\\" \\\\ \\n \\t \\${x} ${region} ${steps.a.out}\"".to_string()),
        Just("\"${ bad ref }\"".to_string()),
        Just("\"${unclosed\"".to_string()),
        Just("\"é ünïcode ${x}\"".to_string()),
        Just("\"\"".to_string()),
        Just("\"\"\"block\"\"\"".to_string()),
        Just("5m".to_string()),
        Just("1h30m".to_string()),
        Just("250ms".to_string()),
        Just("5mss".to_string()),
        Just("5m-".to_string()),
        Just("5x".to_string()),
        Just("99999999999999999999h".to_string()),
        Just("2026-01-02".to_string()),
        Just("3".to_string()),
        Just("1.5".to_string()),
        Just("true".to_string()),
        Just("trueish".to_string()),
        Just("rollback".to_string()),
        Just("abort".to_string()),
        Just("${d}".to_string()),
        Just("[a, b]".to_string()),
        Just("x.y".to_string()),
    ];
    let kw = prop_oneof![
        Just("owner"),
        Just("duration"),
        Just("timeout"),
        Just("on_failure"),
        Just("workdir"),
        Just("title"),
        Just("ownerx"),
        Just("wait"),
    ];
    let gap = prop_oneof![Just(" "), Just("  "), Just("\t"), Just(""), Just(" \t ")];
    let ids = prop::collection::vec(
        prop_oneof![Just("a"), Just("b_1"), Just("run"), Just("step"), Just("x-y"), Just("9z")],
        1..4,
    );
    let comma = prop_oneof![Just(", "), Just(","), Just(" , "), Just(",\t")];
    let good_value = prop_oneof![
        Just("\"team-a\"".to_string()),
        Just("\"deploy --region ${region} --unit 7\"".to_string()),
        Just("5m".to_string()),
        Just("1h30m".to_string()),
        Just("abort".to_string()),
    ];
    let good_kw = prop_oneof![Just("owner"), Just("duration"), Just("timeout"), Just("workdir")];
    prop_oneof![
        8 => (good_kw, Just(" "), good_value.clone()).prop_map(|(k, g, v)| format!("{k}{g}{v}")),
        4 => (prop_oneof![Just("run"), Just("rollback run"), Just("verify run")], good_value)
            .prop_map(|(k, v)| format!("{k} {v}")),
        2 => (kw, gap.clone(), value.clone()).prop_map(|(k, g, v)| format!("{k}{g}{v}")),
        2 => (gap.clone(), ids, comma).prop_map(|(g, ids, c)| format!("needs{g}{}", ids.join(c))),
        1 => Just("needs [a, b]".to_string()),
        1 => Just("needs a,".to_string()),
        1 => (prop_oneof![Just("run"), Just("rollback run"), Just("verify run"), Just("rollback  run")],
         gap.clone(), value.clone())
            .prop_map(|(k, g, v)| format!("{k}{g}{v}")),
        1 => Just("rollback { run \"x\" }".to_string()),
        1 => Just("verify http GET \"http://h/\"".to_string()),
        1 => Just("idempotent".to_string()),
        1 => Just("safe".to_string()),
        1 => Just("idempotent x".to_string()),
        1 => Just("retry 3 every 30s".to_string()),
        1 => Just("when ${x} == 1".to_string()),
        1 => Just("ownr \"x\"".to_string()),
        1 => Just("owner \"x\" # trailing comment".to_string()),
        1 => Just("owner \"x\"; duration 5m".to_string()),
        1 => Just("owner \"x\"\r".to_string()),
        1 => Just("# a comment".to_string()),
        1 => Just("".to_string()),
    ]
}

fn statement() -> impl Strategy<Value = String> {
    let head = prop_oneof![
        6 => Just("step a \"Title\""),
        2 => Just("step a"),
        1 => Just("step   b_2\t\"T ${x}\"  "),
        1 => Just("step a \"\"\"T\"\"\""),
        1 => Just("step a 5m"),
        1 => Just("finally step z"),
        1 => Just("step 9 \"bad id\""),
        1 => Just("stepx a"),
        1 => Just("step a \"t\" \"u\""),
    ];
    let sep = prop_oneof![
        6 => Just("\n    "),
        1 => Just("\n\n  "),
        1 => Just("\n"),
        1 => Just(" ; "),
        1 => Just("\n\t"),
    ];
    let close = prop_oneof![
        6 => Just("\n  }"),
        1 => Just(" }"),
        1 => Just("}"),
        1 => Just("\n  } x"),
        1 => Just("\n  };"),
    ];
    (head, prop::collection::vec(item(), 0..5), sep, close).prop_map(|(h, items, sep, close)| {
        let mut s = format!("{h} {{");
        for i in &items {
            s.push_str(sep);
            s.push_str(i);
        }
        s.push_str(close);
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Generated steps, well-formed and not, alone and beside another step.
    #[test]
    fn generated_steps_read_the_same_with_both_readers(a in statement(), b in statement()) {
        assert_same(&format!("runbook \"r\" {{\n  {a}\n}}\n"));
        assert_same(&format!("runbook \"r\" {{\n  {a}\n\n  {b}\n}}\n"));
    }
}

#[test]
fn the_generator_reaches_both_outcomes() {
    // The generated language is neither all fast nor all pest, so the property above tests
    // both sides of the fast reader's decision.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut fast, mut slow) = (0, 0);
    for _ in 0..2000 {
        let s = statement().new_tree(&mut runner).expect("case").current();
        let text = format!("runbook \"r\" {{\n  {s}\n}}\n");
        if fast_count(&text) > 0 {
            fast += 1;
        } else {
            slow += 1;
        }
    }
    assert!(fast > 200 && slow > 200, "fast {fast}, pest {slow}");
}
