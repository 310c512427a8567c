//! `drbook fmt -` (standard input to standard output) and `drbook fmt --diff`, for editors and
//! CI: run as real processes with real pipes.

use crate::Test;
use std::io::Write;
use std::process::{Command, Stdio};

/// A valid runbook in a layout `fmt` changes.
const UNFORMATTED: &str =
    "runbook \"x\" {\nowner \"ops\"\n   rto 1h\n step a {\n duration 1m\n      manual \"A\"\n }\n}\n";

/// What `fmt` makes of [`UNFORMATTED`], found by formatting a file in place.
fn formatted() -> String {
    let t = Test::new().file("x.drbook", UNFORMATTED).args(&["fmt", "x.drbook"]);
    t.run().expect_no_crash().expect_status(0);
    let text = t.read("x.drbook");
    assert_ne!(text, UNFORMATTED, "the fixture must need formatting");
    text
}

/// Runs `drbook ARGS` with `input` on standard input: (status, stdout, stderr).
fn piped(args: &[&str], input: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_drbook"))
        .args(["--color", "never"])
        .args(args)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("DRBOOK_STATE_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start drbook");
    child.stdin.take().expect("piped stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait for drbook");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[test]
fn fmt_dash_formats_standard_input_to_standard_output() {
    let want = formatted();
    assert_eq!(piped(&["fmt", "-"], UNFORMATTED), (0, want.clone(), String::new()));
    // Formatted input comes back unchanged.
    assert_eq!(piped(&["fmt", "-"], &want), (0, want.clone(), String::new()));
    // `--check -` writes nothing and says whether it would change.
    let (code, out, err) = piped(&["fmt", "--check", "-"], UNFORMATTED);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(err, "would reformat: <stdin>\n");
}

#[test]
fn fmt_dash_on_invalid_input_writes_diagnostics_and_no_output() {
    let broken = format!("{UNFORMATTED}\nrunbook \"y\" {{\n  step {{\n");
    let (code, out, err) = piped(&["fmt", "-"], &broken);
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "", "no partial output");
    assert!(err.contains("<stdin>:"), "diagnostics name standard input:\n{err}");
    assert!(err.ends_with("failed: <stdin> is not valid; not formatted\n"), "{err}");
}

#[test]
fn fmt_diff_prints_a_unified_diff_and_writes_nothing() {
    let want = formatted();
    let t = Test::new().file("x.drbook", UNFORMATTED).file("ok.drbook", &want);
    let out = t.cmd(&["fmt", "--diff", "x.drbook", "ok.drbook"]);
    out.expect_no_crash().expect_status(1);
    assert_eq!(t.read("x.drbook"), UNFORMATTED, "--diff writes nothing");
    assert_eq!(out.stderr, "");
    let diff = &out.stdout;
    assert!(diff.starts_with("--- x.drbook\n+++ x.drbook\n@@ -1,"), "{diff}");
    assert!(diff.contains("\n-owner \"ops\"\n"), "{diff}");
    assert!(diff.contains("\n+  owner \"ops\"\n"), "{diff}");
    assert!(!diff.contains("ok.drbook"), "a formatted file has no diff:\n{diff}");
    // Applying the diff gives the formatted text: the removed and added lines are exact.
    let removed: String = diff
        .lines()
        .filter(|l| l.starts_with(['-', ' ']) && !l.starts_with("---"))
        .map(|l| format!("{}\n", &l[1..]))
        .collect();
    let added: String = diff
        .lines()
        .filter(|l| l.starts_with(['+', ' ']) && !l.starts_with("+++"))
        .map(|l| format!("{}\n", &l[1..]))
        .collect();
    assert_eq!((removed.as_str(), added.as_str()), (UNFORMATTED, want.as_str()));
    let clean = t.cmd(&["fmt", "--diff", "ok.drbook"]);
    clean.expect_status(0);
    assert_eq!((clean.stdout.as_str(), clean.stderr.as_str()), ("", ""));
    // From standard input too.
    let (code, out, _) = piped(&["fmt", "--diff", "-"], UNFORMATTED);
    assert_eq!(code, 1);
    assert!(out.starts_with("--- <stdin>\n+++ <stdin>\n"), "{out}");
}
