//! Masking: a secret put into every string of every event survives only in identifiers.

use super::*;
use serde_json::Value;

const SECRET: &str = "hunter2-xyzzy";

fn mask(text: &str) -> String {
    text.replace(SECRET, "<secret:pw>")
}

/// Keys whose values are identifiers, kept as they are by [`Event::masked`] (see its docs).
const IDENTIFIERS: [&str; 18] = [
    "step",
    "run_id",
    "runbook",
    "file",
    "path",
    "content_hash",
    "step_hashes",
    "at",
    "clock_start",
    "user",
    "by",
    "role",
    "roles",
    "members",
    "request",
    "kind",
    "id",
    "signal",
];

/// Enums, written as strings, that cannot hold text.
const ENUMS: [&str; 5] = ["event", "decision", "how", "outcome", "seen"];

/// One of each variant. The match in [`variant`] has no wildcard, so a new variant does not
/// compile until it is added here.
fn one_of_each() -> Vec<Event> {
    let s = |t: &str| t.to_string();
    vec![
        started(&["a"]),
        resumed(),
        start("a", 1),
        process("a", 1),
        Event::StepRemote { step: s("a"), attempt: 1, kind: s("command"), id: s("c-1") },
        ok("a", 1),
        fail("a", 1, false),
        skip("a"),
        wait("a"),
        interrupt("a", 1),
        Event::StepDecided {
            step: s("a"),
            decision: Decision::Fail,
            by: s("ana"),
            at: s(AT),
            reason: Some(s("r")),
            forced: false,
        },
        Event::ApprovalRequested {
            step: s("a"),
            at: s(AT),
            roles: vec![s("dba")],
            members: Some(BTreeMap::from([(s("dba"), vec![s("ana")])])),
            timeout_ms: Some(1),
            excluded: None,
            approvals: Default::default(),
            signers: None,
        },
        Event::Approved {
            step: s("a"),
            role: s("dba"),
            by: s("ana"),
            at: s(AT),
            how: How::Cli,
            comment: Some(s("c")),
            request: Some(s("q")),
            signed: None,
        },
        Event::ApprovalDenied {
            step: s("a"),
            by: s("ana"),
            at: s(AT),
            how: How::Prompt,
            reason: s("r"),
            request: Some(s("q")),
        },
        Event::ApprovalRefused {
            step: s("a"),
            by: s("ana"),
            at: s(AT),
            how: How::Cli,
            reason: s("r"),
            request: Some(s("q")),
        },
        Event::ApprovalTimedOut { step: s("a"), at: s(AT) },
        Event::GateReopened { step: s("a"), by: s("ana"), at: s(AT), reason: Some(s("r")) },
        Event::DecisionAsked { step: s("a"), at: s(AT), undo: false },
        Event::StepProbed {
            step: s("a"),
            at: s(AT),
            seen: Seen::NotInPlace,
            output: s("o"),
            decides: false,
        },
        Event::RollbackRetried { at: s(AT), by: s("ana") },
        Event::RollbackStarted { at: s(AT), reason: s("r"), by: s("ana") },
        Event::UndoStarted { step: s("a"), at: s(AT) },
        Event::UndoProcess { step: s("a"), pid: 1, pgid: 1, pid_start: 1 },
        Event::UndoSucceeded { step: s("a"), at: s(AT), duration_ms: 1 },
        Event::UndoFailed { step: s("a"), at: s(AT), error: s("e"), will_retry: false },
        Event::UndoWaiting { step: s("a"), at: s(AT), instructions: s("i") },
        Event::UndoSkipped { step: s("a"), at: s(AT), reason: s("r") },
        Event::UndoDecided {
            step: s("a"),
            decision: Decision::Done,
            by: s("ana"),
            at: s(AT),
            reason: Some(s("r")),
        },
        Event::StepDiscussed {
            step: s("a"),
            at: s(AT),
            by: s("bob"),
            how: How::Cli,
            issue: Some(s("i")),
            update: Some(s("u")),
            comment: Some(s("c")),
            duration_ms: 1,
            request: Some(s("q")),
        },
        paused(),
        run_interrupted(),
        finished(Outcome::Failed),
        Event::FinallyStarted {
            at: s(AT),
            outcome: Outcome::Failed,
            elapsed_ms: 1,
            detail: s("step `a` failed"),
        },
    ]
}

