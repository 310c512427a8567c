//! Hostile input: drbook answers with a diagnostic and exit code 2, never a panic, a stack
//! overflow, a hang or a flood of output.

use crate::{head, Output, Test, TODAY};
use std::time::Duration;

/// A generous bound for a debug build on a slow machine.
const REASONABLE: Duration = Duration::from_secs(60);
/// Snippets of long lines are windowed, so a report stays small whatever the input.
const SMALL_STDERR: usize = 20 * 1024;

/// Runs `check`, `plan` and `fmt --check` on `bytes` and returns the three outputs.
fn all_commands(bytes: &[u8], extra_check: &[&str]) -> [Output; 3] {
    let run = |args: &[&str]| {
        let out = Test::new().bytes("h.drbook", bytes).args(args).arg("h.drbook").run();
        out.expect_no_crash();
        assert!(out.elapsed < REASONABLE, "drbook {args:?} took {:?}", out.elapsed);
        out
    };
    let mut check = vec!["check", "--today", TODAY];
    check.extend_from_slice(extra_check);
    [run(&check), run(&["plan", "--today", TODAY]), run(&["fmt", "--check"])]
}

/// Every command rejects the input with exit code 2.
#[track_caller]
fn rejected(bytes: &[u8]) -> [Output; 3] {
    let outs = all_commands(bytes, &[]);
    for (out, cmd) in outs.iter().zip(["check", "plan", "fmt --check"]) {
        assert_eq!(out.status, 2, "{cmd} should reject the input\n{}", head(&out.stderr, 4000));
    }
    outs
}

