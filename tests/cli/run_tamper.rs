//! A tamper-evident journal: the attacks of issue 11 §3 performed on the journal of a real
//! run (a step that succeeded, a gate approved by one person, another gate denied). Each
//! edit, insertion, deletion, reorder and cut is detected and named by `status`, `resume`
//! (exit 2, nothing run) and `verify` (exit 1); an older CRC-only journal still reads and is
//! called "not chained"; a torn last record is a crash, and `status` says so.

use crate::runkit::{count, drb, journal_path, record_json, STATE};
use crate::{Output, Test};
use serde_json::Value;
use sha2::{Digest, Sha256};

const RUNBOOK: &str = r#"runbook "tamper" {
  owner "ops"
  rto   1h
  roles {
    lead = ["alice", "bob"]
    mgr  = ["carol"]
  }
  step a { duration 1s; run "echo a >> side"; idempotent }
  step risky {
    needs a
    duration 1s
    approval { by mgr }
    run "echo risky >> side"
  }
  step promote {
    needs a
    duration 1s
    approval { by lead, mgr }
    run "echo promoted >> side"
  }
}
"#;

/// One record of a chained journal: its frame's hash and number, and its JSON.
#[derive(Clone)]
struct Rec {
    hash: String,
    n: u64,
    json: Value,
    /// The JSON as written (key order kept), used while `json` is unchanged.
    raw: String,
}

impl Rec {
    fn text(&self) -> String {
        let unchanged = serde_json::from_str::<Value>(&self.raw).is_ok_and(|v| v == self.json);
        if unchanged {
            self.raw.clone()
        } else {
            self.json.to_string()
        }
    }

    fn line(&self) -> String {
        format!("{} {} {}\n", self.hash, self.n, self.text())
    }
}

fn parse(text: &str) -> Vec<Rec> {
    text.lines()
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let hash = parts.next().expect("hash").to_string();
            assert_eq!(hash.len(), 64, "a chained record: {l}");
            let n = parts.next().expect("number").parse().expect("a record number");
            let raw = record_json(l).to_string();
            Rec { hash, n, json: serde_json::from_str(&raw).expect("JSON"), raw }
        })
        .collect()
}

fn write(t: &Test, recs: &[Rec]) {
    let text: String = recs.iter().map(Rec::line).collect();
    std::fs::write(journal_path(t, "r"), text).expect("write the journal");
}

/// Recomputes every hash and number, as an attacker who knows the (unkeyed) chain would.
fn rechain(recs: &mut [Rec]) {
    let mut prev = [0u8; 32];
    for (i, r) in recs.iter_mut().enumerate() {
        r.n = i as u64 + 1;
        let mut h = Sha256::new();
        h.update(prev);
        h.update(format!("{} ", r.n).as_bytes());
        h.update(r.text().as_bytes());
        prev = h.finalize().into();
        r.hash = prev.iter().map(|b| format!("{b:02x}")).collect();
    }
}

fn find(recs: &[Rec], event: &str, step: &str) -> usize {
    recs.iter()
        .position(|r| r.json["event"] == event && (step.is_empty() || r.json["step"] == step))
        .unwrap_or_else(|| panic!("no {event} of {step:?}"))
}

/// A run `r` paused at its gates: `a` succeeded, carol denied `risky`, alice approved
/// `promote` as lead. Returns the test and the journal's records.
fn paused_run() -> (Test, Vec<Rec>) {
    let t = Test::new().file("t.drbook", RUNBOOK);
    drb(&t, &["run", "t.drbook", "--run-id", "r"]).expect_status(3);
    drb(&t, &["deny", "r", "risky", "--as", "carol", "--reason", "not now"]).expect_status(0);
    drb(&t, &["approve", "r", "promote", "--as", "alice", "--role", "lead"]).expect_status(0);
    stdout_has(drb(&t, &["verify", "r"]).expect_status(0), "journal head: sha256:");
    let recs = parse(&t.read(&format!("{STATE}/runs/r/journal")));
    (t, recs)
}

/// Panics unless standard output says `needle`.
#[track_caller]
fn stdout_has(out: &Output, needle: &str) {
    assert!(
        out.stdout.contains(needle),
        "no {needle:?} in stdout:\n{}\n{}",
        out.stdout,
        out.stderr
    );
}

/// `status` and `resume` refuse (exit 2) naming `needle`, nothing runs; `verify` exits 1.
#[track_caller]
fn refused(t: &Test, needle: &str) {
    let side_before = std::fs::read(t.path("side")).unwrap_or_default();
    drb(t, &["status", "r"]).expect_status(2).expect_stderr(needle);
    let out: Output = drb(t, &["--as", "carol", "resume", "r", "--approve", "promote"]);
    out.expect_status(2).expect_stderr(needle);
    drb(t, &["verify", "r"]).expect_status(1).expect_stderr("verify failed").expect_stderr(needle);
    assert_eq!(std::fs::read(t.path("side")).unwrap_or_default(), side_before, "nothing ran");
    assert_eq!(count(&t.path("side"), "promoted"), 0);
}

