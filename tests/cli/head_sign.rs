//! `run --sign KEY` signs the journal's head when the runner stops; `verify --signers FILE`
//! checks it: a journal cut and re-anchored consistently (which the unkeyed chain alone cannot
//! show), a head signed by a key the file does not list, or another run's signature, fail.
//! Interop: the signature verifies with OpenSSH's `ssh-keygen -Y verify`.

use crate::runkit::{drb, journal_path, STATE};
use crate::signed::{keygen, new_key, ssh_keygen};
use crate::Test;
use std::process::{Command, Stdio};

const RUNBOOK: &str = "runbook \"t\" {\n  owner \"ops\"\n  rto 1h\n  step a { duration 1s; run \"echo a\" }\n  step b { needs a; duration 1s; run \"echo b\" }\n}\n";

/// A run `r` of [`RUNBOOK`] signed with alice's key, and an allowed_signers file listing her.
fn signed_run() -> Option<Test> {
    if !ssh_keygen() {
        return None;
    }
    let t = Test::new().file("t.drbook", RUNBOOK);
    let alice = new_key(&t.path("."), "alice");
    std::fs::write(t.path("allowed_signers"), format!("alice {alice}\n")).expect("signers");
    let out = drb(&t, &["run", "t.drbook", "--run-id", "r", "--sign", "alice"]);
    out.expect_status(0).expect_stderr("signed with key SHA256:");
    Some(t)
}

fn verify(t: &Test, run: &str) -> crate::Output {
    drb(t, &["verify", run, "--signers", "allowed_signers"])
}

#[test]
fn a_signed_head_verifies_with_drbook_and_with_ssh_keygen() {
    let Some(t) = signed_run() else { return };
    let out = verify(&t, "r");
    out.expect_status(0);
    assert!(out.stdout.contains("journal head signed by alice"), "{}", out.stdout);
    // The message is the documented one, built from what verify printed.
    let head = out.stdout.lines().find_map(|l| l.strip_prefix("journal head: ")).expect("head");
    let records = std::fs::read_to_string(journal_path(&t, "r")).expect("journal").lines().count();
    let message = format!("drbook journal head v1\nrun: r\nrecords: {records}\nhead: {head}\n");
    let sig = t.path(&format!("{STATE}/runs/r/head.sig"));
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "drbook", "-f", "allowed_signers", "-I", "alice", "-s"])
        .arg(&sig)
        .current_dir(t.path("."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh-keygen");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(message.as_bytes()).expect("message");
    let done = child.wait_with_output().expect("ssh-keygen");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
}

#[test]
fn a_journal_cut_and_reanchored_consistently_fails_against_its_signed_head() {
    let Some(t) = signed_run() else { return };
    // The attack: drop the last two records and rewrite the anchor to match, as someone with
    // the runner's account could. The chain and anchor agree, so plain verify is fooled...
    let path = journal_path(&t, "r");
    let text = std::fs::read_to_string(&path).expect("journal");
    let lines: Vec<&str> = text.lines().collect();
    let kept = &lines[..lines.len() - 2];
    std::fs::write(&path, kept.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("cut");
    let hash = &kept.last().expect("a record")[..64];
    let anchor = format!("drbook-head 1 {:020} sha256:{hash} closed\n", kept.len());
    std::fs::write(t.path(&format!("{STATE}/runs/r/head")), anchor).expect("anchor");
    drb(&t, &["verify", "r"]).expect_status(0);
    // ...but not the head the runner signed.
    verify(&t, "r").expect_status(1).expect_stderr("does not hold for the journal's head");
}

#[test]
fn a_head_signed_by_an_unlisted_key_or_for_another_run_fails() {
    let Some(t) = signed_run() else { return };
    // Another run's signature, copied over.
    let out = drb(&t, &["run", "t.drbook", "--run-id", "s", "--sign", "alice"]);
    out.expect_status(0);
    let sig = |run: &str| t.path(&format!("{STATE}/runs/{run}/head.sig"));
    std::fs::copy(sig("s"), sig("r")).expect("copy");
    verify(&t, "r").expect_status(1).expect_stderr("does not hold");
    // Mallory re-signs r's real head with her own key: not in the signers file.
    new_key(&t.path("."), "mallory");
    let ok = verify(&t, "s");
    ok.expect_status(0);
    let head = ok.stdout.lines().find_map(|l| l.strip_prefix("journal head: ")).expect("head");
    let records = std::fs::read_to_string(journal_path(&t, "s")).expect("journal").lines().count();
    let message = format!("drbook journal head v1\nrun: s\nrecords: {records}\nhead: {head}\n");
    std::fs::write(t.path("msg"), message).expect("msg");
    keygen(&t.path("."), &["-Y", "sign", "-n", "drbook", "-f", "mallory", "msg"]);
    std::fs::copy(t.path("msg.sig"), sig("s")).expect("plant");
    verify(&t, "s").expect_status(1).expect_stderr("is not in the signers file");
    // A run nobody signed.
    drb(&t, &["run", "t.drbook", "--run-id", "u"]).expect_status(0);
    verify(&t, "u").expect_status(1).expect_stderr("is not signed");
}

#[test]
fn a_key_that_cannot_sign_stops_the_run_before_any_step() {
    let t = Test::new().file("t.drbook", RUNBOOK).file("nokey", "not a key\n");
    let out = drb(&t, &["run", "t.drbook", "--run-id", "r", "--sign", "nokey"]);
    out.expect_status(2).expect_stderr("cannot read the key");
    assert!(!t.path(&format!("{STATE}/runs/r")).exists(), "no run was created");
}
