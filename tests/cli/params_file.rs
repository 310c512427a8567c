//! `--params-file FILE` and the `RUNBOOK.params` file beside a runbook: params for planning in
//! CI, `--param` winning over the file, bad lines refused with their file and line.

use crate::{Output, Test, TODAY};

/// Panics unless standard output or error contains `needle`.
#[track_caller]
fn says(out: &Output, needle: &str) {
    assert!(
        out.stdout.contains(needle) || out.stderr.contains(needle),
        "output should contain {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout,
        out.stderr
    );
}

const BOOK: &str = r#"runbook "t" {
  owner "o"; rto 1h
  param ticket: string
  param region = "eu-west-1"
  step a {
    duration 1m
    run "echo ${ticket} ${region}"
    idempotent
  }
}
"#;

#[test]
fn a_params_file_supplies_required_params_for_plan() {
    let out = Test::new()
        .file("t.drbook", BOOK)
        .file("ci.params", "# for CI\n\nticket = CHG-42\nregion=us-east-2\n")
        .args(&["plan", "t.drbook", "--params-file", "ci.params", "--today", TODAY])
        .run();
    says(out.expect_status(0), "echo CHG-42 us-east-2");
}

#[test]
fn param_flags_win_over_the_params_file() {
    let out = Test::new()
        .file("t.drbook", BOOK)
        .file("ci.params", "ticket=CHG-42\nregion=us-east-2\n")
        .args(&["plan", "t.drbook", "--params-file", "ci.params", "--param", "region=ap-1"])
        .args(&["--today", TODAY])
        .run();
    says(out.expect_status(0), "echo CHG-42 ap-1");
}

#[test]
fn a_value_keeps_its_hashes_and_equals_signs() {
    let out = Test::new()
        .file("t.drbook", BOOK)
        .file("ci.params", "ticket=a=b#c\n")
        .args(&["plan", "t.drbook", "--params-file", "ci.params", "--today", TODAY])
        .run();
    says(out.expect_status(0), "echo 'a=b#c' eu-west-1");
}

#[test]
fn the_params_file_beside_the_runbook_is_used_by_plan() {
    let t = Test::new()
        .file("rb/t.drbook", BOOK)
        .file("rb/t.params", "ticket=CHG-7\n")
        .file("other.params", "ticket=CHG-8\n");
    says(t.cmd(&["plan", "rb/t.drbook", "--today", TODAY]).expect_status(0), "echo CHG-7");
    // An explicit file replaces it.
    let out = t.cmd(&["plan", "rb/t.drbook", "--params-file", "other.params", "--today", TODAY]);
    says(out.expect_status(0), "echo CHG-8");
}

#[test]
fn a_bad_line_is_refused_with_its_file_and_line() {
    let out = Test::new()
        .file("t.drbook", BOOK)
        .file("ci.params", "# ok\nticket=CHG-1\nregion us-east-2\n")
        .args(&["plan", "t.drbook", "--params-file", "ci.params", "--today", TODAY])
        .run();
    out.expect_status(2)
        .expect_stderr("drbook::params::bad_line")
        .expect_stderr("ci.params:3:1")
        .expect_stderr("NAME=VALUE");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn a_name_set_twice_in_the_file_is_refused() {
    let out = Test::new()
        .file("t.drbook", BOOK)
        .file("ci.params", "ticket=CHG-1\nticket=CHG-2\n")
        .args(&["plan", "t.drbook", "--params-file", "ci.params", "--today", TODAY])
        .run();
    out.expect_status(2).expect_stderr("drbook::params::duplicate").expect_stderr("ci.params:2:1");
}

#[test]
fn a_missing_params_file_is_bad_input() {
    let out = Test::new()
        .file("t.drbook", BOOK)
        .args(&["plan", "t.drbook", "--params-file", "nope.params", "--today", TODAY])
        .run();
    out.expect_status(2).expect_stderr("nope.params");
}

#[test]
fn check_takes_a_params_file_and_judges_its_names() {
    let t = Test::new().file("t.drbook", BOOK).file("typo.params", "tikcet=CHG-1\n");
    t.cmd(&["check", "t.drbook", "--params-file", "typo.params", "--today", TODAY])
        .expect_status(2)
        .expect_stderr("drbook::check::unknown_param")
        .expect_stderr("ticket");
}

#[test]
fn run_takes_a_params_file() {
    let out = Test::new()
        .file("t.drbook", BOOK)
        .file("ci.params", "ticket=CHG-9\n")
        .args(&["run", "t.drbook", "--params-file", "ci.params", "--dry-run"])
        .run();
    says(out.expect_status(0), "CHG-9 eu-west-1");
}

#[test]
fn every_shipped_runbook_plans_with_no_flag_but_its_params_file_beside_it() {
    for f in crate::drbook_files("runbooks") {
        let out = Test::new().in_crate_root().args(&["plan", &f, "--today", TODAY]).run();
        assert_eq!(out.status, 0, "{f}\n{}", out.stderr);
    }
}