#[test]
fn a_step_result_flipped_from_succeeded_to_failed_is_an_edit() {
    let (t, mut recs) = paused_run();
    let i = find(&recs, "step_succeeded", "a");
    let at = recs[i].json["at"].clone();
    recs[i].json = serde_json::json!({"event": "step_failed", "step": "a", "attempt": 1,
        "at": at, "error": "exit 1", "will_retry": false});
    write(&t, &recs);
    refused(&t, &format!("record {} (byte", i + 1));
    refused(&t, "was edited");
}

#[test]
fn a_record_edited_with_sed_into_no_event_at_all_is_named_an_edit_not_damage() {
    let (t, recs) = paused_run();
    let i = find(&recs, "step_succeeded", "a");
    // The careless attacker: `sed s/step_succeeded/step_failed/` leaves a record that is no
    // longer a valid event (`step_failed` needs an error): still an edit, and named so.
    let path = journal_path(&t, "r");
    let text = std::fs::read_to_string(&path).expect("journal");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[i] = lines[i].replace("step_succeeded", "step_failed");
    std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("w");
    refused(&t, &format!("record {} (byte", i + 1));
    refused(&t, "was edited");
}

#[test]
fn an_approval_added_is_an_insertion_or_an_append() {
    let (t, recs) = paused_run();
    let i = find(&recs, "approved", "promote");
    let mut forged = recs[i].clone();
    forged.json["role"] = "mgr".into();
    forged.json["by"] = "carol".into();
    // In the middle, copying its neighbour's frame.
    let mut inserted = recs.clone();
    inserted.insert(i, forged.clone());
    write(&t, &inserted);
    refused(&t, &format!("record {} (byte", i + 1));
    refused(&t, "inserted");
    // At the end, correctly chained: only the anchor shows it.
    let mut appended = recs.clone();
    appended.push(forged);
    rechain(&mut appended);
    write(&t, &appended);
    refused(&t, &format!("record {} was added afterwards (appended)", appended.len()));
}

#[test]
fn a_gate_member_added_is_an_edit() {
    let (t, mut recs) = paused_run();
    let i = find(&recs, "approval_requested", "promote");
    recs[i].json["members"]["lead"].as_array_mut().expect("lead members").push("mallory".into());
    write(&t, &recs);
    refused(&t, &format!("record {} (byte", i + 1));
    refused(&t, "was edited");
}

#[test]
fn a_denial_deleted_leaves_a_gap() {
    let (t, mut recs) = paused_run();
    let i = find(&recs, "approval_denied", "risky");
    assert!(i + 1 < recs.len(), "the denial is not the last record");
    recs.remove(i);
    write(&t, &recs);
    refused(&t, &format!("record {} is missing (deleted)", i + 1));
}

#[test]
fn an_approver_reattributed_is_an_edit_and_a_rechained_journal_fails_its_anchor() {
    let (t, mut recs) = paused_run();
    let i = find(&recs, "approved", "promote");
    recs[i].json["by"] = "bob".into();
    write(&t, &recs);
    refused(&t, &format!("record {} (byte", i + 1));
    refused(&t, "was edited");
    rechain(&mut recs);
    write(&t, &recs);
    refused(&t, "the journal was rewritten");
}

#[test]
fn a_run_repointed_at_another_runbook_is_refused() {
    let (t, mut recs) = paused_run();
    std::fs::write(t.path("evil.drbook"), RUNBOOK.replace("echo promoted", "echo pwned"))
        .expect("w");
    let evil = t.path("evil.drbook").display().to_string();
    recs[0].json["path"] = evil.into();
    recs[0].json["content_hash"] = "00".repeat(32).into();
    write(&t, &recs);
    refused(&t, "record 1 (byte 0) was edited");
    assert_eq!(count(&t.path("side"), "pwned"), 0);
}

#[test]
fn records_moved_are_reordered() {
    let (t, mut recs) = paused_run();
    let i = find(&recs, "approval_denied", "risky");
    recs.swap(i, i + 1);
    write(&t, &recs);
    refused(&t, "reordered");
}

#[test]
fn the_last_records_dropped_are_a_cut() {
    let (t, mut recs) = paused_run();
    let n = recs.len();
    recs.truncate(n - 2);
    write(&t, &recs);
    refused(&t, &format!("records {} to {n} are missing at the end (the journal was cut)", n - 1));
}

