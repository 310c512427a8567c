//! Replay: the transition function and run status, from events only.

use super::*;

fn step_state(state: &RunState, id: &str) -> StepState {
    state.step(id).map(|r| r.state).expect("test: step exists")
}

/// The error replaying `rest` after `started(steps)`, which must be Impossible.
fn impossible_at(steps: &[&str], rest: Vec<Event>) -> (usize, Option<String>, String) {
    match replay(&journal(steps, rest)) {
        Err(JournalError::Impossible { record, step, reason }) => (record, step, reason),
        other => panic!("expected an impossible transition, got {other:?}"),
    }
}

#[test]
fn happy_path_replays_every_step_to_its_end() {
    let events = journal(
        &["backup", "promote", "notify", "dns"],
        vec![
            start("backup", 1),
            process("backup", 1),
            ok("backup", 1),
            start("promote", 1),
            ok("promote", 1),
            skip("notify"),
            wait("dns"),
            paused(),
            resumed(),
            decide("dns", Decision::Done),
            finished(Outcome::Succeeded),
        ],
    );
    let state = replay(&events).expect("valid journal");
    assert_eq!(state.status, RunStatus::Succeeded);
    assert_eq!(state.records, 12);
    assert_eq!(state.finished_at.as_deref(), Some(AT));
    assert_eq!(state.last_pause.as_deref(), Some("waiting for a person"));
    let ids: Vec<&str> = state.steps.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["backup", "promote", "notify", "dns"]);
    let backup = state.step("backup").expect("test: step exists");
    assert_eq!(backup.state, StepState::Succeeded);
    assert_eq!(backup.attempts, 1);
    assert_eq!(backup.duration_ms, Some(12));
    assert_eq!(backup.rpo_ms, Some(900));
    assert_eq!(backup.captures.get("lsn").map(String::as_str), Some("0/16B3748"));
    assert_eq!(backup.process, None, "a finished step has no live process");
    assert_eq!(step_state(&state, "notify"), StepState::Skipped);
    let dns = state.step("dns").expect("test: step exists");
    assert_eq!(
        (dns.state, dns.decision, dns.attempts),
        (StepState::Succeeded, Some(Decision::Done), 0)
    );
    assert_eq!(state.step("nope"), None);
}

#[test]
fn retry_fails_then_starts_the_next_attempt_and_succeeds() {
    let mut state =
        replay(&journal(&["a"], vec![start("a", 1), fail("a", 1, true)])).expect("valid");
    let a = state.step("a").expect("test: step exists");
    assert_eq!(
        (a.state, a.retrying, a.error.as_deref()),
        (StepState::Running, true, Some("exit 1"))
    );
    state.apply(4, &start("a", 2)).expect("attempt 2 starts");
    state.apply(5, &ok("a", 2)).expect("attempt 2 succeeds");
    let a = state.step("a").expect("test: step exists");
    assert_eq!(
        (a.state, a.attempts, a.retrying, a.error.as_deref()),
        (StepState::Succeeded, 2, false, None)
    );
}

#[test]
fn process_is_kept_through_an_interruption_for_resume_to_find() {
    let state = replay(&journal(
        &["a"],
        vec![start("a", 1), process("a", 1), interrupt("a", 1), run_interrupted()],
    ))
    .expect("valid");
    assert_eq!(state.status, RunStatus::Interrupted);
    let a = state.step("a").expect("test: step exists");
    assert_eq!((a.state, a.process), (StepState::Interrupted, Some((100, 100, 7))));
}

