//! Hostile inputs: imports that leave the project, terminal control characters, bytes that are
//! not UTF-8, and shell constructs that parse a param's value a second time.

use crate::{json, Test, TODAY};

const MODULE: &str = "template hi() {\n  run \"echo hi\"\n  idempotent\n}\n";

fn importing(path: &str) -> String {
    format!(
        "import \"{path}\" as m\nrunbook \"t\" {{\n  owner \"o\"; rto 1h\n  step a {{ duration 1m; use m.hi() }}\n}}\n"
    )
}

#[test]
fn an_import_climbing_out_of_the_project_is_refused_without_reading_it() {
    let t = Test::new()
        .file("secret.drbook", "TOPSECRET = hunter2\n")
        .file("proj/t.drbook", &importing("../secret.drbook"))
        .args(&["check", "proj/t.drbook", "--today", TODAY]);
    let out = t.run();
    out.expect_status(2).expect_stderr("drbook::load::import_outside_root");
    out.expect_stderr("--root");
    assert!(!out.stderr.contains("TOPSECRET"), "{}", out.stderr);
    // The same in JSON: one diagnostic, nothing of the target.
    let out = t.cmd(&["check", "proj/t.drbook", "--format", "json", "--today", TODAY]);
    out.expect_status(2);
    let doc = json(&out);
    assert_eq!(doc["errors"], 1, "{doc}");
    assert_eq!(doc["diagnostics"][0]["code"], "drbook::load::import_outside_root");
    assert!(!out.stdout.contains("TOPSECRET"), "{}", out.stdout);
}

#[test]
fn proc_environ_and_absolute_imports_are_refused() {
    for target in ["../../../../../../../../proc/self/environ", "/proc/self/environ", "/etc/passwd"]
    {
        let out = Test::new()
            .file("t.drbook", &importing(target))
            .env("DRBOOK_TEST_CANARY", "CANARY-VALUE-42")
            .args(&["check", "t.drbook", "--today", TODAY])
            .run();
        out.expect_status(2).expect_stderr("drbook::load::import_outside_root");
        assert!(!out.stderr.contains("CANARY-VALUE-42"), "{target}: {}", out.stderr);
        assert!(!out.stderr.contains("root:x:"), "{target}: {}", out.stderr);
    }
}

#[test]
fn a_symlinked_import_pointing_out_of_the_project_is_refused() {
    let t = Test::new()
        .file("outside/m.drbook", "TOPSECRET\n")
        .file("proj/t.drbook", &importing("./m.drbook"));
    std::os::unix::fs::symlink(t.path("outside/m.drbook"), t.path("proj/m.drbook"))
        .expect("plant a symlink");
    let out = t.cmd(&["plan", "proj/t.drbook", "--today", TODAY]);
    out.expect_status(2).expect_stderr("drbook::load::import_outside_root");
    assert!(!out.stderr.contains("TOPSECRET"), "{}", out.stderr);
}

#[test]
fn root_widens_the_project_for_check_and_plan() {
    let t = Test::new()
        .file("lib/m.drbook", MODULE)
        .file("proj/t.drbook", &importing("../lib/m.drbook"))
        .file("proj/local.drbook", MODULE)
        .file("proj/u.drbook", &importing("./local.drbook"));
    t.cmd(&["check", "proj/t.drbook", "--today", TODAY])
        .expect_status(2)
        .expect_stderr("drbook::load::import_outside_root");
    t.cmd(&["check", "proj/t.drbook", "--root", ".", "--today", TODAY]).expect_status(0);
    t.cmd(&["plan", "proj/t.drbook", "--root", ".", "--today", TODAY]).expect_status(0);
    // Imports inside the runbook's own directory need no `--root`.
    t.cmd(&["check", "proj/u.drbook", "--today", TODAY]).expect_status(0);
    // A root that does not hold the runbook is refused.
    t.cmd(&["check", "proj/t.drbook", "--root", "lib", "--today", TODAY])
        .expect_status(2)
        .expect_stderr("--root");
}

#[test]
fn run_takes_root_too() {
    let t = Test::new()
        .file("lib/m.drbook", MODULE)
        .file("proj/t.drbook", &importing("../lib/m.drbook"));
    let out = t.cmd(&["run", "proj/t.drbook", "--root", ".", "--non-interactive"]);
    out.expect_status(0);
    let out = t.cmd(&["run", "proj/t.drbook", "--non-interactive"]);
    out.expect_status(2).expect_stderr("drbook::load::import_outside_root");
}

#[test]
fn a_file_that_is_not_utf8_gets_a_diagnostic_with_its_position() {
    let t = Test::new().bytes("t.drbook", b"runbook \"t\" {\n  owner \"o\xffo\"\n}\n");
    let out = t.cmd(&["check", "t.drbook", "--format", "json", "--today", TODAY]);
    out.expect_status(2);
    let doc = json(&out);
    assert_eq!(doc["errors"], 1, "{doc}");
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "drbook::syntax::not_utf8", "{doc}");
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(2), Some(11)), "{doc}");
    assert!(d["message"].as_str().unwrap_or("").contains("byte offset 24"), "{doc}");
    let out = t.cmd(&["check", "t.drbook", "--today", TODAY]);
    out.expect_status(2)
        .expect_stderr("drbook::syntax::not_utf8")
        .expect_stderr("byte offset 24 (line 2, column 11)")
        .expect_stderr("t.drbook:2:11");
    t.cmd(&["plan", "t.drbook", "--today", TODAY])
        .expect_status(2)
        .expect_stderr("drbook::syntax::not_utf8");
}