#[test]
fn a_torn_last_record_is_a_crash_status_says_so_and_resume_recovers() {
    let (t, recs) = paused_run();
    let mut text: String = recs.iter().map(Rec::line).collect();
    let last = recs.last().expect("records").line();
    text.push_str(&last[..last.len() / 2]);
    std::fs::write(journal_path(&t, "r"), &text).expect("tear");
    let out = drb(&t, &["status", "r"]);
    stdout_has(out.expect_status(0), "journal head: sha256:");
    stdout_has(&out, "ends in a torn record");
    let v: Value = crate::json(&drb(&t, &["status", "r", "--format", "json"]));
    assert_eq!(
        (v["journal"]["chained"].clone(), v["journal"]["torn_tail"].clone()),
        (true.into(), true.into()),
        "{v}"
    );
    stdout_has(drb(&t, &["verify", "r"]).expect_status(0), "torn record");
    // `risky` was denied: the run goes on to its end and fails.
    drb(&t, &["--as", "carol", "resume", "r", "--approve", "promote"]).expect_status(1);
    let records = crate::runkit::journal(&t, "r");
    assert_eq!(records.last().expect("records")["event"], "run_finished");
    let out = drb(&t, &["verify", "r"]);
    out.expect_status(0);
    let head = out.stdout.lines().find_map(|l| l.strip_prefix("journal head: ")).expect("head");
    drb(&t, &["verify", "r", "--head", head]).expect_status(0);
    drb(&t, &["verify", "r", "--head", &format!("sha256:{}", "0".repeat(64))])
        .expect_status(1)
        .expect_stderr("not the head given with --head");
}

#[test]
fn an_old_crc_journal_still_reads_and_is_not_chained() {
    let (t, recs) = paused_run();
    let text: String = recs
        .iter()
        .map(|r| {
            let json = r.text();
            format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes()))
        })
        .collect();
    std::fs::write(journal_path(&t, "r"), text).expect("write");
    stdout_has(drb(&t, &["status", "r"]).expect_status(0), "journal: not chained");
    drb(&t, &["verify", "r"]).expect_status(1).expect_stderr("not chained");
    // `risky` was denied: the run goes on to its end and fails.
    drb(&t, &["--as", "carol", "resume", "r", "--approve", "promote"]).expect_status(1);
    let records = crate::runkit::journal(&t, "r");
    assert_eq!(records.last().expect("records")["event"], "run_finished");
    let journal = std::fs::read_to_string(journal_path(&t, "r")).expect("journal");
    assert!(journal.lines().all(|l| l.as_bytes()[8] == b' '), "goes on unchained: {journal}");
}

#[test]
fn a_runbook_file_changed_outside_its_steps_is_noted_and_one_changed_in_a_started_step_refused() {
    let (t, _) = paused_run();
    let started = RUNBOOK.replace("echo a >> side", "echo A >> side");
    std::fs::write(t.path("t.drbook"), &started).expect("edit");
    drb(&t, &["resume", "r"]).expect_status(2).expect_stderr("changed in step `a`");
    std::fs::write(t.path("t.drbook"), format!("# a comment\n{RUNBOOK}")).expect("edit");
    drb(&t, &["--as", "carol", "resume", "r", "--approve", "promote"])
        .expect_status(1)
        .expect_stderr("is not the file run `r` started with");
}

#[test]
fn every_report_ends_with_the_journal_head_that_verify_checks() {
    let t = Test::new().file("t.drbook", RUNBOOK);
    let out = drb(&t, &["run", "t.drbook", "--run-id", "r", "--report", "r.json"]);
    out.expect_status(3);
    let printed =
        out.stdout.lines().find_map(|l| l.strip_prefix("journal head: ")).map(str::to_string);
    let printed = printed.unwrap_or_else(|| panic!("no journal head in:\n{}", out.stdout));
    let v: Value = serde_json::from_str(&t.read("r.json")).expect("JSON report");
    assert_eq!(v["journal_head"], printed.as_str(), "{v}");
    drb(&t, &["verify", "r", "--head", &printed]).expect_status(0);
    let md = drb(&t, &["report", "r", "--format", "markdown"]);
    stdout_has(md.expect_status(0), &format!("journal head: {printed}"));
    let s: Value = crate::json(&drb(&t, &["status", "r", "--format", "json"]));
    assert_eq!(s["journal"]["head"], printed.as_str(), "{s}");
    // An approval later moves the head on: the old one no longer verifies.
    drb(&t, &["approve", "r", "promote", "--as", "alice", "--role", "lead"]).expect_status(0);
    drb(&t, &["verify", "r", "--head", &printed]).expect_status(1);
}

#[test]
fn the_report_of_a_run_already_over_has_its_journal_head_too() {
    let rb = crate::runkit::runbook("done", r#"  step a { duration 1s; run "true" }"#);
    let t = Test::new().file("d.drbook", &rb);
    drb(&t, &["run", "d.drbook", "--run-id", "d"]).expect_status(0);
    drb(&t, &["resume", "d", "--report", "again.json"]).expect_status(0);
    let v: Value = serde_json::from_str(&t.read("again.json")).expect("JSON report");
    let head = v["journal_head"].as_str().unwrap_or_else(|| panic!("no head: {v}"));
    drb(&t, &["verify", "d", "--head", head]).expect_status(0);
}