#[test]
fn decisions_and_fresh_attempts_after_a_crash() {
    use Decision::*;
    let state = replay(&journal(
        &["run", "int", "failed", "manual"],
        vec![
            // Runner died while `run` ran: a person says retry; it restarts at attempt 2.
            start("run", 1),
            resumed(),
            decide("run", Retry),
            start("run", 2),
            ok("run", 2),
            // Interrupted, then decided failed.
            start("int", 1),
            interrupt("int", 1),
            Event::StepDecided {
                step: "int".into(),
                decision: Fail,
                by: "bo".into(),
                at: AT.into(),
                reason: Some("half done".into()),
                forced: false,
            },
            // A failed step gets a fresh attempt on resume; an idempotent one re-runs from running.
            start("failed", 1),
            fail("failed", 1, false),
            start("failed", 2),
            start("failed", 3),
            ok("failed", 3),
            // A manual step decided failed is prompted again on resume.
            wait("manual"),
            decide("manual", Fail),
            wait("manual"),
            decide("manual", Retry),
            wait("manual"),
            start("manual", 1),
            fail("manual", 1, false),
        ],
    ))
    .expect("valid");
    assert_eq!(state.status, RunStatus::Running);
    let run = state.step("run").expect("test: step exists");
    assert_eq!((run.state, run.attempts, run.decision), (StepState::Succeeded, 2, Some(Retry)));
    let int = state.step("int").expect("test: step exists");
    assert_eq!(int.state, StepState::Failed);
    assert_eq!(int.error.as_deref(), Some("marked failed by bo: half done"));
    assert_eq!(
        state.step("failed").map(|r| (r.state, r.attempts)),
        Some((StepState::Succeeded, 3))
    );
    assert_eq!(step_state(&state, "manual"), StepState::Failed);
}

#[test]
fn run_status_follows_pauses_interruptions_and_resumes() {
    let steps = &["a", "b"];
    let status = |rest| replay(&journal(steps, rest)).expect("valid").status;
    assert_eq!(status(vec![]), RunStatus::Running);
    assert_eq!(status(vec![wait("a"), paused()]), RunStatus::Paused);
    // A person's answer given from another shell leaves a paused run paused until a runner
    // resumes it.
    assert_eq!(status(vec![wait("a"), paused(), decide("a", Decision::Done)]), RunStatus::Paused);
    assert_eq!(
        status(vec![wait("a"), paused(), resumed(), decide("a", Decision::Done)]),
        RunStatus::Running
    );
    assert_eq!(status(vec![run_interrupted()]), RunStatus::Interrupted);
    assert_eq!(status(vec![run_interrupted(), resumed()]), RunStatus::Running);
    assert_eq!(status(vec![run_interrupted(), start("b", 1)]), RunStatus::Running);
    assert_eq!(status(vec![finished(Outcome::Failed)]), RunStatus::Failed);
}

#[test]
fn impossible_transitions_are_rejected_with_their_record() {
    use Decision::*;
    let s = &["a", "b"];
    // (events after run_started, the record that must be refused, words its message must hold)
    let cases: Vec<(Vec<Event>, usize, &str)> = vec![
        (vec![started(s)], 2, "a second `run_started`"),
        (vec![start("a", 2)], 2, "step `a` starts attempt 2, but the next attempt is 1"),
        (vec![process("a", 1)], 2, "step `a` is pending, so `step_process` cannot happen"),
        (vec![ok("a", 1)], 2, "step `a` is pending, so `step_succeeded` cannot happen"),
        (vec![fail("a", 1, false)], 2, "step `a` is pending, so `step_failed` cannot happen"),
        (vec![interrupt("a", 1)], 2, "step `a` is pending, so `step_interrupted`"),
        (vec![decide("a", Done)], 2, "step `a` is pending, so `step_decided`"),
        (vec![start("a", 1), ok("a", 2)], 3, "reports attempt 2, but attempt 1 is the one running"),
        (vec![start("a", 1), process("a", 3)], 3, "reports attempt 3"),
        (vec![start("a", 1), start("a", 1)], 3, "starts attempt 1, but the next attempt is 2"),
        (vec![start("a", 1), ok("a", 1), ok("a", 1)], 4, "step `a` finished twice"),
        (vec![start("a", 1), ok("a", 1), start("a", 2)], 4, "already succeeded, so `step_started`"),
        (vec![start("a", 1), ok("a", 1), decide("a", Retry)], 4, "finished steps never run again"),
        (vec![skip("a"), start("a", 1)], 3, "step `a` already skipped"),
        (vec![skip("a"), skip("a")], 3, "finished steps never run again"),
        (vec![start("a", 1), skip("a")], 3, "step `a` is running, so `step_skipped`"),
        (vec![start("a", 1), wait("a")], 3, "step `a` is running, so `step_waiting`"),
        (vec![wait("a"), wait("a")], 3, "step `a` is waiting, so `step_waiting`"),
        (vec![wait("a"), ok("a", 0)], 3, "step `a` is waiting, so `step_succeeded`"),
        (vec![start("a", 1), fail("a", 1, true), ok("a", 1)], 4, "attempt 1 already failed"),
        (vec![start("a", 1), fail("a", 1, true), start("a", 3)], 4, "the next attempt is 2"),
        (vec![start("a", 1), fail("a", 1, false), fail("a", 1, false)], 4, "step `a` is failed"),
        (vec![start("a", 1), fail("a", 1, false), start("a", 1)], 4, "the next attempt is 2"),
        (vec![start("a", 1), interrupt("a", 1), ok("a", 1)], 4, "step `a` is interrupted"),
        (vec![start("a", 1), interrupt("a", 1), interrupt("a", 1)], 4, "step `a` is interrupted"),
        (vec![start("a", 1), decide("a", Retry), ok("a", 1)], 4, "step `a` is pending"),
        (vec![start("zz", 1)], 2, "step `zz` is not a step of this run"),
        (vec![finished(Outcome::Succeeded), resumed()], 3, "`run_resumed` after `run_finished`"),
        (vec![finished(Outcome::Failed), start("a", 1)], 3, "`step_started` after `run_finished`"),
        (
            vec![finished(Outcome::Failed), finished(Outcome::Failed)],
            3,
            "a finished run takes no more",
        ),
    ];
    for (rest, want_record, want) in cases {
        let shown = format!("{rest:?}");
        let (record, _, reason) = impossible_at(s, rest);
        assert_eq!(record, want_record, "{shown}: {reason}");
        assert!(reason.contains(want), "{shown}: `{reason}` lacks `{want}`");
    }
}

