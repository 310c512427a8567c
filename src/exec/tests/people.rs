//! The executor with a person at a stand-in terminal ([`Desk`]): manual steps, approval gates
//! and manual rollbacks answered at the prompt, refused answers asked again, a person who walks
//! away, and a gate that times out.

use super::fake::{book, go, go_with, job, run_started, Book, Desk, Fake, Out, Say, Session};
use crate::exec::{Finish, Note, Person};
use crate::journal::{Decision, Event, How, StepState};
use std::sync::Arc;

async fn with(b: &Book, desk: Desk) -> (Session, Arc<Desk>) {
    let desk = Arc::new(desk);
    let person: Arc<dyn Person> = desk.clone();
    let s = go_with(job(b), &[run_started(b)], Fake::new(), Some(person)).await;
    (s, desk)
}

const MANUAL: &str = r#"
runbook "manual" {
  owner "ops"
  step a { run "a" }
  step confirm { needs a; manual "Check the dashboard" }
  step after { needs confirm; run "after" }
}
"#;

#[tokio::test]
async fn a_manual_step_done_at_the_prompt_lets_its_dependents_run() {
    let b = book(MANUAL);
    let (s, desk) = with(&b, Desk::new().on("confirm", &[Say::Done])).await;
    assert_eq!(s.finish, Finish::Succeeded);
    assert_eq!(s.events_of("confirm"), ["step_waiting", "step_decided"]);
    assert!(matches!(
        s.new_events().iter().find(|e| e.name() == "step_decided"),
        Some(Event::StepDecided { decision: Decision::Done, by, .. }) if by == "tester"
    ));
    assert_eq!(s.fake.calls(), ["a", "after"], "a manual step has no action to run");
    assert_eq!(desk.asked(), [("confirm".to_string(), None)]);
    assert!(s.notes.iter().any(
        |n| matches!(n, Note::ApprovalRecorded { step, message } if step == "confirm" && message == "tester marked `confirm` done")
    ));
}

#[tokio::test]
async fn a_manual_step_failed_at_the_prompt_fails_under_its_policy() {
    let b = book(MANUAL);
    let (s, _) = with(&b, Desk::new().on("confirm", &[Say::Failed("graphs are red")])).await;
    assert_eq!(
        s.finish,
        Finish::Failed("step `confirm` failed: marked failed by tester: graphs are red".into())
    );
    assert_eq!(s.state_of("confirm"), StepState::Failed);
    assert!(s.events_of("after").is_empty());
}

#[tokio::test]
async fn a_person_who_walks_away_leaves_the_run_paused() {
    let b = book(MANUAL);
    let (s, desk) = with(&b, Desk::new()).await;
    assert_eq!(s.finish, Finish::Paused("waiting for a person: confirm (manual step)".into()));
    assert_eq!(desk.asked().len(), 1, "asked once; end of input is not asked again");
    assert_eq!(s.state_of("confirm"), StepState::Waiting);
}

const GATE: &str = r#"
runbook "gate" {
  owner "ops"
  roles {
    lead = ["alice", "bob"]
    mgr  = ["carol"]
  }
  step g { approval { by lead, mgr }; run "g" }
  step after { needs g; run "after" }
}
"#;

#[tokio::test]
async fn a_gate_opens_once_each_role_is_approved_by_a_different_person() {
    let b = book(GATE);
    let says = [Say::Approve("alice"), Say::Approve("alice"), Say::Approve("carol")];
    let (s, desk) = with(&b, Desk::new().on("g", &says)).await;
    assert_eq!(s.finish, Finish::Succeeded);
    assert_eq!(
        s.events_of("g"),
        ["approval_requested", "approved", "approved", "step_started", "step_succeeded"]
    );
    let approvals: Vec<(String, String, How)> = s
        .new_events()
        .iter()
        .filter_map(|e| match e {
            Event::Approved { role, by, how, .. } => Some((role.clone(), by.clone(), *how)),
            _ => None,
        })
        .collect();
    let expected = [("lead", "alice"), ("mgr", "carol")]
        .map(|(r, b)| (r.to_string(), b.to_string(), How::Prompt))
        .to_vec();
    assert_eq!(approvals, expected);
    // The refused second answer is said on the next prompt.
    let asked = desk.asked();
    assert_eq!(asked.len(), 3);
    assert!(asked[1].1.is_none() && asked[2].1.is_some(), "{asked:?}");
    assert!(s.notes.iter().any(|n| matches!(n, Note::ApprovalRefused { by, .. } if by == "alice")));
    assert_eq!(s.fake.calls(), ["g", "after"]);
}

#[tokio::test]
async fn a_gate_denied_at_the_prompt_fails_its_step() {
    let b = book(GATE);
    let (s, _) =
        with(&b, Desk::new().on("g", &[Say::Deny("carol", "not during the freeze")])).await;
    assert_eq!(
        s.finish,
        Finish::Failed("step `g` failed: approval denied by carol: not during the freeze".into())
    );
    assert_eq!(s.events_of("g"), ["approval_requested", "approval_denied"]);
    assert!(s.fake.calls().is_empty());
}

