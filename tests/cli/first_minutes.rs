//! The first minutes with drbook: the commands it suggests work when pasted, however it was
//! started (a relative path such as `target/release/drbook`, an absolute one, or `PATH`), and
//! the pause after a crash says which answer is safe.

use crate::runkit::{count, runbook};
use crate::Test;
use std::process::Command;

/// A copy of the binary at `bin/drbook` inside the test's directory, started as
/// `./bin/drbook ARGS` from that directory (as `cargo run` users start `target/...`).
fn relative(t: &Test, args: &[&str]) -> (i32, String) {
    relative_with(t, &[], args)
}

/// [`relative`] with extra environment variables.
fn relative_with(t: &Test, envs: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let bin = t.path("bin");
    std::fs::create_dir_all(&bin).expect("create bin/");
    let exe = bin.join("drbook");
    if !exe.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_drbook"), &exe).expect("link the binary");
    }
    let out = Command::new("./bin/drbook")
        .args(args)
        .current_dir(t.path(""))
        .env_remove("DRBOOK_STATE_DIR")
        .env("NO_COLOR", "1")
        .envs(envs.iter().copied())
        .output()
        .expect("start ./bin/drbook");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The first backquoted command in `text` that starts with `prefix`.
fn suggested<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.split('`').find(|w| w.starts_with(prefix)).unwrap_or_else(|| {
        panic!("no `{prefix}...` command suggested in:\n{text}");
    })
}

/// Runs a suggested command line as a person pastes it into a shell, in the test's directory.
fn paste(t: &Test, line: &str) -> (i32, String) {
    let out = Command::new("sh")
        .args(["-c", line])
        .current_dir(t.path(""))
        .env_remove("DRBOOK_STATE_DIR")
        .env("NO_COLOR", "1")
        .output()
        .expect("run sh");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_resume_command_printed_after_a_failure_works_when_pasted() {
    let rb = runbook(
        "fails",
        r#"
  step a { duration 1s; run "echo a >> log"; idempotent }
  step b { needs a; duration 1s; run "test -f ok && echo b >> log"; idempotent }"#,
    );
    let t = Test::new().file("f.drbook", &rb);
    let (code, err) =
        relative(&t, &["run", "f.drbook", "--run-id", "r1", "--state-dir", "my state"]);
    assert_eq!(code, 1, "{err}");
    let cmd = suggested(&err, "./bin/drbook resume r1");
    assert_eq!(cmd, "./bin/drbook resume r1 --state-dir 'my state'", "{err}");
    std::fs::write(t.path("ok"), "").expect("fix the cause");
    let (code, err) = paste(&t, cmd);
    assert_eq!(code, 0, "the pasted command resumes the run: {err}");
    assert_eq!(count(&t.path("log"), "b"), 1);
}

#[test]
fn a_pause_after_a_crash_names_the_safe_answer_as_a_command_that_works() {
    let rb = runbook(
        "crash",
        r#"
  step act { duration 1s; run "echo act >> log; sleep 30" }
  step after { needs act; duration 1s; run "echo after >> log"; idempotent }"#,
    );
    let t = Test::new().file("c.drbook", &rb);
    let st = t.path("state").display().to_string();
    let kill = [("DRBOOK_TEST_KILL", "after_go:act")];
    let (code, err) =
        relative_with(&t, &kill, &["run", "c.drbook", "--run-id", "r1", "--state-dir", &st]);
    assert_eq!(code, -1, "the runner was killed: {err}");
    // The killed runner's step is stopped by the resume; nothing else may hold the run.
    let (code, err) = relative(&t, &["resume", "r1", "--state-dir", &st]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("Not sure? `fail` is the safe answer"), "{err}");
    assert!(err.contains("--interrupted act=ANSWER"), "{err}");
    let safe = suggested(&err, "./bin/drbook resume r1 --interrupted act=fail");
    let (code, err) = paste(&t, safe);
    assert_eq!(code, 1, "deciding `fail` fails the run under abort: {err}");
    let (code, err) = paste(&t, &format!("./bin/drbook status r1 --state-dir {st}"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(count(&t.path("log"), "after"), 0, "nothing ran after a failed step");
}

#[test]
fn completions_are_valid_scripts_that_know_every_command_and_flag() {
    let t = Test::new();
    let bash = t.cmd(&["completions", "bash"]);
    bash.expect_status(0);
    for word in ["resume", "rollback", "approve", "--interrupted", "--state-dir", "completions"] {
        assert!(bash.stdout.contains(word), "bash completion knows {word}");
    }
    std::fs::write(t.path("drbook.bash"), &bash.stdout).expect("write the script");
    let syntax = Command::new("bash").args(["-n", "drbook.bash"]).current_dir(t.path("")).output();
    let syntax = syntax.expect("run bash -n");
    assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = t.cmd(&["completions", shell]);
        out.expect_status(0);
        assert!(out.stdout.contains("resume"), "{shell} completion knows resume");
    }
    t.cmd(&["completions", "tcsh"]).expect_status(2).expect_stderr("tcsh");
}

#[test]
fn man_pages_are_written_for_drbook_and_each_command() {
    let t = Test::new();
    let page = t.cmd(&["man"]);
    page.expect_status(0);
    assert!(page.stdout.contains(".TH drbook 1"), "{}", page.stdout);
    let out = t.cmd(&["man", "--out-dir", "man1"]);
    out.expect_status(0);
    for name in ["drbook", "drbook-run", "drbook-resume", "drbook-status", "drbook-completions"] {
        let text = t.read(&format!("man1/{name}.1"));
        assert!(text.contains(&format!(".TH {name} 1")), "{name}.1 has its title:\n{text}");
    }
    assert!(t.read("man1/drbook-resume.1").contains("interrupted"), "flags are documented");
}
