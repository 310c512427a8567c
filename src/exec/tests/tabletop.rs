//! A tabletop drill in process: every step is shown at the prompt in dependency order and
//! discussed (ready, or an issue found), nothing is acted, no gate is asked for, `when` is not
//! evaluated, and finally steps are discussed too.

use super::fake::{book, go_with, job, run_started, Book, Desk, Fake, Say, Session};
use crate::exec::{Finish, Note, Person};
use crate::journal::{DrillInfo, Event, StepState};
use crate::model::DrillKind;
use std::sync::Arc;

const BOOK: &str = r#"
runbook "tabletop" {
  owner "ops"
  param region = "us-west-2"
  secret token = env("NEVER_SET_IN_TESTS")
  roles { lead = ["alice"] }
  step a "Check" { duration 1m; run "curl https://${region}.example.com/${token}"; idempotent }
  step b {
    needs a
    when region == "nowhere"
    approval { by lead }
    run "promote ${region}"
    rollback run "demote ${region}"
  }
  step c { needs b; manual "Call the vendor" }
  finally step tell { notify "https://hooks.example.com/x" "done" }
}
"#;

/// The first record of a tabletop drill of `b`.
fn drill_started(b: &Book) -> Event {
    run_started(b).as_drill(DrillInfo { kind: DrillKind::Tabletop, targets: Vec::new() })
}

async fn with(b: &Book, desk: Desk) -> (Session, Arc<Desk>) {
    let desk = Arc::new(desk);
    let person: Arc<dyn Person> = desk.clone();
    let s = go_with(job(b), &[drill_started(b)], Fake::new(), Some(person)).await;
    (s, desk)
}

#[tokio::test]
async fn every_step_is_discussed_at_the_prompt_in_order_and_nothing_acts() {
    let b = book(BOOK);
    let desk = Desk::new()
        .on("a", &[Say::Approve("ana")])
        .on("b", &[Say::Deny("bob", "who demotes?")])
        .on("c", &[Say::Approve("ana")])
        .on("tell", &[Say::Approve("ana")]);
    let (s, desk) = with(&b, desk).await;
    assert_eq!(s.finish, Finish::Succeeded);
    assert!(s.fake.calls().is_empty(), "no action, rollback or notify ran");
    let asked: Vec<String> = desk.asked().into_iter().map(|(l, _)| l).collect();
    assert_eq!(asked, ["a", "b", "c", "tell"], "dependency order, finally step last");
    for step in ["a", "b", "c", "tell"] {
        assert_eq!(s.events_of(step), ["step_waiting", "step_discussed"], "{step}");
        assert_eq!(s.state_of(step), StepState::Succeeded, "{step}");
    }
    let state = s.state();
    let issues: Vec<Option<&str>> = state.findings.iter().map(|f| f.issue.as_deref()).collect();
    assert_eq!(issues, [None, Some("who demotes?"), None, None]);
    assert_eq!(state.findings[1].update.as_deref(), Some("fix the runbook"));
    let shown = desk.shown.lock().expect("unpoisoned").clone();
    assert_eq!(shown[0].action, "run curl https://us-west-2.example.com/<secret:token>");
    assert_eq!(shown[0].expected_ms, Some(60_000));
    assert_eq!(shown[1].needs, ["a"]);
    assert_eq!(shown[1].approvals, ["lead"]);
    assert_eq!(shown[1].when.as_deref(), Some("region == \"nowhere\""));
    assert_eq!(shown[1].rollback.as_deref(), Some("run demote us-west-2"));
    assert!(shown[3].finally);
    assert!(s.notes.iter().any(|n| matches!(
        n,
        Note::Discussed { step, by, issue: Some(i), .. } if step == "b" && by == "bob" && i == "who demotes?"
    )));
}

#[tokio::test]
async fn without_an_answer_the_drill_pauses_with_the_step_up_for_discussion() {
    let b = book(BOOK);
    let s = go_with(job(&b), &[drill_started(&b)], Fake::new(), None).await;
    assert_eq!(s.finish, Finish::Paused("waiting for a person: a (to discuss)".into()));
    assert_eq!(s.state_of("a"), StepState::Waiting);
    assert!(s.notes.iter().any(|n| matches!(n, Note::Discuss { ask } if ask.step == "a")));
    assert!(s.fake.calls().is_empty());
}