#[tokio::test]
async fn a_gate_times_out_when_nobody_answers_in_time() {
    let src = r#"
runbook "t" {
  owner "ops"
  step g { approval { by lead; timeout 5ms }; run "g"; on_failure continue }
  step after { needs g; run "after" }
}
"#;
    let b = book(src);
    let mut j = job(&b);
    j.wait = true;
    let s = go(j, &[run_started(&b)], Fake::new()).await;
    assert_eq!(s.events_of("g"), ["approval_requested", "approval_timed_out"]);
    assert_eq!(
        s.state().step("g").and_then(|r| r.error.clone()).as_deref(),
        Some("approval timed out")
    );
    assert_eq!(s.finish, Finish::Succeeded, "under `continue` its dependents go on");
    assert_eq!(s.fake.calls(), ["after"]);
}

const MANUAL_UNDO: &str = r#"
runbook "mu" {
  owner "ops"
  on_failure rollback
  step a { run "a"; rollback manual "Restore the DNS record by hand" }
  step b { needs a; run "b" }
}
"#;

#[tokio::test]
async fn a_manual_rollback_is_done_by_a_person() {
    let b = book(MANUAL_UNDO);
    let fake = Fake::new().on("b", &[Out::Fail("boom")]);
    let desk = Arc::new(Desk::new().on("a (rollback)", &[Say::Done]));
    let person: Arc<dyn Person> = desk.clone();
    let s = go_with(job(&b), &[run_started(&b)], fake, Some(person)).await;
    assert_eq!(s.finish, Finish::RolledBack("1 step(s) undone".into()));
    assert_eq!(
        s.events_of("a"),
        ["step_started", "step_succeeded", "undo_started", "undo_waiting", "undo_decided"]
    );
    assert_eq!(s.state_of("a"), StepState::Undone);
    assert_eq!(desk.asked(), [("a (rollback)".to_string(), None)]);
}

#[tokio::test]
async fn a_manual_rollback_without_a_person_pauses_the_run() {
    let b = book(MANUAL_UNDO);
    let s = go(job(&b), &[run_started(&b)], Fake::new().on("b", &[Out::Fail("boom")])).await;
    let Finish::Paused(why) = &s.finish else { panic!("{:?}", s.finish) };
    assert!(why.starts_with("the rollback of `a` waits for a person"), "{why}");
    assert_eq!(s.state_of("a"), StepState::Undoing);
}

const CUT: &str = r#"
runbook "cut" {
  owner "ops"
  step act { run "act" }
  step last { needs act; run "last" }
}
"#;

/// `run_started`, then `act` started and in flight when its runner died, then `run_resumed`.
fn cut_mid_act(b: &Book) -> Vec<Event> {
    let at = crate::model::time::now();
    vec![
        run_started(b),
        Event::StepStarted { step: "act".into(), attempt: 1, at: at.clone() },
        Event::RunResumed { at, pid: 1, user: "tester".into() },
    ]
}

#[tokio::test]
async fn an_interrupted_step_is_decided_at_the_prompt_before_anything_runs() {
    let b = book(CUT);
    for (said, calls, finish) in [
        (Decision::Retry, vec!["act", "last"], Finish::Succeeded),
        (Decision::Done, vec!["last"], Finish::Succeeded),
    ] {
        let desk = Arc::new(Desk::new().on("act", &[Say::Decide(said)]));
        let person: Arc<dyn Person> = desk.clone();
        let s = go_with(job(&b), &cut_mid_act(&b), Fake::new(), Some(person)).await;
        assert_eq!(s.finish, finish, "after {said:?}");
        assert_eq!(s.fake.calls(), calls, "after {said:?}");
        assert_eq!(&s.events_of("act")[..2], ["decision_asked", "step_decided"]);
        assert_eq!(desk.asked(), [("act".to_string(), None)]);
    }
}

#[tokio::test]
async fn an_interrupted_step_nobody_decides_pauses_the_run_and_says_how_to_decide() {
    let b = book(CUT);
    let s = go(job(&b), &cut_mid_act(&b), Fake::new()).await;
    let Finish::Paused(text) = &s.finish else { panic!("expected a pause, got {:?}", s.finish) };
    assert!(
        text.contains("--interrupted act=ANSWER") && text.contains("--interrupted act=fail"),
        "{text}"
    );
    assert!(s.fake.calls().is_empty(), "nothing runs before it is decided");
    assert_eq!(s.state_of("act"), StepState::Running);
    // A decision given in advance is recorded and needs nobody.
    let mut j = job(&b);
    j.decisions.insert("act".into(), Decision::Fail);
    let s = go(j, &cut_mid_act(&b), Fake::new()).await;
    assert!(matches!(s.finish, Finish::Failed(_)), "{:?}", s.finish);
    assert!(s.fake.calls().is_empty());
    assert_eq!(s.events_of("act"), ["step_decided"]);
}