fn variant(e: &Event) -> usize {
    match e {
        Event::RunStarted { .. } => 0,
        Event::RunResumed { .. } => 1,
        Event::StepStarted { .. } => 2,
        Event::StepProcess { .. } => 3,
        Event::StepRemote { .. } => 4,
        Event::StepSucceeded { .. } => 5,
        Event::StepFailed { .. } => 6,
        Event::StepSkipped { .. } => 7,
        Event::StepWaiting { .. } => 8,
        Event::StepInterrupted { .. } => 9,
        Event::StepDecided { .. } => 10,
        Event::ApprovalRequested { .. } => 11,
        Event::Approved { .. } => 12,
        Event::ApprovalDenied { .. } => 13,
        Event::ApprovalTimedOut { .. } => 14,
        Event::RollbackStarted { .. } => 15,
        Event::UndoStarted { .. } => 16,
        Event::UndoProcess { .. } => 17,
        Event::UndoSucceeded { .. } => 18,
        Event::UndoFailed { .. } => 19,
        Event::UndoWaiting { .. } => 20,
        Event::UndoSkipped { .. } => 21,
        Event::UndoDecided { .. } => 22,
        Event::RunPaused { .. } => 23,
        Event::RunInterrupted { .. } => 24,
        Event::RunFinished { .. } => 25,
        Event::DecisionAsked { .. } => 26,
        Event::GateReopened { .. } => 27,
        Event::StepProbed { .. } => 28,
        Event::RollbackRetried { .. } => 29,
        Event::FinallyStarted { .. } => 30,
        Event::ApprovalRefused { .. } => 31,
        Event::StepDiscussed { .. } => 32,
    }
}
const VARIANTS: usize = 33;

/// Every string in `v` (map values, list items, nested) replaced by text holding the secret.
fn poison(v: &mut Value) {
    match v {
        Value::String(t) => *t = format!("before {SECRET} after"),
        Value::Array(items) => items.iter_mut().for_each(poison),
        Value::Object(map) => map.values_mut().for_each(poison),
        _ => {}
    }
}

/// `e` with the secret in every string it has, and in every absent optional field that can
/// hold a string: a field added later is poisoned without this test changing.
fn poisoned(e: &Event) -> Event {
    let Value::Object(mut fields) = serde_json::to_value(e).expect("serializes") else {
        panic!("an event serializes to an object");
    };
    for (key, value) in fields.iter_mut() {
        if !ENUMS.contains(&key.as_str()) {
            poison(value);
        }
    }
    let nulls: Vec<String> =
        fields.iter().filter(|(_, v)| v.is_null()).map(|(k, _)| k.clone()).collect();
    for key in nulls {
        let mut tried = fields.clone();
        tried.insert(key, Value::String(format!("before {SECRET} after")));
        if serde_json::from_value::<Event>(Value::Object(tried.clone())).is_ok() {
            fields = tried;
        }
    }
    serde_json::from_value(Value::Object(fields)).expect("strings deserialize as strings")
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(t) => out.push(t.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

#[test]
fn a_secret_survives_masking_only_in_identifiers_of_every_variant() {
    let table = one_of_each();
    let mut seen = [false; VARIANTS];
    for e in &table {
        seen[variant(e)] = true;
    }
    assert!(seen.iter().all(|&s| s), "the table holds every variant: {seen:?}");
    for e in &table {
        let dirty = poisoned(e);
        let masked = dirty.masked(mask);
        let before = serde_json::to_value(&dirty).expect("serializes");
        let after = serde_json::to_value(&masked).expect("serializes");
        let mut free_text = 0;
        for (key, value) in after.as_object().expect("an object") {
            if IDENTIFIERS.contains(&key.as_str()) {
                assert_eq!(value, &before[key], "`{}`: identifier `{key}` is kept", e.name());
                continue;
            }
            let mut texts = Vec::new();
            strings(value, &mut texts);
            for t in &texts {
                assert!(!t.contains(SECRET), "`{}`.{key} leaks the secret: {t}", e.name());
                if !ENUMS.contains(&key.as_str()) {
                    assert_eq!(t, "before <secret:pw> after", "`{}`.{key}", e.name());
                    free_text += 1;
                }
            }
        }
        let json = serde_json::to_string(&masked).expect("serializes");
        let leaks = json.matches(SECRET).count();
        let mut kept = Vec::new();
        for key in IDENTIFIERS {
            if let Some(v) = after.get(key) {
                strings(v, &mut kept);
            }
        }
        assert_eq!(leaks, kept.len(), "`{}`: only identifiers hold the secret: {json}", e.name());
        let expected_text = matches!(
            e,
            Event::RunStarted { .. }
                | Event::StepSucceeded { .. }
                | Event::StepFailed { .. }
                | Event::StepSkipped { .. }
                | Event::StepWaiting { .. }
                | Event::StepDecided { .. }
                | Event::StepProbed { .. }
                | Event::Approved { .. }
                | Event::ApprovalRefused { .. }
                | Event::ApprovalDenied { .. }
                | Event::GateReopened { .. }
                | Event::RollbackStarted { .. }
                | Event::UndoFailed { .. }
                | Event::UndoWaiting { .. }
                | Event::UndoSkipped { .. }
                | Event::UndoDecided { .. }
                | Event::RunPaused { .. }
                | Event::FinallyStarted { .. }
                | Event::StepDiscussed { .. }
        );
        assert_eq!(free_text > 0, expected_text, "`{}` has free text: {json}", e.name());
    }
}

#[test]
fn masking_without_a_secret_changes_nothing() {
    for e in one_of_each() {
        assert_eq!(e.masked(mask), e);
    }
}
