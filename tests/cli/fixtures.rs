//! The fixture corpus: `ok/` must check clean; every input under `err/` and `warn/` has an
//! `.expected` file holding the exact human stderr of
//! `drbook check --today 2026-11-23 --color never tests/fixtures/DIR/NAME.drbook`.

use crate::{crate_root, drbook_files, golden, json, report, Output, Test, TODAY};
use std::path::Path;

fn check(path: &str, extra: &[&str]) -> Output {
    Test::new().in_crate_root().args(&["check", "--today", TODAY]).args(extra).arg(path).run()
}

/// Every `.drbook` under `dir`, recursively, relative to the crate root.
fn inputs(dir: &str) -> Vec<String> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(root.join(rel)).expect("list a fixture directory") {
            let entry = entry.expect("read a directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{rel}/{name}");
            if entry.path().is_dir() {
                walk(root, &rel, out);
            } else if name.ends_with(".drbook") {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(&crate_root(), dir, &mut out);
    out.sort();
    out
}

fn expected_path(input: &str) -> String {
    format!("{}.expected", input.trim_end_matches(".drbook"))
}

/// Golden-compares each input's stderr and checks its exit code.
fn corpus(dir: &str, code: i32) -> Vec<String> {
    let mut failures = Vec::new();
    for input in inputs(dir) {
        let out = check(&input, &[]);
        out.expect_no_crash();
        if out.status != code {
            failures.push(format!(
                "{input}: exit code {}, expected {code}\n{}",
                out.status, out.stderr
            ));
        }
        if let Err(e) = golden(&expected_path(&input), &out.stderr) {
            failures.push(e);
        }
    }
    failures
}

/// `.expected` files whose input is gone fail too, so the corpus never silently shrinks.
fn orphans(dir: &str) -> Vec<String> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(root.join(rel)).expect("list a fixture directory") {
            let entry = entry.expect("read a directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{rel}/{name}");
            if entry.path().is_dir() {
                walk(root, &rel, out);
            } else if let Some(stem) = rel.strip_suffix(".expected") {
                if !root.join(format!("{stem}.drbook")).exists() {
                    out.push(format!("{rel}: expected output without an input `{stem}.drbook`"));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&crate_root(), dir, &mut out);
    out
}

#[test]
fn ok_fixtures_check_clean_even_with_strict() {
    let mut failures = Vec::new();
    let mut files = drbook_files("tests/fixtures/ok");
    files.extend(drbook_files("tests/fixtures/ok/modules"));
    assert!(files.len() >= 8, "the ok corpus shrank: {files:?}");
    for f in files {
        // LANGUAGE.md's example is kept as the contract writes it, without `verify` probes
        // (added later): its only warnings are `no_verify`, one per step that can be undone.
        if f.ends_with("language-example.drbook") {
            let doc = json(&check(&f, &["--format", "json"]));
            let codes: Vec<&str> = doc["diagnostics"]
                .as_array()
                .expect("diagnostics array")
                .iter()
                .map(|d| d["code"].as_str().expect("a code"))
                .collect();
            if codes != ["drbook::lint::no_verify"; 3] {
                failures.push(format!("{f}: {codes:?}"));
            }
            continue;
        }
        let out = check(&f, &["--strict"]);
        out.expect_no_crash();
        let line = format!("ok: {f} (0 errors, 0 warnings)\n");
        if out.status != 0 || out.stderr != line {
            failures.push(format!("{f}: exit {}\n{}", out.status, out.stderr));
        }
    }
    report(failures);
}

#[test]
fn ok_fixtures_cover_every_construct() {
    let mut all = String::new();
    for f in drbook_files("tests/fixtures/ok") {
        let text = std::fs::read_to_string(crate_root().join(f)).expect("read a fixture");
        // Alignment is free: compare with runs of blanks collapsed to one space.
        all.push_str(
            &text.split([' ', '\t']).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "),
        );
        all.push('\n');
    }
    let constructs = [
        "import \"std/http\"",
        "import \"std/k8s\"",
        "import \"std/notify\"",
        "import \"std/postgres\"",
        "import \"std/ssm\"",
        "import \"./modules/",
        "\" as ",
        "template",
        "run ",
        "run \"\"\"",
        "http GET",
        "http POST",
        "header ",
        "body ",
        "status [",
        "status 200..299",
        "body_contains",
        "ssm command",
        "targets",
        "tag ",
        "instances",
        "parameters",
        "max_concurrency",
        "max_errors",
        "comment ",
        "ssm automation",
        "ssm put",
        " secure",
        "wait ",
        "manual ",
        "notify ",
        "rollback run",
        "rollback {",
        "rollback http",
        "approval {",
        "roles {",
        "env {",
        "workdir",
        "from stdout",
        "from json",
        "from regex",
        "check ",
        "when ",
        "&&",
        "||",
        "!(",
        "!dry",
        "measure rpo",
        "retry ",
        "backoff exponential",
        "on_failure abort",
        "on_failure rollback",
        "on_failure continue",
        "param ",
        ": string",
        ": number",
        ": bool",
        ": duration",
        ": list",
        "env(\"",
        "file(\"",
        "ssm(\"",
        "${steps.",
        "; ",
        "needs [",
        "idempotent",
        "reviewed",
        "review_every",
        "parallel",
        "rpo ",
        "tier ",
        "safe",
        "drills {",
        "every 365d",
        "notify_drills",
        "trigger {",
        "probe ",
        "timeout 5s run",
        "quorum 2 of 2",
        "failures ",
        "cooldown ",
        "rpo_gate ",
        "requires approval {",
        "params {",
        "${trigger.fired_at}",
        "notify dr_hook",
        "objectives {",
        "service \"",
        "impact {",
        "restores \"",
    ];
    let missing: Vec<&str> = constructs.iter().copied().filter(|c| !all.contains(c)).collect();
    assert!(missing.is_empty(), "no ok fixture uses {missing:?}");
}

#[test]
fn err_fixtures_match_expected_stderr_and_exit_2() {
    let mut failures = corpus("tests/fixtures/err", 2);
    failures.extend(orphans("tests/fixtures/err"));
    report(failures);
}

#[test]
fn err_fixtures_cover_every_error_of_the_language() {
    let inputs = inputs("tests/fixtures/err");
    let mut codes = Vec::new();
    for input in &inputs {
        let doc = json(&check(input, &["--format", "json"]));
        for d in doc["diagnostics"].as_array().expect("diagnostics array") {
            codes.push(d["code"].as_str().expect("a code").to_string());
        }
    }
    let required = [
        "check::unknown_step",
        "check::cycle",
        "check::self_dependency",
        "syntax::unknown_attribute",
        "check::two_actions",
        "check::duplicate_step",
        "syntax::bad_value",
        "check::bad_value",
        "check::unknown_name",
        "check::capture_not_ancestor",
        "check::unknown_role",
        "load::import_not_found",
        "load::import_cycle",
        "load::unknown_template",
        "load::unknown_alias",
        "load::missing_argument",
        "load::unknown_argument",
        "load::empty",
        "load::template_in_runbook",
        "syntax::unterminated_string",
        "syntax::structure",
        "check::reserved_name",
        "check::unsafe_safe_step",
        "check::safe_rollback",
        "check::unknown_drill_type",
        "check::duplicate_drill",
        "check::zero_drill_interval",
        "check::unknown_secret",
        "check::probe_not_read_only",
        "check::duplicate_probe",
        "check::probe_timeout_over_interval",
        "check::trigger_params_only",
        "check::bad_quorum",
        "check::unknown_param",
        "check::rpo_gate_without_rpo",
        "check::auto_without_drills",
        "check::duplicate_service",
        "check::unknown_setting",
        "check::missing_impact_setting",
        "check::bad_impact",
        "check::unknown_service",
        "check::restores_without_objectives",
    ];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !codes.iter().any(|c| c == &format!("drbook::{r}")))
        .collect();
    assert!(missing.is_empty(), "no err fixture reports {missing:?}");
}

#[test]
fn every_diagnostic_has_a_position_and_a_help_line() {
    let mut failures = Vec::new();
    for input in inputs("tests/fixtures/err").into_iter().chain(inputs("tests/fixtures/warn")) {
        let out = check(&input, &["--format", "json"]);
        let doc = json(&out);
        let diags = doc["diagnostics"].as_array().expect("diagnostics array");
        let count = |sev: &str| diags.iter().filter(|d| d["severity"] == sev).count() as u64;
        if doc["errors"] != count("error") || doc["warnings"] != count("warning") {
            failures.push(format!("{input}: counts do not match the diagnostics\n{}", out.stdout));
        }
        for d in diags {
            let ok = d["code"].as_str().is_some_and(|c| c.starts_with("drbook::"))
                && d["message"].as_str().is_some_and(|m| !m.is_empty())
                && d["file"].as_str().is_some_and(|f| !f.is_empty())
                && d["line"].as_u64().is_some_and(|l| l >= 1)
                && d["column"].as_u64().is_some_and(|c| c >= 1)
                && d["help"].as_str().is_some_and(|h| !h.is_empty());
            if !ok {
                failures.push(format!("{input}: incomplete diagnostic {d}"));
            }
        }
        // The human report's count line agrees with the JSON document.
        let human = check(&input, &[]);
        let (e, w) = (count("error"), count("warning"));
        let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let counts = format!("({}, {})", plural(e, "error"), plural(w, "warning"));
        if !human.stderr.trim_end().ends_with(&format!("{input} {counts}")) {
            failures.push(format!("{input}: human count line is not {counts}\n{}", human.stderr));
        }
    }
    report(failures);
}

#[test]
fn warn_fixtures_match_expected_stderr_and_exit_0() {
    let mut failures = corpus("tests/fixtures/warn", 0);
    failures.extend(orphans("tests/fixtures/warn"));
    report(failures);
}

#[test]
fn warnings_become_errors_with_strict() {
    for input in inputs("tests/fixtures/warn") {
        let relaxed = json(&check(&input, &["--format", "json"]));
        let warnings = relaxed["warnings"].as_u64().expect("a warning count");
        assert!(warnings > 0, "{input} warns about nothing");
        assert_eq!(relaxed["errors"], 0, "{input} has errors");
        let strict = check(&input, &["--strict"]);
        strict.expect_status(2);
        let plural = if warnings == 1 { "" } else { "s" };
        strict.expect_stderr(&format!("failed: {input} ({warnings} error{plural}, 0 warnings)"));
        assert!(!strict.stderr.contains('⚠'), "{input}: --strict still shows warnings");
    }
}

#[test]
fn warn_fixtures_cover_every_warning_of_the_language() {
    let mut codes = Vec::new();
    for input in inputs("tests/fixtures/warn") {
        let doc = json(&check(&input, &["--format", "json"]));
        for d in doc["diagnostics"].as_array().expect("diagnostics array") {
            assert_eq!(d["severity"], "warning", "{input}: {d}");
            codes.push(d["code"].as_str().expect("a code").to_string());
        }
    }
    for lint in [
        "no_owner",
        "no_duration",
        "no_rto",
        "over_budget",
        "timeout_shorter",
        "stale_review",
        "unused_param",
        "quoted_interpolation",
        "no_way_back",
        "no_verify",
    ] {
        let code = format!("drbook::lint::{lint}");
        assert!(codes.contains(&code), "no warn fixture triggers {code}");
    }
}

#[test]
fn stale_review_warning_follows_today() {
    let input = "tests/fixtures/warn/warnings.drbook";
    let codes = |today: &str| -> Vec<String> {
        let out = Test::new()
            .in_crate_root()
            .args(&["check", "--format", "json", "--today", today, input])
            .run();
        json(&out)["diagnostics"]
            .as_array()
            .expect("diagnostics array")
            .iter()
            .map(|d| d["code"].as_str().expect("a code").to_string())
            .collect()
    };
    // Reviewed 2026-01-01, due every 90 days: overdue from 2026-04-01.
    assert!(!codes("2026-03-31").contains(&"drbook::lint::stale_review".to_string()));
    assert!(codes("2026-04-02").contains(&"drbook::lint::stale_review".to_string()));
}

#[test]
fn check_rejects_a_today_that_is_not_a_date() {
    Test::new()
        .in_crate_root()
        .args(&["check", "--today", "2026-02-30", "tests/fixtures/ok/minimal.drbook"])
        .run()
        .expect_status(2)
        .expect_stderr("`--today 2026-02-30` is not a date");
}
