//! `drbook fmt`: golden output, idempotence, and formatting never changes meaning.

use crate::plan::plan_params;
use crate::{crate_root, drbook_files, golden, json, report, Test, TODAY};

/// Top-level ok fixtures and their modules, relative to `tests/fixtures/ok`.
fn ok_fixtures() -> Vec<String> {
    let mut files = drbook_files("tests/fixtures/ok");
    files.extend(drbook_files("tests/fixtures/ok/modules"));
    files.into_iter().map(|f| f.trim_start_matches("tests/fixtures/ok/").to_string()).collect()
}

/// A copy of the crate directory `dir` with every `.drbook` in `files` (relative to `dir`)
/// formatted in place.
fn formatted_copy(dir: &str, files: &[String]) -> Test {
    let t = Test::new().copy(dir, "d").arg("fmt");
    let t = files.iter().fold(t, |t, f| t.arg(format!("d/{f}")));
    let out = t.run();
    out.expect_no_crash().expect_status(0);
    t
}

#[test]
fn fmt_output_matches_golden_files() {
    let files = ok_fixtures();
    let t = formatted_copy("tests/fixtures/ok", &files);
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| golden(&format!("tests/golden/fmt/{f}"), &t.read(&format!("d/{f}"))).err())
        .collect();
    report(failures);
}

#[test]
fn formatting_twice_changes_nothing() {
    let mut failures = Vec::new();
    for (dir, files) in corpora() {
        let t = formatted_copy(dir, &files);
        let before: Vec<String> = files.iter().map(|f| t.read(&format!("d/{f}"))).collect();
        for args in [&["fmt", "--check"][..], &["fmt"]] {
            // The formatted files, formatted again (or checked).
            let mut again = Test::new().copy(dir, "d").args(args);
            for (f, text) in files.iter().zip(&before) {
                again = again.file(&format!("d/{f}"), text).arg(format!("d/{f}"));
            }
            let out = again.run();
            if out.status != 0 || !out.stderr.is_empty() {
                failures.push(format!("{dir}: {args:?} of formatted files\n{}", out.stderr));
            }
            for (f, text) in files.iter().zip(&before) {
                if &again.read(&format!("d/{f}")) != text {
                    failures.push(format!("{dir}/{f}: {args:?} changed a formatted file"));
                }
            }
        }
    }
    report(failures);
}

/// Directories whose files must keep their meaning through `fmt`: (crate dir, files in it).
fn corpora() -> Vec<(&'static str, Vec<String>)> {
    let names = |dir: &str| -> Vec<String> {
        drbook_files(dir)
            .into_iter()
            .map(|f| f.trim_start_matches(&format!("{dir}/")).to_string())
            .collect()
    };
    vec![
        ("tests/fixtures/ok", ok_fixtures()),
        ("runbooks", names("runbooks")),
        ("stdlib", names("stdlib")),
    ]
}

/// `(errors, warnings, [(code, message)])` of `check --format json`.
fn diagnostics(t: &Test, file: &str) -> (u64, u64, Vec<(String, String)>) {
    let out = Test::new()
        .copy_from(t, "d")
        .args(&["check", "--format", "json", "--today", TODAY, &format!("d/{file}")])
        .run();
    let doc = json(&out);
    let diags = doc["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| (d["code"].to_string(), d["message"].to_string()))
        .collect();
    (doc["errors"].as_u64().expect("errors"), doc["warnings"].as_u64().expect("warnings"), diags)
}

#[test]
fn formatting_keeps_diagnostics_and_plans() {
    let mut failures = Vec::new();
    for (dir, files) in corpora() {
        let original = Test::new().copy(dir, "d");
        let formatted = formatted_copy(dir, &files);
        for f in &files {
            let params = plan_params(&format!("{dir}/{f}"));
            let params: Vec<&str> = params.iter().map(String::as_str).collect();
            let before = diagnostics(&original, f);
            let after = diagnostics(&formatted, f);
            if before.0 != 0 {
                failures.push(format!("{dir}/{f}: has errors before formatting: {before:?}"));
            }
            if before != after {
                failures.push(format!("{dir}/{f}: diagnostics changed\n  {before:?}\n  {after:?}"));
            }
            if dir == "stdlib" || f.starts_with("modules/") {
                continue; // modules have no plan
            }
            let plan = |t: &Test| {
                let out = Test::new()
                    .copy_from(t, "d")
                    .args(&["plan", &format!("d/{f}"), "--format", "json", "--today", TODAY])
                    .args(&params)
                    .run();
                out.expect_status(0);
                json(&out)
            };
            if plan(&original) != plan(&formatted) {
                failures.push(format!("{dir}/{f}: the plan of the formatted runbook differs"));
            }
        }
    }
    report(failures);
}

#[test]
fn formatting_keeps_every_comment() {
    let mut failures = Vec::new();
    for (dir, files) in corpora() {
        let formatted = formatted_copy(dir, &files);
        for f in &files {
            let before = std::fs::read_to_string(crate_root().join(dir).join(f))
                .expect("read a corpus file");
            let after = formatted.read(&format!("d/{f}"));
            let kept = comments(&after);
            for c in comments(&before) {
                if !kept.contains(&c) {
                    failures.push(format!("{dir}/{f}: comment {c:?} lost by fmt"));
                }
            }
        }
    }
    report(failures);
}

/// The text of every `#` comment, outside strings.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['#', '"']) {
        rest = &rest[i..];
        if rest.starts_with("\"\"\"") {
            let end = rest[3..].find("\"\"\"").map_or(rest.len(), |e| e + 6);
            rest = &rest[end..];
        } else if rest.starts_with('"') {
            let mut escaped = false;
            let end = rest[1..]
                .char_indices()
                .find(|&(_, c)| {
                    let close = (c == '"' || c == '\n') && !escaped;
                    escaped = c == '\\' && !escaped;
                    close
                })
                .map_or(rest.len(), |(e, _)| e + 2);
            rest = &rest[end.min(rest.len())..];
        } else {
            let end = rest.find('\n').unwrap_or(rest.len());
            out.push(rest[..end].trim_end().to_string());
            rest = &rest[end..];
        }
    }
    out
}

