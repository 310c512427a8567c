//! A state dir nobody else controls (issue 11 §2): a state dir, run dir or journal that is
//! owned by another account or writable by group or world is refused before anything in it
//! is read or run (exit 2), with the path, the owner or mode, and the fix.

use crate::runkit::{drb, runbook, STATE};
use crate::Test;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A run `r` paused at gate `g`; resuming it with `--approve g` would append to `side`.
fn paused() -> Test {
    let rb = runbook(
        "trust",
        r#"  step g { duration 1s; approval { by a }; run "echo ran >> side"; idempotent }"#,
    );
    let t = Test::new().file("t.drbook", &rb);
    drb(&t, &["run", "t.drbook", "--run-id", "r", "--as", "alice"]).expect_status(3);
    t
}

fn add_mode(path: &Path, bits: u32) {
    let mode = std::fs::metadata(path).expect("stat").permissions().mode();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | bits)).expect("chmod");
}

#[test]
fn a_group_or_world_writable_state_dir_run_dir_or_journal_is_refused() {
    for (what, bits) in [
        ("", 0o020),
        ("runs", 0o002),
        ("runs/r", 0o020),
        ("runs/r/journal", 0o002),
        ("runs/r/journal", 0o020),
    ] {
        let t = paused();
        let path = if what.is_empty() { t.path(STATE) } else { t.path(STATE).join(what) };
        add_mode(&path, bits);
        for args in [&["resume", "r", "--approve", "g", "--as", "bob"][..], &["status", "r"]] {
            let out = drb(&t, args);
            out.expect_status(2)
                .expect_stderr("refusing `")
                .expect_stderr(&path.display().to_string())
                .expect_stderr("lets ")
                .expect_stderr("chmod go-w");
        }
        assert!(!t.path("side").exists(), "{what}: nothing may run from an untrusted state dir");
        // Put right, the same run resumes.
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & !0o022;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        drb(&t, &["resume", "r", "--approve", "g", "--as", "bob"]).expect_status(0);
        assert!(t.path("side").exists(), "{what}: once fixed the run goes on");
    }
}

#[test]
fn a_state_dir_or_journal_owned_by_another_account_is_refused() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: changing a file's owner needs root");
        return;
    }
    for what in ["", "runs/r", "runs/r/journal"] {
        let t = paused();
        let path = if what.is_empty() { t.path(STATE) } else { t.path(STATE).join(what) };
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).expect("chown to nobody");
        let out = drb(&t, &["resume", "r", "--approve", "g", "--as", "bob"]);
        out.expect_status(2)
            .expect_stderr(&path.display().to_string())
            .expect_stderr("owned by uid 65534")
            .expect_stderr("chown");
        assert!(!t.path("side").exists(), "{what}: nothing may run from another's state dir");
        // A new run in that state dir is refused too when the state dir itself is not ours.
        if what.is_empty() {
            drb(&t, &["run", "t.drbook", "--run-id", "s"]).expect_status(2);
        }
    }
}
