//! A tabletop drill's journal: `step_discussed` ends a shown step succeeded and keeps a
//! finding; nothing that executes may appear; answers from the inbox become discussions.

use super::*;
use crate::journal::inbox::{self, Ask, Request};
use crate::model::DrillKind;

const LATER: &str = "2026-11-23T22:16:00.500Z";

/// `run_started` of a tabletop drill with these steps.
fn tabletop(steps: &[&str]) -> Event {
    started(steps).as_drill(DrillInfo { kind: DrillKind::Tabletop, targets: Vec::new() })
}

fn shown(step: &str) -> Event {
    Event::StepWaiting { step: step.into(), at: AT.into(), reason: "discuss".into() }
}

fn discussed(step: &str, issue: Option<&str>) -> Event {
    Event::StepDiscussed {
        step: step.into(),
        at: LATER.into(),
        by: "bob".into(),
        how: How::Cli,
        issue: issue.map(str::to_string),
        update: None,
        comment: None,
        duration_ms: 30_500,
        request: None,
    }
}

fn drill(steps: &[&str]) -> MemoryJournal {
    MemoryJournal::new(tabletop(steps)).expect("valid start")
}

#[test]
fn a_discussed_step_succeeded_whatever_the_answer_and_keeps_its_finding() {
    let s = replay(&[
        tabletop(&["a", "b"]),
        shown("a"),
        discussed("a", None),
        shown("b"),
        discussed("b", Some("the URL is wrong")),
    ])
    .expect("a tabletop's journal replays");
    assert_eq!(s.step("a").map(|r| r.state), Some(StepState::Succeeded));
    assert_eq!(s.step("b").map(|r| r.state), Some(StepState::Succeeded));
    let issues: Vec<Option<&str>> = s.findings.iter().map(|f| f.issue.as_deref()).collect();
    assert_eq!(issues, [None, Some("the URL is wrong")]);
    assert_eq!(s.findings[1].duration_ms, 30_500);
    assert_eq!(s.step("b").and_then(|r| r.duration_ms), None, "never a step's duration");
    assert_eq!(s.audit.iter().filter(|a| a.action == AuditAction::Discussed).count(), 2);
}

#[test]
fn a_tabletop_journal_that_executes_anything_is_impossible() {
    for bad in [
        start("a", 1),
        Event::RollbackStarted { at: AT.into(), reason: "x".into(), by: "ana".into() },
    ] {
        let err = replay(&[tabletop(&["a"]), bad.clone()]).expect_err("nothing executes");
        assert!(matches!(err, JournalError::Impossible { record: 2, .. }), "{bad:?}: {err}");
    }
    // Discussed only once shown, only once, and only in a tabletop drill.
    assert!(replay(&[tabletop(&["a"]), discussed("a", None)]).is_err());
    assert!(replay(&[tabletop(&["a"]), shown("a"), discussed("a", None), discussed("a", None)])
        .is_err());
    let err =
        replay(&[started(&["a"]), shown("a"), discussed("a", None)]).expect_err("no tabletop");
    assert!(err.to_string().contains("not a tabletop drill"), "{err}");
}

#[test]
fn answers_become_discussions_ready_or_issue_found_with_an_update() {
    let mut j = drill(&["a", "b"]);
    let ask = |by: &str, ask: Ask| Request::new("a", by, ask);
    let early = inbox::apply(
        &mut j,
        &ask("ana", Ask::Approve { role: None, comment: None }),
        How::Cli,
        LATER,
    );
    assert!(early.expect_err("not shown").contains("not up for discussion yet"));
    j.append(&shown("a")).expect("shown");
    let blank = ask("ana", Ask::Deny { reason: " ".into() });
    assert!(inbox::apply(&mut j, &blank, How::Cli, LATER).is_err(), "an issue needs its text");
    let req =
        ask("bob", Ask::Deny { reason: "no owner".into() }).with_update(Some("name one".into()));
    let said = inbox::apply(&mut j, &req, How::Cli, LATER).expect("an issue found");
    assert_eq!(said, "bob discussed `a`: issue found: no owner; runbook update needed: name one");
    let again = inbox::apply(&mut j, &req, How::Cli, LATER).expect("the same request again");
    assert!(again.starts_with("already recorded"), "{again}");
    let f = &j.state.findings[0];
    assert_eq!((f.issue.as_deref(), f.update.as_deref()), (Some("no owner"), Some("name one")));
    assert_eq!(f.duration_ms, 30_500, "from shown to answered");
    assert!(matches!(j.events.last(), Some(Event::StepDiscussed { request: Some(_), .. })));

    // `--update` is a tabletop's answer only.
    let mut run = MemoryJournal::new(started(&["m"])).expect("valid start");
    run.append(&Event::StepWaiting { step: "m".into(), at: AT.into(), reason: "do it".into() })
        .expect("manual");
    let req = Request::new("m", "ana", Ask::Approve { role: None, comment: None })
        .with_update(Some("x".into()));
    let refused = inbox::apply(&mut run, &req, How::Cli, LATER).expect_err("no tabletop");
    assert!(refused.contains("`--update` answers a tabletop drill's step"), "{refused}");
}

#[test]
fn a_discussions_free_text_is_masked() {
    let e = Event::StepDiscussed {
        step: "a".into(),
        at: LATER.into(),
        by: "bob".into(),
        how: How::Prompt,
        issue: Some("leaks hunter22".into()),
        update: Some("rotate hunter22".into()),
        comment: Some("pw hunter22".into()),
        duration_ms: 1,
        request: None,
    };
    let Event::StepDiscussed { issue, update, comment, by, .. } =
        e.masked(|t| t.replace("hunter22", "<secret:pw>"))
    else {
        panic!("still a discussion")
    };
    assert_eq!(issue.as_deref(), Some("leaks <secret:pw>"));
    assert_eq!(update.as_deref(), Some("rotate <secret:pw>"));
    assert_eq!(comment.as_deref(), Some("pw <secret:pw>"));
    assert_eq!(by, "bob");
}