#[test]
fn impossible_error_names_the_record_and_the_step() {
    let events =
        journal(&["promote"], vec![start("promote", 1), ok("promote", 1), ok("promote", 1)]);
    let err = replay(&events).expect_err("finished twice");
    assert_eq!(err.to_string(), "record 4: step `promote` finished twice");
    assert!(matches!(err, JournalError::Impossible { step: Some(s), .. } if s == "promote"));
}

#[test]
fn the_first_record_must_be_run_started_of_this_version() {
    let err = replay(&[start("a", 1)]).expect_err("no run_started");
    assert_eq!(
        err.to_string(),
        "record 1: the first record must be `run_started`, not `step_started`"
    );
    let mut first = started(&["a"]);
    if let Event::RunStarted { v, .. } = &mut first {
        *v = VERSION + 1;
    }
    let err = replay(&[first]).expect_err("a future version");
    assert!(matches!(err, JournalError::Version { found } if found == VERSION + 1), "{err:?}");
    assert!(err.to_string().contains("version 2 is not supported"), "{err}");
    assert!(matches!(replay(&[]), Err(JournalError::Damaged { record: 1, .. })));
    let err = replay(&[started(&["a", "b", "a"])]).expect_err("duplicate step");
    assert!(err.to_string().contains("step `a` is listed twice"), "{err}");
}

#[test]
fn a_refused_event_leaves_the_state_unchanged() {
    let mut state = replay(&journal(&["a"], vec![start("a", 1)])).expect("valid");
    let before = state.clone();
    assert!(state.apply(3, &start("a", 5)).is_err());
    assert!(state.apply(3, &started(&["a"])).is_err());
    assert_eq!(state, before);
}

#[test]
fn memory_journal_validates_like_the_disk() {
    let mut mem = MemoryJournal::new(started(&["a"])).expect("valid first event");
    mem.append(&start("a", 1)).expect("valid");
    let err = mem.append(&ok("a", 2)).expect_err("wrong attempt");
    assert!(err.to_string().starts_with("record 3: "), "{err}");
    assert_eq!(mem.events.len(), 2);
    mem.append(&ok("a", 1)).expect("valid");
    assert_eq!(Sink::state(&mem).step("a").map(|r| r.state), Some(StepState::Succeeded));
    assert!(MemoryJournal::new(start("a", 1)).is_err());
}

#[test]
fn states_serialize_in_lowercase() {
    let json =
        serde_json::to_string(&(RunStatus::Interrupted, StepState::Waiting)).expect("serializes");
    assert_eq!(json, r#"["interrupted","waiting"]"#);
    assert_eq!(StepState::Skipped.to_string(), "skipped");
    assert!(RunStatus::Paused.is_unfinished() && !RunStatus::Succeeded.is_unfinished());
}