/// A runbook whose one step has `line` as its last statement.
fn runbook_with(line: &str) -> String {
    format!(
        "runbook \"h\" {{\n  owner \"o\"\n  rto 1h\n  param p = true\n  step s {{\n    duration 1m\n    \
         manual \"m\"\n    {line}\n  }}\n}}\n"
    )
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

#[test]
fn empty_file_is_rejected() {
    // `fmt` only needs syntax, and an empty file has none to fix.
    let [check, plan, _] = all_commands(b"", &[]);
    check.expect_status(2).expect_stderr("neither a runbook nor a template");
    plan.expect_status(2).expect_stderr("neither a runbook nor a template");
}

#[test]
fn binary_garbage_is_rejected() {
    for seed in 1..=8 {
        let mut bytes = noise(seed, 4096);
        bytes[0] = 0;
        bytes[1] = 0xff; // never valid UTF-8
        let [check, ..] = rejected(&bytes);
        check.expect_stderr("not UTF-8");
    }
}

#[test]
fn control_characters_and_nul_in_text_are_rejected() {
    for seed in 1..=12 {
        let alphabet: Vec<char> =
            "\0\u{1b}\u{7}\r\t\n {}[]()\"#;=.,$!&|<>\\é→𝄞aZ9_-".chars().collect();
        let text: String =
            noise(seed, 3000).iter().map(|b| alphabet[*b as usize % alphabet.len()]).collect();
        rejected(text.as_bytes());
    }
}

#[test]
fn token_soup_never_crashes() {
    let tokens = [
        "runbook",
        "\"r\"",
        "{",
        "}",
        "step",
        "s",
        "needs",
        "when",
        "check",
        "(",
        ")",
        "!",
        "&&",
        "||",
        "==",
        "\"\"\"",
        "\"${",
        "${x}",
        "}",
        "[",
        "]",
        ",",
        ";",
        "\n",
        "import",
        "\"std/http\"",
        "template",
        "t(a = 1)",
        "use",
        "http.healthy(",
        "url =",
        "1h30m",
        "5x",
        "2026-02-30",
        "200..299",
        "retry",
        "every",
        "rollback",
        "approval",
        "by",
        "param",
        "p: list",
        "secret",
        "= env(\"X\")",
        "capture",
        "from",
        "json",
        "regex",
        "#",
        "\t",
    ];
    for seed in 1..=40 {
        let text: String = noise(seed, 600)
            .iter()
            .map(|b| format!("{} ", tokens[*b as usize % tokens.len()]))
            .collect();
        all_commands(text.as_bytes(), &[]);
    }
}

#[test]
fn ten_megabyte_title_is_windowed_in_diagnostics() {
    let text = format!("runbook \"x\" {{ title \"{}\" }}\n", "a".repeat(10 << 20));
    // Without an owner and an rto the runbook only warns; --strict makes that an error.
    let [check, ..] = all_commands(text.as_bytes(), &["--strict"]);
    check.expect_status(2).expect_stderr("runbook has no `owner`");
    assert!(check.stderr.len() < SMALL_STDERR, "stderr is {} bytes", check.stderr.len());
}

#[test]
fn ten_megabytes_without_structure_is_rejected_briefly() {
    let outs = rejected("a".repeat(10 << 20).as_bytes());
    for out in outs {
        assert!(out.stderr.len() < SMALL_STDERR, "stderr is {} bytes", out.stderr.len());
    }
}

#[test]
fn unterminated_megabyte_string_is_reported_at_its_opening_quote() {
    let text = runbook_with(&format!("run \"{}", "b".repeat(1 << 20)));
    let [check, ..] = rejected(text.as_bytes());
    check.expect_stderr("unterminated string").expect_stderr("this string is never closed");
    assert!(check.stderr.len() < SMALL_STDERR, "stderr is {} bytes", check.stderr.len());
    let json = Test::new()
        .file("h.drbook", &text)
        .args(&["check", "--today", TODAY, "--format", "json", "h.drbook"])
        .run();
    let doc = crate::json(&json);
    assert_eq!(doc["diagnostics"][0]["code"], "drbook::syntax::unterminated_string");
    assert_eq!(
        (doc["diagnostics"][0]["line"].as_u64(), doc["diagnostics"][0]["column"].as_u64()),
        (Some(8), Some(9))
    );
}

#[test]
fn windowed_snippet_header_shows_the_diagnostic_position() {
    let text = runbook_with(&format!("run \"{}", "b".repeat(1 << 20)));
    Test::new()
        .file("h.drbook", &text)
        .args(&["check", "--today", TODAY, "h.drbook"])
        .run()
        .expect_stderr("h.drbook:8:9]");
    // Further along a long line: `nope` starts at column 542.
    let long = format!("runbook \"x\" {{\n  owner \"o\"; rto 1h\n  step s {{ duration 1m; manual \"{}\"; needs nope }}\n}}\n", "c".repeat(500));
    Test::new()
        .file("long.drbook", &long)
        .args(&["check", "--today", TODAY, "long.drbook"])
        .run()
        .expect_stderr("long.drbook:3:542]");
}

#[test]
fn megabyte_string_is_accepted() {
    let text = format!(
        "runbook \"h\" {{\n  owner \"o\"\n  rto 1h\n  step s {{\n    duration 1m\n    \
         run \"{}\"\n    idempotent\n  }}\n}}\n",
        "b".repeat(1 << 20)
    );
    let [check, plan, fmt] = all_commands(text.as_bytes(), &["--strict"]);
    check.expect_status(0);
    plan.expect_status(0);
    assert!([0, 1].contains(&fmt.status), "{}", head(&fmt.stderr, 4000));
}

#[test]
fn hundred_thousand_nested_braces_are_rejected() {
    let text = format!("runbook \"x\" {{\n{}\n", "{".repeat(100_000));
    let [check, ..] = rejected(text.as_bytes());
    assert!(check.stderr.len() < SMALL_STDERR, "stderr is {} bytes", check.stderr.len());
}

#[test]
fn hundred_thousand_nested_parentheses_in_when_are_rejected() {
    let text = runbook_with(&format!("when {}p", "(".repeat(100_000)));
    rejected(text.as_bytes());
    let balanced = runbook_with(&format!("when {}p{}", "(".repeat(100_000), ")".repeat(100_000)));
    all_commands(balanced.as_bytes(), &[]);
}

#[test]
fn ten_thousand_negations_do_not_overflow_the_stack() {
    // An even number of `!`: a valid, if absurd, condition.
    let outs = all_commands(runbook_with(&format!("when {}p", "!".repeat(10_000))).as_bytes(), &[]);
    for out in &outs {
        assert!([0, 2].contains(&out.status), "{}", head(&out.stderr, 4000));
    }
    // With nothing to negate it is a syntax error.
    rejected(runbook_with(&format!("when {}", "!".repeat(10_000))).as_bytes());
}

#[test]
fn five_thousand_operands_do_not_crash() {
    let operands = vec!["p"; 5000].join(" && ");
    let outs = all_commands(runbook_with(&format!("when {operands}")).as_bytes(), &[]);
    for out in &outs {
        assert!([0, 2].contains(&out.status), "{}", head(&out.stderr, 4000));
    }
    let mixed = (0..5000).map(|i| if i % 2 == 0 { "p" } else { "!p" }).collect::<Vec<_>>();
    all_commands(runbook_with(&format!("check ({})", mixed.join(" || "))).as_bytes(), &[]);
}

#[test]
fn a_directory_is_not_a_runbook() {
    for cmd in [&["check", "--today", TODAY][..], &["plan"], &["fmt"]] {
        let t = Test::new().file("dir.drbook/inner.drbook", "").args(cmd).arg("dir.drbook");
        let out = t.run();
        out.expect_no_crash().expect_status(2).expect_stderr("cannot read `dir.drbook`");
    }
}

#[test]
fn a_missing_file_is_reported() {
    for cmd in [&["check", "--today", TODAY][..], &["plan"], &["fmt", "--check"]] {
        let out = Test::new().args(cmd).arg("missing.drbook").run();
        out.expect_no_crash().expect_status(2).expect_stderr("cannot read `missing.drbook`");
    }
}

#[test]
fn check_reports_every_file_even_after_a_missing_one() {
    let out = Test::new()
        .file("ok.drbook", &runbook_with("when p"))
        .args(&["check", "--today", TODAY, "missing.drbook", "ok.drbook"])
        .run();
    out.expect_status(2)
        .expect_stderr("cannot read `missing.drbook`")
        .expect_stderr("ok: ok.drbook");
}

#[test]
fn control_characters_are_not_echoed_to_the_terminal() {
    let text = "runbook \"x\" {\n  owner \"o\"\n  rto 1h\n  \u{1b}[2J\0\n}\n";
    let out =
        Test::new().file("x.drbook", text).args(&["check", "--today", TODAY, "x.drbook"]).run();
    out.expect_status(2);
    assert!(!out.stderr.contains('\u{1b}') && !out.stderr.contains('\0'), "{:?}", out.stderr);
}

#[test]
fn malformed_when_is_explained_as_a_when() {
    let out = Test::new()
        .file("x.drbook", &runbook_with("when p &&"))
        .args(&["check", "--today", TODAY, "x.drbook"])
        .run();
    out.expect_status(2).expect_stderr("malformed `when`");
    assert!(!out.stderr.contains("`check lag_seconds"), "{}", out.stderr);
}
