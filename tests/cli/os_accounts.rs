//! `approvals os` on a shared host (issue 11 §1): a state dir shared by a group, where each
//! inbox request counts as the OS account that owns its file. Needs two real accounts, so it
//! creates throwaway users and a group when running as root (and removes them), and skips
//! visibly otherwise.

use crate::run_approval::wait_until_waiting;
use crate::runkit::{drb_spawn, journal, STATE};
use crate::Test;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

/// Throwaway accounts `<p>b`, `<p>c` in group `<p>g`, removed on drop.
struct Accounts {
    group: String,
    users: Vec<String>,
}

impl Accounts {
    fn new() -> Accounts {
        let p = format!("drbk{}", std::process::id() % 100_000);
        let group = format!("{p}g");
        let users = vec![format!("{p}b"), format!("{p}c")];
        let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
        assert!(ok(Command::new("groupadd").arg(&group)), "groupadd {group}");
        let a = Accounts { group, users };
        for u in &a.users {
            let made = ok(Command::new("useradd").args(["-M", "-N", "-g", &a.group, u]));
            assert!(made, "useradd {u}");
        }
        a
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for u in &self.users {
            let _ = Command::new("userdel").arg(u).status();
        }
        let _ = Command::new("groupdel").arg(&self.group).status();
    }
}

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `drbook approve r promote [args]` run as OS account `user`.
fn approve_as(t: &Test, user: &str, args: &[&str]) -> std::process::Output {
    let state = t.path(STATE);
    Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(t.path("drbook"))
        .args(["--color", "never", "approve", "r", "promote", "--state-dir"])
        .arg(&state)
        .args(args)
        .current_dir(t.path(""))
        .output()
        .expect("runuser")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn each_inbox_request_counts_as_the_account_that_wrote_it() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: creating OS accounts needs root");
        return;
    }
    let acc = Accounts::new();
    let (b, c) = (acc.users[0].as_str(), acc.users[1].as_str());
    let rb = format!(
        "runbook \"shared\" {{\n  owner \"ops\"\n  rto 1h\n  approvals os\n  roles {{\n    lead = [\"{b}\"]\n    mgr = [\"{c}\"]\n  }}\n  step promote {{\n    duration 1s\n    approval {{ by lead, mgr }}\n    run \"echo promoted >> side\"\n    idempotent\n  }}\n}}\n"
    );
    let t = Test::new().file("s.drbook", &rb);
    // The shared layout: the others may traverse the test's directory and run a copy of
    // drbook; the state dir belongs to the runner, shared with the group (setgid, no write).
    chmod(&t.path(""), 0o711);
    std::fs::copy(env!("CARGO_BIN_EXE_drbook"), t.path("drbook")).expect("copy drbook");
    chmod(&t.path("drbook"), 0o755);
    std::fs::create_dir(t.path(STATE)).expect("mkdir state");
    let gid = nix::unistd::Group::from_name(&acc.group).expect("group").expect("group exists").gid;
    std::os::unix::fs::chown(t.path(STATE), None, Some(gid.as_raw())).expect("chgrp");
    chmod(&t.path(STATE), 0o2750);

    let mut live = drb_spawn(&t, &["run", "s.drbook", "--run-id", "r", "--wait"]);
    wait_until_waiting(&t, "r", "promote", &mut live, Duration::from_secs(20));
    let inbox = t.path(STATE).join("runs/r/inbox");
    let mode = std::fs::metadata(&inbox).expect("inbox").permissions().mode() & 0o7777;
    assert_eq!(mode, 0o3770, "only the inbox is group-writable (setgid, sticky)");
    let jmode = std::fs::metadata(t.path(STATE).join("runs/r/journal")).expect("journal");
    assert_eq!(jmode.permissions().mode() & 0o777, 0o600, "the journal stays owner-only");

    // c claims to be b for b's role: it counts as c, who does not hold it.
    let out = approve_as(&t, c, &["--as", b, "--role", "lead"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("{c} is not a member of role lead")),
        "{}",
        text(&out.stderr)
    );
    // c claims to be b: recorded as c, for the role c holds.
    let out = approve_as(&t, c, &["--as", b]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{c} approved `promote` as mgr")),
        "{}",
        text(&out.stdout)
    );
    assert!(!t.path("side").exists(), "one account cannot open a two-person gate");
    // b, under its own account, with no name typed at all.
    let out = approve_as(&t, b, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{b} approved `promote` as lead")),
        "{}",
        text(&out.stdout)
    );

    live.wait().expect_status(0);
    assert!(t.path("side").exists());
    let by: Vec<(String, String)> = journal(&t, "r")
        .iter()
        .filter(|r| r["event"] == "approved")
        .map(|r| (r["role"].as_str().unwrap_or("").into(), r["by"].as_str().unwrap_or("").into()))
        .collect();
    assert_eq!(by, [("mgr".to_string(), c.to_string()), ("lead".to_string(), b.to_string())]);
    // Status says how each approval was proved.
    let st = crate::runkit::drb(&t, &["status", "r", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&st.stdout).expect("json");
    let proofs: Vec<&str> = doc["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["approvals"].as_array().into_iter().flatten())
        .filter_map(|a| a["proof"].as_str())
        .collect();
    assert_eq!(proofs, ["os account", "os account"], "{}", st.stdout);
}

#[test]
fn approvals_takes_typed_os_or_signed() {
    let rb = "runbook \"x\" {\n  owner \"ops\"\n  rto 1h\n  approvals trust_me\n  step s { duration 1s; run \"true\" }\n}\n";
    let t = Test::new().file("x.drbook", rb);
    t.cmd(&["check", "x.drbook"]).expect_status(2).expect_stderr("approvals");
}

#[test]
fn with_no_runner_alive_the_owner_still_approves_only_as_its_own_account() {
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .expect("this account has a login name");
    let rb = "runbook \"shared\" {\n  owner \"ops\"\n  rto 1h\n  approvals os\n  roles {\n    lead = [\"bob\"]\n  }\n  step promote {\n    duration 1s\n    approval { by lead }\n    run \"echo promoted >> side\"\n    idempotent\n  }\n}\n";
    let t = Test::new().file("s.drbook", rb);
    crate::runkit::drb(&t, &["run", "s.drbook", "--run-id", "r", "--as", "bob"]).expect_status(3);
    // The run's owner journals it itself under the lock: typing bob's name does not make it bob.
    for args in [
        &["approve", "r", "promote", "--as", "bob"][..],
        &["resume", "r", "--approve", "promote", "--as", "bob"],
    ] {
        let out = crate::runkit::drb(&t, args);
        assert_ne!(out.status, 0, "{args:?}");
        assert!(!t.path("side").exists(), "{args:?}: the owner is not bob");
    }
    let out = crate::runkit::drb(&t, &["approve", "r", "promote", "--as", "bob"]);
    out.expect_stderr(&format!("{me} is not a member of any role still missing: lead"));
}
