//! `verify` probes with a person at a stand-in terminal ([`Desk`]): an answer against what
//! the probe saw is refused at the prompt and asked again with the reason, `--force` lets it
//! stand (journaled as forced), and a probe that sees the effect decides the step alone.

use super::fake::{book, go_with, job, run_started, Book, Desk, Fake, Out, Say, Session};
use crate::exec::Person;
use crate::journal::{Decision, Event, StepState};
use crate::model::time as clock;
use std::sync::Arc;

const PROMOTE: &str = r#"
runbook "probe" {
  owner "ops"
  step p { run "promote"; verify run "is-primary"; rollback run "demote" }
  step after { needs p; run "after"; idempotent }
}
"#;

/// `p` was running when its runner died; a new runner resumes with `desk` at the terminal.
async fn resumed(b: &Book, fake: Fake, desk: Desk, force: bool) -> (Session, Arc<Desk>) {
    let desk = Arc::new(desk);
    let person: Arc<dyn Person> = desk.clone();
    let prior = [
        run_started(b),
        Event::StepStarted { step: "p".into(), attempt: 1, at: clock::now() },
        Event::RunResumed { at: clock::now(), pid: 1, user: "tester".into() },
    ];
    let mut j = job(b);
    j.force = force;
    let s = go_with(j, &prior, fake, Some(person)).await;
    (s, desk)
}

#[tokio::test]
async fn done_against_a_probe_that_finds_nothing_is_refused_at_the_prompt_and_asked_again() {
    let b = book(PROMOTE);
    // The probe answers "not in place"; then `p` runs again when the person says retry.
    let fake = Fake::new().on("p", &[Out::Fail("exit code 1")]);
    let desk = Desk::new().on("p", &[Say::Decide(Decision::Done), Say::Decide(Decision::Retry)]);
    let (s, desk) = resumed(&b, fake, desk, false).await;
    let asked = desk.asked();
    assert_eq!(asked.len(), 2, "{asked:?}");
    let refusal = asked[1].1.clone().expect("the second prompt says why");
    assert!(refusal.contains("not in place") && refusal.contains("--force"), "{refusal}");
    assert_eq!(s.state_of("p"), StepState::Succeeded, "retried, and it worked this time");
    assert_eq!(s.fake.count("p"), 2, "the probe, then the retry");
    let decided: Vec<&Event> =
        s.new_events().iter().filter(|e| e.name() == "step_decided").collect();
    assert!(matches!(
        decided[..],
        [Event::StepDecided { decision: Decision::Retry, forced: false, .. }]
    ));
}

#[tokio::test]
async fn with_force_the_answer_stands_and_is_journaled_as_forced() {
    let b = book(PROMOTE);
    let fake = Fake::new().on("p", &[Out::Fail("exit code 1")]);
    let desk = Desk::new().on("p", &[Say::Decide(Decision::Done)]);
    let (s, desk) = resumed(&b, fake, desk, true).await;
    assert_eq!(desk.asked().len(), 1);
    assert_eq!(s.state_of("p"), StepState::Succeeded);
    assert!(s.new_events().iter().any(|e| matches!(e, Event::StepDecided { forced: true, .. })));
}

#[tokio::test]
async fn a_probe_that_sees_the_effect_decides_the_step_without_asking() {
    let b = book(PROMOTE);
    let (s, desk) = resumed(&b, Fake::new(), Desk::new(), false).await;
    assert!(desk.asked().is_empty());
    assert_eq!(s.state_of("p"), StepState::Succeeded);
    assert_eq!(s.fake.calls(), ["p", "after"], "the probe, then what depends on `p`");
    assert!(s.new_events().iter().any(|e| matches!(e, Event::StepProbed { decides: true, .. })));
}

#[tokio::test]
async fn a_probe_that_cannot_tell_puts_the_step_to_the_person() {
    let b = book(PROMOTE);
    let fake = Fake::new().on("p", &[Out::Stop]);
    let desk = Desk::new().on("p", &[Say::Decide(Decision::Fail)]);
    let (s, desk) = resumed(&b, fake, desk, false).await;
    assert_eq!(desk.asked().len(), 1);
    assert_eq!(s.state_of("p"), StepState::Failed);
    let seen = s.new_events().iter().find_map(|e| match e {
        Event::StepProbed { seen, .. } => Some(*seen),
        _ => None,
    });
    assert_eq!(seen, Some(crate::journal::Seen::Unknown));
}
