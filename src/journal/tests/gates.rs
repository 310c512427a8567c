//! Approval gates: the judging rule, its replay, and the inbox's `apply` on a memory journal.

use super::*;
use crate::journal::inbox::{self, Ask, Request};

fn request(step: &str, roles: &[&str], members: Option<&[(&str, &[&str])]>) -> Event {
    Event::ApprovalRequested {
        step: step.into(),
        at: AT.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        members: members.map(|m| {
            m.iter()
                .map(|(r, ps)| (r.to_string(), ps.iter().map(|p| p.to_string()).collect()))
                .collect()
        }),
        timeout_ms: None,
        excluded: None,
        approvals: Default::default(),
        signers: None,
    }
}

fn approved(step: &str, role: &str, by: &str) -> Event {
    Event::Approved {
        step: step.into(),
        role: role.into(),
        by: by.into(),
        at: AT.into(),
        how: How::Cli,
        comment: None,
        request: None,
        signed: None,
    }
}

const TEAM: &[(&str, &[&str])] = &[("lead", &["alice", "bob"]), ("mgr", &["carol"])];

/// A memory journal with step `promote` waiting at a `lead, mgr` gate.
fn gated(members: Option<&[(&str, &[&str])]>) -> MemoryJournal {
    let mut j = MemoryJournal::new(started(&["promote"])).expect("valid start");
    j.append(&request("promote", &["lead", "mgr"], members)).expect("request");
    j
}

fn ask(j: &mut MemoryJournal, by: &str, role: Option<&str>) -> Result<String, String> {
    let req =
        Request::new("promote", by, Ask::Approve { role: role.map(str::to_string), comment: None });
    inbox::apply(j, &req, How::Cli, AT)
}

#[test]
fn the_two_person_rule_of_the_issue() {
    let mut j = gated(Some(TEAM));
    let said = ask(&mut j, "alice", None).expect("alice may approve lead");
    assert!(said.contains("as lead") && said.contains("still missing: mgr"), "{said}");
    let refused = ask(&mut j, "alice", Some("mgr")).expect_err("alice twice");
    assert!(refused.contains("already approved") && refused.contains("not a member"), "{refused}");
    let refused = ask(&mut j, "bob", Some("lead")).expect_err("lead is satisfied");
    assert!(refused.contains("already satisfied"), "{refused}");
    let refused = ask(&mut j, "bob", None).expect_err("bob holds no missing role");
    assert!(refused.contains("not a member of any role still missing"), "{refused}");
    assert_eq!(
        j.state.step("promote").map(|r| r.approvals.len()),
        Some(1),
        "refusals record nothing"
    );
    ask(&mut j, "Carol", None).expect("carol holds mgr, in any case");
    let rec = j.state.step("promote").expect("step");
    assert!(rec.gate_satisfied() && rec.missing_roles().is_empty());
    let refused = ask(&mut j, "carol", None).expect_err("nothing left to approve");
    assert!(refused.contains("already fully approved"), "{refused}");
}

#[test]
fn without_roles_anyone_approves_but_never_twice() {
    let mut j = gated(None);
    ask(&mut j, "dave", None).expect("anyone may approve");
    let refused = ask(&mut j, " DAVE ", None).expect_err("the same person, other case");
    assert!(refused.contains("already approved"), "{refused}");
    ask(&mut j, "erin", Some("mgr")).expect("a second person");
    assert!(j.state.step("promote").expect("step").gate_satisfied());
}

