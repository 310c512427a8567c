//! Approval gates (LANGUAGE.md §5 `approval`, `roles`; §8 approvals): the two-person rule,
//! `drbook approve` / `deny` from another shell while a runner waits or while the run is
//! paused, `--approve` on `run` / `resume`, the gate's timeout, refusals that record nothing,
//! and what `status`, the journal and the report show of it all.

use crate::runkit::{
    count, count_events, drb, drb_spawn, journal, run_ids, runbook, status_json, step_json,
    step_state, STATE,
};
use crate::{Live, Output, Test};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A runbook named `name` declaring `lead = [alice, bob]` and `mgr = [carol]`, around `body`.
fn with_roles(name: &str, body: &str) -> String {
    format!(
        "runbook \"{name}\" {{\n  owner \"ops\"\n  rto 1h\n  roles {{\n    lead = [\"alice\", \"bob\"]\n    mgr  = [\"carol\"]\n  }}\n{body}\n}}\n"
    )
}

/// `promote`, gated by one `lead` and one `mgr` (plus `extra` in the gate block), appends
/// `promoted` to `side` when it finally runs.
fn promote(extra: &str) -> String {
    format!(
        r#"  step promote {{
    duration 1s
    approval {{ by lead, mgr{extra} }}
    run "echo promoted >> side"
    idempotent
  }}"#
    )
}

/// `drbook approve ID STEP --as WHO [more...]`.
fn approve(t: &Test, id: &str, step: &str, who: &str, more: &[&str]) -> Output {
    let mut args = vec!["approve", id, step, "--as", who];
    args.extend(more);
    drb(t, &args)
}

/// Panics unless `out` is a refusal (exit 1) that says `needle` and that nothing was recorded.
#[track_caller]
fn expect_refused(out: &Output, needle: &str) {
    out.expect_status(1).expect_stderr("refused: ").expect_stderr(needle);
    out.expect_stderr("nothing was recorded");
}

/// `missing_roles` of `step`, as strings.
#[track_caller]
fn missing_roles(t: &Test, id: &str, step: &str) -> Vec<String> {
    step_json(t, id, step)["missing_roles"]
        .as_array()
        .expect("`missing_roles` is an array")
        .iter()
        .map(|r| r.as_str().expect("a role name").to_string())
        .collect()
}

/// `(role, by, how)` of each approval of `step` in the status.
#[track_caller]
fn approvals(t: &Test, id: &str, step: &str) -> Vec<(String, String, String)> {
    let s = step_json(t, id, step);
    s["approvals"]
        .as_array()
        .unwrap_or_else(|| panic!("`approvals` is an array: {s}"))
        .iter()
        .map(|a| {
            let f = |k: &str| a[k].as_str().unwrap_or_else(|| panic!("approval `{k}`: {a}")).into();
            (f("role"), f("by"), f("how"))
        })
        .collect()
}

/// The number of lines of run `id`'s journal: a refusal must not change it.
fn journal_len(t: &Test, id: &str) -> usize {
    journal(t, id).len()
}

