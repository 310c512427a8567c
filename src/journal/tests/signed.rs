//! Signed approvals in the journal: replay counts an approval at an `approvals signed` gate
//! only with a signature that verifies for this run, step, role, runbook and approver, and
//! the inbox's `apply` takes the approver's name from the signature.

use super::*;
use crate::journal::gate::SignedBy;
use crate::journal::inbox::{self, Ask, Request};
use crate::journal::sign::{self, Claim, Signature};
use crate::model::ApprovalMode;
use ssh_key::private::{Ed25519Keypair, PrivateKey};

fn key(seed: u8) -> PrivateKey {
    PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
}

fn gated() -> MemoryJournal {
    let alice = key(1).public_key().to_openssh().expect("openssh");
    let mut j = MemoryJournal::new(started(&["promote"])).expect("valid start");
    let e = Event::ApprovalRequested {
        step: "promote".into(),
        at: AT.into(),
        roles: vec!["lead".into()],
        members: None,
        timeout_ms: None,
        excluded: None,
        approvals: ApprovalMode::Signed,
        signers: Some(format!("alice {alice}\n")),
    };
    j.append(&e).expect("request");
    j
}

fn signature(k: &PrivateKey, run: &str, principal: &str) -> Signature {
    let claim = Claim {
        run: run.into(),
        step: "promote".into(),
        role: "lead".into(),
        runbook: "ab".repeat(32),
        at: AT.into(),
        principal: principal.into(),
    };
    let message = claim.message();
    let signature = sign::sign(k, &message).expect("sign");
    Signature { message, signature }
}

fn approved(by: &str, signed: Option<&Signature>) -> Event {
    Event::Approved {
        step: "promote".into(),
        role: "lead".into(),
        by: by.into(),
        at: AT.into(),
        how: How::Cli,
        comment: None,
        request: None,
        signed: signed.map(|s| SignedBy {
            key: "SHA256:x".into(),
            message: s.message.clone(),
            signature: s.signature.clone(),
        }),
    }
}

#[test]
fn replay_refuses_an_approval_written_without_or_against_its_signature() {
    let mut j = gated();
    let why = j.append(&approved("alice", None)).expect_err("unsigned");
    assert!(why.to_string().contains("carries no signature"), "{why}");
    let good = signature(&key(1), RUN, "alice");
    let why = j.append(&approved("mallory", Some(&good))).expect_err("re-attributed");
    assert!(why.to_string().contains("not mallory as lead"), "{why}");
    let other = signature(&key(1), "another-run", "alice");
    let why = j.append(&approved("alice", Some(&other))).expect_err("another run");
    assert!(why.to_string().contains("for run `another-run`"), "{why}");
    let forged = signature(&key(2), RUN, "alice");
    let why = j.append(&approved("alice", Some(&forged))).expect_err("unknown key");
    assert!(why.to_string().contains("not in the runbook's signers file"), "{why}");
    j.append(&approved("alice", Some(&good))).expect("a good signature counts");
}

#[test]
fn apply_takes_the_approver_from_the_signature_not_the_typed_name() {
    let mut j = gated();
    let ask = Ask::Approve { role: None, comment: None };
    let typed = Request::new("promote", "alice", ask.clone());
    let why = inbox::apply(&mut j, &typed, How::Cli, AT).expect_err("unsigned");
    assert!(why.contains("requires signed approvals"), "{why}");
    let req = Request::new("promote", "mallory", ask).with_signature(Some(signature(
        &key(1),
        RUN,
        "alice",
    )));
    let said = inbox::apply(&mut j, &req, How::Cli, AT).expect("signed by alice");
    assert!(said.starts_with("alice approved `promote` as lead"), "{said}");
    let rec = j.state().step("promote").expect("step").approvals[0].clone();
    assert_eq!(rec.by, "alice");
    assert!(rec.proof().starts_with("signed: SHA256:"), "{}", rec.proof());
}