#[test]
fn replay_refuses_approvals_that_break_the_rule() {
    let cases: Vec<(Vec<Event>, &str)> = vec![
        (vec![approved("promote", "lead", "alice")], "no approval gate"),
        (
            vec![
                request("promote", &["lead", "mgr"], Some(TEAM)),
                approved("promote", "mgr", "alice"),
            ],
            "not a member",
        ),
        (
            vec![
                request("promote", &["lead", "mgr"], None),
                approved("promote", "lead", "x"),
                approved("promote", "mgr", "X"),
            ],
            "already approved",
        ),
        (
            vec![request("promote", &["lead", "mgr"], None), approved("promote", "ops", "x")],
            "not a role of this gate",
        ),
        (
            vec![request("promote", &["lead", "mgr"], None), start("promote", 1)],
            "still lacks lead, mgr",
        ),
        (
            vec![request("promote", &["lead"], None), decide("promote", Decision::Done)],
            "only an approval or a denial",
        ),
    ];
    for (events, words) in cases {
        match replay(&journal(&["promote"], events.clone())) {
            Err(JournalError::Impossible { reason, .. }) => {
                assert!(reason.contains(words), "{events:?}: {reason}")
            }
            other => panic!("{events:?} should be refused, got {other:?}"),
        }
    }
}

#[test]
fn a_denial_fails_the_step_and_a_new_request_starts_over() {
    let deny = Event::ApprovalDenied {
        step: "promote".into(),
        by: "bob".into(),
        at: AT.into(),
        how: How::Prompt,
        reason: "lag too high".into(),
        request: None,
    };
    let state = replay(&journal(
        &["promote"],
        vec![
            request("promote", &["lead"], None),
            deny,
            resumed(),
            request("promote", &["lead"], None),
        ],
    ))
    .expect("valid journal");
    let rec = state.step("promote").expect("step");
    assert_eq!(rec.state, StepState::Waiting);
    assert!(rec.approvals.is_empty() && rec.error.is_none());
    let timed_out = Event::ApprovalTimedOut { step: "promote".into(), at: AT.into() };
    let state =
        replay(&journal(&["promote"], vec![request("promote", &["lead"], None), timed_out]))
            .expect("valid journal");
    let rec = state.step("promote").expect("step");
    assert_eq!((rec.state, rec.error.as_deref()), (StepState::Failed, Some("approval timed out")));
}

#[test]
fn approvals_survive_a_crash_and_let_the_step_start() {
    let state = replay(&journal(
        &["promote"],
        vec![
            request("promote", &["lead"], None),
            paused(),
            approved("promote", "lead", "bob"),
            resumed(),
            start("promote", 1),
            interrupt("promote", 1),
            decide("promote", Decision::Retry),
        ],
    ))
    .expect("valid journal");
    let rec = state.step("promote").expect("step");
    assert_eq!(rec.state, StepState::Pending);
    assert!(rec.gate_satisfied(), "a retry keeps the approvals");
}

#[test]
fn an_approval_while_paused_leaves_the_run_paused() {
    let state = replay(&journal(
        &["promote"],
        vec![
            request("promote", &["lead", "mgr"], None),
            paused(),
            approved("promote", "lead", "bob"),
        ],
    ))
    .expect("valid journal");
    assert_eq!(state.status, RunStatus::Paused);
}

#[test]
fn a_request_handled_twice_is_recorded_once() {
    let mut j = gated(None);
    let req = Request::new("promote", "bob", Ask::Approve { role: None, comment: None });
    inbox::apply(&mut j, &req, How::Cli, AT).expect("first time");
    let again = inbox::apply(&mut j, &req, How::Cli, AT).expect("second time is not a refusal");
    assert!(again.contains("already recorded"), "{again}");
    assert_eq!(j.state.step("promote").map(|r| r.approvals.len()), Some(1));
}

#[test]
fn only_a_possible_approver_may_deny() {
    let mut j = gated(Some(TEAM));
    let deny = |by: &str| Request::new("promote", by, Ask::Deny { reason: "no".into() });
    let refused = inbox::apply(&mut j, &deny("mallory"), How::Cli, AT).expect_err("outsider");
    assert!(refused.contains("may not deny"), "{refused}");
    inbox::apply(&mut j, &deny("carol"), How::Cli, AT).expect("a manager may deny");
    assert_eq!(j.state.step("promote").map(|r| r.state), Some(StepState::Failed));
}
