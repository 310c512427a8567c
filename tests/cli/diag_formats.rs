//! `check --format github|sarif|json` as CI and editors read them: golden output on error
//! fixtures, escaping of hostile messages and file names, SARIF validated against the
//! published 2.1.0 schema (vendored in `tests/fixtures/sarif/`), end positions, and files that
//! cannot be read reported as diagnostics.

use crate::{crate_root, golden, json, report, stem, Output, Test, TODAY};

/// Error and warning fixtures the golden files cover: a related label, a cycle, a bad value,
/// several warnings.
const FIXTURES: [&str; 4] = [
    "tests/fixtures/err/duplicate-step.drbook",
    "tests/fixtures/err/cycle-three.drbook",
    "tests/fixtures/err/bad-duration.drbook",
    "tests/fixtures/warn/warnings.drbook",
];

fn check(format: &str, file: &str) -> Output {
    Test::new().in_crate_root().args(&["check", "--today", TODAY, "--format", format, file]).run()
}

#[test]
fn github_and_sarif_output_match_golden_files() {
    let mut failures = Vec::new();
    for f in FIXTURES {
        let code = if f.contains("/err/") { 2 } else { 0 };
        for (format, ext) in [("github", "github"), ("sarif", "sarif.json")] {
            let out = check(format, f);
            out.expect_no_crash();
            if out.status != code || !out.stderr.is_empty() {
                failures.push(format!("{f} {format}: exit {}\n{}", out.status, out.stderr));
            }
            if let Err(e) = golden(&format!("tests/golden/check/{}.{ext}", stem(f)), &out.stdout) {
                failures.push(e);
            }
        }
    }
    report(failures);
}

/// A file name and a message full of what the workflow command syntax gives meaning to.
fn hostile() -> Test {
    Test::new().file(
        "we,ird:na%me.drbook",
        "import \"./50%,a::b\\nc\\rd.drbook\"\n\nrunbook \"h\" {\n  owner \"ops\"\n  rto   1h\n\n  \
         step a {\n    duration 1m\n    manual   \"A\"\n  }\n}\n",
    )
}

/// Undoes the workflow commands' escaping.
fn unescape(s: &str) -> String {
    s.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn github_commands_escape_hostile_messages_and_file_names() {
    let out = hostile().args(&["check", "--format", "github", "we,ird:na%me.drbook"]).run();
    out.expect_no_crash().expect_status(2);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one command line per diagnostic:\n{}", out.stdout);
    let line = lines[0];
    assert!(!out.stdout.trim_end_matches('\n').contains(['\n', '\r']), "{line}");
    let rest = line.strip_prefix("::error ").expect("an error command");
    // The properties end at the first `::`: nothing before it may be a raw `:` or an
    // unescaped `,` that is not a separator.
    let (props, message) = rest.split_once("::").expect("properties, then the message");
    let props: Vec<(&str, &str)> =
        props.split(',').map(|p| p.split_once('=').expect("NAME=VALUE")).collect();
    let names: Vec<&str> = props.iter().map(|p| p.0).collect();
    assert_eq!(names, ["file", "line", "col", "endLine", "endColumn", "title"], "{line}");
    assert_eq!(unescape(props[0].1), "we,ird:na%me.drbook");
    assert_eq!(props[0].1, "we%2Cird%3Ana%25me.drbook");
    assert_eq!(unescape(props[5].1), "drbook::load::import_not_found");
    assert_eq!(
        unescape(message),
        // The checker already shows the carriage return as `\r` (`%0D` is tested in the unit
        // tests of the renderer).
        "cannot import `./50%,a::b\nc\\rd.drbook`: no such file\nhelp: paths are relative to \
         the importing file; bundled modules are `std/NAME`"
    );
    assert!(message.contains("50%25,a::b%0Ac\\rd"), "{message}");
}

/// Validates `doc` against the vendored SARIF 2.1.0 schema with Python's `jsonschema`; `false`
/// (and a visible SKIP) when that module is not installed.
fn valid_sarif(doc: &str) -> bool {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let schema = crate_root().join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.Draft4Validator.check_schema(schema)\n\
                  jsonschema.Draft4Validator(schema).validate(json.load(sys.stdin))\n";
    let probe = Command::new("python3").args(["-c", "import jsonschema"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP: SARIF schema validation: python3 with the jsonschema module not found");
        return false;
    }
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    child.stdin.take().expect("piped stdin").write_all(doc.as_bytes()).expect("write the log");
    let out = child.wait_with_output().expect("wait for python3");
    assert!(
        out.status.success(),
        "not valid SARIF 2.1.0:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn sarif_is_valid_against_the_published_schema() {
    let t = hostile().copy("tests/fixtures/err", "err").copy("tests/fixtures/warn", "warn");
    let mut args = vec!["check".to_string(), "--today".into(), TODAY.into()];
    args.extend(["--format".into(), "sarif".into(), "we,ird:na%me.drbook".into()]);
    args.extend(FIXTURES.iter().map(|f| f.trim_start_matches("tests/fixtures/").to_string()));
    args.push("missing.drbook".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = t.cmd(&args);
    out.expect_no_crash().expect_status(2);
    let doc = json(&out);
    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("a rule id"))
        .collect();
    let results = run["results"].as_array().expect("results");
    for r in results {
        assert!(rules.contains(&r["ruleId"].as_str().expect("a rule id")), "{r}");
    }
    let mut sorted = rules.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), rules.len(), "one rule per code: {rules:?}");
    // The duplicate step's first definition is a related location with its region.
    let dup = results
        .iter()
        .find(|r| r["ruleId"] == "drbook::check::duplicate_step")
        .expect("the duplicate-step result");
    let region = &dup["locations"][0]["physicalLocation"]["region"];
    assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(10), Some(8)));
    assert_eq!((region["endLine"].as_u64(), region["endColumn"].as_u64()), (Some(10), Some(15)));
    let related = &dup["relatedLocations"][0];
    assert_eq!(related["message"]["text"], "first defined here");
    assert_eq!(related["physicalLocation"]["region"]["startLine"], 5);
    assert_eq!(
        dup["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "err/duplicate-step.drbook"
    );
    let hostile = results.iter().find(|r| r["ruleId"] == "drbook::load::import_not_found");
    assert_eq!(
        hostile.expect("the hostile result")["locations"][0]["physicalLocation"]
            ["artifactLocation"]["uri"],
        "we%2Cird%3Ana%25me.drbook"
    );
    assert!(results.iter().any(|r| r["ruleId"] == "drbook::load::unreadable"));
    valid_sarif(&out.stdout);
}