const MESSY: &str =
    "runbook \"messy\" {\nowner \"o\" ;  rto 1h\n      step s {duration 1m; manual \"m\"}\n}\n";

#[test]
fn fmt_check_reports_an_unformatted_file_and_leaves_it_alone() {
    let t = Test::new().file("messy.drbook", MESSY).args(&["fmt", "--check", "messy.drbook"]);
    let out = t.run();
    out.expect_status(1).expect_stderr("would reformat: messy.drbook");
    assert_eq!(t.read("messy.drbook"), MESSY);
}

#[test]
fn fmt_rewrites_an_unformatted_file_and_leaves_no_temporary_file() {
    let t = Test::new().file("messy.drbook", MESSY).args(&["fmt", "messy.drbook"]);
    t.run().expect_status(0).expect_stderr("formatted: messy.drbook");
    let formatted = t.read("messy.drbook");
    assert_ne!(formatted, MESSY);
    assert!(formatted.contains("step s {\n"), "{formatted}");
    let names: Vec<String> = std::fs::read_dir(t.path(""))
        .expect("list the temporary directory")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["messy.drbook"]);
}

#[test]
fn fmt_refuses_files_with_syntax_errors_and_leaves_them_byte_identical() {
    let mut bad: Vec<(String, Vec<u8>)> =
        ["unterminated-string", "unbalanced-brace", "unknown-attribute", "bad-duration"]
            .iter()
            .map(|n| {
                let path = crate_root().join(format!("tests/fixtures/err/{n}.drbook"));
                (format!("{n}.drbook"), std::fs::read(path).expect("read an err fixture"))
            })
            .collect();
    bad.push(("binary.drbook".into(), vec![0xff, 0xfe, 0, b'{', 0x80, b'\n']));
    bad.push(("crlf-garbage.drbook".into(), b"runbook \"x\" {\r\n  step {{{ \"\r\n".to_vec()));
    for check in [false, true] {
        for (name, bytes) in &bad {
            let mut t = Test::new().bytes(name, bytes).arg("fmt");
            if check {
                t = t.arg("--check");
            }
            let t = t.arg(name.as_str());
            let out = t.run();
            out.expect_no_crash();
            assert_eq!(out.status, 2, "fmt {name} (check: {check})\n{}", out.stderr);
            let after = std::fs::read(t.path(name)).expect("read the file back");
            assert_eq!(&after, bytes, "fmt changed {name} (check: {check})");
        }
    }
}

#[test]
fn fmt_formats_the_good_files_even_when_one_is_bad() {
    let t = Test::new()
        .file("messy.drbook", MESSY)
        .file("broken.drbook", "runbook \"x\" {\n")
        .args(&["fmt", "broken.drbook", "messy.drbook"]);
    t.run().expect_status(2).expect_stderr("formatted: messy.drbook");
    assert_eq!(t.read("broken.drbook"), "runbook \"x\" {\n");
    assert_ne!(t.read("messy.drbook"), MESSY);
}

#[test]
fn fmt_of_a_missing_file_is_an_error() {
    Test::new()
        .args(&["fmt", "nowhere.drbook"])
        .run()
        .expect_status(2)
        .expect_stderr("cannot read");
}

#[test]
fn comment_extraction_skips_strings() {
    let text =
        "a \"# not\" # one\nrun \"\"\"\n  # shell, not drbook\n\"\"\" # two\nb \"\\\"#\" #three\n";
    assert_eq!(comments(text), ["# one", "# two", "#three"]);
}