/// Polls `status` until `step` of run `id` is `waiting` (the runner reached the gate);
/// panics after `limit`.
#[track_caller]
pub(crate) fn wait_until_waiting(t: &Test, id: &str, step: &str, live: &mut Live, limit: Duration) {
    let start = Instant::now();
    loop {
        let out = drb(t, &["status", id, "--format", "json"]);
        if out.status == 0 {
            let v = crate::json(&out);
            let waiting = v["steps"]
                .as_array()
                .is_some_and(|ss| ss.iter().any(|s| s["id"] == step && s["state"] == "waiting"));
            if waiting {
                return;
            }
        }
        assert!(!live.exited(), "the runner exited before `{step}` waited for approval");
        assert!(start.elapsed() < limit, "`{step}` was not waiting within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Index of the first journal record matching `event` and `step`.
#[track_caller]
fn position(records: &[Value], event: &str, step: &str) -> usize {
    records
        .iter()
        .position(|r| r["event"] == event && r["step"] == step)
        .unwrap_or_else(|| panic!("no `{event}` record for `{step}` in {records:#?}"))
}

#[test]
fn two_person_rule_one_lead_and_one_manager_each_a_different_person() {
    let t = Test::new().file("f.drbook", &with_roles("two", &promote("")));
    let out = drb(&t, &["run", "f.drbook", "--run-id", "r"]);
    out.expect_status(3)
        .expect_stderr("paused: waiting for a person: promote needs approval by lead, mgr");
    assert_eq!(step_state(&t, "r", "promote"), "waiting");
    assert!(!t.path("side").exists(), "the gated action must not run before its approvals");
    let s = step_json(&t, "r", "promote");
    assert_eq!(s["gate"]["roles"], serde_json::json!(["lead", "mgr"]), "{s}");
    assert!(s["gate"]["requested_at"].is_string() && s["gate"]["timeout_ms"].is_null(), "{s}");
    assert!(s["waiting_for"].as_str().is_some_and(|w| w.contains("approval")), "{s}");
    assert_eq!(missing_roles(&t, "r", "promote"), ["lead", "mgr"]);

    // alice names no role: she counts for the first missing one she may hold.
    let out = approve(&t, "r", "promote", "alice", &[]);
    out.expect_status(0);
    assert!(
        out.stdout.contains("alice approved `promote` as lead; still missing: mgr"),
        "{}",
        out.stdout
    );
    assert_eq!(step_state(&t, "r", "promote"), "waiting");
    assert_eq!(missing_roles(&t, "r", "promote"), ["mgr"]);

    // Refusals: alice again for the other role; bob for the role alice already holds.
    let before = journal_len(&t, "r");
    let out = approve(&t, "r", "promote", "alice", &["--role", "mgr"]);
    expect_refused(&out, "alice already approved this step (as lead)");
    out.expect_stderr("alice is not a member of role mgr (carol)");
    let out = approve(&t, "r", "promote", "bob", &["--role", "lead"]);
    expect_refused(&out, "role lead is already satisfied (approved by alice)");
    let records = journal(&t, "r");
    assert_eq!(records.len(), before, "refusals write nothing");
    assert_eq!(count_events(&records, "approved", "promote"), 1);
    assert!(!t.path("side").exists());

    let out = approve(&t, "r", "promote", "carol", &[]);
    out.expect_status(0);
    assert!(out.stdout.contains("carol approved `promote` as mgr; every approval is in"));
    assert!(!t.path("side").exists(), "approving does not run the step; resume does");

    drb(&t, &["resume", "r", "--report", "r.json"]).expect_status(0);
    assert_eq!(count(&t.path("side"), "promoted"), 1, "the action ran exactly once");
    assert_eq!(step_state(&t, "r", "promote"), "succeeded");
    let r: Value = serde_json::from_str(&t.read("r.json")).expect("the report is JSON");
    let got: Vec<(&str, &str, &str, &str)> = r["approvals"]
        .as_array()
        .unwrap_or_else(|| panic!("the report has `approvals`: {r}"))
        .iter()
        .map(|a| {
            let f = |k: &str| a[k].as_str().unwrap_or("?");
            (f("step"), f("role"), f("by"), f("how"))
        })
        .collect();
    assert_eq!(got, [("promote", "lead", "alice", "cli"), ("promote", "mgr", "carol", "cli")]);
    for a in r["approvals"].as_array().into_iter().flatten() {
        assert!(a["at"].is_string() && a["wait_seconds"].is_number(), "{a}");
    }
    let step = &r["steps"][0];
    assert!(step["approval_wait_seconds"].is_number(), "{step}");
}

#[test]
fn without_roles_anyone_approves_but_never_twice_whatever_the_case() {
    let rb = runbook(
        "open",
        r#"  step g { duration 1s; approval { by a, b }; run "echo ran >> side"; idempotent }"#,
    );
    // Without --as, the person is DRBOOK_USER (which wins over $USER).
    let t = Test::new().file("o.drbook", &rb).env("DRBOOK_USER", "alice").env("USER", "zed");
    drb(&t, &["run", "o.drbook", "--run-id", "o"]).expect_status(3);

    let out = drb(&t, &["approve", "o", "g"]);
    out.expect_status(0);
    assert!(out.stdout.contains("alice approved `g` as a; still missing: b"), "{}", out.stdout);
    let before = journal_len(&t, "o");
    expect_refused(&approve(&t, "o", "g", "alice", &[]), "alice already approved this step");
    expect_refused(
        &approve(&t, "o", "g", "ALICE", &["--role", "b"]),
        "ALICE already approved this step (as a)",
    );
    expect_refused(&approve(&t, "o", "g", " Alice ", &[]), "already approved this step");
    assert_eq!(journal_len(&t, "o"), before, "refusals write nothing");
    assert_eq!(missing_roles(&t, "o", "g"), ["b"]);

    let out = approve(&t, "o", "g", "Bob", &[]);
    out.expect_status(0);
    assert!(out.stdout.contains("Bob approved `g` as b; every approval is in"), "{}", out.stdout);
    assert_eq!(
        approvals(&t, "o", "g"),
        [("a".into(), "alice".into(), "cli".into()), ("b".into(), "Bob".into(), "cli".into())]
    );
    drb(&t, &["resume", "o"]).expect_status(0);
    assert_eq!(count(&t.path("side"), "ran"), 1);
}

#[test]
fn without_as_or_drbook_user_the_os_user_approves_with_the_approve_flag() {
    let rb = with_roles("os", &promote(""));
    let t = Test::new().file("u.drbook", &rb).without_env("DRBOOK_USER").env("USER", "Carol");
    drb(&t, &["run", "u.drbook", "--run-id", "u", "--approve", "promote"])
        .expect_status(3)
        .expect_stderr("promote needs approval by lead");
    assert_eq!(approvals(&t, "u", "promote"), [("mgr".into(), "Carol".into(), "flag".into())]);
    assert_eq!(missing_roles(&t, "u", "promote"), ["lead"]);
    assert!(!t.path("side").exists());
}

#[test]
fn a_waiting_runner_takes_approvals_from_other_shells_then_runs_the_step() {
    let t = Test::new().file("w.drbook", &with_roles("wait", &promote("")));
    let mut live = drb_spawn(&t, &["run", "w.drbook", "--run-id", "w", "--wait"]);
    wait_until_waiting(&t, "w", "promote", &mut live, Duration::from_secs(10));
    assert!(!t.path("side").exists());

    let out = approve(&t, "w", "promote", "bob", &["--comment", "lag is fine"]);
    out.expect_status(0);
    assert!(
        out.stdout.contains("bob approved `promote` as lead; still missing: mgr"),
        "{}",
        out.stdout
    );
    assert!(!live.exited(), "one approval of two does not open the gate");
    assert!(!t.path("side").exists());
    let out = approve(&t, "w", "promote", "carol", &[]);
    out.expect_status(0);
    assert!(out.stdout.contains("carol approved `promote` as mgr; every approval is in"));

    let run = live.wait();
    run.expect_no_crash().expect_status(0);
    assert_eq!(count(&t.path("side"), "promoted"), 1);
    assert_eq!(status_json(&t, "w")["status"], "succeeded");
    let records = journal(&t, "w");
    let started = position(&records, "step_started", "promote");
    let approved: Vec<(usize, &Value)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r["event"] == "approved" && r["step"] == "promote")
        .collect();
    assert_eq!(approved.len(), 2, "{records:#?}");
    assert!(position(&records, "approval_requested", "promote") < approved[0].0);
    assert!(approved.iter().all(|(i, _)| *i < started), "approvals precede the start");
    let (_, lead) = approved[0];
    assert_eq!(
        (&lead["role"], &lead["by"], &lead["how"]),
        (&"lead".into(), &"bob".into(), &"cli".into())
    );
    assert_eq!(lead["comment"], "lag is fine");
    assert!(lead["at"].is_string() && lead["request"].is_string(), "{lead}");
    assert_eq!((&approved[1].1["role"], &approved[1].1["by"]), (&"mgr".into(), &"carol".into()));
}

#[test]
fn approving_a_paused_run_keeps_it_paused_and_resume_approve_gives_the_last_role() {
    let t = Test::new().file("p.drbook", &with_roles("paused", &promote("")));
    drb(&t, &["run", "p.drbook", "--run-id", "p"]).expect_status(3);
    approve(&t, "p", "promote", "alice", &["--role", "lead"]).expect_status(0);
    assert_eq!(status_json(&t, "p")["status"], "paused", "an approval does not resume the run");

    // Resuming with a role still missing pauses again and says who approved so far.
    drb(&t, &["resume", "p"])
        .expect_status(3)
        .expect_stderr("promote needs approval by mgr")
        .expect_stderr("(approved so far: lead by alice)");
    assert!(!t.path("side").exists());

    // `--approve` counts for the invoking person only: carol, the manager.
    let out =
        drb(&t, &["--as", "carol", "resume", "p", "--approve", "promote", "--report", "r.md"]);
    out.expect_status(0);
    assert_eq!(count(&t.path("side"), "promoted"), 1);
    assert_eq!(
        approvals(&t, "p", "promote"),
        [
            ("lead".into(), "alice".into(), "cli".into()),
            ("mgr".into(), "carol".into(), "flag".into())
        ]
    );
    let md = t.read("r.md");
    let table = md.split("## Approvals").nth(1).unwrap_or_else(|| panic!("no approvals: {md}"));
    let row = |who: &str| table.lines().any(|l| l.starts_with('|') && l.contains(who));
    assert!(row("alice") && row("carol") && table.contains("flag"), "{md}");
}

#[test]
fn a_gate_that_times_out_fails_the_step_without_running_it() {
    let t = Test::new().file("t.drbook", &with_roles("late", &promote("; timeout 1s")));
    let out = drb(&t, &["run", "t.drbook", "--run-id", "t", "--wait"]);
    out.expect_status(1);
    assert!(out.elapsed >= Duration::from_millis(900), "waited the timeout: {:?}", out.elapsed);
    assert!(out.elapsed < Duration::from_secs(8), "but not much longer: {:?}", out.elapsed);
    let s = step_json(&t, "t", "promote");
    assert_eq!((&s["state"], &s["error"]), (&"failed".into(), &"approval timed out".into()), "{s}");
    assert_eq!(s["gate"]["timeout_ms"], 1000, "{s}");
    assert!(!t.path("side").exists(), "the action never ran");
    let records = journal(&t, "t");
    assert_eq!(count_events(&records, "approval_timed_out", "promote"), 1);
    assert_eq!(count_events(&records, "step_started", "promote"), 0);
    assert_eq!(status_json(&t, "t")["status"], "failed");
}

#[test]
fn a_denial_fails_the_step_and_only_a_possible_approver_may_deny() {
    let t = Test::new().file("d.drbook", &with_roles("deny", &promote("")));
    let mut live = drb_spawn(&t, &["run", "d.drbook", "--run-id", "d", "--wait"]);
    wait_until_waiting(&t, "d", "promote", &mut live, Duration::from_secs(10));

    let before = journal_len(&t, "d");
    let out = drb(&t, &["deny", "d", "promote", "--as", "mallory", "--reason", "no"]);
    expect_refused(&out, "mallory may not deny `promote`");
    assert_eq!(journal_len(&t, "d"), before, "a refused denial writes nothing");
    assert!(!live.exited(), "the runner still waits");

    let out =
        drb(&t, &["deny", "d", "promote", "--as", "carol", "--reason", "replica is 2h behind"]);
    out.expect_status(0);
    let run = live.wait();
    run.expect_no_crash().expect_status(1);
    let s = step_json(&t, "d", "promote");
    assert_eq!(s["state"], "failed", "{s}");
    let error = s["error"].as_str().unwrap_or_default();
    assert!(error.contains("approval denied by carol: replica is 2h behind"), "{s}");
    assert!(!t.path("side").exists(), "the action never ran");
    let records = journal(&t, "d");
    assert_eq!(count_events(&records, "approval_denied", "promote"), 1);
    assert_eq!(count_events(&records, "step_started", "promote"), 0);
}

#[test]
fn approvals_of_steps_that_do_not_wait_are_refused_and_unknown_names_are_usage_errors() {
    let body = format!(
        "{}\n{}",
        r#"  step plain { duration 1s; run "true"; idempotent }
  step first { duration 1s; approval { by lead }; run "echo first >> side"; idempotent }"#,
        r#"  step second { needs first; duration 1s; approval { by mgr }; run "true"; idempotent }"#
    );
    let t = Test::new().file("x.drbook", &with_roles("refuse", &body));
    drb(&t, &["run", "x.drbook", "--run-id", "x", "--approve", "first", "--as", "bob"])
        .expect_status(3)
        .expect_stderr("second needs approval by mgr");
    assert_eq!(count(&t.path("side"), "first"), 1);

    let before = journal_len(&t, "x");
    expect_refused(
        &approve(&t, "x", "plain", "alice", &[]),
        "step `plain` is not waiting for an approval (it is succeeded)",
    );
    expect_refused(
        &approve(&t, "x", "first", "alice", &[]),
        "step `first` is not waiting for an approval (it is succeeded)",
    );
    expect_refused(
        &drb(&t, &["deny", "x", "first", "--as", "alice", "--reason", "late"]),
        "not waiting for an approval",
    );
    assert_eq!(journal_len(&t, "x"), before, "refusals write nothing");

    let out = approve(&t, "x", "secnd", "carol", &[]);
    out.expect_status(2).expect_stderr("secnd").expect_stderr("did you mean `second`");
    approve(&t, "nope", "second", "carol", &[]).expect_status(2).expect_stderr("nope");
    assert_eq!(journal_len(&t, "x"), before);
    assert_eq!(step_state(&t, "x", "second"), "waiting");

    approve(&t, "x", "second", "carol", &[]).expect_status(0);
    drb(&t, &["resume", "x"]).expect_status(0);
    let after = journal_len(&t, "x");
    expect_refused(&approve(&t, "x", "second", "alice", &[]), "run `x` is finished (succeeded)");
    assert_eq!(journal_len(&t, "x"), after);
    assert_eq!(count(&t.path("side"), "first"), 1);
}

#[test]
fn other_branches_keep_running_while_a_gate_waits() {
    let body = format!(
        "{}\n{}",
        promote(""),
        r#"  step backup { duration 1s; run "echo backup >> side"; idempotent }
  step verify { needs backup; duration 1s; run "echo verify >> side"; idempotent }
  step dns { needs promote; duration 1s; run "echo dns >> side"; idempotent }"#
    );
    let t = Test::new().file("b.drbook", &with_roles("branches", &body));
    drb(&t, &["run", "b.drbook", "--run-id", "b"])
        .expect_status(3)
        .expect_stderr("promote needs approval by lead, mgr");
    let v = status_json(&t, "b");
    let states: Vec<(&str, &str)> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| (s["id"].as_str().unwrap_or("?"), s["state"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(
        states,
        [
            ("promote", "waiting"),
            ("backup", "succeeded"),
            ("verify", "succeeded"),
            ("dns", "pending")
        ]
    );
    assert_eq!(crate::runkit::lines(&t.path("side")), ["backup", "verify"]);
}

#[test]
fn approve_flag_from_a_non_member_is_refused_and_the_step_still_waits() {
    let t = Test::new().file("n.drbook", &with_roles("outsider", &promote("")));
    let out =
        drb(&t, &["--as", "mallory", "run", "n.drbook", "--run-id", "n", "--approve", "promote"]);
    out.expect_status(3).expect_stderr("promote needs approval by lead, mgr");
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("mallory") && said.contains("refused") && said.contains("not a member"),
        "the refusal is reported\n{said}"
    );
    assert_eq!(step_state(&t, "n", "promote"), "waiting");
    assert!(approvals(&t, "n", "promote").is_empty());
    assert_eq!(count_events(&journal(&t, "n"), "approved", "promote"), 0);
    assert!(!t.path("side").exists());
    assert!(t.path(STATE).join("runs").join("n").exists());
}

#[test]
fn concurrent_approvals_by_one_person_are_recorded_once() {
    let t = Test::new().file("c.drbook", &with_roles("race", &promote("")));
    drb(&t, &["run", "c.drbook", "--run-id", "c"]).expect_status(3);
    let st = crate::runkit::state(&t);
    let who = ["alice", "Alice", "alice", "ALICE"];
    let live: Vec<Live> = who
        .iter()
        .map(|w| t.spawn(&["approve", "c", "promote", "--as", w, "--state-dir", &st]))
        .collect();
    let outs: Vec<Output> = live.into_iter().map(Live::wait).collect();
    for o in &outs {
        o.expect_no_crash();
        if o.status != 0 {
            expect_refused(o, "already approved this step (as lead)");
        }
    }
    let ok = outs.iter().filter(|o| o.status == 0).count();
    assert_eq!(ok, 1, "one is recorded, the rest refused: {outs:#?}");
    assert_eq!(count_events(&journal(&t, "c"), "approved", "promote"), 1);
    assert_eq!(missing_roles(&t, "c", "promote"), ["mgr"]);
    assert_eq!(step_state(&t, "c", "promote"), "waiting");
}

#[test]
fn a_fully_approved_gate_cannot_be_decided_by_a_further_approve_or_deny() {
    let t = Test::new().file("f.drbook", &with_roles("full", &promote("")));
    drb(&t, &["run", "f.drbook", "--run-id", "f"]).expect_status(3);
    approve(&t, "f", "promote", "alice", &[]).expect_status(0);
    approve(&t, "f", "promote", "carol", &[]).expect_status(0);
    let before = journal_len(&t, "f");

    // mallory is in no role; the gate has all it needs. Neither may change anything.
    let yes = approve(&t, "f", "promote", "mallory", &[]);
    let no = drb(&t, &["deny", "f", "promote", "--as", "mallory", "--reason", "x"]);
    assert_eq!(
        (yes.status, no.status, journal_len(&t, "f"), step_state(&t, "f", "promote")),
        (1, 1, before, "waiting".to_string()),
        "\n--- approve\n{yes:?}\n--- deny\n{no:?}\n--- journal\n{:#?}",
        &journal(&t, "f")[before..]
    );
    drb(&t, &["resume", "f"]).expect_status(0);
    assert_eq!(count(&t.path("side"), "promoted"), 1, "the approved action ran");
}

#[test]
fn a_runner_killed_at_the_gate_leaves_approve_to_journal_it_itself() {
    let t = Test::new().file("k.drbook", &with_roles("killed", &promote("")));
    let mut live = drb_spawn(&t, &["run", "k.drbook", "--run-id", "k", "--wait"]);
    wait_until_waiting(&t, "k", "promote", &mut live, Duration::from_secs(10));
    live.signal(nix::sys::signal::Signal::SIGKILL);
    assert_eq!(live.wait().status, -9);

    let out = approve(&t, "k", "promote", "bob", &[]);
    out.expect_status(0);
    assert!(out.elapsed < Duration::from_secs(5), "no wait for a dead runner: {:?}", out.elapsed);
    assert_eq!(missing_roles(&t, "k", "promote"), ["mgr"]);
    drb(&t, &["--as", "carol", "resume", "k", "--approve", "promote"]).expect_status(0);
    assert_eq!(count(&t.path("side"), "promoted"), 1);
}

#[test]
fn a_denial_needs_a_reason() {
    let t = Test::new().file("r.drbook", &with_roles("reason", &promote("")));
    drb(&t, &["run", "r.drbook", "--run-id", "r"]).expect_status(3);
    let before = journal_len(&t, "r");
    expect_refused(
        &drb(&t, &["deny", "r", "promote", "--as", "carol", "--reason", "  "]),
        "a denial needs a reason",
    );
    drb(&t, &["deny", "r", "promote", "--as", "carol"]).expect_status(2);
    assert_eq!(journal_len(&t, "r"), before);
    assert_eq!(step_state(&t, "r", "promote"), "waiting");
}

#[test]
fn approvals_after_the_gate_timed_out_do_not_run_the_step() {
    let t = Test::new().file("l.drbook", &with_roles("late", &promote("; timeout 1s")));
    drb(&t, &["run", "l.drbook", "--run-id", "l"]).expect_status(3);
    std::thread::sleep(Duration::from_millis(1500));
    // The gate's 1s is over. With one role approved late, resume fails "approval timed out";
    // with both approved late it must not do otherwise.
    let a = approve(&t, "l", "promote", "alice", &[]);
    let c = approve(&t, "l", "promote", "carol", &[]);
    let out = drb(&t, &["resume", "l"]);
    assert!(
        !t.path("side").exists(),
        "the action ran 0.5s after its approval gate timed out\n--- approve alice\n{a:?}\n--- approve carol\n{c:?}\n--- resume\n{out:?}"
    );
    out.expect_status(1);
    assert_eq!(step_json(&t, "l", "promote")["error"], "approval timed out");
}

#[test]
fn approve_flag_naming_an_unknown_step_is_reported() {
    let t = Test::new().file("u.drbook", &with_roles("typo", &promote("")));
    let out =
        drb(&t, &["--as", "alice", "run", "u.drbook", "--run-id", "u", "--approve", "promot"]);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("`promot`"), "the typo is not reported (exit {})\n{said}", out.status);
    out.expect_status(2).expect_stderr("did you mean `promote`?");
    assert!(!t.path("side").exists() && run_ids(&t).is_empty(), "nothing ran");
}

#[test]
fn a_secret_pasted_into_an_approval_comment_is_masked_by_the_runner() {
    let body = format!("  secret tok = env(\"TOK\")\n{}", promote(""));
    let t = Test::new().file("s.drbook", &with_roles("pasted", &body)).env("TOK", "hunter2-tok");
    let mut live = drb_spawn(&t, &["run", "s.drbook", "--run-id", "s", "--wait"]);
    wait_until_waiting(&t, "s", "promote", &mut live, Duration::from_secs(10));
    approve(&t, "s", "promote", "alice", &["--comment", "token is hunter2-tok"]).expect_status(0);
    approve(&t, "s", "promote", "carol", &[]).expect_status(0);
    live.wait().expect_status(0);
    let text = std::fs::read_to_string(crate::runkit::journal_path(&t, "s")).expect("journal");
    assert!(!text.contains("hunter2-tok"), "the secret reached the journal");
    assert!(text.contains("token is <secret:tok>"), "the comment is kept, masked");
}