#[test]
fn json_diagnostics_carry_end_positions_of_the_span_and_each_label() {
    let doc = json(&check("json", "tests/fixtures/err/duplicate-step.drbook"));
    let d = &doc["diagnostics"][0];
    let at = |v: &serde_json::Value| {
        [&v["line"], &v["column"], &v["end_line"], &v["end_column"]].map(|n| n.as_u64())
    };
    assert_eq!(at(d), [Some(10), Some(8), Some(10), Some(15)], "{d}");
    let labels = d["labels"].as_array().expect("labels");
    assert_eq!(labels.len(), 2, "{d}");
    assert_eq!(labels[0]["primary"], true);
    assert_eq!(labels[0]["message"], "second step with this id");
    assert_eq!(at(&labels[0]), at(d));
    assert_eq!(labels[1]["primary"], false);
    assert_eq!(labels[1]["message"], "first defined here");
    assert_eq!(at(&labels[1]), [Some(5), Some(8), Some(5), Some(15)]);
    assert_eq!(labels[1]["file"], "tests/fixtures/err/duplicate-step.drbook");
}

#[test]
fn files_that_cannot_be_read_are_diagnostics_in_every_machine_format() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new()
        .file("dir/.keep", "")
        .file("locked.drbook", "runbook \"l\" {\n}\n")
        .copy("tests/fixtures/ok/minimal.drbook", "ok.drbook");
    let locked = t.path("locked.drbook");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    // Root reads a file whatever its mode: the locked file is then no test of anything.
    let root = std::fs::read(&locked).is_ok();
    if root {
        eprintln!(
            "SKIP: a chmod 000 file is readable (running as root); missing and directory only"
        );
    }
    let mut files = vec!["missing.drbook", "dir", "ok.drbook"];
    if !root {
        files.push("locked.drbook");
    }
    let mut args = vec!["check", "--today", TODAY, "--format", "json"];
    args.extend(&files);
    let out = t.cmd(&args);
    out.expect_no_crash().expect_status(2);
    let doc = json(&out);
    let diags = doc["diagnostics"].as_array().expect("diagnostics");
    let unreadable: Vec<(&str, &str)> = diags
        .iter()
        .filter(|d| d["code"] == "drbook::load::unreadable")
        .map(|d| (d["file"].as_str().expect("file"), d["message"].as_str().expect("message")))
        .collect();
    let mut expected = vec![
        ("missing.drbook", "cannot read `missing.drbook`: No such file or directory (os error 2)"),
        ("dir", "cannot read `dir`: Is a directory (os error 21)"),
    ];
    if !root {
        expected.push((
            "locked.drbook",
            "cannot read `locked.drbook`: Permission denied (os error 13)",
        ));
    }
    assert_eq!(unreadable, expected);
    assert_eq!(doc["errors"].as_u64(), Some(expected.len() as u64), "{doc}");
    for d in diags {
        assert_eq!(d["severity"], "error", "{d}");
        assert_eq!((d["line"].as_u64(), d["end_line"].as_u64()), (Some(1), Some(1)), "{d}");
    }
    // The readable file was checked and is clean; nothing went to standard error.
    assert_eq!(diags.len(), expected.len(), "{doc}");
    assert_eq!(out.stderr, "");
    let gh = t.cmd(&["check", "--format", "github", "missing.drbook"]);
    gh.expect_status(2);
    assert!(
        gh.stdout.starts_with(
            "::error file=missing.drbook,line=1,col=1,endLine=1,endColumn=1,\
             title=drbook%3A%3Aload%3A%3Aunreadable::cannot read `missing.drbook`: No such file"
        ),
        "{}",
        gh.stdout
    );
}
