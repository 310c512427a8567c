//! Signed approvals (header `approvals signed`, `signers`; `drbook approve --sign`): what
//! `check` says of the header, and the attacks a signature must stop — an unsigned or typed
//! approval, an unknown key, a signature for another run, step, role or runbook version, a
//! tampered message — plus interoperability both ways with OpenSSH's `ssh-keygen -Y`.

use crate::run_approval::wait_until_waiting;
use crate::runkit::{drb, drb_spawn, journal, state, step_json};
use crate::{Output, Test};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Whether OpenSSH's `ssh-keygen` can be run; the tests that need it say so when it cannot.
pub(crate) fn ssh_keygen() -> bool {
    let ok = Command::new("ssh-keygen").arg("-?").output().is_ok();
    if !ok {
        eprintln!("SKIPPED: ssh-keygen (OpenSSH) is not installed");
    }
    ok
}

/// Runs `ssh-keygen ARGS` in `dir`; panics unless it exits 0.
#[track_caller]
pub(crate) fn keygen(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("ssh-keygen").args(args).current_dir(dir).output().expect("ssh-keygen");
    assert!(out.status.success(), "ssh-keygen {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A new ed25519 key `name` (no passphrase) in `dir`; returns its public line.
pub(crate) fn new_key(dir: &Path, name: &str) -> String {
    keygen(dir, &["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", name]);
    std::fs::read_to_string(dir.join(format!("{name}.pub"))).expect("public key").trim().into()
}

const BODY: &str = r#"  approvals signed
  signers "./allowed_signers"
  roles {
    lead = ["alice"]
    mgr  = ["bob"]
  }
  step promote {
    duration 1s
    approval { by lead, mgr }
    run "echo promoted >> side"
    idempotent
  }"#;

/// A test dir with keys alice, bob and mallory, signers alice and bob, and the runbook.
fn setup() -> Test {
    let t = Test::new().file("f.drbook", &crate::runkit::runbook("signed", BODY));
    let dir = t.path("");
    let (a, b) = (new_key(&dir, "alice"), new_key(&dir, "bob"));
    new_key(&dir, "mallory");
    let signers = format!("alice {a}\nbob namespaces=\"drbook\" {b}\n");
    std::fs::write(dir.join("allowed_signers"), signers).expect("signers");
    t
}

fn approve(t: &Test, args: &[&str]) -> Output {
    let mut all = vec!["approve", "r", "promote"];
    all.extend(args);
    drb(t, &all)
}

/// Panics unless `out` is a refusal (exit 1) saying `needle`, that did not count.
#[track_caller]
fn refused(out: &Output, needle: &str) {
    out.expect_status(1).expect_stderr(needle);
    let said = out.stderr.contains("nothing was recorded")
        || out.stderr.contains("journaled as refused; the approval does not count");
    assert!(said, "{}", out.stderr);
}

/// `--print-message` for run `r`, with `edit` applied, signed by `key` with ssh-keygen, then
/// submitted with `--signature` (and `more`).
fn signed_elsewhere(t: &Test, who: &str, key: &str, edit: (&str, &str), more: &[&str]) -> Output {
    let out = approve(t, &["--print-message", "--as", who]);
    out.expect_status(0);
    let message = out.stdout.replacen(edit.0, edit.1, 1);
    std::fs::write(t.path("msg"), &message).expect("msg");
    let _ = std::fs::remove_file(t.path("msg.sig"));
    keygen(&t.path(""), &["-Y", "sign", "-n", "drbook", "-f", key, "msg"]);
    let mut args = vec!["--signature", "msg.sig"];
    args.extend(more);
    approve(t, &args)
}

#[test]
fn check_wants_signers_for_signed_approvals_and_warns_on_typed_two_person_gates() {
    let typed = BODY.replace("  approvals signed\n  signers \"./allowed_signers\"\n", "");
    let t = Test::new()
        .file(
            "nosigners.drbook",
            &crate::runkit::runbook("a", &BODY.replace("  signers \"./allowed_signers\"\n", "")),
        )
        .file("missing.drbook", &crate::runkit::runbook("b", BODY))
        .file("typed.drbook", &crate::runkit::runbook("c", &typed))
        .file("bad/allowed_signers", "# team\nalice ssh-ed25519 not-a-key\n")
        .file("bad/f.drbook", &crate::runkit::runbook("d", BODY))
        .file(
            "os.drbook",
            &crate::runkit::runbook("e", &typed.replace("  roles", "  approvals os\n  roles")),
        )
        .file("nope.drbook", &crate::runkit::runbook("g", "  approvals maybe\n"));
    let out = t.cmd(&["check", "nosigners.drbook"]);
    out.expect_status(2).expect_stderr("drbook::check::signed_without_signers");
    let out = t.cmd(&["check", "missing.drbook"]);
    out.expect_status(2).expect_stderr("drbook::check::signers_unreadable");
    out.expect_stderr("cannot read the signers file `./allowed_signers`");
    let out = t.cmd(&["check", "bad/f.drbook"]);
    out.expect_status(2).expect_stderr("drbook::check::bad_signers").expect_stderr("line 2");
    let out = t.cmd(&["check", "typed.drbook"]);
    out.expect_status(0).expect_stderr("drbook::lint::typed_two_person");
    let out = t.cmd(&["check", "os.drbook"]);
    out.expect_status(0);
    assert!(!out.stderr.contains("typed_two_person"), "{}", out.stderr);
    t.cmd(&["check", "nope.drbook"])
        .expect_status(2)
        .expect_stderr("`maybe` is not a valid `approvals`");
}

#[test]
fn only_a_signature_by_a_listed_key_for_this_run_step_role_and_runbook_counts() {
    if !ssh_keygen() {
        return;
    }
    let t = setup();
    let out = drb(&t, &["run", "f.drbook", "--run-id", "r"]);
    out.expect_status(3);
    // A second run of the same runbook, to sign for.
    drb(&t, &["run", "f.drbook", "--run-id", "r2", "--allow-concurrent"]).expect_status(3);
    let before = journal(&t, "r").len();

    // Typed names, however they come, do not count.
    refused(&approve(&t, &["--as", "alice"]), "requires signed approvals");
    let out = drb(&t, &["resume", "r", "--approve", "promote", "--as", "alice"]);
    assert_ne!(out.status, 0, "{}", out.stderr);
    assert!(!t.path("side").exists(), "an unsigned approval must not open the gate");
    // A key not in the signers file.
    refused(
        &approve(&t, &["--sign", "mallory", "--as", "alice"]),
        "is not in the runbook's signers file",
    );
    // Signatures for another run, step, role or version of the runbook; a tampered message.
    let out = signed_elsewhere(&t, "alice", "alice", ("run: r\n", "run: r2\n"), &[]);
    refused(&out, "the signature is for run `r2`, not `r`");
    let out = signed_elsewhere(&t, "alice", "alice", ("step: promote", "step: other"), &[]);
    refused(&out, "the signature is for step `other`, not `promote`");
    let msg = approve(&t, &["--print-message", "--as", "alice"]).stdout.clone();
    let hash = msg.lines().find_map(|l| l.strip_prefix("runbook: sha256:")).expect("hash line");
    let other = format!("{}{}", if hash.starts_with('0') { "1" } else { "0" }, &hash[1..]);
    let out = signed_elsewhere(&t, "alice", "alice", (hash, &other), &[]);
    refused(&out, "another version of the runbook");
    // Mallory signs a message naming alice: her key signs for nobody.
    let out = signed_elsewhere(&t, "alice", "mallory", ("x", "x"), &[]);
    refused(&out, "is not in the runbook's signers file");
    // Bob's key claiming to be alice.
    let out = signed_elsewhere(&t, "alice", "bob", ("x", "x"), &[]);
    refused(&out, "signs for bob in the runbook's signers file, not for alice");
    // A message edited after it was signed.
    approve(&t, &["--print-message", "--as", "bob"]).expect_status(0);
    let out = approve(&t, &["--print-message", "--as", "bob"]);
    std::fs::write(t.path("m2"), &out.stdout).expect("m2");
    keygen(&t.path(""), &["-Y", "sign", "-n", "drbook", "-f", "bob", "m2"]);
    std::fs::write(t.path("m2"), out.stdout.replace("role: mgr", "role: lead")).expect("m2");
    refused(&approve(&t, &["--signature", "m2.sig"]), "does not match the message");
    let records = journal(&t, "r");
    let count = |kind: &str| records.iter().skip(before).filter(|r| r["event"] == kind).count();
    assert_eq!(count("approved"), 0, "no refused approval may be journaled as one");
    // Each submitted approval that did not prove itself is kept, with its reason (a key
    // that is not in the file at all never leaves `approve`).
    assert_eq!(count("approval_refused"), 8, "{records:#?}");
    let out = drb(&t, &["status", "r"]);
    assert!(
        out.stdout.contains("was refused (cli) — the signature is for run `r2`"),
        "{}",
        out.stdout
    );

    // alice signs for lead: recorded as alice, whatever `--as` says, and proved by her key.
    let out = approve(&t, &["--sign", "alice", "--as", "mallory"]);
    out.expect_status(0);
    assert!(out.stdout.contains("alice approved `promote` as lead"), "{}", out.stdout);
    // A signed role claim cannot be re-labelled.
    refused(&approve(&t, &["--sign", "bob", "--role", "lead"]), "role lead is already satisfied");
    let s = step_json(&t, "r", "promote");
    let a = &s["approvals"][0];
    assert_eq!(a["by"], "alice", "{s}");
    assert!(a["proof"].as_str().is_some_and(|p| p.starts_with("signed: SHA256:")), "{s}");
    // The signature drbook made verifies with OpenSSH.
    let rec = journal(&t, "r").into_iter().find(|r| r["event"] == "approved").expect("approved");
    std::fs::write(t.path("j.msg"), rec["signed"]["message"].as_str().expect("message"))
        .expect("w");
    std::fs::write(t.path("j.sig"), rec["signed"]["signature"].as_str().expect("sig")).expect("w");
    let verify = Command::new("sh")
        .args(["-c", "ssh-keygen -Y verify -n drbook -f allowed_signers -I alice -s j.sig < j.msg"])
        .current_dir(t.path(""))
        .output()
        .expect("sh");
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));

    // bob signs with OpenSSH over drbook's message: accepted; the run then finishes.
    let out = signed_elsewhere(&t, "bob", "bob", ("x", "x"), &[]);
    out.expect_status(0);
    assert!(
        out.stdout.contains("bob approved `promote` as mgr; every approval is in"),
        "{}",
        out.stdout
    );
    drb(&t, &["resume", "r"]).expect_status(0);
    assert_eq!(t.read("side"), "promoted\n");
    let out = drb(&t, &["status", "r"]);
    out.expect_status(0);
    assert!(out.stdout.contains("signed: SHA256:"), "{}", out.stdout);
}

#[test]
fn a_live_runner_verifies_signatures_from_its_inbox() {
    if !ssh_keygen() {
        return;
    }
    let t = setup();
    let mut live = drb_spawn(&t, &["run", "f.drbook", "--run-id", "r", "--wait"]);
    wait_until_waiting(&t, "r", "promote", &mut live, Duration::from_secs(20));
    refused(&approve(&t, &["--as", "alice"]), "requires signed approvals");
    refused(&approve(&t, &["--sign", "mallory"]), "is not in the runbook's signers file");
    approve(&t, &["--sign", "alice"]).expect_status(0);
    approve(&t, &["--sign", "bob"]).expect_status(0);
    let out = live.wait();
    out.expect_status(0);
    assert_eq!(t.read("side"), "promoted\n");
    let _ = state(&t);
}
