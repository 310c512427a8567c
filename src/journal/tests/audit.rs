//! A denied gate stays denied until `gate_reopened`, and the audit trail keeps every person's
//! act in journal order, whatever follows it.

use super::*;

fn request(step: &str) -> Event {
    Event::ApprovalRequested {
        step: step.into(),
        at: AT.into(),
        roles: vec!["lead".into()],
        members: None,
        timeout_ms: None,
        excluded: None,
        approvals: Default::default(),
        signers: None,
    }
}

fn denied(step: &str, by: &str) -> Event {
    Event::ApprovalDenied {
        step: step.into(),
        by: by.into(),
        at: AT.into(),
        how: How::Cli,
        reason: "not today".into(),
        request: None,
    }
}

fn reopened(step: &str, by: &str) -> Event {
    Event::GateReopened { step: step.into(), by: by.into(), at: AT.into(), reason: None }
}

#[test]
fn a_denial_is_kept_until_a_person_reopens_the_gate() {
    let events = vec![started(&["g"]), request("g"), denied("g", "carol")];
    let s = replay(&events).expect("replays");
    let rec = s.step("g").expect("g");
    assert!(rec.stays_denied(), "{rec:?}");
    assert_eq!(rec.denial.as_ref().map(|d| d.by.as_str()), Some("carol"));

    let mut more = events.clone();
    more.push(reopened("g", "bob"));
    let s = replay(&more).expect("a denied gate may be re-opened");
    let rec = s.step("g").expect("g");
    assert_eq!(
        (rec.state, rec.denial.is_none(), rec.error.is_none()),
        (StepState::Pending, true, true)
    );
    more.push(request("g"));
    assert_eq!(
        replay(&more).expect("asks afresh").step("g").map(|r| r.state),
        Some(StepState::Waiting)
    );
}

#[test]
fn only_a_denied_gate_is_reopened_and_never_while_rolling_back() {
    let not_denied = replay(&[started(&["g"]), request("g"), reopened("g", "bob")]);
    let err = not_denied.expect_err("a waiting gate is not denied").to_string();
    assert!(err.contains("record 3") && err.contains("no denied gate"), "{err}");
    let twice = replay(&[
        started(&["g"]),
        request("g"),
        denied("g", "carol"),
        reopened("g", "bob"),
        reopened("g", "bob"),
    ]);
    assert!(twice.expect_err("re-opened twice").to_string().contains("record 5"));
    let rolling = replay(&[
        started(&["g"]),
        request("g"),
        denied("g", "carol"),
        Event::RollbackStarted { at: AT.into(), reason: "r".into(), by: "ana".into() },
        reopened("g", "bob"),
    ]);
    assert!(rolling.expect_err("rolling back").to_string().contains("rolling back"));
}

#[test]
fn the_audit_trail_keeps_every_act_in_journal_order() {
    let s = replay(&[
        started(&["g", "a"]),
        request("g"),
        denied("g", "carol"),
        reopened("g", "bob"),
        request("g"),
        Event::Approved {
            step: "g".into(),
            role: "lead".into(),
            by: "alice".into(),
            at: AT.into(),
            how: How::Flag,
            comment: Some("go".into()),
            request: None,
            signed: None,
        },
        start("a", 1),
        Event::StepDecided {
            step: "a".into(),
            decision: Decision::Done,
            by: "dave".into(),
            at: AT.into(),
            reason: Some("checked".into()),
            forced: false,
        },
        Event::RollbackStarted {
            at: AT.into(),
            reason: "requested by erin".into(),
            by: "erin".into(),
        },
    ])
    .expect("replays");
    let got: Vec<(AuditAction, Option<&str>, &str)> =
        s.audit.iter().map(|a| (a.action, a.step.as_deref(), a.by.as_str())).collect();
    assert_eq!(
        got,
        [
            (AuditAction::Denied, Some("g"), "carol"),
            (AuditAction::Reopened, Some("g"), "bob"),
            (AuditAction::Approved, Some("g"), "alice"),
            (AuditAction::Decided, Some("a"), "dave"),
            (AuditAction::RollbackStarted, None, "erin"),
        ]
    );
    assert_eq!(s.audit[0].reason.as_deref(), Some("not today"), "the denial's reason stays");
    assert_eq!(s.audit[2].comment.as_deref(), Some("go"));
    assert_eq!(s.audit[3].decision, Some(Decision::Done));
    assert!(s.step("g").expect("g").denial.is_none());
}
